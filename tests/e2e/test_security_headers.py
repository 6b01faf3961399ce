"""The running portal (prod build: pages and Reflex backend on one port) sends its security headers."""

from __future__ import annotations

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.conftest import Stack, csp_violations

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.mark.parametrize("path", ["/", "/login", "/pricing", "/ping", "/_health"])
def test_pages_and_backend_send_the_security_headers(stack: Stack, path: str) -> None:
    final = httpx.get(f"{stack.portal_url}{path}", timeout=10, follow_redirects=True)
    assert final.status_code == 200
    # Redirects too (/login -> /login/).
    for response in [*final.history, final]:
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        # The e2e portal runs on http: no HSTS there.
        assert "Strict-Transport-Security" not in response.headers


def test_backend_refuses_other_origins(stack: Stack) -> None:
    response = httpx.get(f"{stack.portal_url}/ping", headers={"Origin": "https://evil.example"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in response.headers
    own = httpx.get(f"{stack.portal_url}/ping", headers={"Origin": stack.portal_url}, timeout=10)
    assert own.headers["Access-Control-Allow-Origin"] == stack.portal_url


def test_login_page_hydrates_under_the_csp(stack: Stack, browser: WebDriver) -> None:
    driver = browser
    driver.get(f"{stack.portal_url}/login")
    # Inline validation runs in the Reflex backend over the websocket: it only shows if both work.
    email = WebDriverWait(driver, 30).until(ec.element_to_be_clickable((By.ID, "email")))
    email.send_keys("not-an-email")
    driver.find_element(By.ID, "password").click()
    WebDriverWait(driver, 30).until(lambda d: "Enter an email address like" in d.page_source)
    assert csp_violations(driver) == []
