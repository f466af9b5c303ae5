"""Keeping secrets off disk: header allow-lists, URL userinfo and ``key=`` parameters, credential-named
body fields, literal secret values in every encoding an echo may use, user rules.

What a secret is comes from ``reqllm._secrets`` (the same rules the core uses to keep secrets out of
its errors): the value of every request header not on ``NON_SECRET_HEADERS``, a URL's userinfo and
``key=``-style parameters, string values under credential-named keys at any depth of a request body.

Order when a fixture is written: headers are filtered as interactions are recorded; at save time the
user's rules run (``add_redaction`` and the ``pytest_reqllm_redact`` hook), then every known secret
value is replaced wherever it appears — JSON bodies, SSE events, raw byte chunks (also when a value
is split across two chunks) and URLs — raw, percent-encoded, JSON-escaped and base64-encoded.
In replay, ``scrub_request_body`` applies the same replacement to the live request before it is
matched, so a call whose recording was scrubbed still finds it.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from reqllm._secrets import (
    MIN_SECRET_LENGTH,
    NON_SECRET_HEADERS,
    PLACEHOLDER,
    SECRET_PARAMS,
    body_secrets,
    header_secrets,
    secret_forms,
    strip_userinfo,
    url_secrets,
)

__all__ = [
    "AUTH_HEADERS",
    "MIN_SECRET_LENGTH",
    "NON_SECRET_HEADERS",
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
    "scrub_request_body",
    "scrub_request_url",
    "secrets_from_body",
    "secrets_from_headers",
]

#: Request headers kept in a fixture (auth never is: anything not listed is dropped).
REQUEST_HEADERS = frozenset({"content-type", "accept", "anthropic-version", "anthropic-beta", "openai-beta"})
#: Response headers kept: what the core reads (retry hints) and the body's type. No cookies, org/project
#: ids, request ids or rate-limit counters.
RESPONSE_HEADERS = frozenset({"content-type", "retry-after", "retry-after-ms", "x-should-retry"})
#: Well-known credential headers (never stored). The value of EVERY request header not on
#: ``NON_SECRET_HEADERS`` is a secret, these included.
AUTH_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "x-goog-api-key", "api-key",
                          "x-amz-security-token", "cookie"})

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
    """``url`` without its userinfo (``user:password@``) and with credential query parameters replaced."""
    url = strip_userinfo(url)
    try:
        parts = urlsplit(url)
    except ValueError:  # not splittable (an unclosed IPv6 bracket): nothing more to find
        return url
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(k.lower() in SECRET_PARAMS for k, _ in pairs):
        return url
    query = urlencode([(k, PLACEHOLDER if k.lower() in SECRET_PARAMS else v) for k, v in pairs], safe=":/,")
    return urlunsplit(parts._replace(query=query))


def secrets_from_headers(headers: Iterable[tuple[str, str]], url: str = "") -> set[str]:
    """Secret values of a request: every header not on ``NON_SECRET_HEADERS`` (and the token after
    ``Bearer``/``Basic``), the URL's userinfo and its ``key=``-style query parameters."""
    return header_secrets(headers) | (url_secrets(url) if url else set())


def secrets_from_body(body: Any) -> set[str]:
    """String values under keys that name a credential (``auth_token``, ``secret_key``, ``password``,
    ``signature``...), at any depth of a parsed request body."""
    return body_secrets(body)


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


@functools.lru_cache(maxsize=256)
def _forms(secrets: frozenset[str]) -> tuple[str, ...]:
    """``secret_forms`` of a set of secrets, computed once per distinct set (replay asks once per call)."""
    return secret_forms(secrets)


@functools.lru_cache(maxsize=256)
def _byte_search(secrets: frozenset[str]) -> re.Pattern[bytes] | None:
    """One pattern finding any form of ``secrets`` in raw bytes (one scan instead of one per form)."""
    forms = _forms(secrets)
    return re.compile(b"|".join(re.escape(form.encode("utf-8")) for form in forms)) if forms else None


def scrub_request_body(body: Any, secrets: Iterable[str], content: bytes | None = None) -> Any:
    """A parsed request body as a recording stores it: every secret value replaced (the live request is
    scrubbed with this before it is matched in replay). ``content``, the raw body, lets the usual case
    (no secret in it) be decided with a few byte searches. Returns ``body`` itself when nothing changes."""
    if body is None:
        return body
    key = secrets if isinstance(secrets, frozenset) else frozenset(secrets)
    if content is not None:
        search = _byte_search(key)
        if search is None or search.search(content) is None:
            return body
    values = _forms(key)
    if values and isinstance(body, str | dict | list) and _holds(body, values):
        return _walk(body, values)
    return body


def scrub_request_url(url: str, secrets: Iterable[str]) -> str:
    """A live request's URL as a recording stores it (userinfo, credential parameters and secret values
    gone), for matching in replay."""
    key = secrets if isinstance(secrets, frozenset) else frozenset(secrets)
    cached = _scrubbed_urls.get((url, key))
    if cached is not None:  # replay asks for the same few URLs with the same secrets, call after call
        return cached
    scrubbed = redact_url(url)
    if any(form in scrubbed for form in _forms(key)):
        scrubbed = _walk(scrubbed, _forms(key))
    if len(_scrubbed_urls) >= 256:
        _scrubbed_urls.clear()
    _scrubbed_urls[(url, key)] = scrubbed
    return scrubbed


_scrubbed_urls: dict[tuple[str, frozenset[str]], str] = {}


def _holds(value: Any, forms: tuple[str, ...]) -> bool:
    """Whether any string (or key) inside ``value`` holds one of ``forms``."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if any(form in item for form in forms):
                return True
        elif isinstance(item, dict):
            for key, inner in item.items():
                if isinstance(key, str) and any(form in key for form in forms):
                    return True
                if isinstance(inner, str | dict | list):
                    stack.append(inner)
        elif isinstance(item, list):
            stack.extend(item)
    return False


def scrub(interaction: dict[str, Any], secrets: Iterable[str]) -> dict[str, Any]:
    """A copy of ``interaction`` with every secret value replaced — raw, percent-encoded (a server echoing
    the URL), JSON-escaped and base64 (see ``reqllm._secrets.secret_forms``) — and the URL's userinfo and
    credential parameters removed."""
    values = _forms(frozenset(secrets))
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
    ("password in a url", re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s/?#@\"':]*:(?!REDACTED@)[^\s/?#@\"']+@")),
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
