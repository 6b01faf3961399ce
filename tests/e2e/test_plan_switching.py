"""Plan changes in a browser: subscribe to Free, see it marked on Pricing, switch to Pro through the preview
dialog (Stripe's proration), see Pro on the dashboard, cancel at the period end, resume.

With E2E_DOCS_SCREENSHOTS=1 it also refreshes the README's docs/pricing.png (the current plan marked, the
others offering a switch), docs/plan-switch.png (the preview dialog), docs/dashboard.png and
docs/dashboard-canceling.png (conftest.DOCS_SCREENSHOTS).
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from my_dev_portal.session_cookie import SESSION_COOKIE
from tests.e2e.conftest import Stack, csp_violations, no_secret_in_page, shot

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]


def card(title: str) -> str:
    """The XPath of the pricing card headed `title`."""
    return f"//div[@data-plan-card][.//h2[normalize-space()='{title}']]"


def path_is(path: str):
    return lambda driver: driver.current_url.split("?")[0].rstrip("/").endswith(path)


def subscription(stack: Stack, driver: WebDriver) -> dict:
    """GET /v1/subscription with the browser's own session (the HttpOnly cookie WebDriver can read)."""
    cookie = driver.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    response = httpx.get(
        f"{stack.api_url}/v1/subscription", headers={"Authorization": f"Bearer {cookie['value']}"}, timeout=10
    )
    response.raise_for_status()
    return response.json()


def test_switch_plan_from_pricing_then_cancel_at_period_end_and_resume(
    stack: Stack, browser: WebDriver
) -> None:
    driver = browser
    wait = WebDriverWait(driver, 30)

    driver.get(f"{stack.portal_url}/signup")
    wait.until(ec.element_to_be_clickable((By.ID, "email")))
    driver.find_element(By.ID, "name").send_keys("Plan Switcher")
    driver.find_element(By.ID, "email").send_keys(f"switch-{uuid.uuid4().hex[:8]}@example.com")
    driver.find_element(By.ID, "password").send_keys("correct horse battery staple")
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(path_is("/dashboard"))

    # Subscribe to Free through Checkout.
    driver.get(f"{stack.portal_url}/pricing")
    wait.until(
        ec.element_to_be_clickable((By.XPATH, f"{card('Free')}//button[@data-action='choose']"))
    ).click()
    wait.until(lambda d: d.current_url.startswith(stack.emulator_url))
    wait.until(ec.element_to_be_clickable((By.XPATH, "//button[normalize-space()='Pay']"))).click()
    wait.until(path_is("/return"))
    WebDriverWait(driver, 60).until(ec.visibility_of_element_located((By.ID, "revealed-secret")))

    # Pricing marks Free as the current plan; the other plans offer a switch.
    driver.get(f"{stack.portal_url}/pricing")
    current = wait.until(
        ec.presence_of_element_located((By.XPATH, f"{card('Free')}//button[@data-current='true']"))
    )
    assert not current.is_enabled() and "Current plan" in current.text
    switch = wait.until(
        ec.element_to_be_clickable((By.XPATH, f"{card('Pro')}//button[@data-action='switch']"))
    )
    assert "Switch to this plan" in switch.text
    assert driver.find_elements(By.XPATH, "//button[@data-action='choose']") == []
    shot(driver, "21-pricing-current-plan")
    no_secret_in_page(driver)

    # The dialog shows Stripe's proration before anything changes.
    switch.click()
    confirm = wait.until(ec.element_to_be_clickable((By.ID, "confirm-switch")))
    lines = driver.find_element(By.ID, "switch-lines").text
    assert "Remaining time on My API (Pro) after" in lines
    proration = driver.find_element(By.ID, "switch-proration").text
    assert proration.startswith("$") and proration != "$0.00"
    assert driver.find_element(By.ID, "switch-due").text.startswith("$")
    assert subscription(stack, driver)["plan"]["nickname"] == "Free"  # nothing switched yet
    shot(driver, "22-switch-dialog")
    confirm.click()
    notice = wait.until(ec.visibility_of_element_located((By.ID, "plan-notice")))
    assert "You are now on Pro" in notice.text
    wait.until(ec.presence_of_element_located((By.XPATH, f"{card('Pro')}//button[@data-current='true']")))
    assert driver.find_elements(By.XPATH, f"{card('Free')}//button[@data-action='switch']")
    assert subscription(stack, driver)["plan"]["nickname"] == "Pro"

    # The dashboard shows Pro, and the proration on the upcoming invoice.
    driver.get(f"{stack.portal_url}/dashboard")
    wait.until(lambda d: "Pro" in d.find_element(By.ID, "plan-name").text)
    wait.until(lambda d: "Remaining time on My API (Pro)" in d.page_source)
    shot(driver, "23-dashboard-after-switch")

    # Cancel at the period end (confirmed), then resume.
    wait.until(ec.element_to_be_clickable((By.ID, "cancel-at-period-end"))).click()
    wait.until(ec.element_to_be_clickable((By.ID, "confirm-cancel"))).click()
    ends = wait.until(ec.visibility_of_element_located((By.ID, "plan-ends-on")))
    assert ends.text.startswith("Ends on ")
    shot(driver, "24-dashboard-canceling")
    assert subscription(stack, driver)["cancel_at_period_end"] is True
    driver.refresh()  # it is Stripe's state, not the page's
    wait.until(ec.visibility_of_element_located((By.ID, "plan-ends-on")))
    wait.until(ec.element_to_be_clickable((By.ID, "resume-subscription"))).click()
    wait.until(ec.element_to_be_clickable((By.ID, "cancel-at-period-end")))
    assert driver.find_elements(By.ID, "plan-ends-on") == []
    assert subscription(stack, driver)["cancel_at_period_end"] is False
    shot(driver, "25-dashboard-resumed")

    assert csp_violations(driver) == []
