"""The whole journey in a browser: sign up, pick the metered plan, pay, get a key, revoke it."""

from __future__ import annotations

import uuid

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.conftest import Stack, csp_violations, no_secret_in_page, shot

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]


def verify(stack: Stack, key: str) -> dict:
    response = httpx.post(
        f"{stack.api_url}/v1/keys/verify",
        json={"key": key},
        headers={"Authorization": f"Bearer {stack.admin_token}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def test_sign_up_subscribe_get_key_and_revoke_it(stack: Stack, browser: WebDriver) -> None:
    driver = browser
    wait = WebDriverWait(driver, 30)
    path_is = lambda path: lambda d: d.current_url.split("?")[0].rstrip("/").endswith(path)  # noqa: E731

    # Sign up; the form is labelled, so fields are found by their labels' targets.
    driver.get(f"{stack.portal_url}/signup")
    wait.until(ec.element_to_be_clickable((By.ID, "email")))
    driver.find_element(By.ID, "name").send_keys("E2E Tester")
    driver.find_element(By.ID, "email").send_keys(f"e2e-{uuid.uuid4().hex[:8]}@example.com")
    driver.find_element(By.ID, "password").send_keys("correct horse battery staple")
    shot(driver, "01-signup")
    no_secret_in_page(driver)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(path_is("/dashboard"))

    # Pricing: the portal's own table from GET /v1/plans; pick the metered graduated plan.
    driver.get(f"{stack.portal_url}/pricing")
    graduated = (
        "//div[contains(@class,'rt-Card')][.//*[contains(text(),'Graduated pricing')]]"
        "//button[@data-price-id]"
    )
    choose = wait.until(ec.element_to_be_clickable((By.XPATH, graduated)))
    assert "First 1,000" in driver.page_source
    shot(driver, "02-pricing")
    no_secret_in_page(driver)
    choose.click()

    # The emulator's hosted Checkout page.
    wait.until(lambda d: d.current_url.startswith(stack.emulator_url))
    pay = wait.until(ec.element_to_be_clickable((By.XPATH, "//button[normalize-space()='Pay']")))
    shot(driver, "03-checkout")
    pay.click()

    # Back on the portal: the first key, shown once.
    wait.until(path_is("/return"))
    secret_element = WebDriverWait(driver, 60).until(
        ec.visibility_of_element_located((By.ID, "revealed-secret"))
    )
    secret = secret_element.text.strip()
    assert secret and not secret.startswith(("sk_", "whsec_"))
    assert "shown only once" in driver.page_source
    shot(driver, "04-return")
    assert verify(stack, secret)["valid"] is True

    # Dashboard: the key is listed; revoke it through the confirmation dialog.
    driver.find_element(By.XPATH, "//main//a[contains(.,'Go to your dashboard')]").click()
    wait.until(path_is("/dashboard"))
    row = wait.until(
        ec.presence_of_element_located((By.XPATH, "//*[@id='keys-table']//tr[@data-key-prefix]"))
    )
    prefix = row.get_attribute("data-key-prefix") or ""
    assert secret.startswith(prefix)
    assert driver.find_element(By.ID, "plan-name").text
    shot(driver, "05-dashboard")
    no_secret_in_page(driver)
    assert secret not in driver.page_source  # shown once, on /return only
    row.find_element(By.XPATH, ".//button[contains(.,'Revoke')]").click()
    wait.until(ec.element_to_be_clickable((By.ID, "confirm-revoke")))
    shot(driver, "06-revoke-dialog")
    driver.find_element(By.ID, "confirm-revoke").click()
    wait.until(
        lambda d: "revoked" in d.find_element(By.XPATH, f"//tr[@data-key-prefix='{prefix}']").text.lower()
    )
    shot(driver, "07-revoked")

    # A reload keeps the session (the token lives in a cookie) and the key stays revoked.
    driver.refresh()
    wait.until(
        lambda d: "revoked" in d.find_element(By.XPATH, f"//tr[@data-key-prefix='{prefix}']").text.lower()
    )
    assert path_is("/dashboard")(driver)

    result = verify(stack, secret)
    assert result["valid"] is False
    assert result["reason"] == "revoked"

    # The portal's Content Security Policy blocked nothing the journey needed.
    assert csp_violations(driver) == []
