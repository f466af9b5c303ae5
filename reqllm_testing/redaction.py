"""Keeping secrets off disk: header allow-lists, ``key=`` parameters (in URLs and JSON request bodies),
literal key values (also percent-encoded), user rules.

Order when a fixture is written: headers are filtered as interactions are recorded; at save time the
user's rules run (``add_redaction`` and the ``pytest_reqllm_redact`` hook), then every known secret
value is replaced wherever it appears — JSON bodies, SSE events, raw byte chunks (also when a value
is split across two chunks) and URLs.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

__all__ = [
    "AUTH_HEADERS",
    "MIN_SECRET_LENGTH",
    "PLACEHOLDER",
    "REQUEST_HEADERS",
    "RESPONSE_HEADERS",
    "RedactionRule",
    "SECRET_PARAMS",
    "SECRET_PATTERNS",
    "add_redaction",
    "apply_rules",
    "chunk_to_json",
    "filter_headers",
    "redact_url",
    "remove_redaction",
    "scrub",
    "scrub_patterns",
    "secrets_from_body",
    "secrets_from_headers",
]

PLACEHOLDER = "REDACTED"
#: Request headers kept in a fixture (auth never is: anything not listed is dropped).
REQUEST_HEADERS = frozenset({"content-type", "accept", "anthropic-version", "anthropic-beta", "openai-beta"})
#: Response headers kept: what the core reads (retry hints) and the body's type. No cookies, org/project
#: ids, request ids or rate-limit counters.
RESPONSE_HEADERS = frozenset({"content-type", "retry-after", "retry-after-ms", "x-should-retry"})
#: Headers that carry credentials; their values are collected as secrets to scrub everywhere.
AUTH_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "x-goog-api-key", "api-key",
                          "x-amz-security-token", "cookie"})
#: Query parameters that carry credentials.
SECRET_PARAMS = frozenset({"key", "api_key", "apikey", "api-key", "access_token", "token"})
#: Shorter values are not treated as secrets (replacing "test" everywhere would wreck a fixture).
MIN_SECRET_LENGTH = 8

#: A rule gets one interaction (a JSON-ready dict) and returns it changed (or None: changed in place).
RedactionRule = Callable[[dict[str, Any]], "dict[str, Any] | None"]
_rules: list[RedactionRule] = []


def add_redaction(rule: RedactionRule) -> RedactionRule:
    """Register a rule applied to every interaction before it is written (usable as a decorator)."""
    if rule not in _rules:
        _rules.append(rule)
    return rule


def remove_redaction(rule: RedactionRule) -> None:
    """Unregister a rule added with ``add_redaction``."""
    if rule in _rules:
        _rules.remove(rule)


def apply_rules(interaction: dict[str, Any], extra: Iterable[RedactionRule] = ()) -> dict[str, Any]:
    """``interaction`` after every registered rule and the ``extra`` ones."""
    for rule in (*_rules, *extra):
        changed = rule(interaction)
        if changed is not None:
            interaction = changed
    return interaction


def filter_headers(headers: Iterable[tuple[str, str]], allow: frozenset[str]) -> dict[str, str]:
    """Lower-cased headers on the allow-list (repeated ones joined with ", ")."""
    out: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        if key in allow:
            out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def redact_url(url: str) -> str:
    """``url`` with the values of credential query parameters replaced."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(k.lower() in SECRET_PARAMS for k, _ in pairs):
        return url
    query = urlencode([(k, PLACEHOLDER if k.lower() in SECRET_PARAMS else v) for k, v in pairs], safe=":/,")
    return urlunsplit(parts._replace(query=query))


def secrets_from_headers(headers: Iterable[tuple[str, str]], url: str = "") -> set[str]:
    """Credential values found in request headers and ``key=``-style query parameters."""
    found: set[str] = set()
    for name, value in headers:
        if name.lower() in AUTH_HEADERS and value:
            found.add(value)
            scheme, _, token = value.partition(" ")
            if token and scheme.lower() in ("bearer", "basic", "token"):
                found.add(token.strip())
    query = urlsplit(url).query
    if query:
        found.update(v for k, v in parse_qsl(query) if k.lower() in SECRET_PARAMS and v)
    return {s for s in found if len(s) >= MIN_SECRET_LENGTH and s != PLACEHOLDER}


def secrets_from_body(body: Any) -> set[str]:
    """Credential values in a parsed JSON request body: string fields named like ``key=`` parameters
    (``api_key``, ``key``, ``access_token``...), at any depth."""
    found: set[str] = set()
    stack = [body]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for name, inner in value.items():
                if isinstance(inner, str):
                    if str(name).lower() in SECRET_PARAMS:
                        found.add(inner)
                else:
                    stack.append(inner)
        elif isinstance(value, list):
            stack.extend(value)
    return {s for s in found if len(s) >= MIN_SECRET_LENGTH and s != PLACEHOLDER}


def _replace_all(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, PLACEHOLDER)
    return text


def _walk(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return _replace_all(value, secrets)
    if isinstance(value, list):
        return [_walk(v, secrets) for v in value]
    if isinstance(value, dict):
        return {_replace_all(k, secrets): _walk(v, secrets) for k, v in value.items()}
    return value


def _chunk_bytes(chunk: Any) -> bytes:
    if isinstance(chunk, dict):
        return base64.b64decode(chunk["b64"])
    return str(chunk).encode("utf-8")


def chunk_to_json(data: bytes) -> Any:
    """A chunk as stored: its UTF-8 text, or ``{"b64": ...}`` when it is not valid UTF-8 on its own."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(data).decode("ascii")}


def _scrub_chunks(chunks: list[Any], secrets: tuple[str, ...]) -> list[Any]:
    """Replace secrets in the joined bytes (a value may straddle chunks); boundaries kept, count kept."""
    raw = [_chunk_bytes(c) for c in chunks]
    joined = b"".join(raw)
    needles = [s.encode("utf-8") for s in secrets]
    if not any(n in joined for n in needles):
        return chunks
    ends, position = [], 0
    for piece in raw:
        position += len(piece)
        ends.append(position)
    out, cursor = bytearray(), 0
    spans: list[tuple[int, int]] = []
    pattern = re.compile(b"|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True)))
    for match in pattern.finditer(joined):
        out += joined[cursor:match.start()] + PLACEHOLDER.encode()
        spans.append((match.start(), match.end()))
        cursor = match.end()
    out += joined[cursor:]
    size = len(PLACEHOLDER)

    def moved(end: int) -> int:
        shift = 0
        for start, stop in spans:
            if stop <= end:
                shift += (stop - start) - size
            elif start < end:  # a boundary inside a secret moves to the end of its placeholder
                return start - shift + size
            else:
                break
        return end - shift

    new_ends = [moved(end) for end in ends]
    result, previous = [], 0
    for end in new_ends:
        result.append(chunk_to_json(bytes(out[previous:end])))
        previous = end
    return result


def _scrub_eventstream(chunks: list[Any], secrets: tuple[str, ...]) -> list[Any]:
    """Like ``_scrub_chunks`` for an AWS event stream: a frame holding a secret is re-encoded (its lengths
    and CRCs recomputed) so the stored stream still decodes; other frames stay byte for byte."""
    from reqllm._eventstream import EventStreamDecoder, EventStreamError, encode_message

    raw = [_chunk_bytes(c) for c in chunks]
    joined = b"".join(raw)
    needles = [s.encode("utf-8") for s in secrets]
    if not any(n in joined for n in needles):
        return chunks
    try:
        messages = EventStreamDecoder().feed(joined)
    except EventStreamError:
        return _scrub_chunks(chunks, secrets)  # not frames after all: plain byte replacement
    old_spans: list[tuple[int, int]] = []
    new_spans: list[tuple[int, int]] = []
    out = bytearray()
    start = 0
    for message in messages:
        length = int.from_bytes(joined[start:start + 4], "big")
        frame = joined[start:start + length]
        if any(n in frame for n in needles):
            headers = {k: _replace_all(v, secrets) if isinstance(v, str) else v for k, v in message.headers.items()}
            payload = message.payload
            for needle in sorted(needles, key=len, reverse=True):
                payload = payload.replace(needle, PLACEHOLDER.encode())
            frame = encode_message(headers, payload)
        old_spans.append((start, start + length))
        new_spans.append((len(out), len(out) + len(frame)))
        out += frame
        start += length
    tail_start = len(out)
    tail = joined[start:]
    for needle in sorted(needles, key=len, reverse=True):
        tail = tail.replace(needle, PLACEHOLDER.encode())
    out += tail

    def moved(end: int) -> int:
        for (a, b), (c, d) in zip(old_spans, new_spans, strict=True):
            if a < end <= b:
                return c + min(end - a, d - c) if end < b else d
        return tail_start + min(end - start, len(tail))

    result, previous = [], 0
    position = 0
    for piece in raw:
        position += len(piece)
        end = max(moved(position), previous)
        result.append(chunk_to_json(bytes(out[previous:end])))
        previous = end
    if previous < len(out):  # whatever the last boundary left over belongs to the last chunk
        result[-1] = chunk_to_json(_chunk_bytes(result[-1]) + bytes(out[previous:]))
    return result


def scrub(interaction: dict[str, Any], secrets: Iterable[str]) -> dict[str, Any]:
    """A copy of ``interaction`` with every secret value (and credential URL parameter) replaced."""
    kept = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH and s != PLACEHOLDER}
    # also as a URL carries them (a server echoing the request URL): percent-encoded, + for spaces
    kept |= {form for s in kept for form in (quote(s, safe=""), quote_plus(s))}
    values = tuple(sorted(kept, key=len, reverse=True))
    request = interaction.get("request")
    if isinstance(request, dict) and isinstance(request.get("url"), str):
        interaction = {**interaction, "request": {**request, "url": redact_url(request["url"])}}
    if not values:
        return interaction
    response = interaction.get("response")
    chunks = response.get("chunks") if isinstance(response, Mapping) else None
    cleaned = _walk({k: v for k, v in interaction.items() if k != "response"}, values)
    if isinstance(response, Mapping):
        cleaned["response"] = _walk({k: v for k, v in response.items() if k != "chunks"}, values)
        if chunks is not None:
            headers = response.get("headers")
            kind = str(headers.get("content-type", "")) if isinstance(headers, Mapping) else ""
            framed = "application/vnd.amazon.eventstream" in kind
            cleaned["response"]["chunks"] = (_scrub_eventstream if framed else _scrub_chunks)(list(chunks), values)
    return dict(cleaned)


#: Secret-looking strings (for ``reqllm fixtures scan`` and cassette import).
SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("anthropic key", re.compile(r"sk-ant-[A-Za-z0-9_\-]{16,}")),
    ("openai-style key", re.compile(r"sk-(?!ant-)[A-Za-z0-9_\-]{16,}")),
    ("google api key", re.compile(r"AIza[0-9A-Za-z_\-]{30,}")),
    ("groq key", re.compile(r"gsk_[A-Za-z0-9]{20,}")),
    ("xai key", re.compile(r"xai-[A-Za-z0-9]{20,}")),
    ("aws access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("google oauth token", re.compile(r"\bya29\.[0-9A-Za-z_\-]{20,}")),
    ("bearer token", re.compile(r"Bearer\s+(?!REDACTED)[A-Za-z0-9._~+/\-]{12,}=*")),
)


def scrub_patterns(value: Any) -> Any:
    """``value`` (any JSON-ready data) with every secret-looking string replaced."""
    if isinstance(value, str):
        for _, pattern in SECRET_PATTERNS:
            value = pattern.sub(PLACEHOLDER, value)
        return value
    if isinstance(value, list):
        return [scrub_patterns(v) for v in value]
    if isinstance(value, dict):
        return {k: scrub_patterns(v) for k, v in value.items()}
    return value
