"""Equality-based label selectors, as list and watch requests carry them."""

from __future__ import annotations

from typing import Any

from tests.operator.emulator.errors import ApiError

__all__ = ["Selector", "parse_selector", "selected"]

Selector = list[tuple[str, str, str | None]]


def parse_selector(text: str | None) -> Selector:
    """Equality-based label selectors: `a=b`, `a==b`, `a!=b`, `a`, `!a`."""
    terms: Selector = []
    for raw in (text or "").split(","):
        term = raw.strip()
        if not term:
            continue
        if "!=" in term:
            key, value = term.split("!=", 1)
            terms.append(("!=", key.strip(), value.strip()))
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            terms.append(("=", key.strip(), value.strip()))
        elif term.startswith("!"):
            terms.append(("!", term[1:].strip(), None))
        elif " " in term:
            raise ApiError(400, "BadRequest", f"unsupported label selector {term!r}")
        else:
            terms.append(("exists", term, None))
    return terms


def selected(obj: dict[str, Any], selector: Selector) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for op, key, value in selector:
        if (
            (op == "=" and labels.get(key) != value)
            or (op == "!=" and labels.get(key) == value)
            or (op == "exists" and key not in labels)
            or (op == "!" and key in labels)
        ):
            return False
    return True
