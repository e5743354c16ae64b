"""What the API server checks of a CustomResourceDefinition's schemas before it serves the kind."""

from __future__ import annotations

from typing import Any

from tests.operator.emulator.cel import check_rules
from tests.operator.emulator.schema import FieldError, validate

__all__ = ["schema_errors"]

# The fields of apiextensions' JSONSchemaProps: the server decodes a schema strictly, so a key
# outside them (say, half of a YAML flow mapping split by a comma) refuses the whole CRD.
SCHEMA_KEYWORDS = frozenset(
    {
        "id", "$schema", "$ref", "description", "type", "format", "title", "default",
        "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength",
        "pattern", "maxItems", "minItems", "uniqueItems", "multipleOf", "enum", "maxProperties",
        "minProperties", "required", "items", "allOf", "oneOf", "anyOf", "not", "properties",
        "additionalProperties", "patternProperties", "dependencies", "additionalItems",
        "definitions", "externalDocs", "example", "nullable",
        "x-kubernetes-preserve-unknown-fields", "x-kubernetes-embedded-resource",
        "x-kubernetes-int-or-string", "x-kubernetes-list-map-keys", "x-kubernetes-list-type",
        "x-kubernetes-map-type", "x-kubernetes-validations",
    }
)  # fmt: skip


def schema_errors(crd: dict[str, Any]) -> list[FieldError]:
    """Unknown schema keywords, and defaults that break their own node's schema or CEL rules."""
    errors: list[FieldError] = []
    for index, version in enumerate((crd.get("spec") or {}).get("versions") or ()):
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if isinstance(schema, dict):
            errors += _node(schema, f"spec.versions[{index}].schema.openAPIV3Schema")
    return errors


def _node(schema: dict[str, Any], path: str) -> list[FieldError]:
    errors = [
        FieldError(f"{path}.{key}", "unknown field") for key in schema if key not in SCHEMA_KEYWORDS
    ]
    if "default" in schema:
        # As the server does: the default is checked as it stands, before the fields inside it
        # are defaulted, so a rule over those fields must hold of the bare default too.
        default = schema["default"]
        errors += validate(default, schema, f"{path}.default")
        errors += check_rules(default, None, schema, f"{path}.default")
    for key, sub in (schema.get("properties") or {}).items():
        if isinstance(sub, dict):
            errors += _node(sub, f"{path}.properties[{key}]")
    for key in ("items", "additionalProperties"):
        sub = schema.get(key)
        if isinstance(sub, dict):
            errors += _node(sub, f"{path}.{key}")
    return errors
