"""/_emulator controls: seed catalog, clock, reset and snapshot round-trip."""

from decimal import Decimal

from stripe_emulator.testing import EmulatorServer


def test_demo_seed_classic_catalog(emulator, legacy):
    seeded = emulator.seed("classic")
    prices = {
        p.lookup_key: p
        for p in legacy.v1.prices.list(
            {"product": seeded["product"], "expand": ["data.tiers", "data.product"]}
        ).data
    }
    assert set(prices) == {"free_monthly", "payg_graduated_monthly", "package_1000_monthly", "pro_monthly"}
    free, payg, package = (
        prices["free_monthly"],
        prices["payg_graduated_monthly"],
        prices["package_1000_monthly"],
    )
    assert free.product.name == "My API"
    assert free.product.description == "This is a monetized API"
    assert (free.nickname, free.unit_amount, free.recurring.usage_type) == ("Free", 0, "licensed")
    assert payg.recurring.aggregate_usage == "sum"
    assert [(t.up_to, t.unit_amount) for t in payg.tiers] == [(1000, 0), (10000, 2), (None, 1)]
    assert package.transform_quantity.divide_by == 1000
    assert package.transform_quantity.round == "up"
    assert package.unit_amount_decimal == Decimal("1000")
    pro = prices["pro_monthly"]
    assert (pro.nickname, pro.unit_amount, pro.recurring.usage_type) == ("Pro", 2900, "licensed")
    assert {p.currency for p in prices.values()} == {"usd"}
    assert {p.recurring.interval for p in prices.values()} == {"month"}


def test_demo_seed_meters_mode_ties_metered_prices_to_a_meter(emulator, modern):
    seeded = emulator.seed("meters")
    meter = modern.v1.billing.meters.retrieve(seeded["meter"])
    assert (meter.event_name, meter.default_aggregation.formula) == ("api_calls", "sum")
    payg = modern.v1.prices.retrieve(seeded["prices"]["payg"])
    assert payg.recurring.meter == meter.id
    assert "aggregate_usage" not in payg.recurring


def test_clock_advance_moves_created_timestamps(emulator, legacy):
    before = emulator.now()
    now = emulator.advance_clock(days=2, hours=3)
    assert now - before >= 2 * 86_400 + 3 * 3600
    assert legacy.v1.customers.create({"email": "c@example.com"}).created >= now


def test_reset_forgets_objects_and_clock(emulator, legacy):
    legacy.v1.customers.create({"email": "c@example.com"})
    emulator.advance_clock(days=5)
    emulator.reset()
    assert legacy.v1.customers.list().data == []
    assert abs(emulator.now() - __import__("time").time()) < 5


def test_snapshot_round_trip_restores_state(tmp_path, legacy, emulator):
    state = tmp_path / "state.json"
    customer = legacy.v1.customers.create({"email": "keep@example.com", "metadata": {"k": "v"}})
    emulator.advance_clock(days=3)
    assert emulator.snapshot(str(state)) == str(state)
    with EmulatorServer(state_file=str(state)) as restored:
        client = restored.client()
        again = client.v1.customers.retrieve(customer.id)
        assert again.email == "keep@example.com"
        assert again.metadata.to_dict() == {"k": "v"}
        assert restored.now() - emulator.now() > -5
    assert state.exists()


def test_state_file_is_saved_on_shutdown(tmp_path):
    state = tmp_path / "auto.json"
    with EmulatorServer(state_file=str(state)) as server:
        customer = server.client().v1.customers.create({"email": "s@example.com"})
    with EmulatorServer(state_file=str(state)) as server:
        assert server.client().v1.customers.retrieve(customer.id).email == "s@example.com"
