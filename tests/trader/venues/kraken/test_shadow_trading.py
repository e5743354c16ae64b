"""A live trader with a shadow candidate: the shadow books on paper, sends nothing, changes nothing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from prometheus_client import generate_latest
from sklearn.linear_model import LogisticRegression

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.clock import ManualClock
from krakenops.core.config import EnvironmentConfig, ShadowSettings
from krakenops.core.marketdata import BAR_SECONDS, Bars
from krakenops.core.records import CandidateMetrics
from krakenops.trader.commands import run_trader
from krakenops.trader.feeds import KrakenOHLCFeed
from krakenops.trader.metrics import TraderMetrics
from krakenops.trader.model import MODEL_INPUT_NAMES, MODEL_SCHEMA_VERSION, load_candidate_model
from krakenops.trader.replay.backtest import run_backtest
from krakenops.trader.shadow import shadow_log_path
from krakenops.trader.venues.kraken.credentials import Credentials
from krakenops.trader.venues.kraken.gateway import build_public_exchange
from krakenops.trader.venues.kraken.settings import KRAKEN_URL_ENV
from krakenops.trainer.candidate import CandidateSpec, save_candidate
from tests.fakekraken import FakeKraken
from tests.trader.venues.kraken.conftest import LIVE_START

HOURS = 40  # two trading stretches and the downtime window between them
SHADOW_ID = "model_20210501_shadow"


def shadow_candidate(store: ArtifactStore) -> str:
    """A fitted classifier that is sure of some entries and doubts others: the shadow policy."""
    rng = np.random.default_rng(5)
    inputs = rng.normal(size=(400, len(MODEL_INPUT_NAMES)))
    won = (inputs[:, 0] + rng.normal(scale=0.5, size=400) > 0).astype(int)
    estimator = LogisticRegression().fit(inputs, won)
    spec = CandidateSpec(
        model_id=SHADOW_ID,
        created_at=LIVE_START - timedelta(days=9),
        environment="paper_kraken_crypto_global",
        feature_schema_version=MODEL_SCHEMA_VERSION,
        feature_names=MODEL_INPUT_NAMES,
        training_start=LIVE_START - timedelta(days=400),
        training_end=LIVE_START - timedelta(days=10),
    )
    metrics = CandidateMetrics(oos_sharpe=0, max_drawdown=0, tail_loss=0, annual_turnover=0)
    return save_candidate(store, estimator, spec, metrics, ()).sha256


def live_run(config: EnvironmentConfig, clock: ManualClock, fake: FakeKraken) -> TraderMetrics:
    metrics = TraderMetrics(config.env_id)
    feed = KrakenOHLCFeed(
        build_public_exchange(fake.url, paced=False), config.spec.universe.symbols
    )
    until = clock.now() + timedelta(hours=HOURS)
    assert run_trader(config, clock, feed, until=until, interval_seconds=3600, metrics=metrics) == 0
    return metrics


def live_state(config: EnvironmentConfig, fake: FakeKraken) -> dict[str, object]:
    """What live did: the orders Kraken got, its trades log and its risk state on disk."""
    store = ArtifactStore(config.spec.artifacts, config.env_id)
    trades = [json.loads(line) for line in (store.logs / "trades.jsonl").read_text().splitlines()]
    risk = json.loads((store.ledger / "risk" / "risk_state.json").read_text())
    orders = sorted(
        (o["descr"]["pair"], o["descr"]["type"], o["vol"], o["opentm"])
        for o in fake.engine.orders.values()
    )
    fills = [(t["symbol"], t["side"], t["quantity"], t["price"]) for t in trades]
    return {"orders": orders, "fills": fills, "risk": risk}


def test_a_shadow_candidate_books_on_paper_sends_no_order_and_leaves_live_as_it_was(
    trading_config: EnvironmentConfig,
    live_exchange: tuple[ManualClock, FakeKraken],
    bars: dict[str, Bars],
    credentials: Credentials,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    clock, fake = live_exchange
    spec = trading_config.spec.model_copy(update={"shadow": ShadowSettings(model_id=SHADOW_ID)})
    shadowed = trading_config.model_copy(update={"spec": spec})
    store = ArtifactStore(shadowed.spec.artifacts, shadowed.env_id)
    store.ensure_layout()
    sha = shadow_candidate(store)

    metrics = live_run(shadowed, clock, fake)
    with_shadow = live_state(shadowed, fake)

    # The same hours without a shadow, against a fresh Kraken on a fresh clock.
    control_clock = ManualClock(LIVE_START)
    control = FakeKraken(
        control_clock, bars, credentials.api_key, credentials.api_secret,
        balances={"ZUSD": "10000", "XXBT": "0", "XETH": "0"}, follow_clock=True,
    ).start()  # fmt: skip
    try:
        monkeypatch.setenv(KRAKEN_URL_ENV, control.url)
        plain = trading_config.with_root(tmp_path / "control")
        live_run(plain, control_clock, control)
        without = live_state(plain, control)
    finally:
        control.stop()
    assert with_shadow["orders"], "live traded in these hours"
    assert with_shadow == without, "the shadow sent no order and changed nothing of live's"

    decisions = [json.loads(line) for line in shadow_log_path(store).read_text().splitlines()]
    booked = [(f["symbol"], f["side"], f["quantity"], f["price"], f["fee_usd"])
              for d in decisions for f in d["fills"]]  # fmt: skip
    assert booked, "the shadow policy traded on paper"
    assert {d["model_id"] for d in decisions} == {SHADOW_ID}
    assert any(d["paused"] for d in decisions), "the window passed, and the shadow paused in it"

    # The would-be fills are a paper replay of the same bars with the same model and seed.
    first_step = datetime.fromisoformat(decisions[0]["time"])
    last_step = datetime.fromisoformat(decisions[-1]["time"])
    seen = {s: b.between(None, int(last_step.timestamp())) for s, b in bars.items()}
    model = load_candidate_model(store.open_candidate(SHADOW_ID))
    replay = run_backtest(
        shadowed.with_seed(shadowed.spec.paper.seed_for(sha)),
        seen,
        model,
        start_time=int(first_step.timestamp()) - BAR_SECONDS,
    )
    replayed = [(f.symbol, f.side.value, f.quantity, f.price, f.fee_usd) for f in replay.fills]
    # The replay computes its features over whole arrays, the trader bar by bar: the same rules,
    # summed in another order, agree to rounding.
    assert [b[:2] for b in booked] == [r[:2] for r in replayed]
    assert [b[2:] for b in booked] == [pytest.approx(r[2:], rel=1e-6) for r in replayed]
    curve = dict(zip(replay.times.tolist(), replay.equity.tolist(), strict=True))
    marked = {
        int(datetime.fromisoformat(d["time"]).timestamp()): d["equity_usd"] for d in decisions
    }
    assert marked == pytest.approx({t: curve[t] for t in marked}, rel=1e-9)

    exported = generate_latest(metrics.registry).decode()
    labels = f'env="{shadowed.env_id}",model="{SHADOW_ID}"'
    assert f"krakenops_trader_shadow_equity_usd{{{labels}}}" in exported
    assert f"krakenops_trader_shadow_pnl_usd{{{labels}}}" in exported
    print(f"shadow: {len(booked)} paper fills, live: {len(with_shadow['orders'])} orders")  # type: ignore[arg-type]
