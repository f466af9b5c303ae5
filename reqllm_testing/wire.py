"""Encoders, the inverse of reqllm's decoders: a ``Reply`` or a fault -> the exact bytes a provider sends.

    response = encode(Reply("Hi"), "anthropic", stream=True)     # an httpx.Response, headers included

One section per wire protocol (OpenAI Chat Completions, OpenAI Responses, Anthropic Messages,
Gemini); each turns a ``Filled`` reply (every field decided) into a JSON body or a list of SSE
events, as the provider sends them: the same fields, ids in its format, the same event sequence.

Chunking: ``"natural"`` sends one SSE event per network read (a body in one read), an int cuts
the bytes into reads of that size (splitting lines and UTF-8 characters), ``"whole"`` sends all in
one read. A reply's ``cut_after`` / ``error_after`` / ``stall_after`` count natural chunks (SSE
events; a non-stream body is one chunk).

What a protocol cannot carry: ``USAGE_FIELDS`` lists the usage counts each protocol reports (the
others decode as derived values: total = input + output, else 0); ``FINISH_REASONS`` the finish
reasons each can say — another is a ``ScriptError``.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import json
import math
import random
import re
import string
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Literal

import httpx

from reqllm import ToolCall, Usage

from .errors import ScriptError
from .reply import Embeddings, Fault, Reply

__all__ = [
    "FINISH_REASONS",
    "PROTOCOLS",
    "USAGE_FIELDS",
    "Chunking",
    "Encoded",
    "Filled",
    "Templates",
    "WireProtocol",
    "encode",
    "encode_embeddings",
    "encode_fault",
    "fill",
]

WireProtocol = Literal["openai_chat", "openai_responses", "anthropic", "gemini"]
PROTOCOLS: tuple[WireProtocol, ...] = ("openai_chat", "openai_responses", "anthropic", "gemini")
Chunking = Literal["natural", "whole"] | int

#: The finish reasons each protocol can say, and how (Responses: status / incomplete reason).
FINISH_REASONS: dict[str, dict[str, str]] = {
    "openai_chat": {"stop": "stop", "length": "length", "tool_calls": "tool_calls",
                    "content_filter": "content_filter"},
    "openai_responses": {"stop": "completed", "tool_calls": "completed", "length": "max_output_tokens",
                         "content_filter": "content_filter"},
    "anthropic": {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                  "content_filter": "refusal", "other": "pause_turn"},
    "gemini": {"stop": "STOP", "tool_calls": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY",
               "error": "MALFORMED_FUNCTION_CALL", "other": "OTHER"},
}
#: The Usage counts each protocol reports on the wire.
USAGE_FIELDS: dict[str, frozenset[str]] = {
    "openai_chat": frozenset({"input_tokens", "output_tokens", "total_tokens", "cached_tokens", "reasoning_tokens"}),
    "openai_responses": frozenset({"input_tokens", "output_tokens", "total_tokens", "cached_tokens",
                                   "reasoning_tokens"}),
    "anthropic": frozenset({"input_tokens", "output_tokens", "cached_tokens", "cache_write_tokens"}),
    "gemini": frozenset({"input_tokens", "output_tokens", "total_tokens", "cached_tokens", "reasoning_tokens"}),
}
DEFAULT_MODELS = {"openai_chat": "gpt-4o-mini", "openai_responses": "gpt-4o-mini",
                  "anthropic": "claude-3-5-haiku-20241022", "gemini": "gemini-2.5-flash"}
#: 2026-01-01T00:00:00Z: scripted answers are reproducible, so they carry a fixed creation time.
CREATED = 1767225600
_ALNUM = string.ascii_letters + string.digits
_PIECE = re.compile(r"\s*\S{1,12}|\s+")


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_google_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ": ")).encode


def _pieces(text: str) -> list[str]:
    """``text`` in token-sized pieces (a word with its leading space), as providers stream it."""
    return _PIECE.findall(text)


def _tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


_SLOT = "\ue000\ue001\ue002"  # private-use characters: in no provider's structure
_NUMBER = 987654321012345678


def _spliced(make: Callable[[str, int], str], pieces: list[str], start: int = 0) -> list[str]:
    """``[make(piece, start + i) ...]``, with the event encoded once: each piece's JSON string (and its
    sequence number) is spliced into the event's text, so a stream of many deltas encodes fast."""
    if len(pieces) < 4:
        return [make(piece, start + i) for i, piece in enumerate(pieces)]
    slot = _dumps(_SLOT)
    head, found, tail = make(_SLOT, _NUMBER).partition(slot)
    number = str(_NUMBER)
    if not found or slot in tail:
        return [make(piece, start + i) for i, piece in enumerate(pieces)]
    if number in head or number in tail:
        return [head.replace(number, str(start + i)) + _dumps(piece) + tail.replace(number, str(start + i))
                for i, piece in enumerate(pieces)]
    return [head + _dumps(piece) + tail for piece in pieces]


# -- filling in what a reply leaves out -------------------------------------------------------------
@dataclasses.dataclass(slots=True)
class Filled:
    """A reply with every field decided for one protocol: ids, finish reason, usage, model."""

    protocol: str
    text: str
    thinking: str
    tool_calls: list[ToolCall]
    #: Whether each call's id goes on the wire (Gemini leaves generated ids out, as Gemini does).
    wire_ids: list[bool]
    finish_reason: str
    usage: Usage
    model: str
    id: str
    signature: str
    ids: Callable[[str, int], str]


_TO_ALNUM = bytes.maketrans(b"+/", b"xz")


def _id_maker(seed: str) -> Callable[[str, int], str]:
    """Ids from a seed: the same reply at the same script position gets the same ids (reproducible runs)."""
    counter = [0]

    def make(prefix: str, length: int) -> str:
        counter[0] += 1
        digest = hashlib.blake2b(f"{seed}|{counter[0]}".encode(), digest_size=48).digest()
        return prefix + base64.b64encode(digest)[:length].translate(_TO_ALNUM).decode()

    return make


def fill(reply: Reply, protocol: str, *, model: str | None = None, prompt_tokens: int | None = None,
         seq: int = 0, ids: Callable[[str, int], str] | None = None) -> Filled:
    """Decide what ``reply`` leaves open, for ``protocol``; ``seq`` (the script position) varies the ids."""
    _check_protocol(protocol)
    finish = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
    if finish not in FINISH_REASONS[protocol]:
        raise ScriptError(f"the {protocol} protocol has no finish reason for {finish!r}; it can say "
                          f"{', '.join(sorted(FINISH_REASONS[protocol]))}")
    if ids is None:
        ids = _id_maker(f"{protocol}|{seq}|{reply.fingerprint}")
    response_id = reply.id or _response_id(protocol, ids)
    calls: list[ToolCall] = []
    wire_ids: list[bool] = []
    for position, call in enumerate(reply.tool_calls):
        call_id = call.id
        wire_ids.append(bool(call_id) or protocol != "gemini")
        if not call_id:
            call_id = (f"call_{response_id}_{position}" if protocol == "gemini"
                       else ids("toolu_01", 22) if protocol == "anthropic" else ids("call_", 24))
            call = ToolCall.model_construct(id=call_id, name=call.name, arguments=call.arguments,
                                            metadata=call.metadata)
        calls.append(call)
    usage = reply.usage or _count(reply, prompt_tokens)
    if not usage.total_tokens:
        usage = usage.model_copy(update={"total_tokens": usage.input_tokens + usage.output_tokens})
    signature = ids("", 64) if reply.thinking else ""
    return Filled(protocol, reply.text, reply.thinking, calls, wire_ids, finish, usage,
                  reply.model or model or DEFAULT_MODELS[protocol], response_id, signature, ids)


def _response_id(protocol: str, ids: Callable[[str, int], str]) -> str:
    if protocol == "openai_chat":
        return ids("chatcmpl-", 29)
    if protocol == "openai_responses":
        return ids("resp_", 48)
    return ids("msg_01", 22) if protocol == "anthropic" else ids("", 22)


def _count(reply: Reply, prompt_tokens: int | None) -> Usage:
    arguments = sum(_tokens(_dumps(c.arguments)) + 1 for c in reply.tool_calls)
    reasoning = _tokens(reply.thinking)
    output = _tokens(reply.text) + reasoning + arguments
    prompt = 10 if prompt_tokens is None else prompt_tokens
    return Usage(input_tokens=prompt, output_tokens=output, total_tokens=prompt + output, reasoning_tokens=reasoning)


def _check_protocol(protocol: str) -> None:
    if protocol not in PROTOCOLS:
        raise ScriptError(f"unknown wire protocol {protocol!r}; expected one of: {', '.join(PROTOCOLS)}")


# -- OpenAI Chat Completions -----------------------------------------------------------------------
def _chat_usage(u: Usage) -> dict[str, Any]:
    return {"prompt_tokens": u.input_tokens, "completion_tokens": u.output_tokens, "total_tokens": u.total_tokens,
            "prompt_tokens_details": {"cached_tokens": u.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": u.reasoning_tokens, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}


def _chat_body(f: Filled) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": f.text if f.text or not f.tool_calls else None,
                               "refusal": None, "annotations": []}
    if f.thinking:
        message["reasoning_content"] = f.thinking
    if f.tool_calls:
        message["tool_calls"] = [{"id": c.id, "type": "function",
                                  "function": {"name": c.name, "arguments": _dumps(c.arguments)}}
                                 for c in f.tool_calls]
    return {"id": f.id, "object": "chat.completion", "created": CREATED, "model": f.model,
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": FINISH_REASONS["openai_chat"][f.finish_reason]}],
            "usage": _chat_usage(f.usage), "service_tier": "default", "system_fingerprint": "fp_scripted"}


def _chat_events(f: Filled, include_usage: bool) -> list[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        body: dict[str, Any] = {"id": f.id, "object": "chat.completion.chunk", "created": CREATED, "model": f.model,
                                "service_tier": "default", "system_fingerprint": "fp_scripted",
                                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        if include_usage:
            body["usage"] = None
        return f"data: {_dumps(body)}\n\n"

    events = [chunk({"role": "assistant", "content": "" if f.text or not f.tool_calls else None,
                     "refusal": None})]
    events += _spliced(lambda p, _: chunk({"reasoning_content": p}), _pieces(f.thinking))
    events += _spliced(lambda p, _: chunk({"content": p}), _pieces(f.text))
    for index, call in enumerate(f.tool_calls):
        events.append(chunk({"tool_calls": [{"index": index, "id": call.id, "type": "function",
                                             "function": {"name": call.name, "arguments": ""}}]}))
        def fragment(piece: str, _: int, index: int = index) -> str:
            return chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})

        events += _spliced(fragment, _pieces(_dumps(call.arguments)))
    events.append(chunk({}, FINISH_REASONS["openai_chat"][f.finish_reason]))
    if include_usage:
        last = {"id": f.id, "object": "chat.completion.chunk", "created": CREATED, "model": f.model,
                "service_tier": "default", "system_fingerprint": "fp_scripted", "choices": [],
                "usage": _chat_usage(f.usage)}
        events.append(f"data: {_dumps(last)}\n\n")
    events.append("data: [DONE]\n\n")
    return events


# -- OpenAI Responses ---------------------------------------------------------------------------------
def _responses_usage(u: Usage) -> dict[str, Any]:
    return {"input_tokens": u.input_tokens, "input_tokens_details": {"cached_tokens": u.cached_tokens},
            "output_tokens": u.output_tokens, "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
            "total_tokens": u.total_tokens}


def _responses_items(f: Filled) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if f.thinking:
        items.append({"id": f.ids("rs_", 48), "type": "reasoning",
                      "summary": [{"type": "summary_text", "text": f.thinking}]})
    if f.text:
        items.append({"id": f.ids("msg_", 48), "type": "message", "status": "completed", "role": "assistant",
                      "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": f.text}]})
    items += [{"id": f.ids("fc_", 48), "type": "function_call", "status": "completed",
               "arguments": _dumps(c.arguments), "call_id": c.id, "name": c.name} for c in f.tool_calls]
    return items


def _responses_body(f: Filled, items: list[dict[str, Any]] | None = None, *, done: bool = True) -> dict[str, Any]:
    wire = FINISH_REASONS["openai_responses"][f.finish_reason]
    status = ("completed" if wire == "completed" else "incomplete") if done else "in_progress"
    return {"id": f.id, "object": "response", "created_at": CREATED, "status": status, "background": False,
            "completed_at": CREATED if done else None, "error": None, "frequency_penalty": 0.0,
            "incomplete_details": {"reason": wire} if status == "incomplete" else None,
            "instructions": None, "max_output_tokens": None, "max_tool_calls": None, "model": f.model,
            "moderation": None, "output": (_responses_items(f) if items is None else items) if done else [],
            "parallel_tool_calls": True, "presence_penalty": 0.0, "previous_response_id": None,
            "prompt_cache_key": None, "prompt_cache_retention": None,
            "reasoning": {"effort": None, "summary": None}, "safety_identifier": None, "service_tier": "default",
            "store": True, "temperature": 1.0, "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": "auto", "tools": [], "top_logprobs": 0, "top_p": 1.0, "truncation": "disabled",
            "usage": _responses_usage(f.usage) if done else None, "user": None, "metadata": {}}


def _responses_events(f: Filled) -> list[str]:
    events: list[str] = []

    def event(kind: str, sequence: int, **fields: Any) -> str:
        return f"event: {kind}\ndata: {_dumps({'type': kind, 'sequence_number': sequence, **fields})}\n\n"

    def emit(kind: str, **fields: Any) -> None:
        events.append(event(kind, len(events), **fields))

    def deltas(kind: str, pieces: list[str], **fields: Any) -> None:
        logprobs = fields.pop("logprobs", None)  # after the delta, where OpenAI puts it
        extra = {} if logprobs is None else {"logprobs": logprobs}
        events.extend(_spliced(lambda p, n: event(kind, n, **fields, delta=p, **extra), pieces, len(events)))

    emit("response.created", response=_responses_body(f, done=False))
    emit("response.in_progress", response=_responses_body(f, done=False))
    items = _responses_items(f)
    for index, item in enumerate(items):
        at = {"item_id": item["id"], "output_index": index}
        if item["type"] == "reasoning":
            emit("response.output_item.added", output_index=index, item={**item, "summary": []})
            part: dict[str, Any] = {"type": "summary_text", "text": ""}
            emit("response.reasoning_summary_part.added", **at, summary_index=0, part=part)
            deltas("response.reasoning_summary_text.delta", _pieces(f.thinking), **at, summary_index=0)
            emit("response.reasoning_summary_text.done", **at, summary_index=0, text=f.thinking)
            emit("response.reasoning_summary_part.done", **at, summary_index=0, part={**part, "text": f.thinking})
        elif item["type"] == "message":
            emit("response.output_item.added", output_index=index,
                 item={**item, "status": "in_progress", "content": []})
            part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
            emit("response.content_part.added", **at, content_index=0, part=part)
            deltas("response.output_text.delta", _pieces(f.text), **at, content_index=0, logprobs=[])
            emit("response.output_text.done", **at, content_index=0, text=f.text, logprobs=[])
            emit("response.content_part.done", **at, content_index=0, part={**part, "text": f.text})
        else:
            emit("response.output_item.added", output_index=index,
                 item={**item, "status": "in_progress", "arguments": ""})
            deltas("response.function_call_arguments.delta", _pieces(item["arguments"]), **at)
            emit("response.function_call_arguments.done", **at, arguments=item["arguments"])
        emit("response.output_item.done", output_index=index, item=item)
    body = _responses_body(f, items)
    emit(f"response.{body['status']}", response=body)
    return events


# -- Anthropic Messages --------------------------------------------------------------------------------
def _anthropic_usage(u: Usage, *, output: int | None = None) -> dict[str, Any]:
    fresh = max(u.input_tokens - u.cached_tokens - u.cache_write_tokens, 0)
    return {"input_tokens": fresh, "cache_creation_input_tokens": u.cache_write_tokens,
            "cache_read_input_tokens": u.cached_tokens,
            "cache_creation": {"ephemeral_5m_input_tokens": u.cache_write_tokens, "ephemeral_1h_input_tokens": 0},
            "output_tokens": u.output_tokens if output is None else output, "service_tier": "standard"}


def _anthropic_blocks(f: Filled) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if f.thinking:
        blocks.append({"type": "thinking", "thinking": f.thinking, "signature": f.signature})
    if f.text:
        blocks.append({"type": "text", "text": f.text})
    blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments} for c in f.tool_calls]
    return blocks


def _anthropic_message(f: Filled, *, done: bool = True) -> dict[str, Any]:
    return {"id": f.id, "type": "message", "role": "assistant", "model": f.model,
            "content": _anthropic_blocks(f) if done else [],
            "stop_reason": FINISH_REASONS["anthropic"][f.finish_reason] if done else None, "stop_sequence": None,
            "usage": _anthropic_usage(f.usage, output=None if done else 1)}


def _anthropic_events(f: Filled) -> list[str]:
    events: list[str] = []

    def event(kind: str, **fields: Any) -> str:
        return f"event: {kind}\ndata: {_dumps({'type': kind, **fields})}\n\n"

    def emit(kind: str, **fields: Any) -> None:
        events.append(event(kind, **fields))

    def deltas(index: int, kind: str, field: str, pieces: list[str]) -> None:
        events.extend(_spliced(lambda p, _: event("content_block_delta", index=index,
                                                  delta={"type": kind, field: p}), pieces))

    emit("message_start", message=_anthropic_message(f, done=False))
    for index, block in enumerate(_anthropic_blocks(f)):
        kind = block["type"]
        if kind == "thinking":
            emit("content_block_start", index=index, content_block={"type": "thinking", "thinking": "",
                                                                    "signature": ""})
        elif kind == "text":
            emit("content_block_start", index=index, content_block={"type": "text", "text": ""})
        else:
            emit("content_block_start", index=index, content_block={**block, "input": {}})
        if index == 0:
            events.append('event: ping\ndata: {"type": "ping"}\n\n')
        if kind == "thinking":
            deltas(index, "thinking_delta", "thinking", _pieces(block["thinking"]))
            emit("content_block_delta", index=index, delta={"type": "signature_delta", "signature": f.signature})
        elif kind == "text":
            deltas(index, "text_delta", "text", _pieces(block["text"]))
        else:
            deltas(index, "input_json_delta", "partial_json", ["", *_pieces(json.dumps(block["input"],
                                                                                       ensure_ascii=False))])
        emit("content_block_stop", index=index)
    usage = _anthropic_usage(f.usage)
    emit("message_delta", delta={"stop_reason": FINISH_REASONS["anthropic"][f.finish_reason], "stop_sequence": None},
         usage={k: usage[k] for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens",
                                      "output_tokens")})
    emit("message_stop")
    return events


# -- Gemini ----------------------------------------------------------------------------------------------
def _gemini_usage(u: Usage, *, done: bool = True) -> dict[str, Any]:
    usage: dict[str, Any] = {"promptTokenCount": u.input_tokens}
    if done:
        usage["candidatesTokenCount"] = u.output_tokens - u.reasoning_tokens
    usage["totalTokenCount"] = u.total_tokens if done else u.input_tokens
    if u.cached_tokens:
        usage["cachedContentTokenCount"] = u.cached_tokens
    usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": u.input_tokens}]
    if done and u.reasoning_tokens:
        usage["thoughtsTokenCount"] = u.reasoning_tokens
    return usage


def _gemini_calls(f: Filled) -> list[dict[str, Any]]:
    out = []
    for call, wire_id in zip(f.tool_calls, f.wire_ids, strict=True):
        function: dict[str, Any] = {"name": call.name, "args": call.arguments}
        if wire_id:
            function["id"] = call.id
        out.append({"functionCall": function})
    return out


def _gemini_response(f: Filled, parts: list[dict[str, Any]], *, done: bool) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}}
    if done:
        candidate["finishReason"] = FINISH_REASONS["gemini"][f.finish_reason]
    candidate["index"] = 0
    return {"candidates": [candidate], "usageMetadata": _gemini_usage(f.usage, done=done), "modelVersion": f.model,
            "responseId": f.id}


def _gemini_body(f: Filled) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if f.thinking:
        parts.append({"text": f.thinking, "thought": True})
    if f.text:
        parts.append({"text": f.text})
    parts += _gemini_calls(f)
    return _gemini_response(f, parts or [{"text": ""}], done=True)


def _gemini_events(f: Filled) -> list[str]:
    def chunk(parts: list[dict[str, Any]], done: bool) -> str:
        return f"data: {_google_dumps(_gemini_response(f, parts, done=done))}\r\n\r\n"

    thoughts, texts = _pieces(f.thinking), _pieces(f.text)
    final: list[dict[str, Any]] = (_gemini_calls(f) if f.tool_calls else [{"text": texts.pop()}] if texts
                                   else [{"text": thoughts.pop(), "thought": True}] if thoughts else [{"text": ""}])
    events = _spliced(lambda p, _: chunk([{"text": p, "thought": True}], False), thoughts)
    events += _spliced(lambda p, _: chunk([{"text": p}], False), texts)
    events.append(chunk(final, True))
    return events


# -- errors ------------------------------------------------------------------------------------------------
_OPENAI_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "permission_error",
                 404: "invalid_request_error", 409: "conflict_error", 422: "invalid_request_error",
                 429: "requests"}
_OPENAI_CODES = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}
_ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 500: "api_error",
                    504: "timeout_error", 529: "overloaded_error"}
_GOOGLE_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                  409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL", 501: "UNIMPLEMENTED",
                  503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
_MESSAGES = {400: "Invalid request.", 401: "Incorrect API key provided.", 403: "Permission denied.",
             404: "The model does not exist or you do not have access to it.", 429: "Rate limit reached.",
             500: "The server had an error while processing your request.", 503: "The server is overloaded.",
             529: "Overloaded"}


def _status(fault: Fault, protocol: str) -> int:
    if fault.kind == "overloaded":
        return 529 if protocol == "anthropic" else 503
    return fault.status or 500


def _error_object(fault: Fault, protocol: str) -> dict[str, Any]:
    """The provider's error body for ``fault``."""
    status = _status(fault, protocol)
    message = fault.message or _MESSAGES.get(status) or f"HTTP {status}"
    if protocol == "anthropic":
        kind = _ANTHROPIC_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_011Scripted"}
    if protocol == "gemini":
        error: dict[str, Any] = {"code": status, "message": message,
                                 "status": _GOOGLE_STATUS.get(status, "INTERNAL" if status >= 500 else "UNKNOWN")}
        if fault.retry_after is not None:
            error["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                 "retryDelay": f"{fault.retry_after:g}s"}]
        return {"error": error}
    kind = _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": _OPENAI_CODES.get(status)}}


def _error_headers(fault: Fault, protocol: str) -> dict[str, str]:
    headers = {"content-type": "application/json" if protocol != "gemini" else "application/json; charset=UTF-8"}
    if fault.retry_after is not None:
        headers["retry-after"] = f"{fault.retry_after:g}"
        if protocol.startswith("openai"):
            headers["retry-after-ms"] = f"{round(fault.retry_after * 1000)}"
    headers.update(_id_headers(protocol))
    return headers


def _stream_error(fault: Fault, protocol: str, sequence: int) -> str:
    """The provider's in-stream error event for ``fault``."""
    body = _error_object(fault, protocol)
    if protocol == "anthropic":
        return f"event: error\ndata: {_dumps(body)}\n\n"
    if protocol == "gemini":
        return f"data: {_google_dumps(body)}\r\n\r\n"
    if protocol == "openai_responses":
        error = body["error"]
        code = error["code"] or error["type"]
        data = {"type": "error", "sequence_number": sequence, "code": code, "message": error["message"],
                "param": None}
        return f"event: error\ndata: {_dumps(data)}\n\n"
    return f"data: {_dumps(body)}\n\n"


def _id_headers(protocol: str) -> dict[str, str]:
    if protocol == "anthropic":
        return {"request-id": "req_011Scripted"}
    if protocol == "gemini":
        return {"vary": "Origin, X-Origin, Referer", "server": "scaffolding on HTTPServer2"}
    return {"x-request-id": "req_scripted", "openai-version": "2020-10-01", "openai-processing-ms": "1"}


# -- responses, chunking, broken streams -------------------------------------------------------------------
Tail = Literal["end", "cut", "stall"]


@dataclasses.dataclass(slots=True)
class Encoded:
    """An answer ready to serve: status, headers, network chunks and how the body ends."""

    status: int
    headers: dict[str, str]
    chunks: list[bytes]
    tail: Tail = "end"

    def response(self, request: Any = None, lib: Any = httpx) -> Any:
        """An ``httpx.Response`` (or an ``httpx2`` one, with ``lib=httpx2``) serving these chunks."""
        if self.tail == "end" and len(self.chunks) <= 1 and "text/event-stream" not in self.headers.get(
                "content-type", ""):
            body = self.chunks[0] if self.chunks else b""
            headers = _prepared(lib, {**self.headers, "content-length": str(len(body))})
            return lib.Response(self.status, headers=headers, stream=lib.ByteStream(body), request=request)
        stream = _stream_class(lib)(self.chunks, self.tail, request)
        return lib.Response(self.status, headers=_prepared(lib, self.headers), stream=stream, request=request)


_PREPARED: dict[tuple[Any, tuple[tuple[str, str], ...]], Any] = {}


def _prepared(lib: Any, headers: dict[str, str]) -> Any:
    """``lib.Headers(headers)``, normalized once per distinct set (a response copies what it is given)."""
    key = (lib, tuple(headers.items()))
    prepared = _PREPARED.get(key)
    if prepared is None:
        prepared = lib.Headers(headers)
        if len(_PREPARED) < 1024:
            _PREPARED[key] = prepared
    return prepared


_STREAM_CLASSES: dict[Any, type] = {}


def _stream_class(lib: Any) -> type:
    """A byte stream class of ``lib`` (httpx or httpx2: their responses check isinstance)."""
    cls = _STREAM_CLASSES.get(lib)
    if cls is None:
        cls = _STREAM_CLASSES[lib] = type("ScriptedStream", (_ScriptedStream, lib.SyncByteStream,
                                                             lib.AsyncByteStream), {"lib": lib})
    return cls


class _ScriptedStream:
    lib: Any = httpx

    def __init__(self, chunks: list[bytes], tail: Tail, request: Any) -> None:
        self.chunks = chunks
        self.tail = tail
        self.request = request

    def _read_timeout(self) -> float:
        timeout = (getattr(self.request, "extensions", None) or {}).get("timeout") or {}
        value = timeout.get("read") if isinstance(timeout, dict) else None
        return float(value) if isinstance(value, int | float) else 0.0

    def _fail(self) -> Exception:
        if self.tail == "cut":
            error: Exception = self.lib.RemoteProtocolError(
                "peer closed connection without sending complete message body (incomplete chunked read)",
                request=self.request)
        else:
            error = self.lib.ReadTimeout("The read operation timed out", request=self.request)
        return error

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.tail == "stall":
            time.sleep(self._read_timeout())
        if self.tail != "end":
            raise self._fail()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.tail == "stall":
            await asyncio.sleep(self._read_timeout())
        if self.tail != "end":
            raise self._fail()

    def close(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


def _rechunk(chunks: list[bytes], chunking: Chunking) -> list[bytes]:
    if chunking == "natural":
        return chunks
    data = b"".join(chunks)
    if chunking == "whole":
        return [data] if data else []
    if isinstance(chunking, bool) or not isinstance(chunking, int) or chunking < 1:
        raise ScriptError(f"chunking must be 'natural', 'whole' or a positive byte count, got {chunking!r}")
    return [data[i:i + chunking] for i in range(0, len(data), chunking)]


def _content_type(protocol: str, stream: bool) -> str:
    if stream:
        return "text/event-stream" if protocol == "gemini" else "text/event-stream; charset=utf-8"
    return "application/json; charset=UTF-8" if protocol == "gemini" else "application/json"


def _natural(f: Filled, *, stream: bool, include_usage: bool) -> tuple[dict[str, str], list[bytes]]:
    """Headers and the natural chunks (one per SSE event; a body is one) of a filled reply."""
    protocol = f.protocol
    headers = {"content-type": _content_type(protocol, stream), **_id_headers(protocol)}
    if stream:
        events = (_chat_events(f, include_usage) if protocol == "openai_chat"
                  else _responses_events(f) if protocol == "openai_responses"
                  else _anthropic_events(f) if protocol == "anthropic" else _gemini_events(f))
        headers["transfer-encoding"] = "chunked"
        return headers, [e.encode() for e in events]
    body = (_chat_body(f) if protocol == "openai_chat" else _responses_body(f) if protocol == "openai_responses"
            else _anthropic_message(f) if protocol == "anthropic" else _gemini_body(f))
    return headers, [(_google_dumps(body) if protocol == "gemini" else _dumps(body)).encode()]


def _broken(headers: dict[str, str], natural: list[bytes], reply: Reply, protocol: str,
            chunking: Chunking) -> Encoded:
    """The answer with the reply's fault applied (counted in natural chunks), cut into reads."""
    tail: Tail = "end"
    if reply.error_after is not None and reply.error is not None:
        natural = [*natural[:reply.error_after], _stream_error(reply.error, protocol, reply.error_after).encode()]
    elif reply.cut_after is not None and reply.cut_after < len(natural):
        natural, tail = natural[:reply.cut_after], "cut"
    elif reply.stall_after is not None and reply.stall_after < len(natural):
        natural, tail = natural[:reply.stall_after], "stall"
    return Encoded(200, headers, _rechunk(natural, chunking), tail)


def encode_filled(f: Filled, reply: Reply, *, stream: bool, chunking: Chunking = "natural",
                  include_usage: bool = True) -> Encoded:
    """The answer for a filled reply (``reply`` gives its faults)."""
    if reply.error is not None and not stream:
        return encode_fault(reply.error, f.protocol)
    headers, natural = _natural(f, stream=stream, include_usage=include_usage)
    return _broken(headers, natural, reply, f.protocol, chunking)


class Templates:
    """Encoded answers kept per reply and request shape, so serving a reply again costs a few id
    substitutions instead of an encoding (a Script serves the same reply to many requests)."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._cache: dict[tuple[Any, ...], tuple[dict[str, str], list[bytes], list[tuple[str, int, str]]]] = {}

    def encode(self, reply: Reply, protocol: str, *, stream: bool, chunking: Chunking, include_usage: bool,
               model: str | None, prompt_tokens: int | None, seq: int) -> Encoded:
        """What ``encode_filled(fill(reply, ..., seq=seq), ...)`` gives, byte for byte."""
        if reply.error is not None and not stream:
            return encode_fault(reply.error, protocol)
        key = (reply.fingerprint, protocol, stream, include_usage, model, prompt_tokens)
        entry = self._cache.get(key)
        if entry is None:
            made: list[tuple[str, int, str]] = []
            rng = random.Random(reply.fingerprint)

            def placeholder(prefix: str, length: int) -> str:
                value = prefix + "".join(rng.choice(_ALNUM) for _ in range(length))
                made.append((prefix, length, value))
                return value

            filled = fill(reply, protocol, model=model, prompt_tokens=prompt_tokens, ids=placeholder)
            headers, natural = _natural(filled, stream=stream, include_usage=include_usage)
            if len(self._cache) >= self.size:
                self._cache.clear()
            entry = self._cache[key] = (headers, natural, made)
        headers, natural, made = entry
        real = _id_maker(f"{protocol}|{seq}|{reply.fingerprint}")
        pairs = [(value.encode(), real(prefix, length).encode()) for prefix, length, value in made]
        if pairs:
            natural = [_substitute(chunk, pairs) for chunk in natural]
        return _broken(dict(headers), natural, reply, protocol, chunking)


def _substitute(chunk: bytes, pairs: list[tuple[bytes, bytes]]) -> bytes:
    for old, new in pairs:
        if old in chunk:
            chunk = chunk.replace(old, new)
    return chunk


def encode_fault(fault: Fault, protocol: str) -> Encoded:
    """The provider's HTTP error answer for ``fault`` (a disconnect has none: the transport raises)."""
    _check_protocol(protocol)
    if fault.kind == "disconnect":
        raise ScriptError("disconnect() has no response to encode: a Script raises the connection error")
    body = _error_object(fault, protocol)
    text = (_google_dumps(body) if protocol == "gemini" else _dumps(body)).encode()
    return Encoded(_status(fault, protocol), _error_headers(fault, protocol), [text])


def encode_embeddings(item: Embeddings, protocol: str, *, model: str | None = None, batch: bool = True,
                      prompt_tokens: int = 0) -> Encoded:
    """An embeddings answer: OpenAI's ``/embeddings`` list, or Gemini's ``embedContent`` / batch body."""
    _check_protocol(protocol)
    vectors = [list(v) for v in item.vectors]
    if protocol == "gemini":
        body: dict[str, Any] = ({"embeddings": [{"values": v} for v in vectors]} if batch
                                else {"embedding": {"values": vectors[0] if vectors else []}})
        text = _google_dumps(body)
    elif protocol == "openai_chat":
        tokens = item.usage.input_tokens if item.usage else prompt_tokens
        body = {"object": "list", "data": [{"object": "embedding", "index": i, "embedding": v}
                                           for i, v in enumerate(vectors)],
                "model": item.model or model or "text-embedding-3-small",
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
        text = _dumps(body)
    else:
        raise ScriptError(f"the {protocol} protocol has no embeddings endpoint")
    headers = {"content-type": _content_type(protocol, False), **_id_headers(protocol)}
    return Encoded(200, headers, [text.encode()])


def encode(reply: Reply | Fault, protocol: WireProtocol | str, *, stream: bool = False,
           chunking: Chunking = "natural", model: str | None = None, prompt_tokens: int | None = None,
           include_usage: bool = True) -> httpx.Response:
    """The exact response a provider speaking ``protocol`` sends for ``reply`` (or a fault), headers included."""
    if isinstance(reply, Fault):
        encoded = encode_fault(reply, protocol)
    elif isinstance(reply, Reply):
        filled = fill(reply, protocol, model=model, prompt_tokens=prompt_tokens)
        encoded = encode_filled(filled, reply, stream=stream, chunking=chunking, include_usage=include_usage)
    else:
        raise ScriptError(f"encode takes a Reply or a fault, got {type(reply).__name__}")
    response: httpx.Response = encoded.response()
    if isinstance(response.stream, httpx.ByteStream):
        response.read()  # a plain body: readable at once, as ``httpx.Response(content=...)`` is
    return response
