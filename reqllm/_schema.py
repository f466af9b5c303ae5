"""Structured output schemas: from a pydantic class or a JSON-schema dict, and validation of results."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import InvalidOptionError, ObjectValidationError

__all__ = ["ObjectSchema", "schema_problem"]

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,),
    "integer": (int,), "number": (int, float), "null": (type(None),),
}
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


class ObjectSchema:
    """What generate_object was asked for: a pydantic model class or a JSON-schema dict."""

    __slots__ = ("json_schema", "model_class", "name")

    def __init__(self, schema: Any, name: str | None = None) -> None:
        if name is not None and not isinstance(name, str):
            raise InvalidOptionError(f"option schema_name={name!r} must be a string")
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            self.model_class: type[BaseModel] | None = schema
            self.json_schema: dict[str, Any] = schema.model_json_schema()
            self.name = name or schema.__name__
        elif isinstance(schema, dict):
            self.model_class = None
            self.json_schema = schema
            self.name = name or str(schema.get("title") or "output")
        else:
            raise InvalidOptionError(
                f"schema must be a pydantic model class or a JSON-schema dict, not {schema!r}")
        self.name = re.sub(r"[^A-Za-z0-9_-]", "_", self.name)[:64]

    def validate(self, value: Any, raw_text: str) -> Any:
        """The instance (model class) or dict (JSON schema); ObjectValidationError naming the field."""
        if isinstance(value, str):
            value = self.parse_text(value)
        if self.model_class is not None:
            try:
                return self.model_class.model_validate(value)
            except ValidationError as exc:
                first = exc.errors()[0]
                field = ".".join(str(p) for p in first["loc"]) or None
                raise ObjectValidationError(first["msg"], field=field, raw_text=raw_text) from None
        problem = _check(value, self.json_schema, self.json_schema, "")
        if problem is not None:
            raise ObjectValidationError(problem[1], field=problem[0] or None, raw_text=raw_text)
        return value

    def parse_text(self, text: str) -> Any:
        """The model's text as JSON (a ```json fence around it is tolerated)."""
        fenced = _FENCE.match(text)
        try:
            return json.loads(fenced.group(1) if fenced else text)
        except ValueError as exc:
            raise ObjectValidationError(f"output is not valid JSON: {exc}", field=None,
                                        raw_text=text) from None


def schema_problem(value: Any, schema: dict[str, Any]) -> tuple[str, str] | None:
    """The first place ``value`` breaks the JSON ``schema``: (dotted path, what is wrong), else None."""
    return _check(value, schema, schema, "")


def _check(value: Any, schema: dict[str, Any], root: dict[str, Any], path: str) -> tuple[str, str] | None:
    if "$ref" in schema:
        ref = schema["$ref"]
        target: Any = root
        for part in ref.lstrip("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return _check(value, target, root, path)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            if any(_check(value, s, root, path) is None for s in schema[key]):
                break
            return path, f"matches none of {key}"
    if "allOf" in schema:
        for sub in schema["allOf"]:
            problem = _check(value, sub, root, path)
            if problem:
                return problem
    if "enum" in schema and value not in schema["enum"]:
        return path, f"{value!r} is not one of {schema['enum']}"
    if "const" in schema and value != schema["const"]:
        return path, f"{value!r} is not {schema['const']!r}"
    kinds = schema.get("type")
    if kinds is not None:
        names = kinds if isinstance(kinds, list) else [kinds]
        if not any(_is_type(value, n) for n in names):
            return path, f"expected {' or '.join(names)}, got {type(value).__name__}"
    if isinstance(value, dict):
        props: dict[str, Any] = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                return _join(path, name), "required field is missing"
        for name, item in value.items():
            if name in props:
                problem = _check(item, props[name], root, _join(path, name))
                if problem:
                    return problem
            elif schema.get("additionalProperties") is False:
                return _join(path, name), "field is not allowed (additionalProperties is false)"
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            problem = _check(item, schema["items"], root, f"{path}[{i}]")
            if problem:
                return problem
    return None


def _is_type(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()  # JSON Schema: 3.0 is an integer
    return isinstance(value, _TYPES.get(name, (object,)))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
