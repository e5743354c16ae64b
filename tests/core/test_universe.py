"""The universe: ten canonical symbols, their Kraken names both ways, liquidity filters."""

from __future__ import annotations

import pytest

from krakenops.core.universe import CANONICAL, Liquidity, Universe


def test_ten_canonical_symbols_map_to_kraken_pairs():
    assert list(CANONICAL) == [
        "BTC",
        "ETH",
        "SOL",
        "XRP",
        "ADA",
        "DOT",
        "LINK",
        "DOGE",
        "MATIC",
        "AVAX",
    ]
    assert CANONICAL["BTC"].rest_pair == "XXBTZUSD"
    assert CANONICAL["ETH"].rest_pair == "XETHZUSD"
    assert CANONICAL["SOL"].rest_pair == "SOLUSD"
    assert CANONICAL["BTC"].wsname == "XBT/USD"
    assert CANONICAL["DOGE"].ccxt_symbol == "DOGE/USD"


@pytest.mark.parametrize("name", ["BTC", "XXBTZUSD", "XBTUSD", "XBT/USD", "BTC/USD"])
def test_every_name_resolves_back_to_the_canonical_symbol(name: str):
    assert Universe.resolve(name).symbol == "BTC"


def test_unknown_name_is_refused():
    with pytest.raises(KeyError, match="SHIB"):
        Universe.resolve("SHIB")


def test_symbols_can_be_added_and_removed():
    universe = Universe(["BTC"])
    universe.add("ETH")
    universe.add("ETH")
    added = universe.symbols
    universe.remove("BTC")
    assert added == ("BTC", "ETH")
    assert universe.symbols == ("ETH",)
    with pytest.raises(KeyError):
        universe.remove("BTC")
    with pytest.raises(KeyError):
        universe.add("NOPE")


def test_liquidity_filters_drop_thin_wide_and_unquoted_markets():
    universe = Universe(["BTC", "ETH", "SOL", "XRP"])
    quotes = {
        "BTC": Liquidity(volume_usd_24h=5e8, spread_bps=1),
        "ETH": Liquidity(volume_usd_24h=5e5, spread_bps=2),
        "SOL": Liquidity(volume_usd_24h=5e7, spread_bps=80),
    }
    assert universe.liquid(quotes, min_volume_usd=1e6, max_spread_bps=50) == ("BTC",)
