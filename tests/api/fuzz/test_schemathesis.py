"""Schemathesis over the API's OpenAPI document, in-process (ASGI) on SQLite, against the Stripe emulator.

Every operation is fuzzed with positive and negative data as four callers: anonymous, a signed-in customer
(session Bearer), the provider admin signed in, and an admin API token. Every response must pass
schemathesis' checks: no 5xx, a documented status and content type, a body valid against the schema -
for errors the {"error": {"code", "message"}} shape the OpenAPI document declares as `default`. The
example counts are bounded (FUZZ_EXAMPLES) and generation is derandomized, so a run is repeatable and
takes well under a minute.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.python.asgi import shutdown_lifespans

from portal_api.config import Settings
from portal_api.main import create_app
from stripe_emulator.testing import EmulatorServer
from tests.fixtures.members import ADMIN_TOKEN, PASSWORD, bearer

ADMIN_EMAIL = "owner@fuzz.example.com"
WEBHOOK_SECRET = "whsec_fuzz_secret"
# Examples per (operation, caller, generation mode).
FUZZ_EXAMPLES = 8
# Checks that ask something of the API the fuzzer cannot know holds: e.g. "positive data is accepted" fails
# wherever a generated price id does not exist in Stripe or a key name repeats; "auth is enforced" needs
# security schemes in the document (our Bearer dependencies declare none).
EXCLUDED_CHECKS = {
    "positive_data_acceptance",
    "missing_required_header",
    "ignored_auth",
    "unsupported_method",
    "use_after_free",
    "ensure_resource_availability",
    "max_response_time",
}
# Logging out in the middle would sign the fuzzing customer out for the operations that follow.
SKIPPED = {("POST", "/v1/auth/logout")}


@dataclass
class Tally:
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    succeeded: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def catalog(emulator_server: EmulatorServer) -> dict[str, Any]:
    """The emulator's demo catalog (prices free / payg / package), fresh for this module."""
    seeded: dict[str, Any] = emulator_server.reset(seed="demo")  # type: ignore[assignment]
    return seeded


@pytest.fixture(scope="module")
def fuzz_app(
    tmp_path_factory: pytest.TempPathFactory, emulator_server: EmulatorServer, catalog: dict[str, Any]
) -> Iterator[Any]:
    database: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    app = create_app(
        Settings(  # type: ignore[call-arg]
            _env_file=None,
            environment="test",
            database_url=f"sqlite+aiosqlite:///{database}",
            run_migrations_on_start=True,
            run_jobs_in_process=False,
            secret_key="fuzz-secret-key-" + "x" * 32,
            argon2_time_cost=1,
            argon2_memory_cost=1024,
            log_level="ERROR",
            log_json=False,
            portal_url="http://portal.test",
            stripe_api_base=emulator_server.url,
            stripe_api_key="sk_test_fuzz",
            stripe_webhook_secret=WEBHOOK_SECRET,
            stripe_max_retries=0,
            admin_bootstrap_email=ADMIN_EMAIL,
            admin_bootstrap_password=PASSWORD,
            admin_bootstrap_token=ADMIN_TOKEN,
            # The limiter still runs (its code is on every path), but the fuzzer must not trip it.
            rate_limit_login="100000/minute",
            rate_limit_signup="100000/minute",
        )
    )
    yield app
    shutdown_lifespans()


@pytest.fixture(scope="module")
def schema(fuzz_app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


def call(schema: Any, method: str, path: str, headers: dict[str, str] | None = None, **parts: Any) -> Any:
    response = schema[path][method].Case(**parts).call(headers=headers or {})
    assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
    return json.loads(response.text) if response.text else None


@dataclass
class World:
    """Callers and ids that exist, so fuzzing reaches past "not found" on routes with path ids."""

    callers: dict[str, dict[str, str]]
    path_ids: dict[str, str]


def build_world(schema: Any, catalog: dict[str, Any], emulator: EmulatorServer) -> World:
    customer = call(
        schema, "POST", "/v1/auth/signup", body={"email": "fuzz@example.com", "password": PASSWORD}
    )
    as_customer = bearer(customer["token"])
    admin = bearer(
        call(schema, "POST", "/v1/auth/login", body={"email": ADMIN_EMAIL, "password": PASSWORD})["token"]
    )
    key = call(schema, "POST", "/v1/keys", as_customer, body={"name": "fuzz"})
    token = call(schema, "POST", "/v1/admin/tokens", admin, body={"name": "fuzz"})
    collector = call(schema, "POST", "/v1/admin/collector-tokens", admin, body={"name": "fuzz"})
    price = catalog["prices"]["payg"]
    meter = call(schema, "POST", "/v1/admin/meters", admin, body={"name": "fuzz", "stripe_price_id": price})
    checkout = call(schema, "POST", "/v1/checkout/sessions", as_customer, body={"price_id": price})
    emulator.pay_checkout_session(checkout["id"], email="fuzz@example.com")
    call(
        schema,
        "POST",
        "/v1/checkout/sessions/{checkout_session_id}/complete",
        as_customer,
        path_parameters={"checkout_session_id": checkout["id"]},
    )
    return World(
        callers={
            "anonymous": {},
            "customer": as_customer,
            "admin user": admin,
            "admin token": bearer(ADMIN_TOKEN),
            "collector": {"X-Moesif-Application-Id": collector["token"]},
        },
        path_ids={
            "key_id": key["id"],
            "token_id": token["id"],
            "meter_id": meter["id"],
            "checkout_session_id": checkout["id"],
            "user_id": customer["user"]["id"],
        },
    )


def checks() -> list[Any]:
    load_all_checks()
    return [check for check in CHECKS.get_all() if check.__name__ not in EXCLUDED_CHECKS]


def fuzz(
    operation: Any,
    headers: dict[str, str],
    mode: GenerationMode,
    tally: Tally,
    enabled: list[Any],
    path_parameters: dict[str, str] | None = None,
) -> None:
    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    def run(case: Any) -> None:
        where = f"{operation.method.upper()} {operation.path} [{mode.value}]"
        tally.cases += 1
        try:
            response = case.call(headers=headers)
        except Exception as exc:  # the app raised: a 500 the in-process client re-raises
            tally.statuses[500] += 1
            tally.failures.append(
                f"{where} raised {type(exc).__name__}: {exc}\n    {case.as_curl_command(headers=headers)}"
            )
            return
        tally.statuses[response.status_code] += 1
        if response.status_code < 300:
            tally.succeeded[f"{operation.method.upper()} {operation.path}"] += 1
        try:
            case.validate_response(response, checks=enabled, headers=headers)
        except (Exception, BaseExceptionGroup) as exc:  # failed checks: collect them, keep fuzzing
            summary = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
            tally.failures.append(
                f"{where} -> {response.status_code}: "
                + " | ".join(summary[:5])
                + f"\n    {case.as_curl_command(headers=headers)}\n    -> {response.text[:300]}"
            )

    with contextlib.suppress(Unsatisfiable):  # nothing to negate (no parameters, no body)
        run()


def test_fuzzing_every_operation_finds_no_5xx_and_only_documented_responses(
    schema: Any, catalog: dict[str, Any], emulator_server: EmulatorServer
) -> None:
    started = time.perf_counter()
    world = build_world(schema, catalog, emulator_server)
    callers = world.callers
    enabled = checks()
    tally = Tally()
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        names = {p.name for p in operation.path_parameters}
        known = {name: value for name, value in world.path_ids.items() if name in names}
        for headers in callers.values():
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                fuzz(operation, headers, mode, tally, enabled)
            if known:  # again with ids that exist (the generated ones never do)
                fuzz(operation, headers, GenerationMode.POSITIVE, tally, enabled, path_parameters=known)

    seconds = time.perf_counter() - started
    print(
        f"\nschemathesis: {tally.cases} cases over {len(operations)} operations x {len(callers)} callers "
        f"in {seconds:.1f} s; statuses {dict(sorted(tally.statuses.items()))}"
    )
    # Coverage note for whoever reads the output: these never got past validation, auth or "not found".
    never = [
        f"{o.method.upper()} {o.path}"
        for o in operations
        if f"{o.method.upper()} {o.path}" not in tally.succeeded
    ]
    print(f"operations never answered 2xx ({len(never)}): {', '.join(never)}")
    server_errors = {status: n for status, n in tally.statuses.items() if status >= 500}
    assert server_errors == {}, "\n".join(tally.failures)
    assert tally.failures == [], f"{len(tally.failures)} failed checks:\n" + "\n".join(tally.failures[:40])
    assert tally.cases > 500  # the run really exercised the API


def test_the_webhook_route_answers_a_bad_signature_with_the_error_shape(schema: Any) -> None:
    operation = schema["/v1/webhooks/stripe"]["POST"]
    response = operation.Case().call(
        headers={"Stripe-Signature": "t=1,v1=bad", "Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert json.loads(response.text)["error"]["code"] == "invalid_signature"
    operation.Case().validate_response(response, checks=checks())


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (404, {"detail": "Not Found"}),  # FastAPI's shape, not ours
        (401, {"error": {"code": "x"}}),  # no message
        (500, {"error": {"code": "internal_error", "message": "boom"}}),  # any 5xx
        (200, {"data": [{"id": 1}]}),  # a success body off its model
    ],
)
def test_the_checks_catch_error_bodies_off_the_shape_and_server_errors(
    schema: Any, status: int, body: dict[str, Any]
) -> None:
    operation = schema["/v1/keys"]["GET"]
    request = httpx.Request("GET", "http://testserver/v1/keys")
    response = httpx.Response(status, json=body, request=request)
    response.elapsed = timedelta(milliseconds=5)

    try:
        operation.Case().validate_response(response, checks=checks())
    except BaseExceptionGroup as exc:  # schemathesis raises a FailureGroup of the failed checks
        caught: BaseExceptionGroup[BaseException] | None = exc
    else:
        caught = None
    assert caught is not None and "Schemathesis found" in str(caught)
