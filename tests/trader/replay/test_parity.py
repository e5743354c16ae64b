"""Paper/live parity: the same pipeline on the simulator and on the fake Kraken over the same bars."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from krakenops.core.clock import ManualClock
from krakenops.core.config import EnvironmentConfig
from krakenops.core.marketdata import Bars
from krakenops.trader.replay.parity import ParityMetrics, ParityReport, run_parity
from krakenops.trader.venues.kraken.credentials import Credentials
from krakenops.trader.venues.kraken.factory import connect_live
from tests.fakekraken import FakeKraken
from tests.trader.venues.kraken.conftest import LIVE_START

WEEK = int(timedelta(days=7).total_seconds())
WARM_UP = timedelta(days=60)  # enough bars for the features and the regime; less is faster


@contextmanager
def kraken_account(
    clock: ManualClock, bars: dict[str, Bars], credentials: Credentials, fees: tuple[str, str]
) -> Iterator[FakeKraken]:
    fake = FakeKraken(
        clock, bars, credentials.api_key, credentials.api_secret,
        balances={"ZUSD": "10000", "XXBT": "0", "XETH": "0"}, follow_clock=True, fees=fees,
    ).start()  # fmt: skip
    try:
        yield fake
    finally:
        fake.stop()


def parity(
    config: EnvironmentConfig,
    bars: dict[str, Bars],
    credentials: Credentials,
    folder: Path,
    fees: tuple[str, str],
) -> ParityReport:
    start = int(LIVE_START.timestamp())
    recent = {s: b.between(int((LIVE_START - WARM_UP).timestamp()), None) for s, b in bars.items()}
    clock = ManualClock(LIVE_START - WARM_UP)
    with kraken_account(clock, recent, credentials, fees) as fake:
        live = connect_live(
            folder, clock, ("BTC", "ETH"), credentials=credentials, api_url=fake.url,
            registry=CollectorRegistry(),
        )  # fmt: skip
        live.start()
        report = run_parity(config, recent, live, clock, start_time=start, end_time=start + WEEK)
    print(f"parity at fees {fees}:", report.as_json())
    return report


def test_with_the_configured_fees_live_fills_every_paper_order_close_to_its_price(
    trading_config: EnvironmentConfig,
    bars: dict[str, Bars],
    credentials: Credentials,
    tmp_path: Path,
):
    paper = trading_config.spec.paper
    fees = (f"{paper.taker_fee * 100:.2f}", f"{paper.maker_fee * 100:.2f}")
    report = parity(trading_config, bars, credentials, tmp_path / "ledger", fees)
    assert report.paper_fills > 0
    assert report.fill_count_diff == 0 and report.matched_orders == report.paper_fills
    # Kraken (the fake) slips market orders 2 bps, the simulator 0-10 bps, 5 on average.
    assert -10 <= report.price_diff_bps <= 2
    assert report.fee_diff_usd == pytest.approx(0, abs=0.01 * report.paper_fees_usd)
    assert report.pnl_diff_pct <= 1.0


def test_kraken_s_own_fee_tier_shows_up_as_the_pnl_difference_and_in_the_metrics(
    trading_config: EnvironmentConfig,
    bars: dict[str, Bars],
    credentials: Credentials,
    tmp_path: Path,
):
    # TradeVolume says 0.40 % taker; the configuration assumes 0.26 %.
    report = parity(trading_config, bars, credentials, tmp_path / "ledger", ("0.40", "0.25"))
    assert report.fee_diff_usd == pytest.approx(report.paper_fees_usd * (0.40 / 0.26 - 1), rel=0.05)
    execution = report.pnl_diff_usd + report.fee_diff_usd  # what is left once fees are removed
    assert report.pnl_diff_usd < 0 and abs(execution) < report.fee_diff_usd
    metrics = ParityMetrics()
    metrics.export(report)
    exported = generate_latest(metrics.registry).decode()
    assert f"krakenops_parity_pnl_diff_usd {report.pnl_diff_usd}" in exported
    assert f"krakenops_parity_fill_count_diff {float(report.fill_count_diff)}" in exported
    assert "krakenops_parity_fill_price_diff_bps" in exported
