"""Stripe's pricing table: the markup carries the configured ids and script, and no secret ever."""

from __future__ import annotations

import re

from my_dev_portal.components.pricing_table import pricing_table
from my_dev_portal.components.stripe_pricing_table import PRICING_TABLE_SCRIPT, stripe_pricing_table

SECRET_PATTERN = re.compile(r"(sk|rk)_(test|live)_|whsec_")


def test_markup_carries_table_id_publishable_key_user_and_script() -> None:
    markup = str(stripe_pricing_table("prctbl_123", "pk_test_abc", "usr_42", "ada@example.com"))
    assert 'jsx("stripe-pricing-table"' in markup
    assert '"pricing-table-id":"prctbl_123"' in markup
    assert '"publishable-key":"pk_test_abc"' in markup
    assert '"client-reference-id":"usr_42"' in markup
    assert '"customer-email":"ada@example.com"' in markup
    assert f'jsx("script",{{async:true,src:"{PRICING_TABLE_SCRIPT}"}}' in markup
    assert PRICING_TABLE_SCRIPT == "https://js.stripe.com/v3/pricing-table.js"


def test_pricing_page_binds_the_table_to_state_and_the_signed_in_user() -> None:
    markup = str(pricing_table())
    assert '"pricing-table-id":' in markup and "stripe_pricing_table_id" in markup
    assert '"publishable-key":' in markup and "stripe_publishable_key" in markup
    assert '"client-reference-id":' in markup and "user_id" in markup
    assert not SECRET_PATTERN.search(markup)
