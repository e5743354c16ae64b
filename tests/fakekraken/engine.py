"""The fake's account and matching engine: balances, orders and trades against real bars."""

from __future__ import annotations

import itertools
import re
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import numpy as np

from krakenops.core.clock import Clock
from krakenops.core.marketdata import BAR_SECONDS, Bars
from krakenops.core.universe import Universe
from tests.fakekraken.tables import BASE_ASSET, asset_pairs

__all__ = ["Engine", "KrakenError"]

# Kraken's client order ids: a UUID with or without dashes, or free text of up to 18 characters.
_CLIENT_ID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{32}|[\x21-\x7e]{1,18}"
)
SLIPPAGE = Decimal("0.0002")  # market orders pay 2 bps over the bar's close
PARTIAL_SHARE = Decimal("0.4")  # a partial fill executes this share first


class KrakenError(Exception):
    """An error Kraken would put in the response's `error` list."""


@dataclass
class Market:
    symbol: str
    rest_pair: str
    bars: Bars
    index: int

    def bar(self) -> tuple[Decimal, Decimal, Decimal]:
        i = self.index
        high, low, close = (
            Decimal(repr(float(a[i]))) for a in (self.bars.high, self.bars.low, self.bars.close)
        )
        return high, low, close


class Engine:
    """One Kraken account; every method runs under one lock, as one matching engine would."""

    def __init__(
        self,
        clock: Clock,
        bars: Mapping[str, Bars],
        balances: Mapping[str, str],
        start_index: int = 200,
        taker_fee: str = "0.40",
        maker_fee: str = "0.25",
        follow_clock: bool = False,
    ) -> None:
        self.clock = clock
        # Off: the test moves the markets with advance(). On: each market shows the newest bar
        # that has closed by the clock, as the real exchange would to a trader on that clock.
        self.follow_clock = follow_clock
        self.lock = threading.RLock()
        self.pairs = asset_pairs()
        self.markets = {
            Universe.resolve(s).rest_pair: Market(
                s,
                Universe.resolve(s).rest_pair,
                b,
                _closed_index(b, self.now()) if follow_clock else start_index,
            )
            for s, b in bars.items()
        }
        self.balances = {asset: Decimal(amount) for asset, amount in balances.items()}
        self.fees = {
            "taker": Decimal(taker_fee),
            "maker": Decimal(maker_fee),
        }  # percent, as Kraken says
        self.orders: dict[str, dict[str, Any]] = {}
        self.trades: dict[str, dict[str, Any]] = {}
        self.accepted_per_cl_ord_id: Counter[str] = Counter()
        self.partial: set[str] = set()
        self._ids = itertools.count(1)

    def now(self) -> float:
        return self.clock.now().timestamp()

    def price(self, pair: str) -> Decimal:
        return self.markets[pair].bar()[2]

    # orders

    def add_order(self, form: Mapping[str, str], partial: bool = False) -> dict[str, Any]:
        pair = self._pair(form.get("pair", ""))
        info, market = self.pairs[pair], self.markets.get(pair)
        if "cl_ord_id" in form and not _CLIENT_ID.fullmatch(form["cl_ord_id"]):
            raise KrakenError("EGeneral:Invalid arguments:cl_ord_id")
        side, kind = form.get("type"), form.get("ordertype")
        if side not in ("buy", "sell") or kind not in ("market", "limit"):
            raise KrakenError("EGeneral:Invalid arguments")
        volume = self._decimal(form.get("volume"), "volume", info["lot_decimals"])
        price = None
        if kind == "limit":
            price = self._decimal(form.get("price"), "price", info["pair_decimals"])
            if (price / Decimal(info["tick_size"])) % 1 != 0:
                raise KrakenError("EGeneral:Invalid arguments:price")
        if info["status"] != "online":
            raise KrakenError("EService:Market in cancel_only mode")
        if volume < Decimal(info["ordermin"]):
            raise KrakenError("EOrder:Order minimum not met")
        if market is None:
            raise KrakenError("EService:Unavailable")
        reference = price if price is not None else self.price(pair)
        if volume * reference < Decimal(info["costmin"]):
            raise KrakenError("EOrder:Cost minimum not met")
        deadline = form.get("deadline")
        if deadline is not None and self.now() > _rfc3339(deadline):
            raise KrakenError("EService:Deadline elapsed")
        descr = f"{side} {volume:.8f} {info['altname']} @ {kind}" + (
            "" if price is None else f" {price}"
        )
        if form.get("validate") == "true":
            return {"descr": {"order": descr}}
        self._check_funds(pair, side, volume, reference)
        txid = self._new_id("O")
        now = self.now()
        self.orders[txid] = {
            "refid": None, "userref": 0, "cl_ord_id": form.get("cl_ord_id"), "status": "open",
            "opentm": now, "starttm": 0, "expiretm": 0,
            "descr": {"pair": info["altname"], "type": side, "ordertype": kind,
                      "price": str(price or 0), "price2": "0", "leverage": "none", "order": descr, "close": ""},
            "vol": f"{volume:.8f}", "vol_exec": "0.00000000", "cost": "0", "fee": "0", "price": "0",
            "stopprice": "0", "limitprice": "0", "misc": "", "oflags": form.get("oflags", "fciq"),
            "trades": [], "_pair": pair,
        }  # fmt: skip
        if form.get("cl_ord_id"):
            self.accepted_per_cl_ord_id[form["cl_ord_id"]] += 1
        if partial:
            self.partial.add(txid)
        self._match(txid, first=True)
        result: dict[str, Any] = {"descr": {"order": descr}, "txid": [txid]}
        return result

    def cancel(self, form: Mapping[str, str]) -> dict[str, Any]:
        key = form.get("cl_ord_id") or form.get("txid")
        for txid, order in self.orders.items():
            if key in (txid, order["cl_ord_id"]) and order["status"] == "open":
                order.update(status="canceled", reason="User requested", closetm=self.now())
                return {"count": 1}
        raise KrakenError("EOrder:Unknown order")

    def advance(self, steps: int = 1) -> None:
        """Move every market to a later bar; resting orders fill against it."""
        with self.lock:
            for market in self.markets.values():
                market.index = min(market.index + steps, len(market.bars) - 1)
            for txid in [t for t, o in self.orders.items() if o["status"] == "open"]:
                self._match(txid, first=False)

    def catch_up(self) -> None:
        """With `follow_clock`, move each market bar by bar to the clock; resting orders match on the way."""
        if not self.follow_clock:
            return
        with self.lock:
            now = self.now()
            for pair, market in self.markets.items():
                closed = _closed_index(market.bars, now)
                while market.index < closed:
                    market.index += 1
                    for txid in [t for t, o in self.orders.items() if o["status"] == "open"]:
                        if self.orders[txid]["_pair"] == pair:
                            self._match(txid, first=False)

    def _match(self, txid: str, first: bool) -> None:
        order = self.orders[txid]
        pair, side = order["_pair"], order["descr"]["type"]
        high, low, close = self.markets[pair].bar()
        remaining = Decimal(order["vol"]) - Decimal(order["vol_exec"])
        if order["descr"]["ordertype"] == "market":
            price, maker = close * (1 + SLIPPAGE if side == "buy" else 1 - SLIPPAGE), False
        else:
            limit = Decimal(order["descr"]["price"])
            crosses = close <= limit if side == "buy" else close >= limit
            touches = low <= limit if side == "buy" else high >= limit
            if first and crosses:
                price, maker = close, False
            elif not first and touches:
                price, maker = limit, True
            else:
                return
        volume = remaining
        if txid in self.partial:
            self.partial.discard(txid)
            lots = Decimal(1).scaleb(-self.pairs[pair]["lot_decimals"])
            volume = (remaining * PARTIAL_SHARE).quantize(lots)
        self._trade(
            txid,
            volume,
            price.quantize(Decimal(1).scaleb(-self.pairs[pair]["pair_decimals"]), ROUND_HALF_EVEN),
            maker,
        )

    def _trade(self, txid: str, volume: Decimal, price: Decimal, maker: bool) -> None:
        order = self.orders[txid]
        pair, side = order["_pair"], order["descr"]["type"]
        cost = volume * price
        fee = (cost * self.fees["maker" if maker else "taker"] / 100).quantize(Decimal("0.00001"))
        base = BASE_ASSET[self.markets[pair].symbol]
        sign = 1 if side == "buy" else -1
        self.balances[base] = self.balances.get(base, Decimal(0)) + sign * volume
        self.balances["ZUSD"] = self.balances.get("ZUSD", Decimal(0)) - sign * cost - fee
        trade_id = self._new_id("T")
        self.trades[trade_id] = {
            "ordertxid": txid, "postxid": self._new_id("P"), "pair": pair, "time": self.now(),
            "type": side, "ordertype": order["descr"]["ordertype"], "price": str(price),
            "cost": str(cost), "fee": str(fee), "vol": f"{volume:.8f}", "margin": "0",
            "leverage": "0", "misc": "", "trade_id": len(self.trades) + 1, "maker": maker,
        }  # fmt: skip
        executed = Decimal(order["vol_exec"]) + volume
        total_cost = Decimal(order["cost"]) + cost
        order.update(
            vol_exec=f"{executed:.8f}", cost=str(total_cost), fee=str(Decimal(order["fee"]) + fee),
            price=str((total_cost / executed).quantize(Decimal("0.00001"))),
        )  # fmt: skip
        order["trades"].append(trade_id)
        if executed == Decimal(order["vol"]):
            order.update(status="closed", closetm=self.now(), reason=None)

    def _check_funds(self, pair: str, side: str, volume: Decimal, price: Decimal) -> None:
        base = BASE_ASSET[self.markets[pair].symbol]
        held = self.holds()
        if side == "buy":
            need = volume * price * (1 + SLIPPAGE) * (1 + self.fees["taker"] / 100)
            free = self.balances.get("ZUSD", Decimal(0)) - held.get("ZUSD", Decimal(0))
        else:
            need, free = volume, self.balances.get(base, Decimal(0)) - held.get(base, Decimal(0))
        if need > free:
            raise KrakenError("EOrder:Insufficient funds")

    def holds(self) -> dict[str, Decimal]:
        """What open orders reserve: USD for bids (with the taker fee), the base asset for asks."""
        held: dict[str, Decimal] = {}
        for order in self.orders.values():
            if order["status"] != "open":
                continue
            remaining = Decimal(order["vol"]) - Decimal(order["vol_exec"])
            if order["descr"]["type"] == "buy":
                price = Decimal(order["descr"]["price"]) or self.price(order["_pair"])
                amount = remaining * price * (1 + self.fees["taker"] / 100)
                held["ZUSD"] = held.get("ZUSD", Decimal(0)) + amount
            else:
                base = BASE_ASSET[self.markets[order["_pair"]].symbol]
                held[base] = held.get(base, Decimal(0)) + remaining
        return held

    def _pair(self, name: str) -> str:
        for rest_pair, info in self.pairs.items():
            if name in (rest_pair, info["altname"]):
                return rest_pair
        raise KrakenError("EQuery:Unknown asset pair")

    def _decimal(self, text: str | None, field: str, decimals: int) -> Decimal:
        try:
            value = Decimal(text or "")
        except ArithmeticError:
            raise KrakenError(f"EGeneral:Invalid arguments:{field}") from None
        if value <= 0 or value != value.quantize(Decimal(1).scaleb(-decimals)):
            raise KrakenError(f"EGeneral:Invalid arguments:{field}")
        return value

    def _new_id(self, prefix: str) -> str:
        n = next(self._ids)
        return f"{prefix}{n:05d}-FAKE{n % 7}-{n:06X}"

    def public_order(self, txid: str, with_trades: bool) -> dict[str, Any]:
        order = {k: v for k, v in self.orders[txid].items() if not k.startswith("_")}
        if not with_trades:
            order.pop("trades")
        return order


def _closed_index(bars: Bars, now: float) -> int:
    """The newest bar whose hour has ended by `now`."""
    return max(0, int(np.searchsorted(bars.time, now - BAR_SECONDS, "right")) - 1)


def _rfc3339(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
