"""What replay serves: each recorded response as bytes, headers and status, built once when a file loads.

``prepared(fixture)`` turns every interaction's stored response (parsed JSON body, text, base64, or a
stream's network chunks) back into the exact bytes to serve, once per loaded file, so serving a call
costs no encoding. Shared by the replay transport and ``reqllm fixtures check``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

import httpx

from .fixture_file import FixtureFile

__all__ = ["Compiled", "prepared"]

#: ``json.dumps(..., ensure_ascii=False)``, with the encoder made once.
_JSON = json.JSONEncoder(ensure_ascii=False)


def _sse_bytes(events: Sequence[dict[str, Any]]) -> list[bytes]:
    out = []
    for event in events:
        lines = []
        if event.get("event", "message") != "message":
            lines.append(f"event: {event['event']}")
        if event.get("id") is not None:
            lines.append(f"id: {event['id']}")
        data = event.get("data", "")
        text = data if isinstance(data, str) else _JSON.encode(data)
        lines.extend(f"data: {line}" for line in text.split("\n"))
        out.append(("\n".join(lines) + "\n\n").encode("utf-8"))
    return out


_HEADERS: dict[tuple[tuple[str, Any], ...], httpx.Headers] = {}


def _headers(recorded: dict[str, Any]) -> httpx.Headers:
    """The recorded (allow-listed, so few distinct) response headers, normalized once per process.

    Shared: ``httpx.Response`` copies the headers it is given, so nothing mutates these.
    """
    items = tuple(recorded.items())
    try:
        headers = _HEADERS.get(items)
    except TypeError:  # a hand-edited value that is not a string: not shared
        return httpx.Headers(list(items))
    if headers is None:
        headers = httpx.Headers(list(items))
        if len(_HEADERS) < 1024:
            _HEADERS[items] = headers
    return headers


class Compiled:
    """One recorded response, ready to serve many times (bytes built once per file load)."""

    __slots__ = ("chunks", "error", "headers", "status", "timing")

    def __init__(self, response: dict[str, Any]) -> None:
        self.status: int | None = response.get("status")
        self.headers = _headers(response.get("headers") or {})
        self.error: dict[str, Any] | None = response.get("error")
        self.timing: list[float] | None = response.get("timing_ms")
        if "chunks" in response:
            self.chunks = [base64.b64decode(c["b64"]) if isinstance(c, dict) else str(c).encode("utf-8")
                           for c in response["chunks"]]
        elif "events" in response:
            self.chunks = _sse_bytes(response["events"])
        elif response.get("body") is not None:
            self.chunks = [_JSON.encode(response["body"]).encode("utf-8")]
        elif "text" in response:
            self.chunks = [str(response["text"]).encode("utf-8")]
        elif "b64" in response:
            self.chunks = [base64.b64decode(response["b64"])]
        else:
            self.chunks = []


def _build(fixture: FixtureFile) -> list[Compiled]:
    return [Compiled(item["response"]) for item in fixture.interactions]


def prepared(fixture: FixtureFile) -> list[Compiled]:
    """Every recorded response of ``fixture`` ready to serve, by position (built once per loaded file)."""
    table: list[Compiled] = fixture.derived(_build, _build)
    return table
