"""What reqllm knows to be secret, and how it is kept out of messages, reprs and recordings.

A secret is any value a request carries that could grant access: the API key, the value of every
request header not named in ``NON_SECRET_HEADERS`` (an SDK's or the user's own auth header), the
password of a URL's userinfo, ``key=``-style query parameters and string values under body keys that
name a credential (``auth_token``, ``secret_key``, ``password``, ``signature``... at any depth).
Values shorter than ``MIN_SECRET_LENGTH`` are not treated as secrets (replacing "test" everywhere
would wreck a message). A secret is also searched for in the forms an echo may take: percent-encoded,
JSON-escaped (``\\u`` escapes included) and base64 (of the key, of ``Bearer <key>``, at any alignment).

The core scrubs every error it raises with ``redact_error``; ``reqllm_testing`` builds its fixture
redaction on the same functions, so a recording and a live call agree on what a secret is.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

__all__ = [
    "MIN_SECRET_LENGTH",
    "NON_SECRET_HEADERS",
    "PLACEHOLDER",
    "SECRET_PARAMS",
    "body_secrets",
    "header_secrets",
    "is_credential_name",
    "redact_error",
    "redact_text",
    "secret_forms",
    "strip_userinfo",
    "url_secrets",
]

PLACEHOLDER = "REDACTED"
MIN_SECRET_LENGTH = 8
#: Request headers whose values are never secrets: content negotiation, protocol versions, connection
#: management, and the platform fingerprint SDKs send (``user-agent``, ``x-stainless-*``). The value
#: of every other request header is treated as a secret.
NON_SECRET_HEADERS = frozenset({
    "content-type", "accept", "accept-encoding", "accept-language", "anthropic-version", "anthropic-beta",
    "openai-beta", "host", "content-length", "connection", "transfer-encoding", "user-agent", "expect",
    "cache-control", "te", "keep-alive", "x-amz-date", "x-amz-content-sha256", "x-amzn-trace-id",
})
_NON_SECRET_PREFIXES = ("x-stainless-",)
#: Query parameters that carry credentials.
SECRET_PARAMS = frozenset({"key", "api_key", "apikey", "api-key", "access_token", "token"})
#: Words that make a body key name a credential (``auth_token``, ``secretKey``, ``x-api-key``).
_CREDENTIAL_WORDS = frozenset({
    "key", "apikey", "token", "secret", "password", "passwd", "pwd", "passphrase", "credential",
    "credentials", "auth", "authorization", "signature", "cookie", "bearer",
})
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_SCHEMES = ("bearer", "basic", "token")


@functools.lru_cache(maxsize=4096)
def is_credential_name(name: str) -> bool:
    """True when a key name (any case style) holds a credential word: ``auth_token``, ``secretKey``.

    Cached: a body's key names repeat from call to call (``role``, ``content``, ``model``).
    """
    lowered = name.lower()
    if lowered in _CREDENTIAL_WORDS or lowered in SECRET_PARAMS:
        return True
    return any(word.lower() in _CREDENTIAL_WORDS for word in _WORD.findall(name))


def _kept(values: Iterable[str]) -> set[str]:
    return {v for v in values if len(v) >= MIN_SECRET_LENGTH and v != PLACEHOLDER}


def header_secrets(headers: Iterable[tuple[str, str]]) -> set[str]:
    """The values of request headers not on ``NON_SECRET_HEADERS`` (and the token after ``Bearer``)."""
    found: set[str] = set()
    for name, value in headers:
        key = name.lower()
        if not value or key in NON_SECRET_HEADERS or key.startswith(_NON_SECRET_PREFIXES):
            continue
        found.add(value)
        scheme, _, token = value.partition(" ")
        token = token.strip()
        if token and scheme.lower() in _SCHEMES:
            found.add(token)
            if scheme.lower() == "basic":
                found.update(_basic_parts(token))
    return _kept(found)


def _basic_parts(token: str) -> set[str]:
    try:
        decoded = base64.b64decode(token, validate=True).decode("utf-8")
    except ValueError:
        return set()
    _user, _, password = decoded.partition(":")
    return {decoded, password} if password else {decoded}


#: ``scheme://user:password@``: the userinfo of a URL, also one too broken to parse.
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://)([^/?#]*)@")


def url_secrets(url: str) -> set[str]:
    """The userinfo (and its password) of ``url`` and its ``key=``-style query parameter values."""
    found: set[str] = set()
    if "@" not in url and "?" not in url:  # the usual base URL: neither userinfo nor a query
        return found
    userinfo = _USERINFO.match(url)
    if userinfo is not None:
        found.add(userinfo.group(2))
        for password in userinfo.group(2).split(":", 1)[1:]:
            found |= {password, unquote(password)}
    try:
        query = urlsplit(url).query
    except ValueError:  # not a URL urllib can split (an unclosed IPv6 bracket): no parameters to read
        query = ""
    if query:
        found.update(v for k, v in parse_qsl(query) if k.lower() in SECRET_PARAMS and v)
    return _kept(found)


def strip_userinfo(url: str) -> str:
    """``url`` without ``user:password@`` (unchanged when it has none)."""
    if "@" not in url:
        return url
    return _USERINFO.sub(r"\1", url, count=1)


def body_secrets(body: Any) -> set[str]:
    """String values under keys that name a credential (``is_credential_name``), at any depth."""
    found: set[str] = set()
    stack = [body]
    scalars = (str, int, float, bool, type(None))  # exact types first: an ABC check is slow per value
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind is list or kind is tuple:
            stack.extend(v for v in value if type(v) not in scalars)
        elif kind is dict or isinstance(value, Mapping):
            for name, inner in value.items():
                if isinstance(inner, str):
                    if isinstance(name, str) and is_credential_name(name):
                        found.add(inner)
                elif type(inner) not in scalars:
                    stack.append(inner)
        elif isinstance(value, list | tuple):
            stack.extend(value)
    return _kept(found) if found else found


def _escaped(char: str, upper: bool) -> str:
    code = f"{ord(char):04x}"
    return "\\u" + (code.upper() if upper else code)


def _json_forms(secret: str) -> set[str]:
    """How a JSON encoder may spell ``secret`` inside a string: escaped quotes and slashes, ``\\u``
    escapes of non-ASCII characters, of ``<``, ``>`` and ``&`` (Go), or of every character."""
    import json

    plain = json.dumps(secret, ensure_ascii=False)[1:-1]
    forms = {plain, json.dumps(secret)[1:-1], plain.replace("/", "\\/")}
    for upper in (False, True):
        html = "".join(_escaped(c, upper) if c in "<>&" else c for c in plain)
        every = "".join(_escaped(c, upper) if ord(c) < 0x10000 else c for c in secret)
        forms |= {html, every}
    return forms


#: base64 characters that depend on the secret alone are searched for only when at least this many
#: remain (shorter runs would match unrelated base64 data by chance).
_MIN_B64_RUN = 16


def _base64_forms(secret: str) -> set[str]:
    """base64 (standard and URL-safe, padded or not) of the key and of ``Bearer <key>``, and, for long
    keys, the characters of its encoding at each of the three byte alignments (any prefix)."""
    raw = secret.encode("utf-8")
    forms: set[str] = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        for data in (raw, b"Bearer " + raw):
            text = encode(data).decode("ascii")
            forms |= {text, text.rstrip("=")}
        for shift in range(3):
            text = encode(b"\0" * shift + raw).decode("ascii")
            middle = text[4:-4]  # the first and last 4 characters may mix in neighbouring bytes
            if len(middle) >= _MIN_B64_RUN:
                forms.add(middle)
    return forms


def secret_forms(secrets: Iterable[str]) -> tuple[str, ...]:
    """Every spelling of every secret an echo may use, longest first (so a longer form wins)."""
    kept = _kept(secrets)
    forms = set(kept)
    for secret in kept:
        forms |= {quote(secret, safe=""), quote_plus(secret)}
        forms |= _json_forms(secret)
        forms |= _base64_forms(secret)
    return tuple(sorted((f for f in forms if len(f) >= MIN_SECRET_LENGTH), key=len, reverse=True))


def redact_text(text: str, forms: tuple[str, ...]) -> str:
    """``text`` with every one of ``forms`` (from ``secret_forms``) replaced by the placeholder."""
    for form in forms:
        if form in text:
            text = text.replace(form, PLACEHOLDER)
    return text


def _redact_value(value: Any, forms: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return redact_text(value, forms)
    if isinstance(value, list):
        return [_redact_value(v, forms) for v in value]
    if isinstance(value, dict):
        return {redact_text(k, forms) if isinstance(k, str) else k: _redact_value(v, forms)
                for k, v in value.items()}
    return value


#: Error attributes that may quote what a server echoed.
_ERROR_TEXT = ("message", "provider_message")
_ERROR_DATA = ("body", "raw")


def redact_error(error: BaseException, secrets: Iterable[str]) -> BaseException:
    """``error`` (changed in place) with no secret in its message, args, body or raw data."""
    forms = secret_forms(secrets)
    if not forms:
        return error
    error.args = tuple(redact_text(a, forms) if isinstance(a, str) else a for a in error.args)
    for name in _ERROR_TEXT:
        value = getattr(error, name, None)
        if isinstance(value, str):
            setattr(error, name, redact_text(value, forms))
    for name in _ERROR_DATA:
        value = getattr(error, name, None)
        if value is not None:
            setattr(error, name, _redact_value(value, forms))
    return error
