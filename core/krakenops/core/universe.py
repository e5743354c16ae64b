"""The tradable universe: canonical symbols, their Kraken pair names both ways, liquidity filters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["CANONICAL", "Instrument", "Liquidity", "Universe"]


@dataclass(frozen=True)
class Instrument:
    """One USD spot market under each of its names."""

    symbol: str  # canonical, e.g. BTC
    rest_pair: str  # Kraken REST pair name, e.g. XXBTZUSD
    altname: str  # Kraken altname, e.g. XBTUSD (also the OHLCVT file stem)
    wsname: str  # Kraken websocket name, e.g. XBT/USD
    ccxt_symbol: str  # ccxt unified symbol, e.g. BTC/USD


def _instrument(symbol: str, rest_pair: str, kraken_base: str | None = None) -> Instrument:
    base = kraken_base or symbol
    return Instrument(symbol, rest_pair, f"{base}USD", f"{base}/USD", f"{symbol}/USD")


# Kraken kept its legacy X/Z-prefixed names for the oldest pairs and calls Bitcoin XBT and Dogecoin XDG.
CANONICAL: Mapping[str, Instrument] = {
    i.symbol: i
    for i in (
        _instrument("BTC", "XXBTZUSD", "XBT"),
        _instrument("ETH", "XETHZUSD"),
        _instrument("SOL", "SOLUSD"),
        _instrument("XRP", "XXRPZUSD"),
        _instrument("ADA", "ADAUSD"),
        _instrument("DOT", "DOTUSD"),
        _instrument("LINK", "LINKUSD"),
        _instrument("DOGE", "XDGUSD", "XDG"),
        _instrument("MATIC", "MATICUSD"),
        _instrument("AVAX", "AVAXUSD"),
    )
}


@dataclass(frozen=True)
class Liquidity:
    """What the market says of one symbol right now."""

    volume_usd_24h: float
    spread_bps: float


class Universe:
    """An ordered set of instruments, resolvable from any of their names."""

    def __init__(self, symbols: Iterable[str] = ("BTC", "ETH", "SOL")) -> None:
        self._symbols: list[str] = []
        for symbol in symbols:
            self.add(symbol)

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self._symbols)

    @property
    def instruments(self) -> tuple[Instrument, ...]:
        return tuple(CANONICAL[s] for s in self._symbols)

    def add(self, symbol: str) -> None:
        if symbol not in CANONICAL:
            raise KeyError(f"unknown symbol {symbol!r}; known: {', '.join(CANONICAL)}")
        if symbol not in self._symbols:
            self._symbols.append(symbol)

    def remove(self, symbol: str) -> None:
        if symbol not in self._symbols:
            raise KeyError(f"{symbol!r} is not in the universe")
        self._symbols.remove(symbol)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._symbols

    def __len__(self) -> int:
        return len(self._symbols)

    @staticmethod
    def resolve(name: str) -> Instrument:
        """Find an instrument by canonical symbol, REST pair, altname, wsname or ccxt symbol."""
        for instrument in CANONICAL.values():
            if name in (
                instrument.symbol,
                instrument.rest_pair,
                instrument.altname,
                instrument.wsname,
                instrument.ccxt_symbol,
            ):
                return instrument
        raise KeyError(f"no instrument is named {name!r}")

    def liquid(
        self, quotes: Mapping[str, Liquidity], min_volume_usd: float, max_spread_bps: float
    ) -> tuple[str, ...]:
        """The symbols that pass both liquidity filters; a symbol without a quote does not."""
        return tuple(
            s
            for s in self._symbols
            if s in quotes
            and quotes[s].volume_usd_24h >= min_volume_usd
            and quotes[s].spread_bps <= max_spread_bps
        )
