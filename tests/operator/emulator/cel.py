"""The x-kubernetes-validations rules of a CRD schema, evaluated with cel-python."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import celpy
from celpy.adapter import json_to_cel

from tests.operator.emulator.schema import FieldError

__all__ = ["check_rules"]

_ENVIRONMENT = celpy.Environment()


@lru_cache(maxsize=256)
def _program(rule: str) -> Any:
    return _ENVIRONMENT.program(_ENVIRONMENT.compile(rule))


def _is_transition(rule: str) -> bool:
    return "oldSelf" in rule


def check_rules(value: Any, old: Any, schema: dict[str, Any], path: str = "") -> list[FieldError]:
    """Every failing rule under `schema`; rules naming oldSelf are checked on updates only,
    where the old value exists, as the API server does with transition rules."""
    errors: list[FieldError] = []
    for item in schema.get("x-kubernetes-validations") or ():
        rule = item["rule"]
        if _is_transition(rule) and old is None:
            continue
        activation = {"self": json_to_cel(value)}
        if old is not None:
            activation["oldSelf"] = json_to_cel(old)
        try:
            passed = bool(_program(rule).evaluate(activation))
        except Exception as error:
            errors.append(
                FieldError(path, f'Invalid value: "object": rule {rule!r} failed: {error}')
            )
            continue
        if not passed:
            where = path + item.get("fieldPath", "") if item.get("fieldPath") else path
            message = item.get("message") or f"failed rule: {rule}"
            errors.append(FieldError(where, f'Invalid value: "object": {message}'))
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key in value:
                before = old.get(key) if isinstance(old, dict) else None
                errors.extend(
                    check_rules(value[key], before, sub, f"{path}.{key}" if path else key)
                )
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            errors.extend(check_rules(item, None, schema["items"], f"{path}[{index}]"))
    return errors
