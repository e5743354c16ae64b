"""The demo's trading: paper trading through the loop, a summary and an equity chart."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.clock import ManualClock
from krakenops.core.config import EnvironmentConfig
from krakenops.trader.chart import draw
from krakenops.trader.commands import replay_feed
from krakenops.trader.demo import paper_replay, summarise

START = datetime(2022, 5, 1, tzinfo=UTC)
END = datetime(2022, 5, 20, tzinfo=UTC)


def test_the_demo_trades_summarises_and_draws(
    paper_config: EnvironmentConfig, tmp_path: Path
) -> None:
    config = paper_config.with_root(tmp_path)
    store = ArtifactStore(config.spec.artifacts, config.env_id)
    store.ensure_layout()
    feed, missing = replay_feed(config, START, END)
    assert missing == ["SOL"]  # the embedded bars hold BTC and ETH only

    loop = paper_replay(config, store, ManualClock(START), feed, END)
    summary = summarise(loop, store)

    assert summary.lstrip().startswith("Paper trading summary")
    for line in ("trades", "PnL", "max drawdown", "time in each regime", "rejections by reason"):
        assert f"  {line}" in summary
    assert "  hours replayed        456 (38 in downtime, no orders)" in summary
    assert "  trades                0 fills" not in summary
    chart = tmp_path / "equity.png"
    draw(store, chart)
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
