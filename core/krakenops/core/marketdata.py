"""Kraken OHLCVT hourly bars: loading the export format, locating files, aligning symbols."""

from __future__ import annotations

import gzip
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from krakenops.core.universe import Universe

__all__ = [
    "BAR_SECONDS",
    "Bars",
    "MarketDataError",
    "default_data_dir",
    "load_ohlcvt",
    "load_symbol",
]

BAR_SECONDS = 3600
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


class MarketDataError(ValueError):
    """A market data file is missing or malformed; the message names the file and line."""


@dataclass(frozen=True)
class Bars:
    """Hourly bars of one symbol as parallel arrays, sorted by open time; gaps are real gaps."""

    symbol: str
    time: I64  # bar open, Unix seconds UTC
    open: F64
    high: F64
    low: F64
    close: F64
    volume: F64
    trades: I64

    def __len__(self) -> int:
        return int(self.time.shape[0])

    def missing_hours(self) -> int:
        """Hours without a bar between the first and the last bar."""
        if len(self) < 2:
            return 0
        return int(((self.time[-1] - self.time[0]) // BAR_SECONDS) + 1 - len(self))

    def between(self, start: int | None = None, end: int | None = None) -> Bars:
        """Bars with open time in [start, end)."""
        lo = 0 if start is None else int(np.searchsorted(self.time, start, "left"))
        hi = len(self) if end is None else int(np.searchsorted(self.time, end, "left"))
        return self.slice(lo, hi)

    def slice(self, lo: int, hi: int) -> Bars:
        return Bars(
            self.symbol,
            self.time[lo:hi],
            self.open[lo:hi],
            self.high[lo:hi],
            self.low[lo:hi],
            self.close[lo:hi],
            self.volume[lo:hi],
            self.trades[lo:hi],
        )


def load_ohlcvt(path: Path, symbol: str) -> Bars:
    """Read a Kraken OHLCVT export (plain or .gz): 7 columns, no header, ascending time."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise MarketDataError(f"{path}: cannot read: {error.strerror}") from None
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    try:
        table = np.loadtxt(io.BytesIO(raw), delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError as error:
        raise MarketDataError(f"{path}: not OHLCVT: {error}") from None
    if table.shape[0] == 0:
        raise MarketDataError(f"{path}: no bars")
    if table.shape[1] != 7:
        raise MarketDataError(f"{path}: expected 7 columns, found {table.shape[1]}")
    times = table[:, 0].astype(np.int64)
    steps = np.diff(times)
    if (steps <= 0).any():
        line = int(np.argmax(steps <= 0)) + 2
        raise MarketDataError(f"{path}:{line}: bar time does not increase")
    prices = table[:, 1:5]
    if not np.isfinite(prices).all() or (prices <= 0).any():
        line = int(np.argmax((~np.isfinite(prices) | (prices <= 0)).any(axis=1))) + 1
        raise MarketDataError(f"{path}:{line}: prices must be positive numbers")
    return Bars(
        symbol=symbol,
        time=times,
        open=np.ascontiguousarray(table[:, 1]),
        high=np.ascontiguousarray(table[:, 2]),
        low=np.ascontiguousarray(table[:, 3]),
        close=np.ascontiguousarray(table[:, 4]),
        volume=np.ascontiguousarray(table[:, 5]),
        trades=table[:, 6].astype(np.int64),
    )


def default_data_dir() -> Path:
    """`KRAKENOPS_MARKET_DATA` if set, else the slice of real bars that ships with the project."""
    configured = os.environ.get("KRAKENOPS_MARKET_DATA")
    if configured:
        return Path(configured)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "data" / "kraken"
        if candidate.is_dir():
            return candidate
    raise MarketDataError("no market data: set KRAKENOPS_MARKET_DATA to a folder of OHLCVT files")


def load_symbol(symbol: str, data_dir: Path | None = None) -> Bars:
    """Load the hourly bars of a canonical symbol, e.g. BTC from XBTUSD_60.csv(.gz)."""
    folder = data_dir or default_data_dir()
    stem = f"{Universe.resolve(symbol).altname}_60.csv"
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return load_ohlcvt(folder / name, symbol)
    raise MarketDataError(f"no bars for {symbol}: neither {stem} nor {stem}.gz in {folder}")
