"""Path constants of the portal's pages."""

from urllib.parse import quote

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


def login_with_next(next_path: str) -> str:
    """The login page, sending the user on to `next_path` once signed in."""
    return f"{LOGIN}?next={quote(safe_next(next_path), safe='/')}"


def safe_next(next_path: str | None, default: str = DASHBOARD) -> str:
    """`next_path` when it stays on this site, else `default`: `next` must never send users elsewhere."""
    if not next_path or not next_path.startswith("/") or next_path.startswith("//") or "\\" in next_path:
        return default
    return next_path
