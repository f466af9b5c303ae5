"""Structured output schemas from a pydantic class or a JSON-schema dict; validation names the field."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import BaseModel

from reqllm._schema import ObjectSchema
from reqllm.errors import InvalidOptionError, ObjectValidationError


class Address(BaseModel):
    street: str
    city: str


class Item(BaseModel):
    sku: str
    qty: int


class Order(BaseModel):
    id: int
    status: Literal["open", "shipped"]
    address: Address
    items: list[Item]


GOOD = {"id": 7, "status": "open", "address": {"street": "1 Main St", "city": "Springfield"},
        "items": [{"sku": "A1", "qty": 2}]}


def test_pydantic_class() -> None:
    target = ObjectSchema(Order)
    assert target.model_class is Order and target.name == "Order"
    assert target.json_schema == Order.model_json_schema()
    assert target.validate(GOOD, "") == Order.model_validate(GOOD)
    assert isinstance(target.validate('{"id": 7, "status": "open", "address": {"street": "s", "city": "c"}, '
                                      '"items": []}', ""), Order)


@pytest.mark.parametrize("change, field", [
    ({"id": "seven"}, "id"),
    ({"status": "lost"}, "status"),
    ({"address": {"street": "1 Main St"}}, "address.city"),
    ({"items": [{"sku": "A1", "qty": 2}, {"sku": "B2", "qty": "many"}]}, "items.1.qty"),
])
def test_pydantic_errors_name_the_field(change: dict[str, Any], field: str) -> None:
    bad = {**GOOD, **change}
    with pytest.raises(ObjectValidationError) as info:
        ObjectSchema(Order).validate(bad, "RAW TEXT")
    assert info.value.field == field
    assert info.value.raw_text == "RAW TEXT" and "RAW TEXT" in str(info.value)


SCHEMA: dict[str, Any] = {
    "title": "Person record!",
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "score": {"type": "number"},
        "role": {"enum": ["admin", "user"]},
        "kind": {"const": "person"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "nickname": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "home": {"$ref": "#/$defs/Place"},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
    "$defs": {"Place": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
}


def test_dict_schema_gives_the_dict() -> None:
    target = ObjectSchema(SCHEMA)
    assert target.model_class is None and target.name == "Person_record_"
    value = {"name": "Ada", "age": 36, "score": 9.5, "role": "admin", "kind": "person", "tags": ["x"],
             "nickname": None, "home": {"city": "London"}}
    assert target.validate(value, "") == value
    assert target.validate({"name": "Ada", "age": 36.0}, "") == {"name": "Ada", "age": 36.0}  # an integer


@pytest.mark.parametrize("value, field, words", [
    ({"age": 3}, "name", "required"),
    ({"name": "Ada", "age": "3"}, "age", "expected integer"),
    ({"name": "Ada", "age": True}, "age", "expected integer"),
    ({"name": "Ada", "age": 3.5}, "age", "expected integer"),
    ({"name": "Ada", "age": 3, "score": "high"}, "score", "expected number"),
    ({"name": "Ada", "age": 3, "role": "root"}, "role", "not one of"),
    ({"name": "Ada", "age": 3, "kind": "robot"}, "kind", "'robot'"),
    ({"name": "Ada", "age": 3, "tags": ["a", 2]}, "tags[1]", "expected string"),
    ({"name": "Ada", "age": 3, "nickname": 5}, "nickname", "anyOf"),
    ({"name": "Ada", "age": 3, "home": {}}, "home.city", "required"),
    ({"name": "Ada", "age": 3, "extra": 1}, "extra", "additionalProperties"),
    (["not", "an", "object"], None, "expected object"),
])
def test_dict_schema_errors_name_the_field(value: Any, field: str | None, words: str) -> None:
    with pytest.raises(ObjectValidationError) as info:
        ObjectSchema(SCHEMA).validate(value, "the raw output")
    assert info.value.field == field
    assert words in str(info.value) and "the raw output" in str(info.value)


def test_text_output_parsing() -> None:
    target = ObjectSchema({"type": "object"})
    assert target.validate('{"a": 1}', "") == {"a": 1}
    assert target.validate('```json\n{"a": 1}\n```', "") == {"a": 1}
    assert target.validate('  ```\n{"a": 2}\n```  ', "") == {"a": 2}
    with pytest.raises(ObjectValidationError) as info:
        target.validate("Here is your JSON: {", "Here is your JSON: {")
    assert info.value.field is None and "not valid JSON" in str(info.value)


def test_schema_name_option_and_sanitizing() -> None:
    assert ObjectSchema(Order, "my order").name == "my_order"
    assert ObjectSchema({"type": "object"}).name == "output"
    assert len(ObjectSchema({"type": "object"}, "x" * 100).name) == 64


@pytest.mark.parametrize("schema", ["a string", 42, Address(street="s", city="c"), int, None])
def test_not_a_schema(schema: Any) -> None:
    with pytest.raises(InvalidOptionError):
        ObjectSchema(schema)
