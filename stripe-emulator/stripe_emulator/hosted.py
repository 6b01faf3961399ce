"""The hosted Checkout page (/c/pay/{id}) and what the hosted pages share; the portal is portal_pages.py."""

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from stripe_emulator.emulator import Emulator
from stripe_emulator.errors import StripeError
from stripe_emulator.resources.checkout import complete_session, refresh, success_redirect
from stripe_emulator.store import Store

router = APIRouter(include_in_schema=False)

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:560px;margin:40px auto;color:#1a1f36}
h1{font-size:1.4rem}table{width:100%;border-collapse:collapse;margin:16px 0}
td,th{padding:8px;border-bottom:1px solid #e3e8ee;text-align:left}
label{display:block;margin:8px 0}input{width:100%;padding:8px;box-sizing:border-box}
button{background:#635bff;color:#fff;border:0;padding:12px 20px;border-radius:6px;font-size:1rem}
.muted{color:#697386;font-size:.9rem}.error{color:#df1b41}.notice{color:#b35900}
a.button{display:inline-block;background:#635bff;color:#fff;padding:8px 14px;border-radius:6px;
text-decoration:none}button.secondary{background:#e3e8ee;color:#1a1f36}form.inline{display:inline}
"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{_STYLE}</style></head>"
        f"<body>{body}<p class='muted'>Stripe emulator — test mode</p></body></html>"
    )
    return HTMLResponse(html, status_code=status)


def _money(amount: int | None, currency: str) -> str:
    return f"{(amount or 0) / 100:,.2f} {currency.upper()}"


def _store(request: Request) -> Store:
    emulator: Emulator = request.app.state.emulator
    return emulator.store


def _price_label(store: Store, price_id: str) -> str:
    price = store.get(price_id, "price") or {}
    product = store.get(price.get("product", ""), "product") or {}
    recurring = price.get("recurring") or {}
    name = product.get("name", price_id)
    nickname = f" — {price['nickname']}" if price.get("nickname") else ""
    metered = " (metered usage, billed in arrears)" if recurring.get("usage_type") == "metered" else ""
    return f"{name}{nickname}{metered}"


@router.get("/c/pay/{session_id}")
async def checkout_page(session_id: str, request: Request) -> Response:
    store = _store(request)
    session = store.get(session_id, "checkout.session")
    if session is None:
        return _page("Not found", "<h1>This Checkout Session does not exist.</h1>", 404)
    refresh(store, session)
    if session["status"] != "open":
        return _page("Checkout", f"<h1>This Checkout Session is {escape(session['status'])}.</h1>", 410)
    rows = "".join(
        f"<tr><td>{escape(_price_label(store, li['price']))}</td>"
        f"<td>{'' if li['quantity'] is None else li['quantity']}</td>"
        f"<td>{_money(li['amount_total'], li['currency'])}</td></tr>"
        for li in session["_line_items"]
    )
    email = session["customer_email"] or ""
    if session["customer"]:
        customer = store.get(session["customer"], "customer") or {}
        email = customer.get("email") or ""
    readonly = " readonly" if email else ""
    cancel = (
        f"<p><a id='cancel' href='/c/cancel/{escape(session_id)}'>Cancel and go back</a></p>"
        if session["cancel_url"]
        else ""
    )
    body = f"""
<h1>Subscribe</h1>
<table><thead><tr><th>Item</th><th>Qty</th><th>Due today</th></tr></thead><tbody>{rows}</tbody></table>
<p><strong>Total due today: {_money(session["amount_total"], session["currency"])}</strong></p>
<form method="post" action="/c/pay/{escape(session_id)}">
  <label>Email <input type="email" name="email" id="email" value="{escape(email)}"{readonly}></label>
  <label>Name <input type="text" name="name" id="name" value=""></label>
  <label>Card number <input type="text" name="card" id="card" value="4242 4242 4242 4242"></label>
  <button id="pay" type="submit">Pay</button>
</form>{cancel}"""
    return _page("Checkout", body)


@router.post("/c/pay/{session_id}")
async def pay(session_id: str, request: Request) -> Response:
    store = _store(request)
    session = store.get(session_id, "checkout.session")
    if session is None:
        return _page("Not found", "<h1>This Checkout Session does not exist.</h1>", 404)
    form = await request.form()
    email = str(form.get("email") or "") or None
    name = str(form.get("name") or "") or None
    try:
        complete_session(store, session, email=email, name=name)
    except StripeError as exc:
        return _page("Checkout", f"<h1 class='error'>{escape(exc.message)}</h1>", exc.status)
    return RedirectResponse(success_redirect(session), status_code=303)


@router.get("/c/cancel/{session_id}")
async def cancel(session_id: str, request: Request) -> Response:
    session = _store(request).get(session_id, "checkout.session")
    if session is None or not session["cancel_url"]:
        return _page("Not found", "<h1>Nothing to go back to.</h1>", 404)
    return RedirectResponse(session["cancel_url"], status_code=303)
