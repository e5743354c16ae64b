"""Feeds: replayed bars released by the clock, and Kraken's public OHLC polled through ccxt."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import ccxt
import pytest

from krakenops.core.marketdata import load_symbol
from krakenops.trader.feeds import KrakenOHLCFeed, ReplayFeed

# Kraken's public answers (Assets, AssetPairs, OHLC) in the exact shape its REST API returns,
# with OHLC rows taken from the embedded bars; the last row is the hour still in progress.
RESPONSES = json.loads((Path(__file__).parent / "data" / "kraken_public.json").read_text())
ROWS = RESPONSES["OHLC"]["XXBTZUSD"]["result"]["XXBTZUSD"]
LAST_OPEN = ROWS[-1][0]


class RecordedKraken:
    """Answers ccxt's HTTP calls from the recorded responses; can fail one pair on demand."""

    def __init__(self) -> None:
        self.exchange = ccxt.kraken({"enableRateLimit": False})
        self.exchange.fetch = self.fetch
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.failing: set[str] = set()

    def fetch(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        parsed = urlparse(url)
        endpoint = parsed.path.rsplit("/", 1)[-1]
        query = parse_qs(parsed.query)
        self.requests.append((endpoint, query))
        if endpoint != "OHLC":
            return RESPONSES[endpoint]
        pair = query["pair"][0]
        if pair in self.failing:
            raise ccxt.RequestTimeout("kraken GET timed out")
        since = int(query.get("since", ["0"])[0])
        answer = json.loads(json.dumps(RESPONSES["OHLC"][pair]))
        answer["result"][pair] = [row for row in answer["result"][pair] if row[0] > since]
        return answer


def at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def test_closed_bars_are_delivered_once_and_the_open_hour_is_held_back():
    kraken = RecordedKraken()
    feed = KrakenOHLCFeed(kraken.exchange, ("BTC", "ETH"))
    steps = feed.poll(at(LAST_OPEN + 1800))
    assert len(steps) == len(ROWS) - 1
    assert [t for t, _ in steps] == [row[0] for row in ROWS[:-1]]
    _, bars = steps[-1]
    assert set(bars) == {"BTC", "ETH"}
    assert bars["BTC"].close == float(ROWS[-2][4]) and bars["BTC"].volume == float(ROWS[-2][6])
    assert feed.poll(at(LAST_OPEN + 1800)) == []
    later = feed.poll(at(LAST_OPEN + 3600))
    assert [t for t, _ in later] == [LAST_OPEN]


def test_the_feed_asks_for_a_month_first_and_then_only_for_what_is_new():
    kraken = RecordedKraken()
    feed = KrakenOHLCFeed(kraken.exchange, ("BTC",))
    now = LAST_OPEN + 1800
    feed.poll(at(now))
    feed.poll(at(now + 3600))
    sinces = [int(q["since"][0]) for endpoint, q in kraken.requests if endpoint == "OHLC"]
    # ccxt asks Kraken for bars after `since` minus one interval.
    assert sinces[0] == now - 720 * 3600 - 3600
    assert sinces[1] == ROWS[-2][0]


def test_a_failing_pair_is_skipped_and_retried_from_where_it_left_off(
    caplog: pytest.LogCaptureFixture,
):
    kraken = RecordedKraken()
    kraken.failing.add("XETHZUSD")
    feed = KrakenOHLCFeed(kraken.exchange, ("BTC", "ETH"))
    steps = feed.poll(at(LAST_OPEN + 1800))
    assert all(set(bars) == {"BTC"} for _, bars in steps) and feed.failures == 1
    assert any(getattr(r, "event", "") == "market_data_failed" for r in caplog.records)
    kraken.failing.clear()
    retried = feed.poll(at(LAST_OPEN + 1800))
    assert len(retried) == len(ROWS) - 1 and all(set(bars) == {"ETH"} for _, bars in retried)


def test_replay_releases_bars_as_the_clock_passes_their_close_keeping_gaps():
    bars = {s: load_symbol(s).between(1609459200, 1609459200 + 48 * 3600) for s in ("BTC", "ETH")}
    feed = ReplayFeed(bars)
    start = at(1609459200)
    assert feed.poll(start) == []
    first = feed.poll(start + timedelta(hours=1))
    assert [t for t, _ in first] == [1609459200]
    rest = feed.poll(start + timedelta(days=3))
    assert len(first) + len(rest) == len(set(bars["BTC"].time) | set(bars["ETH"].time))
    assert feed.exhausted
