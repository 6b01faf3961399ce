"""The built frontend: no Stripe secret in any page or bundle, and /pricing can embed Stripe's table."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PORTAL = ROOT / "my-dev-portal"
BUILD = PORTAL / ".web" / "build" / "client"
# A cold install fetches bun and node_modules from the npm registry: more than the default timeout.
pytestmark = pytest.mark.timeout(600)
SECRET_PATTERN = re.compile(rb"(sk|rk)_(test|live)_[A-Za-z0-9]|whsec_[A-Za-z0-9]")


@pytest.fixture(scope="module")
def built_frontend() -> Path:
    """`reflex export` of the portal, built with secrets in its environment: none may reach the browser."""
    env = os.environ | {
        "STRIPE_API_KEY": "sk_test_mustnotleak0000",
        "STRIPE_SECRET_KEY": "sk_live_mustnotleak0000",
        "STRIPE_WEBHOOK_SECRET": "whsec_mustnotleak0000",
        "STRIPE_PRICING_TABLE_ID": "prctbl_test_123",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_publishable",
    }
    subprocess.run(["bash", str(ROOT / "scripts" / "install-frontend.sh")], check=True, env=env, timeout=300)
    command = (
        'source "$0" && cd "$PORTAL_DIR" && '
        "uv run --frozen reflex export --frontend-only --no-zip --loglevel warning"
    )
    subprocess.run(
        ["bash", "-c", command, str(PORTAL / "reflex-env.sh")],
        check=True,
        env=env,
        timeout=300,
        stdout=subprocess.DEVNULL,
    )
    assert (BUILD / "index.html").exists()
    return BUILD


def test_no_secret_key_in_any_page_or_bundle(built_frontend: Path) -> None:
    files = [path for path in built_frontend.rglob("*") if path.is_file() and not path.name.endswith(".gz")]
    assert any(path.suffix == ".js" for path in files) and any(path.suffix == ".html" for path in files)
    leaks = [
        str(path.relative_to(built_frontend)) for path in files if SECRET_PATTERN.search(path.read_bytes())
    ]
    assert leaks == []


def test_every_page_is_prerendered(built_frontend: Path) -> None:
    pages = ["index.html", "pricing.html", "login.html", "signup.html", "dashboard.html", "return.html"]
    pages += ["signing-in.html", "signing-out.html"]
    pages += ["admin.html", "admin/billing-provider.html", "admin/meters.html", "admin/customers.html"]
    pages += ["admin/customers/detail.html", "admin/report-runs.html", "admin/tokens.html"]
    for page in pages:
        assert (built_frontend / page).exists(), page


def test_pricing_bundle_embeds_stripe_table_and_script(built_frontend: Path) -> None:
    bundles = b"".join(path.read_bytes() for path in (built_frontend / "assets").rglob("*.js"))
    assert b"stripe-pricing-table" in bundles
    assert b"pricing-table-id" in bundles and b"client-reference-id" in bundles
    assert b"https://js.stripe.com/v3/pricing-table.js" in bundles
