"""The CRD files themselves: names, subresources, columns, and their agreement with the models."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from krakenops.core.config import TradingEnvironmentSpec
from krakenops.operator.specs import ModelPromotionSpec
from krakenops.operator.status import PromotionStatus, TradingEnvironmentStatus
from tests.operator.harness import CRDS


def crd_schema(name: str) -> dict[str, Any]:
    crd = yaml.safe_load((CRDS / f"{name}.yaml").read_text())
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def schema_fields(schema: dict[str, Any], prefix: str = "") -> set[str]:
    fields = set()
    for key, sub in (schema.get("properties") or {}).items():
        path = f"{prefix}.{key}" if prefix else key
        fields.add(path)
        if sub.get("type") == "object" and sub.get("properties"):
            fields |= schema_fields(sub, path)
    return fields


def status_fields(schema: dict[str, Any], prefix: str = "") -> set[str]:
    """Like `schema_fields`, and into the items of arrays too: conditions are typed entries."""
    fields = set()
    for key, sub in (schema.get("properties") or {}).items():
        path = f"{prefix}.{key}" if prefix else key
        fields.add(path)
        nested = sub.get("items") or {} if sub.get("type") == "array" else sub
        if nested.get("properties"):
            fields |= status_fields(nested, path)
    return fields


def model_fields(model: type[BaseModel], prefix: str = "") -> set[str]:
    fields = set()
    for name, info in model.model_fields.items():
        alias = info.alias or name
        path = f"{prefix}.{alias}" if prefix else alias
        fields.add(path)
        for candidate in getattr(info.annotation, "__args__", None) or (info.annotation,):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                fields |= model_fields(candidate, path)
    return fields


@pytest.mark.parametrize(
    ("crd", "model"),
    [("tradingenvironments", TradingEnvironmentSpec), ("modelpromotions", ModelPromotionSpec)],
)
def test_crd_spec_and_typed_model_name_the_same_fields(crd: str, model: type[BaseModel]):
    spec = crd_schema(crd)["properties"]["spec"]
    assert schema_fields(spec) == model_fields(model)


@pytest.mark.parametrize(
    ("crd", "model"),
    [("tradingenvironments", TradingEnvironmentStatus), ("modelpromotions", PromotionStatus)],
)
def test_crd_status_and_typed_status_name_the_same_fields(crd: str, model: type[BaseModel]):
    declared = status_fields(crd_schema(crd)["properties"]["status"])
    # status.validation and status.shadow are reports copied whole; their own models type them.
    copied = ("validation.", "shadow.")
    assert {f for f in declared if not f.startswith(copied)} == model_fields(model)


def test_crds_declare_short_names_category_status_and_printer_columns():
    for name, short in (("tradingenvironments", "te"), ("modelpromotions", "mp")):
        crd = yaml.safe_load((CRDS / f"{name}.yaml").read_text())
        version = crd["spec"]["versions"][0]
        assert crd["spec"]["names"]["shortNames"] == [short]
        assert crd["spec"]["names"]["categories"] == ["krakenops"]
        assert version["subresources"] == {"status": {}}
        columns = {c["name"] for c in version["additionalPrinterColumns"]}
        assert {"Phase", "Model", "Age"} <= columns


def test_schema_mirror_checker_sees_a_missing_field():
    schema = copy.deepcopy(crd_schema("modelpromotions")["properties"]["spec"])
    del schema["properties"]["reason"]
    assert model_fields(ModelPromotionSpec) - schema_fields(schema) == {"reason"}
