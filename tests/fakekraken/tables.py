"""The fake's reference data: Kraken's asset codes and AssetPairs entries for the universe.

Field names and shapes are Kraken's; the numbers are plausible, not a copy of today's values.
The client must read them from here (through AssetPairs), never assume them.
"""

from __future__ import annotations

from typing import Any

from krakenops.core.universe import CANONICAL

__all__ = ["ASSETS", "BASE_ASSET", "asset_pairs"]

# canonical symbol -> Kraken asset code (legacy X/Z prefixes for the oldest ones)
BASE_ASSET = {
    "BTC": "XXBT",
    "ETH": "XETH",
    "SOL": "SOL",
    "XRP": "XXRP",
    "ADA": "ADA",
    "DOT": "DOT",
    "LINK": "LINK",
    "DOGE": "XXDG",
    "MATIC": "MATIC",
    "AVAX": "AVAX",
}
_ALTNAME = {"XXBT": "XBT", "XETH": "ETH", "XXRP": "XRP", "XXDG": "XDG", "ZUSD": "USD"}

ASSETS: dict[str, dict[str, Any]] = {
    code: {
        "aclass": "currency",
        "altname": _ALTNAME.get(code, code),
        "decimals": 10 if code != "ZUSD" else 4,
        "display_decimals": 5 if code != "ZUSD" else 2,
        "status": "enabled",
    }
    for code in [*BASE_ASSET.values(), "ZUSD"]
}

# symbol -> (pair_decimals, lot_decimals, ordermin, costmin, tick_size)
_GRID = {
    "BTC": (1, 8, "0.00005", "0.5", "0.1"),
    "ETH": (2, 8, "0.002", "0.5", "0.01"),
    "SOL": (2, 8, "0.02", "0.5", "0.01"),
    "XRP": (5, 8, "2", "0.5", "0.00001"),
    "ADA": (6, 8, "5", "0.5", "0.000001"),
    "DOT": (4, 8, "0.2", "0.5", "0.0001"),
    "LINK": (5, 8, "0.2", "0.5", "0.00001"),
    "DOGE": (7, 8, "20", "0.5", "0.0000001"),
    "MATIC": (4, 8, "5", "0.5", "0.0001"),
    "AVAX": (2, 8, "0.1", "0.5", "0.01"),
}


def asset_pairs(status: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """AssetPairs' result for the ten USD pairs; `status` overrides a pair's trading status."""
    status = status or {}
    pairs = {}
    for symbol, instrument in CANONICAL.items():
        pair_decimals, lot_decimals, ordermin, costmin, tick = _GRID[symbol]
        pairs[instrument.rest_pair] = {
            "altname": instrument.altname,
            "wsname": instrument.wsname,
            "aclass_base": "currency",
            "base": BASE_ASSET[symbol],
            "aclass_quote": "currency",
            "quote": "ZUSD",
            "lot": "unit",
            "cost_decimals": 5,
            "pair_decimals": pair_decimals,
            "lot_decimals": lot_decimals,
            "lot_multiplier": 1,
            "leverage_buy": [],
            "leverage_sell": [],
            "fees": [[0, 0.4], [10000, 0.35], [50000, 0.24]],
            "fees_maker": [[0, 0.25], [10000, 0.2], [50000, 0.14]],
            "fee_volume_currency": "ZUSD",
            "margin_call": 80,
            "margin_stop": 40,
            "ordermin": ordermin,
            "costmin": costmin,
            "tick_size": tick,
            "status": status.get(symbol, "online"),
        }
    return pairs
