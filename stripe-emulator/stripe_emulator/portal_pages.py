"""The hosted customer portal (/p/session/{id}): what Stripe's portal lets a customer do, per configuration.

- Home: the customer's subscriptions with plan, status and the date a canceling one ends; "Update plan"
  when the configuration's subscription_update feature offers another price (resources/billing_portal.py,
  `offered_prices`), "Cancel" (at the period end or at once, the configuration's `mode`), "Renew" for a
  subscription set to cancel.
- Update: the prices on offer, the current one marked; picking one shows the confirmation page with the
  invoice preview of the switch (the prorations as the configuration's `proration_behavior` makes them,
  computed as of the moment shown); "Confirm" makes the very update the preview showed (same
  `proration_date`), as Stripe's portal does: `customer.subscription.updated` (and invoice item / invoice
  events) follow.
- A session made with `flow_data` opens its flow (subscription_update, subscription_update_confirm,
  subscription_cancel) instead of the home page; when the flow is done the session shows the home page, or
  redirects / confirms as `after_completion` says.
"""

from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from stripe_emulator import billing, changes
from stripe_emulator.errors import StripeError
from stripe_emulator.hosted import _money, _page, _price_label, _store
from stripe_emulator.resources.billing_portal import default_configuration, may_switch_to, offered_prices
from stripe_emulator.store import Store

router = APIRouter(include_in_schema=False)

_ENDED = ("canceled", "incomplete_expired")


def _portal(store: Store, portal_id: str) -> dict[str, Any] | None:
    return store.get(portal_id, "billing_portal.session")


def _configuration(store: Store, portal: dict[str, Any]) -> dict[str, Any]:
    found = store.get(portal["configuration"], "billing_portal.configuration")
    return found if found is not None else default_configuration(store)


def _subscription(store: Store, portal: dict[str, Any], subscription_id: str) -> dict[str, Any] | None:
    subscription = store.get(subscription_id, "subscription")
    if subscription is None or subscription["customer"] != portal["customer"]:
        return None
    billing.advance(store, subscription)
    return subscription


def _not_found() -> Response:
    return _page("Not found", "<h1>Not found.</h1>", 404)


def _error(exc: StripeError) -> Response:
    return _page("Customer portal", f"<h1 class='error'>{escape(exc.message)}</h1>", exc.status)


def price_terms(price: dict[str, Any]) -> str:
    """What a price costs, in a few words: "30.00 USD / month", "10.00 USD per 1000 units, monthly"."""
    recurring = price.get("recurring") or {}
    count = recurring.get("interval_count") or 1
    interval = recurring.get("interval", "month")
    every = interval if count == 1 else f"{count} {interval}s"
    metered = recurring.get("usage_type") == "metered"
    if price.get("billing_scheme") == "tiered":
        return f"tiered ({price.get('tiers_mode')}) usage pricing, billed every {every}"
    amount = price.get("unit_amount_decimal") or price.get("unit_amount") or 0
    money = f"{float(amount) / 100:,.2f} {str(price['currency']).upper()}"
    transform = price.get("transform_quantity")
    if transform:
        return f"{money} per {transform['divide_by']} units, billed every {every}"
    if metered:
        return f"{money} per unit, billed every {every}"
    return f"{money} / {every}"


def _home(store: Store, portal: dict[str, Any], notice: str = "") -> Response:
    configuration = _configuration(store, portal)
    cancel = configuration["features"]["subscription_cancel"]
    customer = store.get(portal["customer"], "customer") or {}
    rows = []
    for subscription in store.all("subscription"):
        if subscription["customer"] != portal["customer"]:
            continue
        billing.advance(store, subscription)
        sid = escape(subscription["id"])
        base = f"/p/session/{escape(portal['id'])}"
        items = billing.items_of(store, subscription)
        labels = ", ".join(_price_label(store, i["price"]) for i in items)
        status = escape(subscription["status"])
        actions = []
        if subscription["status"] not in _ENDED:
            if subscription["cancel_at_period_end"]:
                status += (
                    f"<br><span class='notice' id='ends-{sid}'>Cancels on "
                    f"{billing.format_day(subscription['current_period_end'])}</span>"
                )
                actions.append(
                    f"<form class='inline' method='post' action='{base}/renew/{sid}'>"
                    f"<button id='renew-{sid}' type='submit'>Renew subscription</button></form>"
                )
            if len(offered_prices(store, configuration, subscription)) > 1:
                actions.append(
                    f"<a class='button' id='update-{sid}' "
                    f"href='/p/session/{escape(portal['id'])}/subscriptions/{sid}/update'>Update plan</a>"
                )
            if cancel["enabled"] and not subscription["cancel_at_period_end"]:
                actions.append(
                    f"<form class='inline' method='post' action='{base}/cancel/{sid}'>"
                    f"<button class='secondary' id='cancel-{sid}' type='submit'>Cancel subscription</button>"
                    "</form>"
                )
        rows.append(
            f"<tr data-subscription='{sid}'><td>{escape(labels)}</td><td class='status'>{status}</td>"
            f"<td>{' '.join(actions)}</td></tr>"
        )
    table = "".join(rows) or "<tr><td colspan='3'>No subscriptions.</td></tr>"
    back = (
        f"<p><a id='return' href='{escape(portal['return_url'])}'>Return</a></p>"
        if portal["return_url"]
        else ""
    )
    shown = f"<p class='notice' id='notice'>{escape(notice)}</p>" if notice else ""
    body = f"""
<h1>Manage your subscriptions</h1>
<p class='muted'>{escape(customer.get("email") or portal["customer"])}</p>{shown}
<table><thead><tr><th>Plan</th><th>Status</th><th></th></tr></thead>
<tbody>{table}</tbody></table>
{back}"""
    return _page("Customer portal", body)


def _update_page(store: Store, portal: dict[str, Any], subscription: dict[str, Any]) -> Response:
    configuration = _configuration(store, portal)
    offered = offered_prices(store, configuration, subscription)
    if not offered:
        return _page("Customer portal", "<h1>This subscription's plan cannot be changed here.</h1>", 400)
    current = billing.items_of(store, subscription)[0]["price"]
    rows = []
    for price in offered:
        pid = escape(price["id"])
        if price["id"] == current:
            action = f"<strong id='current-{pid}'>Current plan</strong>"
        else:
            action = (
                f"<a class='button' id='price-{pid}' href='/p/session/{escape(portal['id'])}/subscriptions/"
                f"{escape(subscription['id'])}/update/{pid}'>Select</a>"
            )
        rows.append(
            f"<tr><td>{escape(_price_label(store, price['id']))}</td><td>{escape(price_terms(price))}</td>"
            f"<td>{action}</td></tr>"
        )
    body = f"""
<h1>Update your plan</h1>
<table><thead><tr><th>Plan</th><th>Price</th><th></th></tr></thead><tbody>{"".join(rows)}</tbody></table>
<p><a id='back' href='/p/session/{escape(portal["id"])}'>Back</a></p>"""
    return _page("Update your plan", body)


def _switch(
    store: Store, portal: dict[str, Any], subscription: dict[str, Any], price_id: str, proration_date: Any
) -> changes.Update:
    configuration = _configuration(store, portal)
    item = billing.items_of(store, subscription)[0]
    return changes.plan_update(
        store,
        subscription,
        items=[{"id": item["id"], "price": price_id}],
        behavior=configuration["features"]["subscription_update"]["proration_behavior"],
        proration_date=proration_date,
    )


def _confirm_page(
    store: Store, portal: dict[str, Any], subscription: dict[str, Any], price_id: str
) -> Response:
    configuration = _configuration(store, portal)
    if not may_switch_to(store, configuration, subscription, price_id):
        return _page("Customer portal", "<h1>That plan is not on offer for this subscription.</h1>", 400)
    try:
        update = _switch(store, portal, subscription, price_id, None)
    except StripeError as exc:
        return _error(exc)
    lines, _, end, reason = changes.preview(store, update)
    currency = subscription["currency"]
    total = sum(line["amount"] for line in lines)
    prorated = sum(line["amount"] for line in lines if line.get("proration"))
    rows = "".join(
        f"<tr><td>{escape(line['description'])}</td><td>{_money(line['amount'], currency)}</td></tr>"
        for line in lines
    )
    if reason == "subscription_update":
        summary = f"Amount due today: <strong id='due'>{_money(max(total, 0), currency)}</strong>"
    else:
        summary = (
            f"Your next invoice, on {billing.format_day(end)}: <strong id='due'>"
            f"{_money(max(total, 0), currency)}</strong>"
        )
    price = store.get(price_id, "price") or {}
    action = (
        f"/p/session/{escape(portal['id'])}/subscriptions/{escape(subscription['id'])}"
        f"/update/{escape(price_id)}"
    )
    body = f"""
<h1>Confirm your new plan</h1>
<p>{escape(_price_label(store, price_id))}: {escape(price_terms(price))}</p>
<p class='muted'>Proration as of {billing.format_day(update.proration_date)}:
<span id='proration'>{_money(prorated, currency)}</span></p>
<table><thead><tr><th>Item</th><th>Amount</th></tr></thead><tbody>{rows}</tbody></table>
<p>{summary}</p>
<form method='post' action='{action}'>
  <input type='hidden' name='proration_date' value='{update.proration_date}'>
  <button id='confirm' type='submit'>Confirm</button>
</form>
<p><a id='back' href='/p/session/{escape(portal["id"])}'>Back</a></p>"""
    return _page("Confirm your new plan", body)


def _cancel_page(store: Store, portal: dict[str, Any], subscription: dict[str, Any]) -> Response:
    mode = _configuration(store, portal)["features"]["subscription_cancel"]["mode"]
    when = (
        f"at the end of the period, on {billing.format_day(subscription['current_period_end'])}"
        if mode == "at_period_end"
        else "now"
    )
    sid = escape(subscription["id"])
    body = f"""
<h1>Cancel your plan</h1>
<p>{escape(", ".join(_price_label(store, i["price"]) for i in billing.items_of(store, subscription)))}
will be canceled {when}.</p>
<form method='post' action='/p/session/{escape(portal["id"])}/cancel/{sid}'>
  <button id='cancel-{sid}' type='submit'>Cancel plan</button>
</form>
<p><a id='back' href='/p/session/{escape(portal["id"])}'>Back</a></p>"""
    return _page("Cancel your plan", body)


def _completed(store: Store, portal: dict[str, Any], notice: str) -> Response:
    """After an action: the flow's after_completion, else back to the portal's home page."""
    flow = portal.get("flow")
    if flow is not None and not portal.get("_flow_done"):
        portal["_flow_done"] = True
        after = flow["after_completion"]
        if after["type"] == "redirect":
            return RedirectResponse(after["redirect"]["return_url"], status_code=303)
        if after["type"] == "hosted_confirmation":
            message = (after.get("hosted_confirmation") or {}).get("custom_message") or notice
            back = (
                f"<p><a id='return' href='{escape(portal['return_url'])}'>Return</a></p>"
                if portal["return_url"]
                else ""
            )
            return _page("Done", f"<h1 id='confirmation'>{escape(message)}</h1>{back}")
    return RedirectResponse(f"/p/session/{portal['id']}?done={notice.split(' ')[0].lower()}", status_code=303)


@router.get("/p/session/{portal_id}")
async def portal_page(portal_id: str, request: Request) -> Response:
    store = _store(request)
    portal = _portal(store, portal_id)
    if portal is None:
        return _page("Not found", "<h1>This portal session does not exist.</h1>", 404)
    flow = portal.get("flow")
    if flow is not None and not portal.get("_flow_done") and flow["type"] != "payment_method_update":
        details = flow[flow["type"]]
        subscription = _subscription(store, portal, details["subscription"])
        if subscription is None:
            return _not_found()
        if flow["type"] == "subscription_update":
            return _update_page(store, portal, subscription)
        if flow["type"] == "subscription_update_confirm":
            return _confirm_page(store, portal, subscription, details["items"][0]["price"])
        return _cancel_page(store, portal, subscription)
    done = request.query_params.get("done", "")
    notices = {"plan": "Your plan was updated.", "subscription": "Your subscription was updated."}
    return _home(store, portal, notices.get(done, ""))


@router.get("/p/session/{portal_id}/subscriptions/{subscription_id}/update")
async def update_page(portal_id: str, subscription_id: str, request: Request) -> Response:
    store = _store(request)
    portal = _portal(store, portal_id)
    subscription = _subscription(store, portal, subscription_id) if portal else None
    if portal is None or subscription is None or subscription["status"] in _ENDED:
        return _not_found()
    return _update_page(store, portal, subscription)


@router.get("/p/session/{portal_id}/subscriptions/{subscription_id}/update/{price_id}")
async def confirm_page(portal_id: str, subscription_id: str, price_id: str, request: Request) -> Response:
    store = _store(request)
    portal = _portal(store, portal_id)
    subscription = _subscription(store, portal, subscription_id) if portal else None
    if portal is None or subscription is None or subscription["status"] in _ENDED:
        return _not_found()
    return _confirm_page(store, portal, subscription, price_id)


@router.post("/p/session/{portal_id}/subscriptions/{subscription_id}/update/{price_id}")
async def confirm_switch(portal_id: str, subscription_id: str, price_id: str, request: Request) -> Response:
    store = _store(request)
    portal = _portal(store, portal_id)
    subscription = _subscription(store, portal, subscription_id) if portal else None
    if portal is None or subscription is None or subscription["status"] in _ENDED:
        return _not_found()
    if not may_switch_to(store, _configuration(store, portal), subscription, price_id):
        return _page("Customer portal", "<h1>That plan is not on offer for this subscription.</h1>", 400)
    form = await request.form()
    try:
        update = _switch(store, portal, subscription, price_id, form.get("proration_date") or None)
        changes.apply_update(store, update)
    except StripeError as exc:
        return _error(exc)
    return _completed(store, portal, "Plan updated.")


@router.post("/p/session/{portal_id}/cancel/{subscription_id}")
async def portal_cancel(portal_id: str, subscription_id: str, request: Request) -> Response:
    store = _store(request)
    portal = _portal(store, portal_id)
    subscription = _subscription(store, portal, subscription_id) if portal else None
    if portal is None or subscription is None:
        return _not_found()
    cancel = _configuration(store, portal)["features"]["subscription_cancel"]
    if not cancel["enabled"]:
        return _page("Customer portal", "<h1>Cancellation is not offered here.</h1>", 400)
    if subscription["status"] not in _ENDED:
        if cancel["mode"] == "immediately":
            billing.cancel_subscription(store, subscription)
        else:
            changes.apply_update(store, changes.plan_update(store, subscription, cancel_at_period_end=True))
    return _completed(store, portal, "Subscription canceled.")


@router.post("/p/session/{portal_id}/renew/{subscription_id}")
async def portal_renew(portal_id: str, subscription_id: str, request: Request) -> Response:
    store = _store(request)
    portal = _portal(store, portal_id)
    subscription = _subscription(store, portal, subscription_id) if portal else None
    if portal is None or subscription is None:
        return _not_found()
    if subscription["status"] not in _ENDED and subscription["cancel_at_period_end"]:
        changes.apply_update(store, changes.plan_update(store, subscription, cancel_at_period_end=False))
    return RedirectResponse(f"/p/session/{portal['id']}?done=subscription", status_code=303)
