"""Structural OpenAPI v3 schemas as the API server applies them: prune, default, then validate."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["FieldError", "apply_defaults", "prune", "validate"]

Schema = dict[str, Any]
_TYPE_NAMES = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
}


@dataclass(frozen=True)
class FieldError:
    """One refused field, worded as the API server words it."""

    field: str
    message: str
    reason: str = "FieldValueInvalid"

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _preserves(schema: Schema) -> bool:
    return bool(schema.get("x-kubernetes-preserve-unknown-fields"))


def prune(
    value: Any, schema: Schema, path: str = "", strict: bool = False
) -> tuple[Any, list[FieldError]]:
    """Drop fields the schema does not declare (or, when strict, refuse them); nulls of
    non-nullable fields are dropped too, so that their defaults apply."""
    errors: list[FieldError] = []
    if isinstance(value, dict) and schema.get("type") == "object":
        properties: dict[str, Schema] = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        kept: dict[str, Any] = {}
        for key, item in value.items():
            where = _join(path, key)
            if key in properties:
                sub = properties[key]
                if item is None and not sub.get("nullable"):
                    continue
                kept[key], found = prune(item, sub, where, strict)
                errors.extend(found)
            elif isinstance(additional, dict):
                kept[key], found = prune(item, additional, where, strict)
                errors.extend(found)
            elif additional is True or _preserves(schema):
                kept[key] = item
            elif strict:
                errors.append(
                    FieldError(where, "field not declared in schema", "FieldValueNotSupported")
                )
        return kept, errors
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        pruned = []
        for index, item in enumerate(value):
            kept_item, found = prune(item, schema["items"], f"{path}[{index}]", strict)
            pruned.append(kept_item)
            errors.extend(found)
        return pruned, errors
    return value, errors


def apply_defaults(value: Any, schema: Schema) -> Any:
    """Fill absent fields that declare a default, then default inside what is there."""
    if isinstance(value, dict):
        properties: dict[str, Schema] = schema.get("properties") or {}
        for key, sub in properties.items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                value[key] = apply_defaults(value[key], sub)
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            for key in [k for k in value if k not in properties]:
                value[key] = apply_defaults(value[key], additional)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [apply_defaults(item, schema["items"]) for item in value]
    return value


def validate(value: Any, schema: Schema, path: str = "") -> list[FieldError]:
    """Every violation of type, required, enum, pattern, bounds and lengths, by field path."""
    if value is None:
        if schema.get("nullable"):
            return []
        return [
            FieldError(
                path, f'Invalid value: "null": {path} in body must be of type {schema.get("type")}'
            )
        ]
    if schema.get("x-kubernetes-int-or-string"):
        if isinstance(value, bool) or not isinstance(value, int | str):
            return [FieldError(path, "Invalid value: must be an integer or a string")]
        return []
    expected = schema.get("type")
    if expected is not None and not _is_type(value, expected):
        actual = _TYPE_NAMES.get(type(value), type(value).__name__)
        return [
            FieldError(
                path,
                f'Invalid value: "{actual}": {path} in body must be of type {expected}: "{actual}"',
            )
        ]
    errors: list[FieldError] = []
    if "enum" in schema and value not in schema["enum"]:
        supported = ", ".join(json.dumps(v) for v in schema["enum"])
        errors.append(
            FieldError(
                path,
                f"Unsupported value: {json.dumps(value)}: supported values: {supported}",
                "FieldValueNotSupported",
            )
        )
    if isinstance(value, str):
        errors.extend(_string(value, schema, path))
    elif isinstance(value, int | float) and not isinstance(value, bool):
        errors.extend(_number(value, schema, path))
    elif isinstance(value, list):
        errors.extend(_array(value, schema, path))
    elif isinstance(value, dict):
        errors.extend(_object(value, schema, path))
    return errors


_IS_TYPE = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    # JSON has one number type; 5.0 is an integer as far as the API server cares.
    "integer": lambda v: (
        not isinstance(v, bool)
        and (isinstance(v, int) or (isinstance(v, float) and v.is_integer()))
    ),
    "number": lambda v: not isinstance(v, bool) and isinstance(v, int | float),
}


def _is_type(value: Any, expected: str) -> bool:
    check = _IS_TYPE.get(expected)
    return True if check is None else bool(check(value))


def _string(value: str, schema: Schema, path: str) -> list[FieldError]:
    errors = []
    if "minLength" in schema and len(value) < schema["minLength"]:
        errors.append(
            FieldError(
                path,
                f"Invalid value: {json.dumps(value)}: {path} in body should be at least {schema['minLength']} chars long",
            )
        )
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append(
            FieldError(
                path,
                f"Too long: may not be more than {schema['maxLength']} bytes",
                "FieldValueTooLong",
            )
        )
    if "pattern" in schema and re.search(schema["pattern"], value) is None:
        errors.append(
            FieldError(
                path,
                f"Invalid value: {json.dumps(value)}: {path} in body should match '{schema['pattern']}'",
            )
        )
    return errors


def _number(value: float, schema: Schema, path: str) -> list[FieldError]:
    errors = []
    if "minimum" in schema:
        low, exclusive = schema["minimum"], schema.get("exclusiveMinimum", False)
        if value < low or (exclusive and value == low):
            words = "greater than" if exclusive else "greater than or equal to"
            errors.append(
                FieldError(path, f"Invalid value: {value}: {path} in body should be {words} {low}")
            )
    if "maximum" in schema:
        high, exclusive = schema["maximum"], schema.get("exclusiveMaximum", False)
        if value > high or (exclusive and value == high):
            words = "less than" if exclusive else "less than or equal to"
            errors.append(
                FieldError(path, f"Invalid value: {value}: {path} in body should be {words} {high}")
            )
    return errors


def _array(value: list[Any], schema: Schema, path: str) -> list[FieldError]:
    errors = []
    if "minItems" in schema and len(value) < schema["minItems"]:
        errors.append(
            FieldError(
                path,
                f"Invalid value: {len(value)}: {path} in body should have at least {schema['minItems']} items",
            )
        )
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        errors.append(
            FieldError(
                path,
                f"Too many: {len(value)}: must have at most {schema['maxItems']} items",
                "FieldValueTooMany",
            )
        )
    if schema.get("x-kubernetes-list-type") == "set":
        seen: list[Any] = []
        for index, item in enumerate(value):
            if item in seen:
                errors.append(
                    FieldError(
                        f"{path}[{index}]",
                        f"Duplicate value: {json.dumps(item)}",
                        "FieldValueDuplicate",
                    )
                )
            seen.append(item)
    items = schema.get("items")
    if isinstance(items, dict):
        for index, item in enumerate(value):
            errors.extend(validate(item, items, f"{path}[{index}]"))
    return errors


def _object(value: dict[str, Any], schema: Schema, path: str) -> list[FieldError]:
    errors = [
        FieldError(_join(path, key), "Required value", "FieldValueRequired")
        for key in schema.get("required") or ()
        if key not in value
    ]
    properties: dict[str, Schema] = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    for key, item in value.items():
        if key in properties:
            errors.extend(validate(item, properties[key], _join(path, key)))
        elif isinstance(additional, dict):
            errors.extend(validate(item, additional, _join(path, key)))
    return errors
