"""What the customer sees is what Stripe bills, in a browser: the console warns about a metered price no
meter bills until its meter is made from the shortcut (a blank condition refused at its field on the way),
and a subscriber's dashboard shows only their own plan's meter, priced with their plan."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest
import stripe
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from my_dev_portal.prices import format_money
from tests.e2e.conftest import Stack, shot

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

PACKAGE = "package_1000_monthly"  # "$10 per 1,000 calls", rounded up
PAYG = "payg_graduated_monthly"
CUSTOMER_PASSWORD = "package customer password"
CALLS = 1001  # two packages of 1,000: $20.00


def admin(stack: Stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.admin_token}"}


def plan_with(stack: Stack, lookup_key: str) -> dict:
    plans = httpx.get(f"{stack.api_url}/v1/plans", timeout=20).json()["data"]
    return next(plan for plan in plans if plan.get("lookup_key") == lookup_key)


def another_prices_meter(stack: Stack) -> dict:
    """A metered price of its own ("Search calls", a cent a call) and its meter: what the customer on the
    package plan was once shown instead of their own."""
    sdk = stripe.StripeClient(
        "sk_test_e2e_emulator", stripe_version="2020-08-27", base_addresses={"api": stack.emulator_url}
    )
    package = plan_with(stack, PACKAGE)
    price = sdk.v1.prices.create(
        {
            "product": package["product_id"],
            "currency": "usd",
            "unit_amount": 1,
            "nickname": "Search calls",
            "recurring": {"interval": "month", "usage_type": "metered", "aggregate_usage": "sum"},
        }
    )
    created = httpx.post(
        f"{stack.api_url}/v1/admin/meters",
        json={"name": "Search calls", "stripe_price_id": price.id},
        headers=admin(stack),
        timeout=20,
    )
    created.raise_for_status()
    return created.json()


def subscribe_to_package(stack: Stack) -> dict:
    """A customer subscribed to "$10 per 1,000 calls" through the API and the emulator's Checkout."""
    email = f"package-{uuid.uuid4().hex[:8]}@example.com"
    signup = httpx.post(
        f"{stack.api_url}/v1/auth/signup",
        json={"email": email, "password": CUSTOMER_PASSWORD, "name": "Package Customer"},
        timeout=20,
    )
    signup.raise_for_status()
    headers = {"Authorization": f"Bearer {signup.json()['token']}"}
    package = plan_with(stack, PACKAGE)
    session = httpx.post(
        f"{stack.api_url}/v1/checkout/sessions",
        json={"price_id": package["price_id"]},
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
    return {"id": signup.json()["user"]["id"], "email": email, "headers": headers, "price": package}


def send_calls(stack: Stack, user_id: str, count: int) -> None:
    moment = datetime.now(UTC).isoformat()
    call = {"user_id": user_id, "route": "/v1/search", "method": "GET", "status": 200, "timestamp": moment}
    events = [{"id": uuid.uuid4().hex, **call} for _ in range(count)]
    sent = httpx.post(
        f"{stack.api_url}/v1/usage/events", json={"events": events}, headers=admin(stack), timeout=60
    )
    sent.raise_for_status()
    assert sent.json()["accepted"] == count


def choose(driver: WebDriver, wait: WebDriverWait, trigger: WebElement, option_text: str) -> None:
    """Pick `option_text` in a Radix select."""
    trigger.click()
    option = wait.until(
        ec.element_to_be_clickable((By.XPATH, f"//*[@role='option'][normalize-space()='{option_text}']"))
    )
    option.click()
    wait.until(ec.invisibility_of_element_located((By.XPATH, "//*[@role='listbox']")))


def sign_in(
    driver: WebDriver, wait: WebDriverWait, stack: Stack, email: str, password: str, path: str
) -> None:
    driver.get(f"{stack.portal_url}/login?next={path}")
    wait.until(ec.element_to_be_clickable((By.ID, "email"))).send_keys(email)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda d: d.current_url.split("?")[0].rstrip("/").endswith(path))


def sign_out(driver: WebDriver, wait: WebDriverWait) -> None:
    driver.find_element(By.XPATH, "//header//button[normalize-space()='Sign out']").click()
    wait.until(ec.presence_of_element_located((By.XPATH, "//header//a[normalize-space()='Log in']")))


def active_meter_on(stack: Stack, price_id: str) -> bool:
    meters = httpx.get(f"{stack.api_url}/v1/admin/meters", headers=admin(stack), timeout=20).json()["data"]
    return any(m["active"] and m["stripe_price_id"] == price_id for m in meters)


def test_unbilled_price_is_flagged_until_its_meter_exists_and_the_subscriber_sees_only_their_meter(
    stack: Stack, browser: WebDriver
) -> None:
    driver = browser
    wait = WebDriverWait(driver, 30)
    package = plan_with(stack, PACKAGE)
    assert not active_meter_on(stack, package["price_id"]), "this test makes the package price's meter"
    other = another_prices_meter(stack)
    customer = subscribe_to_package(stack)
    send_calls(stack, customer["id"], CALLS)
    assert (
        httpx.get(f"{stack.api_url}/v1/usage", headers=customer["headers"], timeout=20).json()["meters"] == []
    )
    assert plan_with(stack, PACKAGE)["metered_by_portal"] is False

    # Someone without a subscription is pointed to Pricing instead of being shown meters.
    sign_in(driver, wait, stack, stack.admin_email, stack.admin_password, "/dashboard")
    no_plan = wait.until(ec.visibility_of_element_located((By.ID, "usage-no-plan")))
    assert "Choose a plan on Pricing" in no_plan.text
    assert no_plan.find_element(By.TAG_NAME, "a").get_attribute("href").endswith("/pricing")

    # The Overview is not green: the package price's usage is never billed.
    driver.get(f"{stack.portal_url}/admin")
    warning = wait.until(ec.visibility_of_element_located((By.ID, "unbilled-prices-warning")))
    assert package["nickname"] in warning.text and package["price_id"] in warning.text
    assert "never billed" in driver.find_element(By.ID, "admin-health").text
    shot(driver, "30-admin-overview-unbilled", docs_name="admin-overview.png")

    # The Meters page lists it with a shortcut; a blank condition is refused at its field.
    warning.find_element(By.XPATH, ".//a[contains(., 'Meters page')]").click()
    shortcut = wait.until(
        ec.element_to_be_clickable(
            (
                By.CSS_SELECTOR,
                f"#unbilled-prices button.create-meter-for-price[data-price-id='{package['price_id']}']",
            )
        )
    )
    shot(driver, "31-admin-meters-unbilled", docs_name="admin-meters-unbilled.png")
    shortcut.click()
    form = wait.until(ec.visibility_of_element_located((By.ID, "meter-form")))
    assert wait.until(lambda d: d.find_element(By.ID, "meter-name").get_attribute("value")) == "API calls"
    assert f"My API · {package['nickname']}" in form.find_element(By.ID, "meter-price").text
    assert "No conditions: every event counts." in form.text
    driver.find_element(By.ID, "add-condition").click()
    row = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#meter-form .filter-row")))
    choose(driver, wait, row.find_element(By.CSS_SELECTOR, "[aria-label='Field']"), "Status code")
    driver.find_element(By.ID, "save-meter").click()
    error = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#meter-form .filter-row-error")))
    assert error.text == "Enter a value, or remove this condition."
    value = driver.find_element(By.CSS_SELECTOR, "#meter-form .filter-row input[aria-label='Value']")
    assert value.get_attribute("aria-invalid") == "true"
    assert driver.find_elements(By.ID, "meter-form") and not active_meter_on(stack, package["price_id"])
    shot(driver, "32-admin-meter-form-blank-value")
    driver.find_element(By.CSS_SELECTOR, "#meter-form [aria-label='Remove this condition']").click()
    wait.until(lambda d: "No conditions: every event counts." in d.find_element(By.ID, "meter-form").text)
    driver.find_element(By.ID, "save-meter").click()
    made = wait.until(
        ec.presence_of_element_located(
            (By.XPATH, "//*[@id='meters-table']//tr[@data-meter-name='API calls'][contains(., 'per 1,000')]")
        )
    )
    assert "Every event" in made.text
    wait.until(
        lambda d: (
            package["price_id"] not in " ".join(e.text for e in d.find_elements(By.ID, "unbilled-prices"))
        )
    )
    assert active_meter_on(stack, package["price_id"])
    assert plan_with(stack, PACKAGE)["metered_by_portal"] is True

    # Back on the Overview the package price is no longer flagged (and nothing is, once the pay-as-you-go
    # price has its meter too: the admin console test makes it).
    driver.get(f"{stack.portal_url}/admin")
    wait.until(ec.visibility_of_element_located((By.ID, "admin-health")))

    def package_flagged(d: WebDriver) -> bool:
        return any(package["price_id"] in w.text for w in d.find_elements(By.ID, "unbilled-prices-warning"))

    wait.until(lambda d: not package_flagged(d))  # once the page has loaded afresh
    if active_meter_on(stack, plan_with(stack, PAYG)["price_id"]):
        wait.until(lambda d: not d.find_elements(By.ID, "unbilled-prices-warning"))
        assert "never billed" not in driver.find_element(By.ID, "admin-health").text
    sign_out(driver, wait)

    # The subscriber's dashboard: their plan's meter with their plan's price, not the other meter.
    usage = httpx.get(f"{stack.api_url}/v1/usage", headers=customer["headers"], timeout=20).json()
    [meter] = usage["meters"]
    assert (meter["name"], meter["price_id"], meter["period_value"]) == (
        "API calls",
        package["price_id"],
        CALLS,
    )
    assert meter["estimated_amount"] == 2000 and meter["currency"] == "usd"
    sign_in(driver, wait, stack, customer["email"], CUSTOMER_PASSWORD, "/dashboard")
    card = wait.until(ec.visibility_of_element_located((By.ID, "usage-card")))
    wait.until(lambda d: "API calls" in d.find_element(By.ID, "usage-card").text)
    card = driver.find_element(By.ID, "usage-card")
    assert "1,001 calls this period" in card.text
    assert f"≈ {format_money(2000, 'usd')}" in card.text
    assert other["name"] not in card.text
    assert driver.find_elements(By.CSS_SELECTOR, "#usage-card .recharts-bar-rectangle")
    shot(driver, "33-customer-dashboard-own-meter", docs_name="dashboard.png")
