"""The admin console in a browser: the admin signs in, creates the README's route-filtered meter (route
/v1/search, status 200) in the UI, runs the Meter Test on the call derived from its filters: "pass", without
touching the real customer's usage; then presses Report now on Report runs and sees the run."""

from __future__ import annotations

import importlib.util
import os
import re
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from my_dev_portal.prices import format_money, plural
from tests.e2e.conftest import Stack, no_secret_in_page, shot

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(420),
    pytest.mark.skipif(
        importlib.util.find_spec("portal_api.reporting") is None,
        reason="the API has no Meter Test yet (portal_api/reporting is not in this tree)",
    ),
]

PAYG = "payg_graduated_monthly"
METER_NAME = "E2E API calls"
CUSTOMER_PASSWORD = "meter test customer password"


def subscribe_customer(stack: Stack) -> dict:
    """A customer subscribed to the demo metered graduated price, through the API and the emulator's Checkout.

    Plain httpx calls (no cookie jar): the API is called with the Bearer token only, as the portal does.
    """
    email = f"meter-test-{uuid.uuid4().hex[:8]}@example.com"
    signup = httpx.post(
        f"{stack.api_url}/v1/auth/signup",
        json={"email": email, "password": CUSTOMER_PASSWORD, "name": "Meter Test Customer"},
        timeout=20,
    )
    signup.raise_for_status()
    headers = {"Authorization": f"Bearer {signup.json()['token']}"}
    plans = httpx.get(f"{stack.api_url}/v1/plans", timeout=20).json()["data"]
    price = next(plan for plan in plans if plan.get("lookup_key") == PAYG)
    session = httpx.post(
        f"{stack.api_url}/v1/checkout/sessions",
        json={"price_id": price["price_id"]},
        headers=headers,
        timeout=20,
    )
    session.raise_for_status()
    checkout_id = session.json()["id"]
    httpx.post(
        f"{stack.emulator_url}/_emulator/checkout/sessions/{checkout_id}/pay", json={}, timeout=20
    ).raise_for_status()
    completed = httpx.post(
        f"{stack.api_url}/v1/checkout/sessions/{checkout_id}/complete", headers=headers, timeout=30
    )
    completed.raise_for_status()
    assert completed.json()["subscription"]["status"] in ("active", "trialing")
    return {
        "email": email,
        "user_id": signup.json()["user"]["id"],
        "token": signup.json()["token"],
        "price_id": price["price_id"],
        "nickname": price["nickname"],
    }


def send_usage(stack: Stack, user_id: str, calls: int) -> None:
    """The customer's own API calls, as their gateway reports them: GET /v1/search answered 200."""
    now = datetime.now(UTC).isoformat()
    events = [
        {
            "id": uuid.uuid4().hex,
            "user_id": user_id,
            "route": "/v1/search",
            "method": "GET",
            "status": 200,
            "timestamp": now,
        }
        for _ in range(calls)
    ]
    response = httpx.post(
        f"{stack.api_url}/v1/usage/events",
        json={"events": events},
        headers={"Authorization": f"Bearer {stack.admin_token}"},
        timeout=20,
    )
    response.raise_for_status()
    assert response.json()["accepted"] == calls, response.json()


def period_usage(stack: Stack, token: str) -> dict[str, float]:
    usage = httpx.get(f"{stack.api_url}/v1/usage", headers={"Authorization": f"Bearer {token}"}, timeout=20)
    usage.raise_for_status()
    return {m["name"]: float(m["period_value"]) for m in usage.json()["meters"]}


def choose(driver: WebDriver, wait: WebDriverWait, trigger: WebElement, option_text: str) -> None:
    """Pick `option_text` in a Radix select: open it, click the option in its popup."""
    trigger.click()
    option = wait.until(
        ec.element_to_be_clickable((By.XPATH, f"//*[@role='option'][normalize-space()='{option_text}']"))
    )
    option.click()
    wait.until(ec.invisibility_of_element_located((By.XPATH, "//*[@role='listbox']")))


def filter_row(driver: WebDriver, index: int) -> WebElement:
    return driver.find_elements(By.CSS_SELECTOR, "#meter-form .filter-row")[index]


def type_into(wait: WebDriverWait, element: WebElement, text: str) -> None:
    element.clear()
    element.send_keys(text)
    # The inputs are debounced: wait until the value stuck (the State sent it back).
    wait.until(lambda d: element.get_attribute("value") == text)


def test_admin_creates_the_readme_meter_and_meter_test_passes_then_reports_now(
    stack: Stack, browser: WebDriver
) -> None:
    driver = browser
    wait = WebDriverWait(driver, 30)
    started = time.monotonic()
    path_is = lambda path: lambda d: d.current_url.split("?")[0].rstrip("/").endswith(path)  # noqa: E731
    customer = subscribe_customer(stack)

    # Anonymous -> /login?next=/admin/meters; the bootstrapped admin signs in and comes back.
    driver.get(f"{stack.portal_url}/admin/meters")
    wait.until(path_is("/login"))
    assert "next=" in driver.current_url and "admin" in driver.current_url
    wait.until(ec.element_to_be_clickable((By.ID, "email"))).send_keys(stack.admin_email)
    driver.find_element(By.ID, "password").send_keys(stack.admin_password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(path_is("/admin/meters"))
    # Admins see the console link (once the page, loaded afresh with the session cookie, has hydrated).
    wait.until(ec.presence_of_element_located((By.XPATH, "//header//a[normalize-space()='Admin']")))

    # The README's meter for the metered graduated price: route /v1/search, status 200.
    wait.until(ec.element_to_be_clickable((By.ID, "new-meter"))).click()
    name = wait.until(ec.element_to_be_clickable((By.ID, "meter-name")))
    type_into(wait, name, METER_NAME)
    choose(driver, wait, driver.find_element(By.ID, "meter-price"), f"My API · {customer['nickname']}")
    type_into(
        wait, filter_row(driver, 0).find_element(By.CSS_SELECTOR, "input[aria-label='Value']"), "/v1/search"
    )
    driver.find_element(By.ID, "add-condition").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#meter-form .filter-row")) == 2)
    choose(
        driver,
        wait,
        filter_row(driver, 1).find_element(By.CSS_SELECTOR, "[aria-label='Field']"),
        "Status code",
    )
    type_into(wait, filter_row(driver, 1).find_element(By.CSS_SELECTOR, "input[aria-label='Value']"), "200")
    shot(driver, "12-admin-meter-form")
    driver.find_element(By.ID, "save-meter").click()
    row = wait.until(
        ec.presence_of_element_located(
            (By.XPATH, f"//*[@id='meters-table']//tr[@data-meter-name='{METER_NAME}']")
        )
    )
    assert "route is /v1/search AND status is 200" in row.text
    assert customer["nickname"] in row.text
    assert not driver.find_elements(By.ID, "meter-form")
    # The customer's own calls, counted by the new meter; the Meter Test must leave them as they are.
    send_usage(stack, customer["user_id"], 3)
    usage_before = period_usage(stack, customer["token"])
    assert usage_before[METER_NAME] == 3

    # Meter Test: first the call it will send, derived from the filters, editable.
    row.find_element(By.CSS_SELECTOR, "button.run-meter-test").click()
    wait.until(ec.visibility_of_element_located((By.ID, "meter-test-event")))
    route = wait.until(ec.visibility_of_element_located((By.ID, "meter-test-event-route")))
    wait.until(lambda d: route.get_attribute("value") == "/v1/search")
    assert driver.find_element(By.ID, "meter-test-event-status").get_attribute("value") == "200"
    assert driver.find_element(By.ID, "meter-test-event-method").get_attribute("value") == "GET"
    # Then the run: that call for the Meter Test's own test customer, through metering and reporting to its
    # test subscription, compared with Stripe's invoice preview.
    driver.find_element(By.ID, "run-meter-test").click()
    status = WebDriverWait(driver, 60).until(ec.visibility_of_element_located((By.ID, "meter-test-status")))
    result = driver.find_element(By.ID, "meter-test-result").text
    assert status.text.strip() == "pass", result
    assert re.search(r"Difference\s+\$0\.00", result), result
    checks = [
        check.text for check in driver.find_elements(By.CSS_SELECTOR, "#meter-test-result .meter-test-check")
    ]
    assert any("Test event matches the filters" in check for check in checks), checks
    assert any("Test event counted" in check for check in checks), checks
    assert any("Usage reported to the test subscription" in check for check in checks), checks
    assert any("Invoice preview matches" in check for check in checks), checks
    assert "Meter Test's own subscription" in driver.find_element(By.ID, "meter-test-subscription").text
    shot(driver, "13-admin-meter-test", docs_name="admin-meters.png")
    no_secret_in_page(driver)
    assert period_usage(stack, customer["token"]) == usage_before  # the real customer's usage is untouched

    # Report now, on Report runs: the reporter runs at once and the page says how it went.
    driver.get(f"{stack.portal_url}/admin/report-runs")
    wait.until(ec.element_to_be_clickable((By.ID, "report-now"))).click()
    outcome = WebDriverWait(driver, 120).until(
        ec.visibility_of_element_located((By.ID, "report-now-outcome"))
    )
    assert re.match(r"Run rrun_\w+ succeeded: \d+ sent of \d+ planned", outcome.text), outcome.text
    wait.until(lambda d: "manual" in d.find_element(By.ID, "report-runs-table").text)
    shot(driver, "16-admin-report-now")

    # Every other console page, screenshotted with the data the test made.
    pages = [
        ("/admin", "10-admin-overview", "admin-health"),
        ("/admin/billing-provider", "11-admin-billing-provider", "webhook-url"),
        ("/admin/customers", "14-admin-customers", "customers-table"),
        ("/admin/report-runs", "16-admin-report-runs", "report-runs-table"),
        ("/admin/tokens", "17-admin-tokens", "new-admin-token-name"),
    ]
    for path, shot_name, ready_id in pages:
        driver.get(f"{stack.portal_url}{path}")
        wait.until(ec.presence_of_element_located((By.ID, ready_id)))
        shot(driver, shot_name)
        no_secret_in_page(driver)
        if path == "/admin/report-runs":
            assert "meter test" in driver.find_element(By.ID, ready_id).text
        if path == "/admin/customers":
            # The Meter Test's own customer is no customer of the provider's.
            assert "meter-test@portal.invalid" not in driver.page_source
            driver.find_element(By.XPATH, f"//a[contains(., '{customer['email']}')]").click()
            wait.until(path_is("/admin/customers/detail"))
            wait.until(
                ec.presence_of_element_located((By.XPATH, "//*[contains(text(), 'Last usage reports')]"))
            )
            assert METER_NAME in driver.page_source
            shot(driver, "15-admin-customer")

    # A customer who signs in to the console sees "admins only", and no admin link.
    driver.find_element(By.XPATH, "//header//button[normalize-space()='Sign out']").click()
    signed_out = (By.XPATH, "//header//a[normalize-space()='Log in']")
    wait.until(ec.presence_of_element_located(signed_out))
    driver.get(f"{stack.portal_url}/login?next=/admin")
    wait.until(ec.presence_of_element_located(signed_out))
    wait.until(ec.element_to_be_clickable((By.ID, "email"))).send_keys(customer["email"])
    driver.find_element(By.ID, "password").send_keys(CUSTOMER_PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(ec.visibility_of_element_located((By.ID, "admins-only")))
    assert path_is("/admin")(driver)
    assert not driver.find_elements(By.XPATH, "//header//a[normalize-space()='Admin']")
    shot(driver, "18-admins-only")

    # Their dashboard shows what GET /v1/usage and GET /v1/invoices/upcoming say: the meter, its value
    # this period (their three calls: nothing of the Meter Test's), a bar for them, and Stripe's amount due.
    headers = {"Authorization": f"Bearer {customer['token']}"}
    usage = httpx.get(f"{stack.api_url}/v1/usage", headers=headers, timeout=20).json()
    invoice = httpx.get(f"{stack.api_url}/v1/invoices/upcoming", headers=headers, timeout=30).json()
    [meter] = [m for m in usage["meters"] if m["name"] == METER_NAME]
    driver.get(f"{stack.portal_url}/dashboard")
    total = wait.until(ec.visibility_of_element_located((By.ID, "invoice-total")))
    assert total.text == format_money(invoice["stripe"]["amount_due"], invoice["stripe"]["currency"])
    wait.until(lambda d: METER_NAME in d.find_element(By.TAG_NAME, "main").text)
    period_value = int(float(meter["period_value"]))
    assert period_value == 3
    assert (
        f"{period_value} {plural('call', period_value)} this period"
        in driver.find_element(By.TAG_NAME, "main").text
    )
    assert driver.find_elements(By.CSS_SELECTOR, ".recharts-bar-rectangle")
    shot(driver, "19-customer-dashboard")
    elapsed = time.monotonic() - started
    if os.environ.get("E2E_TIMINGS") == "1":
        print(f"admin console browser test: {elapsed:.1f}s")
