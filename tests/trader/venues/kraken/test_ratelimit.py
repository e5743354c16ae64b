"""The client models Kraken's rate counters and waits on its clock instead of being throttled."""

from __future__ import annotations

from datetime import timedelta

import ccxt
import pytest

from krakenops.core.clock import ManualClock
from krakenops.trader.venues.kraken.credentials import Credentials
from krakenops.trader.venues.kraken.gateway import build_exchange
from krakenops.trader.venues.kraken.ratelimit import (
    TIERS,
    DecayingCounter,
    KrakenRateLimiter,
    cancel_penalty,
)
from tests.fakekraken import FakeKraken
from tests.trader.venues.kraken.conftest import ClientFactory


def test_the_counter_decays_at_the_tier_rate(clock: ManualClock):
    counter = DecayingCounter(15, 0.33, clock.now())
    counter.add(15, clock.now())
    assert counter.wait_for(1, clock.now()) == pytest.approx(1 / 0.33)
    assert counter.settle(clock.now() + timedelta(seconds=10)) == pytest.approx(15 - 3.3)
    assert counter.settle(clock.now() + timedelta(seconds=100)) == 0


def test_cancelling_a_young_order_costs_more_than_an_old_one():
    ages = [1, 7, 12, 30, 60, 200, 400]
    assert [cancel_penalty(a) for a in ages] == [8, 6, 5, 4, 2, 1, 0]


def test_the_trading_counter_is_per_pair(clock: ManualClock):
    limiter = KrakenRateLimiter(TIERS["starter"], clock, start_spent=False)
    waits = [limiter.acquire("AddOrder", "XXBTZUSD") for _ in range(60)]
    assert waits[:59] == [0.0] * 59 and waits[59] == pytest.approx(1.0)
    assert limiter.acquire("AddOrder", "XETHZUSD") == 0.0
    assert limiter.rest.level == 0  # orders never touch the REST counter


def test_the_client_waits_instead_of_being_throttled(
    connect: ClientFactory, fake: FakeKraken, clock: ManualClock
):
    client = connect()
    client.start()
    before = clock.now()
    for _ in range(40):
        client.balances()
    assert fake.throttled == 0
    # Starting from a spent counter, 40 calls need about 40 / 0.33 s of decay.
    assert (clock.now() - before).total_seconds() == pytest.approx(40 / 0.33, rel=0.05)
    assert client.gateway.limiter.waited_seconds["rest"] > 100


def test_without_the_limiter_kraken_throttles(fake: FakeKraken, credentials: Credentials):
    exchange = build_exchange(credentials, iter(range(1, 10**6)).__next__, 1.0, fake.url)
    outcomes = []
    for _ in range(30):
        try:
            exchange.fetch_balance()
            outcomes.append("ok")
        except ccxt.DDoSProtection as error:
            outcomes.append("throttled" if "EAPI:Rate limit exceeded" in str(error) else str(error))
    # Starter allows a burst of 15; later calls are refused as fast as they come.
    assert outcomes[:15] == ["ok"] * 15 and outcomes[15:] == ["throttled"] * 15
    assert fake.throttled == 15
