"""Path constants of the portal's pages."""

from urllib.parse import quote, urlencode

LANDING = "/"
SIGNUP = "/signup"
LOGIN = "/login"
PRICING = "/pricing"
CHECKOUT_RETURN = "/return"
DASHBOARD = "/dashboard"
ADMIN = "/admin"
ADMIN_BILLING_PROVIDER = "/admin/billing-provider"
ADMIN_METERS = "/admin/meters"
ADMIN_CUSTOMERS = "/admin/customers"
# One customer: ?user_id=usr_...
ADMIN_CUSTOMER = "/admin/customers/detail"
ADMIN_REPORT_RUNS = "/admin/report-runs"
ADMIN_TOKENS = "/admin/tokens"
# Pages that hand the browser over to the session routes below with a full page load (a Reflex redirect
# stays inside the single-page app, which knows nothing of those routes).
SIGNING_IN = "/signing-in"
SIGNING_OUT = "/signing-out"
# HTTP routes of the portal's own backend (session_routes.py), not pages: they set and clear the HttpOnly
# session cookie.
SESSION_ESTABLISH = "/_session/establish"
SESSION_END = "/_session/end"
# ?signin=failed on /login: /_session/establish refused the code (too slow, used, or another browser).
SIGNIN_PROBLEM = "signin"
SIGNIN_FAILED = "failed"


def login_with_next(next_path: str, *, signin_failed: bool = False) -> str:
    """The login page, sending the user on to `next_path` once signed in."""
    problem = f"&{SIGNIN_PROBLEM}={SIGNIN_FAILED}" if signin_failed else ""
    return f"{LOGIN}?next={quote(safe_next(next_path), safe='/')}{problem}"


def signing_in_with_code(code: str, next_path: str) -> str:
    """The page taking a one-time hand-off code to SESSION_ESTABLISH, then on to `next_path`."""
    return f"{SIGNING_IN}?{urlencode({'code': code, 'next': safe_next(next_path)})}"


def signing_out_then(next_path: str) -> str:
    """The page taking the browser to SESSION_END (the cookie is cleared), then on to `next_path`."""
    return f"{SIGNING_OUT}?{urlencode({'next': safe_next(next_path, default=LANDING)})}"


def safe_next(next_path: str | None, default: str = DASHBOARD) -> str:
    """`next_path` when it stays on this site, else `default`: `next` must never send users elsewhere."""
    if not next_path or not next_path.startswith("/") or next_path.startswith("//") or "\\" in next_path:
        return default
    return next_path
