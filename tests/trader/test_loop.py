"""The trading loop: the backtest's decisions, no orders in the window, files, metrics, restarts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.atomic import read_jsonl
from krakenops.core.clock import ManualClock
from krakenops.core.config import EnvironmentConfig
from krakenops.core.marketdata import BAR_SECONDS, load_symbol
from krakenops.trader.commands import WARMUP, replay_feed
from krakenops.trader.execution.orders import OrderIntent, OrderType, Side
from krakenops.trader.journal import Journal, venue_state_path
from krakenops.trader.loop import TradingLoop
from krakenops.trader.metrics import TraderMetrics
from krakenops.trader.portfolio import UNOWNED, ClosedTrade, Portfolio
from krakenops.trader.replay.backtest import run_backtest
from krakenops.trader.risk import RiskManager
from krakenops.trader.venues.paper.factory import paper_venue
from tests.trader.simcalls import market_order

START = datetime(2022, 5, 1, tzinfo=UTC)
END = datetime(2022, 6, 1, tzinfo=UTC)


def with_window(
    config: EnvironmentConfig, start: str, end: str, drain: int = 0
) -> EnvironmentConfig:
    downtime = config.spec.downtime.model_copy(
        update={"start": start, "end": end, "drain_seconds": drain}
    )
    return config.model_copy(update={"spec": config.spec.model_copy(update={"downtime": downtime})})


def replay(
    config: EnvironmentConfig,
    start: datetime = START,
    end: datetime = END,
    clock: ManualClock | None = None,
) -> TradingLoop:
    clock = clock or ManualClock(start)
    store = ArtifactStore(config.spec.artifacts, config.env_id)
    feed, missing = replay_feed(config, start, end)
    assert missing == ["SOL"]
    venue = paper_venue(config, clock, venue_state_path(store))
    loop = TradingLoop(config, clock, feed, venue, store, interval_seconds=BAR_SECONDS)
    loop.run(end)
    return loop


def trades(loop: TradingLoop) -> list[dict[str, object]]:
    return list(read_jsonl(loop.journal.ledger_trades))


def test_the_loop_makes_the_backtests_decisions(paper_config: EnvironmentConfig):
    loop = replay(paper_config)
    bars = {
        s: load_symbol(s).between(
            int((START - WARMUP).timestamp()), int(END.timestamp()) - BAR_SECONDS + 1
        )
        for s in ("BTC", "ETH")
    }
    backtest = run_backtest(paper_config, bars, start_time=int(START.timestamp()))
    logged = [(t["client_order_id"], t["quantity"], t["price"]) for t in trades(loop)]
    assert len(logged) > 5
    assert logged == [(f.client_order_id, f.quantity, f.price) for f in backtest.fills]


@pytest.mark.parametrize(
    ("start", "end", "drain"),
    [("03:00", "05:00", 0), ("23:00", "01:00", 0), ("23:00", "01:00", 1800)],
)
def test_no_order_in_the_window_or_its_transition(
    paper_config: EnvironmentConfig, start: str, end: str, drain: int
):
    config = with_window(paper_config, start, end, drain)
    window = config.spec.downtime.window()
    loop = replay(config, START, START + timedelta(days=12))
    times = [datetime.fromisoformat(str(t["time"])) for t in trades(loop)]
    assert times
    assert all(window.status(t).accepts_orders for t in times)
    phases = {o["phase"] for o in read_jsonl(loop.journal.observations_path)}
    assert phases >= {"TRADING", "DOWNTIME"}


def test_the_loop_writes_observations_trades_and_the_ledger(paper_config: EnvironmentConfig):
    loop = replay(paper_config, END - timedelta(days=10), END)
    observations = list(read_jsonl(loop.journal.observations_path))
    assert 10 * 24 - 5 <= len(observations) <= 10 * 24  # an hour without any trade has no bar
    assert set(observations[-1]["symbols"]) == {"BTC", "ETH"}
    assert "zscore_48" in observations[-1]["symbols"]["BTC"]
    logged = list(read_jsonl(loop.journal.trades_log))
    assert logged == trades(loop)
    assert all("inputs" in t for t in logged if t["opens"])
    positions = json.loads(loop.journal.positions_path.read_text())
    assert positions["cash_usd"] == pytest.approx(loop.portfolio.cash_usd)
    assert loop.journal.risk_state_path.exists()


def test_metrics_describe_the_trader(paper_config: EnvironmentConfig):
    loop = replay(paper_config, END - timedelta(days=10), END)
    registry = loop.metrics.registry
    env = {"env": paper_config.env_id}
    assert registry.get_sample_value("krakenops_trader_equity_usd", env) == pytest.approx(
        loop.portfolio.equity()
    )
    assert (
        registry.get_sample_value("krakenops_trader_model_info", {**env, "model_id": "rules-only"})
        == 1.0
    )
    regime = loop.engine.pipeline.regime.regime.value
    assert registry.get_sample_value("krakenops_trader_regime", {**env, "regime": regime}) == 1.0
    assert (
        registry.get_sample_value("krakenops_trader_window_phase", {**env, "phase": "TRADING"})
        is not None
    )
    assert registry.get_sample_value("krakenops_trader_kill_switch", env) == 0.0
    assert (
        registry.get_sample_value("krakenops_trader_loop_latency_seconds_count", env)
        == loop.iterations
    )
    filled = sum(
        registry.get_sample_value(
            "krakenops_trader_orders_total", {**env, "side": side, "status": "filled"}
        )
        or 0.0
        for side in ("buy", "sell")
    )
    assert filled == len(trades(loop))


def test_a_stop_request_ends_the_loop_with_its_state_saved(paper_config: EnvironmentConfig):
    clock = ManualClock(START)
    store = ArtifactStore(paper_config.spec.artifacts, paper_config.env_id)
    feed, _ = replay_feed(paper_config, START, END)
    loop = TradingLoop(
        paper_config,
        clock,
        feed,
        paper_venue(paper_config, clock, venue_state_path(store)),
        store,
        interval_seconds=BAR_SECONDS,
    )
    original = loop.iterate

    def iterate_then_stop() -> None:
        original()
        if loop.iterations == 48:
            loop.stop()

    loop.iterate = iterate_then_stop  # type: ignore[method-assign]  # run() must call the wrapper
    loop.run()
    assert loop.iterations == 48 and clock.now() == START + timedelta(hours=47)
    assert loop.journal.positions_path.exists() and venue_state_path(store).exists()


def test_a_restarted_trader_resumes_its_book_venue_and_kill_switch(paper_config: EnvironmentConfig):
    first = replay(paper_config, START, START + timedelta(days=5))
    for _ in range(3):
        first.risk.record_closed(ClosedTrade("ETH", "trend_follower", "s", 0, 0, -5.0, -0.01))
    clock = ManualClock(START + timedelta(days=5, minutes=30))
    store = ArtifactStore(paper_config.spec.artifacts, paper_config.env_id)
    feed, _ = replay_feed(paper_config, clock.now(), clock.now() + timedelta(hours=2))
    again = TradingLoop(
        paper_config, clock, feed, paper_venue(paper_config, clock, venue_state_path(store)), store
    )
    assert again.risk.state.kill_switch
    assert again.portfolio.cash_usd == pytest.approx(first.portfolio.cash_usd)
    assert set(again.portfolio.positions) == set(first.portfolio.positions)
    assert again.portfolio.starting_equity_usd == first.portfolio.starting_equity_usd
    again.close()


def test_a_losing_exit_filled_while_the_trader_was_down_counts_toward_the_kill_switch(
    paper_config: EnvironmentConfig,
):
    clock = ManualClock(START + timedelta(hours=12))
    store = ArtifactStore(paper_config.spec.artifacts, paper_config.env_id)
    journal = Journal(store)
    venue = paper_venue(paper_config, clock, venue_state_path(store))
    book = Portfolio(venue.client.balances()["USD"])
    for fill in market_order(venue.simulator, "ETH", 0.5, "buy", 2800.0).fills:
        book.apply(fill, strategy="trend_follower", stop_price=2600.0)
    journal.save_positions(book)
    spec = paper_config.spec
    risk = RiskManager(spec.risk, spec.downtime.window(), clock, book, journal.risk_state_path)
    risk.record_closed(ClosedTrade("BTC", "trend_follower", "a", 0, 0, -20.0, -0.01))
    risk.record_closed(ClosedTrade("BTC", "trend_follower", "b", 0, 0, -20.0, -0.01))
    # The exit sold at the venue; the trader went down before it booked the fill.
    market_order(venue.simulator, "ETH", 0.5, "sell", 2500.0)
    venue.save()
    journal.close()

    feed, _ = replay_feed(paper_config, clock.now(), clock.now() + timedelta(hours=2))
    again = TradingLoop(
        paper_config, clock, feed, paper_venue(paper_config, clock, venue_state_path(store)), store
    )
    assert "ETH" not in again.portfolio.positions
    assert again.risk.state.consecutive_losses == 3
    assert again.risk.state.kill_switch and "3 consecutive" in again.risk.state.kill_reason
    again.journal.close()  # dies without closing the loop: the book was not saved by close()

    started_again = TradingLoop(
        paper_config, clock, feed, paper_venue(paper_config, clock, venue_state_path(store)), store
    )
    assert started_again.risk.state.consecutive_losses == 3, "the loss is counted once"
    started_again.close()


def test_a_restarted_trader_counts_the_orders_it_left_open_at_the_venue(
    paper_config: EnvironmentConfig,
):
    clock = ManualClock(START + timedelta(hours=12))
    store = ArtifactStore(paper_config.spec.artifacts, paper_config.env_id)
    venue = paper_venue(paper_config, clock, venue_state_path(store))
    resting = OrderIntent("ko-1-ETH-enter-0", "ETH", Side.BUY, 0.5, OrderType.LIMIT, 2800.0, 2000.0)
    venue.client.submit(resting)

    feed, _ = replay_feed(paper_config, clock.now(), clock.now() + timedelta(hours=2))
    again = TradingLoop(paper_config, clock, feed, venue, store)
    assert again.engine.resting
    # Nothing tells its stop: all it would cost counts as risk, and as cash to pay.
    assert again.risk.committed_risk("ETH") == again.risk.committed_notional() == 0.5 * 2000.0
    again.iterate()
    heat = again.metrics.registry.get_sample_value(
        "krakenops_trader_portfolio_heat_ratio", {"env": paper_config.env_id}
    )
    assert heat == pytest.approx(0.5 * 2000.0 / again.portfolio.equity())
    venue.client.cancel(resting.client_order_id)
    again.close()


def test_a_buy_filled_while_the_trader_was_down_is_booked_then_sold(
    paper_config: EnvironmentConfig,
):
    clock = ManualClock(START)
    store = ArtifactStore(paper_config.spec.artifacts, paper_config.env_id)
    venue = paper_venue(paper_config, clock, venue_state_path(store))
    # The venue filled a buy whose fill the book never saw: the trader died in between.
    market_order(venue.simulator, "ETH", 0.5, "buy", 2800.0)
    feed, _ = replay_feed(paper_config, START, START + timedelta(hours=3))
    loop = TradingLoop(paper_config, clock, feed, venue, store, interval_seconds=BAR_SECONDS)
    assert loop.portfolio.positions["ETH"].strategy == UNOWNED
    loop.run(START + timedelta(hours=3))
    assert "ETH" not in loop.portfolio.positions
    assert venue.client.balances().get("ETH", 0.0) == pytest.approx(0.0, abs=1e-12)
    sold = [t for t in trades(loop) if t["symbol"] == "ETH"]
    assert [t["side"] for t in sold] == ["sell"]


def test_metrics_registry_is_per_loop():
    assert TraderMetrics("a").registry is not TraderMetrics("b").registry
