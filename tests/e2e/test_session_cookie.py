"""The session credential in a browser: an HttpOnly cookie no page script can read, that still signs calls.

The token is taken from WebDriver's cookie jar (which, unlike page scripts, sees HttpOnly cookies) and
checked against the API, so the test looks for the exact credential the portal uses, whatever its format.
"""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from my_dev_portal.session_cookie import SESSION_COOKIE
from tests.e2e.conftest import Stack, csp_violations, websocket_frames

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PASSWORD = "correct horse battery staple"
# Everything a script on the page can read: document.cookie and both storages, every key and value.
READ_WHAT_SCRIPTS_CAN = """
const entries = (storage) => Array.from({length: storage.length}, (_, i) => storage.key(i))
  .map((key) => [key, storage.getItem(key)]);
return {cookie: document.cookie, local: entries(localStorage), session: entries(sessionStorage)};
"""


def path_is(path: str):
    return lambda driver: driver.current_url.split("?")[0].rstrip("/").endswith(path)


def on_login_page_for(next_path: str):
    """On /login with `?next=next_path` (the static server adds a slash to either when loaded directly)."""

    def check(driver: WebDriver) -> bool:
        url = urlsplit(driver.current_url)
        next_paths = [path.rstrip("/") for path in parse_qs(url.query).get("next", [])]
        return url.path.rstrip("/") == "/login" and next_paths == [next_path]

    return check


def session_token(driver: WebDriver) -> str:
    """The portal's session cookie as the browser stores it; checks it is HttpOnly and strict."""
    cookie = driver.get_cookie(SESSION_COOKIE)
    assert cookie is not None, "no session cookie after signing in"
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/"
    assert cookie["secure"] is False  # the e2e portal is http://localhost
    return str(cookie["value"])


def api_user(stack: Stack, token: str) -> httpx.Response:
    return httpx.get(f"{stack.api_url}/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def assert_no_script_can_read(driver: WebDriver, token: str) -> None:
    seen = driver.execute_script(READ_WHAT_SCRIPTS_CAN)
    readable = [seen["cookie"], *(text for pair in seen["local"] + seen["session"] for text in pair)]
    assert SESSION_COOKIE not in seen["cookie"]
    assert [text for text in readable if token in (text or "")] == []
    assert token not in driver.page_source
    # Nor did Reflex send it to the page in any state update (or the page send it anywhere).
    frames = websocket_frames(driver)
    assert frames, "no websocket frames were logged"
    assert [frame for frame in frames if token in frame] == []


def wait_for_dashboard_of(driver: WebDriver, email: str, key_name: str | None = None) -> None:
    wait = WebDriverWait(driver, 30)
    wait.until(path_is("/dashboard"))
    # The user's own data, which the Reflex backend fetched from the API with the cookie's token.
    wait.until(lambda d: email in d.find_element(By.TAG_NAME, "main").text)
    if key_name:
        wait.until(lambda d: key_name in d.find_element(By.ID, "keys-table").text)


def test_the_session_token_is_httponly_unreadable_by_scripts_and_still_works(
    stack: Stack, browser: WebDriver
) -> None:
    driver = browser
    wait = WebDriverWait(driver, 30)
    email = f"cookie-{uuid.uuid4().hex[:8]}@example.com"

    # Sign up through the real page.
    driver.get(f"{stack.portal_url}/signup")
    wait.until(ec.element_to_be_clickable((By.ID, "email"))).send_keys(email)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for_dashboard_of(driver, email)
    token = session_token(driver)
    assert api_user(stack, token).json()["email"] == email
    assert_no_script_can_read(driver, token)

    # A key made at the API with that token shows on the dashboard after a reload: the portal's backend
    # reads the cookie from the websocket handshake and calls the API with it.
    created = httpx.post(
        f"{stack.api_url}/v1/keys",
        json={"name": "made-with-the-cookie"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    driver.refresh()
    wait_for_dashboard_of(driver, email, "made-with-the-cookie")
    assert_no_script_can_read(driver, token)

    # Sign out: the cookie is gone and the API session revoked.
    wait.until(ec.element_to_be_clickable((By.XPATH, "//button[normalize-space()='Sign out']"))).click()
    wait.until(lambda d: d.current_url.rstrip("/") == stack.portal_url)
    wait.until(lambda d: d.get_cookie(SESSION_COOKIE) is None)
    assert api_user(stack, token).status_code == 401

    # The guard sends a visitor to log in and back; log in through the real page.
    driver.get(f"{stack.portal_url}/dashboard")
    wait.until(on_login_page_for("/dashboard"))
    wait.until(ec.element_to_be_clickable((By.ID, "email"))).send_keys(email)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for_dashboard_of(driver, email, "made-with-the-cookie")
    second = session_token(driver)
    assert second != token
    assert_no_script_can_read(driver, second)

    # The API ends the session behind the portal's back: the next page load signs the browser out.
    revoked = httpx.post(
        f"{stack.api_url}/v1/auth/logout", headers={"Authorization": f"Bearer {second}"}, timeout=10
    )
    assert revoked.status_code == 204
    driver.get(f"{stack.portal_url}/dashboard")
    wait.until(on_login_page_for("/dashboard"))
    wait.until(lambda d: d.get_cookie(SESSION_COOKIE) is None)
    wait.until(ec.element_to_be_clickable((By.ID, "email")))
    assert driver.find_elements(By.XPATH, "//button[normalize-space()='Sign out']") == []

    # The hand-off pages stayed within the Content Security Policy (no eval, no inline handlers).
    assert csp_violations(driver) == []
