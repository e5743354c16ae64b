"""Market data: the embedded slice of real Kraken bars loads, gaps are kept, bad files are named."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from krakenops.core.marketdata import BAR_SECONDS, MarketDataError, load_ohlcvt, load_symbol


def test_embedded_btc_and_eth_bars_load_with_their_gaps():
    btc = load_symbol("BTC")
    eth = load_symbol("ETH")
    assert len(btc) > 19_000 and len(eth) > 19_000
    assert btc.time[0] == 1585699200  # 2020-04-01 00:00 UTC
    assert btc.missing_hours() > 0  # Kraken writes no bar for an hour without trades
    assert (np.diff(btc.time) % BAR_SECONDS == 0).all()
    assert (btc.high >= btc.low).all()


def test_between_selects_by_open_time():
    btc = load_symbol("BTC")
    window = btc.between(btc.time[10], btc.time[20])
    assert len(window) == 10 and window.time[0] == btc.time[10]


def test_plain_and_gzipped_files_read_the_same(tmp_path: Path):
    rows = "1600000000,10,11,9,10.5,1.5,3\n1600007200,10.5,12,10,11,2.0,4\n"
    (tmp_path / "plain.csv").write_text(rows)
    (tmp_path / "packed.csv.gz").write_bytes(gzip.compress(rows.encode()))
    plain = load_ohlcvt(tmp_path / "plain.csv", "BTC")
    packed = load_ohlcvt(tmp_path / "packed.csv.gz", "BTC")
    assert plain.close.tolist() == packed.close.tolist() == [10.5, 11.0]
    assert plain.missing_hours() == 1


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ("1600000000,10,11,9\n", "expected 7 columns"),
        ("1600003600,1,1,1,1,1,1\n1600000000,1,1,1,1,1,1\n", ":2: bar time does not increase"),
        ("1600000000,1,1,-1,1,1,1\n", ":1: prices must be positive"),
        ("time,open\n", "not OHLCVT"),
    ],
)
def test_malformed_files_are_refused_with_the_line(tmp_path: Path, rows: str, problem: str):
    path = tmp_path / "bad.csv"
    path.write_text(rows)
    with pytest.raises(MarketDataError, match=problem):
        load_ohlcvt(path, "BTC")


def test_symbol_without_data_is_named(tmp_path: Path):
    with pytest.raises(MarketDataError, match="no bars for SOL"):
        load_symbol("SOL", tmp_path)
