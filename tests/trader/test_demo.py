"""The demo: verification, paper trading through the loop, a summary and an equity chart."""

from __future__ import annotations

from pathlib import Path

import pytest

from krakenops.trader.demo import demo_command


def test_the_demo_trades_summarises_and_draws(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    code = demo_command(
        [
            "--root",
            str(tmp_path),
            "--start",
            "2022-05-01T00:00:00+00:00",
            "--end",
            "2022-05-20T00:00:00+00:00",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.index("STARTUP VERIFICATION") < out.index("Paper trading summary")
    assert "Market data SOL: no embedded bars" in out
    for line in ("trades", "PnL", "max drawdown", "time in each regime", "rejections by reason"):
        assert f"  {line}" in out
    chart = tmp_path / "equity.png"
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
