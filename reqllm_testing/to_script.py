"""A recording becomes a script: ``reqllm fixtures to-script FIXTURE`` (or ``script_from_fixture``).

Each recorded interaction becomes one item, in order: an answer becomes a ``Reply`` (its text,
thinking, tool calls with their recorded ids, finish reason, usage and response id, as reqllm
decodes them), an embeddings answer ``Embeddings``, an HTTP error the matching fault (429
``rate_limited`` with its retry delay, 529 ``overloaded``, else ``http_error`` with the provider's
message), a stream broken by the network ``cut_after``, an in-stream error event ``error_after``,
and a request that got no answer ``disconnect()``. Edit the file to make a variant ("the same
conversation, but the second call is rate limited") and serve it with ``Script.load``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

import reqllm
from reqllm import errors

from . import fixture_file
from .errors import ScriptError
from .recorder import transport_error
from .reply import Embeddings, Fault, Reply, disconnect, http_error, overloaded, rate_limited
from .script import Script
from .served import Compiled
from .wire_requests import detect

__all__ = ["script_from_fixture"]

#: How each protocol's answer is decoded: any model of it will do (decoding does not depend on the model).
_SPECS = {"openai_chat": ("openai:gpt-4o-mini", {}),
          "openai_responses": ("openai:gpt-4o-mini", {"protocol": "openai_responses"}),
          "anthropic": ("anthropic:claude-3-5-haiku-20241022", {}), "gemini": ("google:gemini-2.5-flash", {})}


def _client(compiled: Compiled) -> httpx.Client:
    def answer(request: httpx.Request) -> httpx.Response:
        if compiled.status is None:
            raise transport_error(compiled.error or {}, request)
        return httpx.Response(compiled.status, headers=compiled.headers, content=b"".join(compiled.chunks))

    return httpx.Client(transport=httpx.MockTransport(answer))


def _fault(status: int, compiled: Compiled, protocol: str) -> Fault:
    from reqllm.providers import get_protocol

    if status == 429:
        delay = compiled.headers.get("retry-after")
        try:
            seconds = float(delay) if delay is not None else None
        except ValueError:
            seconds = None
        return rate_limited(retry_after=seconds)
    if status == 529:
        return overloaded()
    body: Any = b"".join(compiled.chunks)
    try:
        body = json.loads(body)
    except ValueError:
        body = body.decode("utf-8", "replace")
    return http_error(status, get_protocol(protocol).parse_error(status, body).message)


def _in_stream_fault(error: errors.APIError) -> Fault:
    if isinstance(error, errors.RateLimitError):
        return rate_limited(retry_after=error.retry_after)
    if isinstance(error, errors.OverloadedError):
        return overloaded()
    return http_error(error.status if error.status and error.status >= 400 else 500, error.message)


def _reply(response: reqllm.Response) -> Reply:
    return Reply(response.text, thinking=response.thinking, finish_reason=response.finish_reason, id=response.id,
                 usage=response.usage.model_copy(update={"cost": None}),
                 tool_calls=[c.model_copy(update={"metadata": {}}) for c in response.tool_calls])


def _stream_reply(protocol: str, compiled: Compiled) -> Reply:
    """A recorded stream: its answer; or what arrived and then the same break (error event or cut)."""
    from reqllm._sse import SSEDecoder

    spec, options = _SPECS[protocol]
    try:
        return _reply(reqllm.stream_text(spec, "x", http_client=_client(compiled), api_key="reqllm-script",
                                         max_retries=0, **options).to_response())
    except errors.ReqLLMError as exc:
        chunks = getattr(exc, "chunks", None) or []
        text = "".join(c.text for c in chunks if c.type == "content")
        thinking = "".join(c.text for c in chunks if c.type == "thinking")
        decoder = SSEDecoder()
        events = len(decoder.feed(b"".join(compiled.chunks)) + decoder.close())
        if isinstance(exc, errors.APIError):  # the provider's in-stream error event, the last one
            return Reply(text, thinking=thinking, error_after=max(events - 1, 0), error=_in_stream_fault(exc))
        return Reply(text, thinking=thinking, cut_after=events)


def _embeddings(compiled: Compiled) -> Embeddings:
    body = json.loads(b"".join(compiled.chunks))
    if "data" in body:
        vectors = [d["embedding"] for d in sorted(body["data"], key=lambda d: d.get("index", 0))]
    else:
        vectors = [e["values"] for e in body.get("embeddings") or [body["embedding"]]]
    return Embeddings(vectors)


def _item(interaction: dict[str, Any], where: str) -> Reply | Fault | Embeddings:
    request, response = interaction["request"], interaction["response"]
    url = httpx.URL(request["url"])
    endpoint = detect(request["method"], url.path)
    if endpoint is None:
        raise ScriptError(f"{where}: {request['method']} {url} is not an LLM API request a script can answer")
    protocol, operation, stream = endpoint
    compiled = Compiled(response)
    if compiled.status is None:
        return disconnect()
    if compiled.status >= 400:
        return _fault(compiled.status, compiled, protocol)
    if operation == "embed":
        return _embeddings(compiled)
    body = request.get("body")
    if stream or bool(isinstance(body, dict) and body.get("stream")):
        return _stream_reply(protocol, compiled)
    spec, options = _SPECS[protocol]
    return _reply(reqllm.generate_text(spec, "x", http_client=_client(compiled), api_key="reqllm-script",
                                       max_retries=0, **options))


def script_from_fixture(path: str | Path) -> Script:
    """The script of a recorded fixture: one item per interaction, in recorded order."""
    fixture = fixture_file.read(path)
    return Script([_item(interaction, f"{path}: interactions[{n}]")
                   for n, interaction in enumerate(fixture.interactions)])
