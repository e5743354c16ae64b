"""A measured figure with its unit and target, as `make bench` reports it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Figure"]


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    target: float
    # "max": the value must not exceed the target; "min": it must reach it.
    bound: Literal["max", "min"]

    @property
    def met(self) -> bool:
        return self.value <= self.target if self.bound == "max" else self.value >= self.target

    def as_json(self) -> dict[str, object]:
        comparator = "<=" if self.bound == "max" else ">="
        return {
            "value": round(self.value, 6),
            "unit": self.unit,
            "target": f"{comparator} {self.target:g}",
            "met": self.met,
        }
