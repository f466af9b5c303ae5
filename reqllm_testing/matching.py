"""Matching a live request to a recorded one: normalization, an index built once per file, diffs.

A request's key is its method, path (with non-secret query parameters, sorted), model and canonical
JSON body (sorted keys, no whitespace) minus the matcher's ignored fields. Hosts, headers and auth
never take part. Identical requests are served in recorded order.
"""

from __future__ import annotations

import base64
import dataclasses
import difflib
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from .redaction import SECRET_PARAMS

__all__ = ["Index", "Matcher", "describe_request", "diff_text", "parse_body", "request_view"]

_MISSING = object()
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


def _split_path(path: str) -> list[str]:
    return [p for p in path.split(".") if p]


def _without(value: Any, parts: Sequence[str]) -> Any:
    """``value`` without the field at ``parts`` (``*`` matches every key or item); copies only that path."""
    if not parts:
        return _MISSING
    head, rest = parts[0], parts[1:]
    if isinstance(value, dict):
        keys = list(value) if head == "*" else ([head] if head in value else [])
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
        elif head.lstrip("-").isdigit() and -len(value) <= int(head) < len(value):
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
    """How requests are compared; ``ignore_fields``: dotted JSON paths (``*`` wildcards) left out."""

    ignore_fields: tuple[str, ...] = ()

    def compared_body(self, body: Any) -> Any:
        """The body as compared: ignored fields removed."""
        for field in self.ignore_fields:
            body = _without(body, _split_path(field))
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
        return f"{method.upper()} {parts.path or '/'}{query} model={model}\n{_CANONICAL.encode(body)}"


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
