"""Matching a live request to a recorded one: normalization, an index built once per file, diffs.

A request's key is its method, path (with non-secret query parameters, sorted), model and canonical
JSON body (sorted keys, no whitespace) minus the matcher's ignored fields. Hosts, headers and auth
never take part (so neither does a signature's date), nor a cloud project and location in the path.
Identical requests are served in recorded order.
"""

from __future__ import annotations

import base64
import dataclasses
import difflib
import functools
import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from .errors import InvalidFieldPathError
from .redaction import SECRET_PARAMS

__all__ = ["Index", "Matcher", "describe_request", "diff_text", "parse_body", "parse_field", "request_view"]

_MISSING = object()
#: A cloud project and location in a URL path (Vertex AI): they locate the caller, not the request, so a
#: replay without the recording's project (or with another region) still matches.
_CLOUD_SCOPE = re.compile(r"/projects/[^/]+/locations/[^/]+/")
#: Canonical JSON (sorted keys, no whitespace), made once: ``json.dumps`` with options builds an encoder per call.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def parse_body(content: bytes) -> Any:
    """A body as stored: parsed JSON, else its text, else ``{"b64": ...}``; None when empty."""
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        pass
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(content).decode("ascii")}


FIELD_SYNTAX = ("keys joined by dots, list items as [N] (negative counts from the end) or [*], any key or "
                "item as *: messages[0].content, messages[-1].content, messages[*].content, tools.*.function")


@functools.lru_cache(maxsize=512)
def parse_field(field: str) -> tuple[str | int, ...]:
    """A field path as its parts: ``messages[0].content`` -> ``("messages", 0, "content")``.

    ``*`` (or ``[*]``) stands for every key or item; a dotted number (``messages.0.content``) indexes a
    list too. Anything else raises InvalidFieldPathError, so a path is never silently ignored.
    """
    def bad(why: str) -> InvalidFieldPathError:
        return InvalidFieldPathError(f"ignore_fields: cannot read {field!r}: {why}. A field path is {FIELD_SYNTAX}")

    if not isinstance(field, str) or not field.strip():
        raise bad("it is empty")
    if field.startswith("$"):
        raise bad(f"write it without the JSONPath '$' prefix: {field.lstrip('$').lstrip('.')!r}")
    if field.startswith("/"):
        raise bad("JSON pointers are not read; use dots and [N]")
    parts: list[str | int] = []
    i, n = 0, len(field)
    expect_key = True  # at the start, or after a dot
    while i < n:
        char = field[i]
        if char == "[":
            close = field.find("]", i)
            if close < 0:
                raise bad(f"'[' at position {i} is not closed")
            inner = field[i + 1:close].strip()
            if inner == "*":
                parts.append("*")
            elif inner.lstrip("-").isdigit() and inner.count("-") <= 1:
                parts.append(int(inner))
            else:
                raise bad(f"[{inner}] is not a list index (a whole number, or *)")
            if expect_key and parts[:-1] and field[i - 1] == ".":
                raise bad(f"a key is missing before '[' at position {i}")
            i, expect_key = close + 1, False
            if i < n and field[i] not in ".[":
                raise bad(f"'.' or '[' expected after ']' at position {i}")
        elif char == ".":
            if expect_key:
                raise bad(f"a key is missing before '.' at position {i}")
            i, expect_key = i + 1, True
            if i == n:
                raise bad("it ends with '.'")
        elif char == "]":
            raise bad(f"']' at position {i} has no '['")
        else:
            end = i
            while end < n and field[end] not in ".[]":
                end += 1
            if not expect_key:
                raise bad(f"'.' expected before {field[i:end]!r}")
            parts.append(field[i:end])
            i, expect_key = end, False
    return tuple(parts)


def _without(value: Any, parts: Sequence[str | int]) -> Any:
    """``value`` without the field at ``parts`` (``*`` matches every key or item); copies only that path."""
    if not parts:
        return _MISSING
    head, rest = parts[0], parts[1:]
    if isinstance(value, dict):
        keys = list(value) if head == "*" else ([head] if isinstance(head, str) and head in value else [])
        if not keys:
            return value
        out = dict(value)
        for key in keys:
            inner = _without(out[key], rest)
            if inner is _MISSING:
                del out[key]
            else:
                out[key] = inner
        return out
    if isinstance(value, list):
        if head == "*":
            indices = range(len(value))
        elif isinstance(head, int) and -len(value) <= head < len(value):
            indices = range(head % len(value), head % len(value) + 1)
        elif isinstance(head, str) and head.lstrip("-").isdigit() and -len(value) <= int(head) < len(value):
            indices = range(int(head) % len(value), int(head) % len(value) + 1)
        else:
            return value
        items = list(value)
        for i in reversed(indices):
            inner = _without(items[i], rest)
            if inner is _MISSING:
                del items[i]
            else:
                items[i] = inner
        return items
    return value


@dataclasses.dataclass(frozen=True, slots=True)
class Matcher:
    """How requests are compared; ``ignore_fields``: paths in the JSON body left out of the comparison.

    A path is keys joined by dots, list items as ``[N]`` or ``[*]``, ``*`` for any key or item:
    ``messages[0].content``, ``messages[*].content``, ``metadata.*``. A path that cannot be read
    raises InvalidFieldPathError when the matcher is made.
    """

    ignore_fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for field in self.ignore_fields:
            parse_field(field)

    def compared_body(self, body: Any) -> Any:
        """The body as compared: ignored fields removed."""
        for field in self.ignore_fields:
            body = _without(body, parse_field(field))
            if body is _MISSING:
                body = None
        return body

    def canonical_body(self, body: Any) -> str:
        """The compared body as canonical JSON (sorted keys, no whitespace)."""
        return _CANONICAL.encode(self.compared_body(body))

    def key(self, method: str, url: str, body: Any) -> str:
        """The lookup key of a request (``body`` as ``parse_body`` returns it)."""
        parts = urlsplit(url)
        query = ""
        if parts.query:
            pairs = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                           if k.lower() not in SECRET_PARAMS)
            query = "?" + urlencode(pairs) if pairs else ""
        body = self.compared_body(body)
        model = body.get("model") if isinstance(body, dict) else None
        path = _CLOUD_SCOPE.sub("/projects/*/locations/*/", parts.path) if "/projects/" in parts.path else parts.path
        return f"{method.upper()} {path or '/'}{query} model={model}\n{_CANONICAL.encode(body)}"


def request_view(method: str, url: str, body: Any) -> dict[str, Any]:
    """What a mismatch diff shows of a request."""
    parts = urlsplit(url)
    return {"method": method.upper(), "path": parts.path, "query": parts.query, "body": body}


def describe_request(method: str, url: str, body: Any) -> str:
    """One line naming a request: ``POST /v1/chat/completions (model gpt-4o-mini)``."""
    model = body.get("model") if isinstance(body, dict) else None
    return f"{method.upper()} {urlsplit(url).path}" + (f" (model {model})" if model else "")


class Index:
    """Recorded interactions by request key, built once per loaded file and matcher."""

    __slots__ = ("by_key", "keys", "matcher")

    def __init__(self, interactions: Sequence[dict[str, Any]], matcher: Matcher) -> None:
        self.matcher = matcher
        self.keys: list[str] = []
        self.by_key: dict[str, list[int]] = {}
        for i, item in enumerate(interactions):
            request = item["request"]
            key = matcher.key(request["method"], request["url"], request.get("body"))
            self.keys.append(key)
            self.by_key.setdefault(key, []).append(i)

    def nearest(self, key: str, exclude: set[int]) -> int | None:
        """The recorded interaction most like ``key`` (unused ones first), or None when there are none."""
        if not self.keys:
            return None
        head = key.split("\n", 1)[0]
        candidates = [i for i in range(len(self.keys)) if i not in exclude] or list(range(len(self.keys)))
        same_route = [i for i in candidates if self.keys[i].split("\n", 1)[0] == head]
        pool = (same_route or candidates)[:500]

        def score(i: int) -> float:
            matcher = difflib.SequenceMatcher(None, self.keys[i], key, autojunk=False)
            return matcher.quick_ratio() if len(key) > 20_000 else matcher.ratio()

        return max(pool, key=score)


def diff_text(recorded: Any, actual: Any) -> str:
    """A readable deep diff (``deepdiff``, falling back to a unified diff of the JSON)."""
    try:
        from deepdiff import DeepDiff
    except ImportError:  # pragma: no cover - deepdiff comes with the dev extra
        pass
    else:
        text = str(DeepDiff(recorded, actual, verbose_level=2).pretty()).strip()
        if text:
            return text
    a = json.dumps(recorded, indent=2, sort_keys=True, default=str).splitlines()
    b = json.dumps(actual, indent=2, sort_keys=True, default=str).splitlines()
    return "\n".join(difflib.unified_diff(a, b, "recorded", "actual", lineterm="")) or "(no difference)"
