"""Write fault fixtures by hand: rate limits, overloads, truncated or broken streams, timeouts.

    req = faults.request_for("openai:gpt-4o-mini", "Hi", stream=True)
    faults.write_fixture("tests/fixtures/reqllm/overloaded.json",
                         [faults.overloaded(req), faults.truncated_stream(req, [{"choices": [...]}])])

``request_for`` builds the exact request reqllm sends for a call, so replay matches it; every
helper returns one interaction. ``reply`` writes any scripted ``Reply`` or fault (see
``reqllm_testing.wire``) as the provider of the request's protocol would answer it. The core
retries 429/5xx/timeouts (``max_retries``): record one interaction per attempt, or pass
``max_retries=0`` in the test.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import fixture_file
from .matching import parse_body
from .redaction import REQUEST_HEADERS, chunk_to_json, filter_headers

__all__ = [
    "error_response",
    "overloaded",
    "rate_limit",
    "reply",
    "request_for",
    "stream",
    "timeout",
    "truncated_stream",
    "write_fixture",
]


def request_for(model: str, messages: Any = "Hello", *, operation: str = "chat", stream: bool = False,
                **opts: Any) -> dict[str, Any]:
    """The request (as stored in a fixture) reqllm sends for this call; ``opts`` as the call takes them."""
    from reqllm._http import prepare

    opts.setdefault("api_key", "reqllm-fault-key")
    if operation == "embed":
        inputs = [messages] if isinstance(messages, str) else list(messages)
        exchange = prepare("embed", model, opts, inputs=inputs)
    else:
        exchange = prepare(operation, model, opts, messages=messages, stream=stream)  # type: ignore[arg-type]
    request = exchange.build()
    return {"method": request.method, "url": str(request.url),
            "headers": filter_headers(request.headers.multi_items(), REQUEST_HEADERS),
            "body": parse_body(request.content)}


def _interaction(request: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    response.setdefault("headers", {})
    response.setdefault("error", None)
    return {"request": request, "response": response, "meta": {"fault": True}}


def error_response(request: dict[str, Any], status: int, body: Any = None, *,
                   headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An HTTP error answer (``body``: a JSON value, or text)."""
    response: dict[str, Any] = {"status": status,
                                "headers": {"content-type": "application/json", **(headers or {})}}
    if isinstance(body, str):
        response["headers"]["content-type"] = "text/plain"
        response["text"] = body
    elif body is not None:
        response["body"] = body
    return _interaction(request, response)


def rate_limit(request: dict[str, Any], *, retry_after: float | None = 0, message: str = "Rate limit reached",
               body: Any = None) -> dict[str, Any]:
    """A 429 in the error format of the request's provider (unless ``body``); ``retry_after`` in its headers."""
    if body is not None:
        headers = {} if retry_after is None else {"retry-after": f"{retry_after:g}"}
        return error_response(request, 429, body, headers=headers)
    from .reply import Fault

    return reply(request, Fault(kind="rate_limited", status=429, message=message, retry_after=retry_after))


def overloaded(request: dict[str, Any], *, status: int = 529, message: str = "Overloaded",
               body: Any = None) -> dict[str, Any]:
    """A 529 overload (Anthropic-style body unless ``body``; pass ``status=503`` for others)."""
    default = {"type": "error", "error": {"type": "overloaded_error", "message": message}}
    return error_response(request, status, default if body is None else body)


def _sse(events: Sequence[Any]) -> list[str]:
    chunks = []
    for event in events:
        if isinstance(event, str):
            chunks.append(event if event.endswith("\n\n") else f"data: {event}\n\n")
        elif isinstance(event, dict) and "event" in event and "data" in event:
            data = event["data"] if isinstance(event["data"], str) else json.dumps(event["data"])
            chunks.append(f"event: {event['event']}\ndata: {data}\n\n")
        else:
            chunks.append(f"data: {json.dumps(event)}\n\n")
    return chunks


def stream(request: dict[str, Any], events: Sequence[Any], *, status: int = 200) -> dict[str, Any]:
    """A complete SSE stream, one chunk per event.

    An event is a JSON value (sent as ``data: <json>``), ``{"event": name, "data": ...}``, or raw SSE text.
    """
    return _interaction(request, {"status": status, "headers": {"content-type": "text/event-stream"},
                                  "chunks": _sse(events)})


def truncated_stream(request: dict[str, Any], events: Sequence[Any], *,
                     error: str | None = "RemoteProtocolError",
                     message: str = "peer closed connection without sending complete message body",
                     ) -> dict[str, Any]:
    """A stream that stops after ``events``: the connection breaks with ``error`` (None: it just ends)."""
    item = stream(request, events)
    if error is not None:
        item["response"]["error"] = {"type": error, "message": message}
    return item


def timeout(request: dict[str, Any], kind: str = "ReadTimeout", message: str = "timed out") -> dict[str, Any]:
    """No answer: the request fails with the httpx error ``kind`` (ReadTimeout, ConnectError...)."""
    return _interaction(request, {"status": None, "headers": {}, "error": {"type": kind, "message": message}})


def reply(request: dict[str, Any], item: Any, *, chunking: Any = "natural") -> dict[str, Any]:
    """The answer to ``request`` a provider of its protocol sends for ``item`` (a ``Reply`` or a fault).

    A reply's ``cut_after`` becomes a broken stream, ``stall_after`` a read timeout after the chunks.
    """
    import httpx

    from .reply import Fault
    from .wire import encode_fault, encode_filled, fill
    from .wire_requests import detect

    endpoint = detect(request["method"], httpx.URL(request["url"]).path)
    if endpoint is None:
        raise ValueError(f"faults.reply: {request['method']} {request['url']} is not an LLM API request")
    protocol, _, url_stream = endpoint
    body = request.get("body")
    stream = url_stream or bool(isinstance(body, dict) and body.get("stream"))
    if isinstance(item, Fault):
        if item.kind == "disconnect":
            return timeout(request, "RemoteProtocolError", "Server disconnected without sending a response.")
        encoded = encode_fault(item, protocol)
    else:
        model = body.get("model") if isinstance(body, dict) else None
        encoded = encode_filled(fill(item, protocol, model=model), item, stream=stream, chunking=chunking)
    headers = {k: v for k, v in encoded.headers.items() if k in ("content-type", "retry-after", "retry-after-ms")}
    response: dict[str, Any] = {"status": encoded.status, "headers": headers}
    if "text/event-stream" in encoded.headers.get("content-type", ""):
        response["chunks"] = [chunk_to_json(c) for c in encoded.chunks]
    else:
        response["body"] = parse_body(b"".join(encoded.chunks))
    if encoded.tail == "cut":
        response["error"] = {"type": "RemoteProtocolError",
                             "message": "peer closed connection without sending complete message body"}
    elif encoded.tail == "stall":
        response["error"] = {"type": "ReadTimeout", "message": "The read operation timed out"}
    return _interaction(request, response)


def write_fixture(path: str | Path, interactions: Sequence[dict[str, Any]]) -> Path:
    """Write ``interactions`` as a fixture file (atomically)."""
    document = fixture_file.new_document(list(interactions), source="reqllm_testing.faults")
    return fixture_file.save(path, document)
