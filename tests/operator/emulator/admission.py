"""Admission of a written body: pruned, defaulted and validated against its kind's schema and CEL rules."""

from __future__ import annotations

from typing import Any

from tests.operator.emulator.cel import check_rules
from tests.operator.emulator.crdcheck import schema_errors
from tests.operator.emulator.errors import invalid
from tests.operator.emulator.kinds import Kind
from tests.operator.emulator.schema import apply_defaults, prune, validate

__all__ = ["admit"]

Obj = dict[str, Any]
_META = ("apiVersion", "kind", "metadata")


def admit(kind: Kind, body: Obj, old: Obj | None, strict: bool) -> Obj:
    """Prune, default and validate against the kind's schema, then its CEL rules."""
    if kind.plural == "customresourcedefinitions" and kind.group == "apiextensions.k8s.io":
        errors = schema_errors(body)
        if errors:
            raise invalid(kind, (body.get("metadata") or {}).get("name", ""), errors)
    if kind.schema is None:
        return body
    schema = {
        **kind.schema,
        "properties": {
            k: v for k, v in (kind.schema.get("properties") or {}).items() if k not in _META
        },
    }
    content = {k: v for k, v in body.items() if k not in _META}
    pruned, errors = prune(content, schema, "", strict)
    pruned = apply_defaults(pruned, schema)
    errors += validate(pruned, schema)
    if not errors:
        before = {k: v for k, v in old.items() if k not in _META} if old is not None else None
        errors += check_rules(pruned, before, schema)
    if errors:
        raise invalid(kind, (body.get("metadata") or {}).get("name", ""), errors)
    return {**{k: body[k] for k in _META if k in body}, **pruned}
