"""A pair's trading rules as AssetPairs states them, and orders shaped to fit them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Any

from krakenops.trader.execution.orders import Side
from krakenops.trader.venues.kraken.errors import OrderRefusedError

__all__ = ["PairRules", "ShapedOrder"]


@dataclass(frozen=True)
class ShapedOrder:
    """Volume and price on the pair's grid, as they will be sent."""

    volume: Decimal
    price: Decimal | None  # None for market orders


@dataclass(frozen=True)
class PairRules:
    """One pair's AssetPairs entry, the fields that decide whether an order may be sent."""

    rest_pair: str  # e.g. XXBTZUSD
    altname: str  # e.g. XBTUSD
    ordermin: Decimal  # minimum volume, base units
    costmin: Decimal  # minimum cost, quote units
    lot_decimals: int
    pair_decimals: int
    tick_size: Decimal
    status: str  # online | cancel_only | post_only | limit_only | reduce_only | maintenance

    @classmethod
    def from_asset_pair(cls, rest_pair: str, info: Mapping[str, Any]) -> PairRules:
        """Parse one entry of AssetPairs' result; a missing field is an error, never a guess."""
        try:
            pair_decimals = int(info["pair_decimals"])
            return cls(
                rest_pair=rest_pair,
                altname=str(info["altname"]),
                ordermin=Decimal(str(info["ordermin"])),
                costmin=Decimal(str(info["costmin"])),
                lot_decimals=int(info["lot_decimals"]),
                pair_decimals=pair_decimals,
                # Older pairs have no tick_size; their grid is then 10^-pair_decimals.
                tick_size=Decimal(str(info.get("tick_size") or Decimal(1).scaleb(-pair_decimals))),
                status=str(info["status"]),
            )
        except KeyError as missing:
            raise ValueError(f"AssetPairs entry {rest_pair} has no {missing.args[0]}") from None

    @property
    def lot(self) -> Decimal:
        return Decimal(1).scaleb(-self.lot_decimals)

    def round_volume(self, volume: Decimal) -> Decimal:
        """Down to the lot: never trade more than was decided or can be paid for.

        A volume within a thousandth of a lot of the grid is float noise, not intent: a position
        summed from fills in floats must sell whole rather than leave one unsellable lot behind.
        """
        nearest = volume.quantize(self.lot, rounding=ROUND_HALF_EVEN)
        if abs(nearest - volume) <= self.lot / 1000:
            return nearest
        return volume.quantize(self.lot, rounding=ROUND_FLOOR)

    def round_price(self, price: Decimal, side: Side) -> Decimal:
        """Onto the tick, towards the passive side: a buy never bids more, a sell never asks less."""
        rounding = ROUND_FLOOR if side is Side.BUY else ROUND_CEILING
        ticks = (price / self.tick_size).to_integral_value(rounding=rounding)
        return (ticks * self.tick_size).quantize(Decimal(1).scaleb(-self.pair_decimals))

    def shape(
        self, side: Side, volume: float, reference_price: float, limit_price: float | None
    ) -> ShapedOrder:
        """Round an order to the grid, then refuse it if it breaks a rule; nothing is sent then."""
        if self.status != "online":
            raise OrderRefusedError(f"{self.altname} is {self.status}, not online")
        rounded = self.round_volume(_decimal(volume))
        price = None if limit_price is None else self.round_price(_decimal(limit_price), side)
        if price is not None and price <= 0:
            raise OrderRefusedError(f"{self.altname}: limit price {limit_price} rounds to {price}")
        if rounded < self.ordermin:
            raise OrderRefusedError(
                f"{self.altname}: volume {volume} rounds to {rounded}, below ordermin {self.ordermin}"
            )
        cost = rounded * (price if price is not None else _decimal(reference_price))
        if cost < self.costmin:
            raise OrderRefusedError(
                f"{self.altname}: cost {cost:.8f} is below costmin {self.costmin} (volume {rounded})"
            )
        return ShapedOrder(rounded, price)


def _decimal(value: float) -> Decimal:
    # The shortest repr of the float, not its binary expansion; float() first because the
    # pipeline's numpy scalars repr as "np.float64(...)".
    return Decimal(repr(float(value)))
