"""What a PromQL expression selects, read from its syntax tree (promql-parser), not from its text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import promql_parser

__all__ = ["selectors", "series_names"]

_CHILDREN = ("lhs", "rhs", "expr", "param", "vector_selector")


def selectors(expr: str) -> Iterator[Any]:
    """Every vector selector in the expression (a syntax error raises)."""
    pending: list[Any] = [promql_parser.parse(expr)]
    while pending:
        node = pending.pop()
        if isinstance(node, promql_parser.VectorSelector):
            yield node
            continue
        pending.extend(getattr(node, "args", None) or ())
        pending.extend(c for name in _CHILDREN if (c := getattr(node, name, None)) is not None)


def series_names(expr: str) -> set[str]:
    return {str(s.name) for s in selectors(expr) if s.name}
