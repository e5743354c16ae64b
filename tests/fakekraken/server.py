"""A fake Kraken REST API on 127.0.0.1: real paths, JSON shapes, signatures, nonces and errors."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import numpy as np
from aiohttp import web

from krakenops.core.clock import Clock
from krakenops.core.marketdata import Bars
from krakenops.trader.venues.kraken.ratelimit import (
    TIERS,
    DecayingCounter,
    cancel_penalty,
    rest_cost,
)
from tests.fakekraken.engine import Engine, KrakenError
from tests.fakekraken.faults import Fault, FaultSchedule
from tests.fakekraken.tables import ASSETS

__all__ = ["FakeKraken"]

Handler = Callable[[Mapping[str, str]], Any]


class FakeKraken:
    """Kraken's REST API for one account and API key, served from a background thread."""

    def __init__(
        self,
        clock: Clock,
        bars: Mapping[str, Bars],
        api_key: str,
        api_secret: str,
        balances: Mapping[str, str] | None = None,
        faults: FaultSchedule | None = None,
        tier: str = "starter",
        client_timeout: float = 0.2,
        *,
        follow_clock: bool = False,
        fees: tuple[str, str] = ("0.40", "0.25"),
    ) -> None:
        """`fees` are the account's taker and maker fees in percent, as TradeVolume reports them."""
        self.clock = clock
        self.api_key, self.secret = api_key, base64.b64decode(api_secret)
        self.engine = Engine(
            clock,
            bars,
            balances or {"ZUSD": "10000"},
            taker_fee=fees[0],
            maker_fee=fees[1],
            follow_clock=follow_clock,
        )
        self.faults = faults or FaultSchedule()
        self.client_timeout = client_timeout
        self.tier = TIERS[tier]
        self.enforce_rate_limits = True
        self.last_nonce = 0
        self.calls: Counter[str] = Counter()
        self.rejections: Counter[str] = Counter()  # error string -> count, as answered
        self.throttled = (
            0  # calls refused by the rate counters themselves, not by an injected fault
        )
        self.validate_values: list[str] = []
        self.rest_counter = DecayingCounter(self.tier.rest_max, self.tier.rest_decay, clock.now())
        self.trading_counters: dict[str, DecayingCounter] = {}
        self.received = threading.Event()  # set whenever an AddOrder arrives
        self._public: dict[str, Handler] = {
            "Assets": lambda f: ASSETS,
            "AssetPairs": lambda f: self.engine.pairs,
            "Ticker": self._ticker,
            "OHLC": self._ohlc,
        }
        self._private: dict[str, Handler] = {
            "BalanceEx": self._balance,
            "TradeVolume": self._trade_volume,
            "OpenOrders": lambda f: {"open": self._orders(f, open_=True)},
            "ClosedOrders": self._closed,
            "QueryOrders": self._query,
            "TradesHistory": self._trades_history,
            "CancelOrder": self.engine.cancel,
        }
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self.url = ""

    # lifecycle

    def start(self) -> FakeKraken:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_get("/0/public/{method}", self._handle_public)
        app.router.add_post("/0/private/{method}", self._handle_private)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        ready.set()
        self._loop.run_forever()

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    # HTTP

    async def _handle_public(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        handler = self._public.get(method)
        if handler is None:
            return _answer(["EGeneral:Unknown method"])
        with self.engine.lock:
            self.engine.catch_up()
            return self._run(handler, dict(request.query))

    async def _handle_private(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await request.read()
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        refusal = self._authenticate(request, method, body, form)
        if refusal is not None:
            return _answer([refusal])
        self.calls[method] += 1
        self.engine.catch_up()
        if method == "AddOrder":
            self.received.set()
        # A validation places nothing, so only the transport can fail it.
        validating = method == "AddOrder" and form.get("validate") == "true"
        fault = self.faults.pick("AddOrder(validate)" if validating else method)
        early = await self._fault_before(fault)
        if early is not None:
            return early
        throttled = self._throttle(method, form)
        if throttled is not None:
            self.throttled += 1
            return self._refuse(throttled)
        if method == "AddOrder":
            return await self._add_order(form, fault)
        handler = self._private.get(method)
        if handler is None:
            return _answer(["EGeneral:Unknown method"])
        if fault is Fault.TIMEOUT_AFTER_ACCEPT:
            await asyncio.sleep(self.client_timeout * 2)
        with self.engine.lock:
            return self._run(handler, form)

    async def _fault_before(self, fault: Fault | None) -> web.Response | None:
        """Faults that strike before the request reaches the engine."""
        if fault is Fault.LATENCY:
            await asyncio.sleep(self.client_timeout / 8)
        elif fault is Fault.LATE_ARRIVAL:
            await asyncio.sleep(self.client_timeout * 1.5)
        elif fault is Fault.SERVER_ERROR:
            return web.Response(
                status=503, text="<html><body>503 Service Unavailable</body></html>"
            )
        elif fault is Fault.RATE_LIMIT:
            return self._refuse("EAPI:Rate limit exceeded")
        elif fault is Fault.INVALID_NONCE:
            return self._refuse("EAPI:Invalid nonce")
        return None

    async def _add_order(self, form: Mapping[str, str], fault: Fault | None) -> web.Response:
        if "validate" in form:
            self.validate_values.append(form["validate"])
        if fault is Fault.INSUFFICIENT_FUNDS:
            return self._refuse("EOrder:Insufficient funds")
        with self.engine.lock:
            response = self._run(
                lambda f: self.engine.add_order(f, partial=fault is Fault.PARTIAL_FILL), form
            )
        if fault is Fault.TIMEOUT_AFTER_ACCEPT:
            await asyncio.sleep(self.client_timeout * 2)
        elif fault is Fault.SERVER_ERROR_AFTER_ACCEPT:
            return web.Response(status=502, text="<html><body>502 Bad Gateway</body></html>")
        return response

    def _run(self, handler: Handler, form: Mapping[str, str]) -> web.Response:
        try:
            return _answer([], handler(form))
        except KrakenError as error:
            return self._refuse(str(error))

    def _refuse(self, error: str) -> web.Response:
        self.rejections[error] += 1
        return _answer([error])

    def _authenticate(
        self, request: web.Request, method: str, body: bytes, form: Mapping[str, str]
    ) -> str | None:
        """Kraken's checks, in Kraken's order: key, signature, then a strictly increasing nonce."""
        if request.headers.get("API-Key") != self.api_key:
            return "EAPI:Invalid key"
        nonce = form.get("nonce", "")
        message = request.path.encode() + hashlib.sha256(nonce.encode() + body).digest()
        expected = base64.b64encode(
            hmac.new(self.secret, message, hashlib.sha512).digest()
        ).decode()
        if not hmac.compare_digest(expected, request.headers.get("API-Sign", "")):
            return "EAPI:Invalid signature"
        if not nonce.isdigit() or int(nonce) <= self.last_nonce:
            self.rejections["EAPI:Invalid nonce"] += 1
            return "EAPI:Invalid nonce"
        self.last_nonce = int(nonce)
        return None

    def _throttle(self, method: str, form: Mapping[str, str]) -> str | None:
        """Kraken's REST counter per key and trading counter per pair, on the shared clock."""
        if not self.enforce_rate_limits:
            return None
        now = self.clock.now()
        cost = rest_cost(method)
        if cost:
            if self.rest_counter.wait_for(cost, now) > 0:
                return "EAPI:Rate limit exceeded"
            self.rest_counter.add(cost, now)
        if method in ("AddOrder", "CancelOrder"):
            pair = self._order_pair(form)
            if pair is None:
                return None
            counter = self.trading_counters.setdefault(
                pair, DecayingCounter(self.tier.trading_max, self.tier.trading_decay, now)
            )
            charge = 1
            if method == "CancelOrder":
                opened = self._order_opened(form)
                charge = cancel_penalty(now.timestamp() - opened) if opened is not None else 0
            if charge and counter.wait_for(charge, now) > 0:
                return "EOrder:Rate limit exceeded"
            counter.add(charge, now)
        return None

    def _order_pair(self, form: Mapping[str, str]) -> str | None:
        if "pair" in form:
            return form["pair"]
        key = form.get("cl_ord_id") or form.get("txid")
        for txid, order in self.engine.orders.items():
            if key in (txid, order["cl_ord_id"]):
                return str(order["_pair"])
        return None

    def _order_opened(self, form: Mapping[str, str]) -> float | None:
        key = form.get("cl_ord_id") or form.get("txid")
        for txid, order in self.engine.orders.items():
            if key in (txid, order["cl_ord_id"]):
                return float(order["opentm"])
        return None

    # endpoints

    def _ticker(self, form: Mapping[str, str]) -> dict[str, Any]:
        result = {}
        for name in form.get("pair", "").split(","):
            pair = self.engine._pair(name)
            last = str(self.engine.price(pair))
            result[pair] = {"a": [last, "1", "1.000"], "b": [last, "1", "1.000"], "c": [last, "0.1"],
                            "v": ["10", "100"], "p": [last, last], "t": [10, 100],
                            "l": [last, last], "h": [last, last], "o": last}  # fmt: skip
        return result

    def _ohlc(self, form: Mapping[str, str]) -> dict[str, Any]:
        pair = self.engine._pair(form.get("pair", ""))
        market = self.engine.markets[pair]
        bars, lo = market.bars, max(0, market.index - 719)
        if form.get("since"):
            # Kraken answers the bars after `since` (Unix seconds), at most 720 of them.
            after = int(np.searchsorted(bars.time, int(form["since"]), "right"))
            lo = max(lo, after)
        rows = [
            [int(bars.time[i]), str(bars.open[i]), str(bars.high[i]), str(bars.low[i]),
             str(bars.close[i]), str(bars.close[i]), str(bars.volume[i]), int(bars.trades[i])]
            for i in range(lo, market.index + 1)
        ]  # fmt: skip
        return {pair: rows, "last": rows[-1][0]}

    def _balance(self, form: Mapping[str, str]) -> dict[str, Any]:
        held = self.engine.holds()
        return {
            asset: {
                "balance": f"{amount:.10f}",
                "hold_trade": f"{held.get(asset, Decimal(0)):.10f}",
            }
            for asset, amount in self.engine.balances.items()
        }

    def _trade_volume(self, form: Mapping[str, str]) -> dict[str, Any]:
        pairs = [self.engine._pair(p) for p in form.get("pair", "").split(",") if p]
        fee = {k: f"{v:.4f}" for k, v in self.engine.fees.items()}

        def entry(rate: str) -> dict[str, str]:
            return {"fee": rate, "minfee": "0.1000", "maxfee": rate, "nextfee": rate,
                    "tiervolume": "0.0000", "nextvolume": "10000.0000"}  # fmt: skip

        return {
            "currency": "ZUSD",
            "volume": "0.0000",
            "fees": {p: entry(fee["taker"]) for p in pairs},
            "fees_maker": {p: entry(fee["maker"]) for p in pairs},
        }

    def _orders(self, form: Mapping[str, str], open_: bool) -> dict[str, Any]:
        wanted = form.get("cl_ord_id")
        return {
            txid: self.engine.public_order(txid, form.get("trades") in ("true", "True"))
            for txid, order in self.engine.orders.items()
            if (order["status"] == "open") == open_ and wanted in (None, order["cl_ord_id"])
        }

    def _closed(self, form: Mapping[str, str]) -> dict[str, Any]:
        closed = self._orders(form, open_=False)
        newest = dict(sorted(closed.items(), key=lambda kv: -kv[1]["opentm"])[:50])
        return {"closed": newest, "count": len(closed)}

    def _query(self, form: Mapping[str, str]) -> dict[str, Any]:
        txids = [t for t in form.get("txid", "").split(",") if t]
        if not txids or any(t not in self.engine.orders for t in txids):
            raise KrakenError("EOrder:Invalid order")
        return {
            t: self.engine.public_order(t, form.get("trades") in ("true", "True")) for t in txids
        }

    def _trades_history(self, form: Mapping[str, str]) -> dict[str, Any]:
        start = float(form.get("start", "0"))
        offset = int(form.get("ofs", "0"))
        newest_first = sorted(
            ((tid, t) for tid, t in self.engine.trades.items() if t["time"] > start),
            key=lambda kv: (-kv[1]["time"], kv[0]),
        )
        return {"trades": dict(newest_first[offset : offset + 50]), "count": len(newest_first)}


def _answer(errors: list[str], result: Any = None) -> web.Response:
    document: dict[str, Any] = {"error": errors}
    if not errors:
        document["result"] = result
    return web.json_response(document)
