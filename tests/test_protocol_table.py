"""One table, every protocol: the same answer, written in each provider's documented wire format,
must decode to the same normalized result (text, thinking, tool calls, finish reason, usage, cost).

Each row of ``CASES`` names a protocol, a model and a ``Wire``: small functions that write a
normalized ``Answer`` as that provider's non-stream JSON body and SSE stream, its error bodies and
events, and that read back where its request carries a forced tool, a schema or tool turns. The
scenarios below run unchanged through every row; a new protocol without a row fails
``test_every_protocol_has_a_row``.
"""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import json
import pkgutil
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

import httpx
import pytest
from pydantic import BaseModel

import reqllm
from reqllm import Message, Tool, ToolCall
from reqllm._eventstream import encode_message
from reqllm._http import prepare
from reqllm.errors import (
    APIError,
    AuthenticationError,
    InvalidRequestError,
    OverloadedError,
    ProviderUnavailableError,
    RateLimitError,
    UnsupportedOperationError,
)
from reqllm.providers import get_protocol, protocol_ids
from reqllm.providers.base import OBJECT_TOOL_NAME
from reqllm.providers.base import Protocol as ProtocolPlugin
from reqllm.registry import Cost

JSONDict = dict[str, Any]


# -- the normalized answer ------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Fn:
    """One tool call of an answer; each wire gives ``id`` its provider's look (Gemini sends none)."""

    id: str
    name: str
    arguments: JSONDict


@dataclasses.dataclass(frozen=True)
class Counts:
    """Token counts under reqllm's convention: input includes cached, output includes reasoning."""

    input: int
    output: int
    reasoning: int = 0
    cached: int = 0


@dataclasses.dataclass(frozen=True)
class Answer:
    """What the model said, provider-independent; ``forced`` marks an answer to a forced tool choice."""

    text: str = ""
    thinking: str = ""
    calls: tuple[Fn, ...] = ()
    finish: str = "stop"
    usage: Counts = Counts(12, 8)
    forced: bool = False
    #: Cut each call's JSON arguments after this many characters (the output limit hit mid-call).
    cut: int = 0

    def arguments(self, call: Fn) -> str:
        """A call's arguments as the JSON text the model wrote (cut short when ``cut`` says so)."""
        return _json(call.arguments)[: self.cut or None]


#: Catalogue-like prices (USD per million tokens) given to every row's model, so costs compare.
PRICE = Cost(input=1.0, output=4.0, cache_read=0.1)

TEXT = "Voilà : un café crème ☕ et un croissant 🥐 — bon appétit !"
THINKING = "L'utilisateur veut un petit-déjeuner à Paris 🤔 ; réponse brève, avec accents."
WEATHER = Tool(name="get_weather", description="Current weather in a city", parameters={
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
CLOCK = Tool(name="get_time", description="Local time in a time zone", parameters={
    "type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]})
PARIS = Fn("Vx3bT9kQ", "get_weather", {"city": "Paris", "district": "Île de la Cité"})
ZONE = Fn("Hn82LpWe", "get_time", {"zone": "Europe/Paris"})
RICH_USAGE = Counts(1200, 300, reasoning=120, cached=1000)

PLAIN = Answer(text=TEXT)
TRUNCATED = Answer(text="Voilà : un café crè", finish="length", usage=Counts(12, 5))
REFUSAL = Answer(text="Désolé, je ne peux pas aider avec ça. 🙅", finish="content_filter",
                 usage=Counts(12, 11))
THOUGHTFUL = Answer(text=TEXT, thinking=THINKING, usage=RICH_USAGE)
PARALLEL = Answer(calls=(PARIS, ZONE), finish="tool_calls", usage=Counts(85, 40))
#: Everything at once: thinking, text with é and emoji, two tool calls, cached and reasoning tokens.
FULL = Answer(text=TEXT, thinking=THINKING, calls=(PARIS, ZONE), finish="tool_calls", usage=RICH_USAGE)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _pieces(text: str, count: int = 3) -> list[str]:
    """``text`` cut into ``count`` deltas (mid-word, as providers cut)."""
    if not text:
        return []
    step = max(1, -(-len(text) // count))
    return [text[i:i + step] for i in range(0, len(text), step)]


def _data(payload: Any, newline: str = "\n") -> bytes:
    return f"data: {_json(payload)}{newline}{newline}".encode()


def _named(payload: JSONDict) -> bytes:
    """An event named by its payload's ``type``, as Anthropic and OpenAI Responses send them."""
    return f"event: {payload['type']}\ndata: {_json(payload)}\n\n".encode()


class JSONText:
    """Equal to any string holding this JSON value, whatever its spacing."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and json.loads(other) == self.value

    def __repr__(self) -> str:
        return f"JSONText({self.value!r})"


def sent(result: Any) -> Any:
    """How a tool result travels as text: a string as it is, anything else as JSON."""
    return result if isinstance(result, str) else JSONText(result)


# -- the wires --------------------------------------------------------------------------------------
ErrorReply = tuple[int, dict[str, str], JSONDict]


class Wire(Protocol):
    """A provider's wire format, written from its API reference."""

    turns: str  # the request field holding the conversation
    response_id: str  # the id its answers carry

    def body(self, a: Answer) -> JSONDict: ...
    def head(self, a: Answer) -> bytes: ...  # the stream up to (not incl.) its finish
    def tail(self, a: Answer) -> bytes: ...  # finish, usage, terminal event
    def error(self, kind: str) -> ErrorReply: ...  # a key of ERROR_CLASSES
    def error_event(self, a: Answer, kind: str) -> bytes: ...  # an in-stream failure after ``head(a)``
    def forced(self, request: JSONDict) -> str | None: ...
    def structured(self, request: JSONDict) -> tuple[str, JSONDict]: ...
    def tool_turns(self, said: Answer, pairs: list[tuple[ToolCall, Any]]) -> list[JSONDict]: ...


class ChatWire:
    """OpenAI Chat Completions (platform.openai.com/docs/api-reference/chat). Reasoning text as
    DeepSeek documents it (``reasoning_content``), the field OpenAI-compatible reasoning servers use."""

    turns = "messages"
    response_id = _id = "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG"

    @staticmethod
    def _finish(a: Answer) -> str:
        # A forced tool call and a refusal (``message.refusal``) both end "stop".
        return "stop" if a.forced or a.finish == "content_filter" else a.finish

    @staticmethod
    def _usage(u: Counts) -> JSONDict:
        return {"prompt_tokens": u.input, "completion_tokens": u.output, "total_tokens": u.input + u.output,
                "prompt_tokens_details": {"cached_tokens": u.cached, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": u.reasoning, "audio_tokens": 0,
                                              "accepted_prediction_tokens": 0,
                                              "rejected_prediction_tokens": 0}}

    def body(self, a: Answer) -> JSONDict:
        refused = a.finish == "content_filter"
        message: JSONDict = {"role": "assistant", "content": None if refused else a.text or None,
                             "refusal": a.text if refused else None}
        if a.thinking:
            message["reasoning_content"] = a.thinking
        if a.calls:
            message["tool_calls"] = [{"id": f"call_{c.id}", "type": "function",
                                      "function": {"name": c.name, "arguments": a.arguments(c)}}
                                     for c in a.calls]
        return {"id": self._id, "object": "chat.completion", "created": 1741570283,
                "model": "gpt-4o-mini-2024-07-18",
                "choices": [{"index": 0, "message": message, "logprobs": None,
                             "finish_reason": self._finish(a)}],
                "usage": self._usage(a.usage), "service_tier": "default",
                "system_fingerprint": "fp_06737a9306"}

    def _chunk(self, delta: JSONDict | None, finish: str | None = None) -> JSONDict:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        choices = [] if delta is None else [choice]
        return {"id": self._id, "object": "chat.completion.chunk", "created": 1741570283,
                "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_06737a9306", "choices": choices,
                "usage": None}

    def head(self, a: Answer) -> bytes:
        chunks = [self._chunk({"role": "assistant", "content": "", "refusal": None})]
        chunks += [self._chunk({"content": None, "reasoning_content": p}) for p in _pieces(a.thinking)]
        field = "refusal" if a.finish == "content_filter" else "content"
        chunks += [self._chunk({field: p}) for p in _pieces(a.text)]
        for i, c in enumerate(a.calls):
            chunks.append(self._chunk({"tool_calls": [{"index": i, "id": f"call_{c.id}", "type": "function",
                                                       "function": {"name": c.name, "arguments": ""}}]}))
            chunks += [self._chunk({"tool_calls": [{"index": i, "function": {"arguments": p}}]})
                       for p in _pieces(a.arguments(c))]
        return b"".join(_data(c) for c in chunks)

    def tail(self, a: Answer) -> bytes:
        usage = {**self._chunk(None), "usage": self._usage(a.usage)}
        return _data(self._chunk({}, self._finish(a))) + _data(usage) + b"data: [DONE]\n\n"

    def error(self, kind: str) -> ErrorReply:
        if kind == "rate_limit":
            return 429, {"retry-after": "7"}, {"error": {
                "message": "Rate limit reached for gpt-4o-mini in organization org-abc on requests per min "
                           "(RPM): Limit 3, Used 3, Requested 1. Please try again in 7s.",
                "type": "requests", "param": None, "code": "rate_limit_exceeded"}}
        status, message, error_type, code = {
            "overloaded": (503, "The server is overloaded or not ready yet.", "server_error", None),
            "server_error": (500, "The server had an error while processing your request. Sorry about that!",
                             "server_error", None),
            "auth": (401, "Incorrect API key provided: test-key. You can find your API key at "
                          "https://platform.openai.com/account/api-keys.", "invalid_request_error",
                     "invalid_api_key"),
            "invalid_request": (400, "Invalid 'messages[0].content': string too long. Expected a string "
                                     "with maximum length 10485760, but got a string with length "
                                     "10485761 instead.", "invalid_request_error", "string_above_max_length"),
            "not_found": (404, "The model `gpt-4o-mini` does not exist or you do not have access to it.",
                          "invalid_request_error", "model_not_found"),
        }[kind]
        return status, {}, {"error": {"message": message, "type": error_type, "param": None, "code": code}}

    def error_event(self, a: Answer, kind: str) -> bytes:
        if kind == "rate_limit":
            return _data(self.error(kind)[2])
        return _data({"error": {"message": "The server had an error while processing your request. "
                                           "Sorry about that!",
                                "type": "server_error", "param": None, "code": None}})

    def forced(self, request: JSONDict) -> str | None:
        choice = request.get("tool_choice")
        if isinstance(choice, dict) and choice["type"] == "function":
            return str(choice["function"]["name"])
        return None

    def structured(self, request: JSONDict) -> tuple[str, JSONDict]:
        if "response_format" in request:
            assert request["response_format"]["type"] == "json_schema"
            return "native", request["response_format"]["json_schema"]["schema"]
        tool = next(t for t in request["tools"] if t["function"]["name"] == self.forced(request))
        return "tool", tool["function"]["parameters"]

    def tool_turns(self, said: Answer, pairs: list[tuple[ToolCall, Any]]) -> list[JSONDict]:
        calls = [{"id": c.id, "type": "function",
                  "function": {"name": c.name, "arguments": JSONText(c.arguments)}} for c, _ in pairs]
        # No field takes reasoning back (DeepSeek rejects reasoning_content in input): it is dropped.
        return [{"role": "assistant", "content": said.text or None, "tool_calls": calls},
                *({"role": "tool", "tool_call_id": c.id, "content": sent(r)} for c, r in pairs)]


class ResponsesWire:
    """OpenAI Responses (platform.openai.com/docs/api-reference/responses and .../responses-streaming)."""

    turns = "input"
    response_id = "resp_67c9fdcecf488190bdd9a0409de3a1ec"

    @staticmethod
    def _items(a: Answer) -> list[JSONDict]:
        items: list[JSONDict] = []
        if a.thinking:
            items.append({"type": "reasoning", "id": "rs_67c9fdcecf488190", "summary": [
                {"type": "summary_text", "text": a.thinking}]})
        if a.text:
            part = ({"type": "refusal", "refusal": a.text} if a.finish == "content_filter"
                    else {"type": "output_text", "text": a.text, "annotations": []})
            items.append({"type": "message", "id": "msg_67c9fdcf37fc8190", "status": "completed",
                          "role": "assistant", "content": [part]})
        items += [{"type": "function_call", "id": f"fc_{c.id}", "call_id": f"call_{c.id}", "name": c.name,
                   "arguments": a.arguments(c), "status": "completed"} for c in a.calls]
        return items

    def _response(self, a: Answer | None, status: str) -> JSONDict:
        truncated = a is not None and a.finish == "length"
        u = a.usage if a is not None else None
        return {
            "id": ResponsesWire.response_id, "object": "response", "created_at": 1741290958,
            "status": "incomplete" if truncated and status == "completed" else status, "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if truncated else None,
            "instructions": None, "model": "gpt-4o-2024-08-06", "parallel_tool_calls": True,
            "output": self._items(a) if a is not None and status == "completed" else [],
            "usage": None if u is None else {
                "input_tokens": u.input, "input_tokens_details": {"cached_tokens": u.cached},
                "output_tokens": u.output, "output_tokens_details": {"reasoning_tokens": u.reasoning},
                "total_tokens": u.input + u.output}}

    def body(self, a: Answer) -> JSONDict:
        return self._response(a, "completed")

    def _head_events(self, a: Answer) -> list[JSONDict]:
        pending = self._response(None, "in_progress")
        events: list[JSONDict] = [{"type": "response.created", "response": pending},
                                  {"type": "response.in_progress", "response": pending}]
        for n, item in enumerate(self._items(a)):
            at = {"item_id": item["id"], "output_index": n}
            if item["type"] == "reasoning":
                text = item["summary"][0]["text"]
                part = {"type": "summary_text", "text": ""}
                at = {**at, "summary_index": 0}
                events += [{"type": "response.output_item.added", "output_index": n,
                            "item": {**item, "summary": []}},
                           {"type": "response.reasoning_summary_part.added", **at, "part": part}]
                events += [{"type": "response.reasoning_summary_text.delta", **at, "delta": p}
                           for p in _pieces(text)]
                events += [{"type": "response.reasoning_summary_text.done", **at, "text": text},
                           {"type": "response.reasoning_summary_part.done", **at,
                            "part": {**part, "text": text}}]
            elif item["type"] == "message":
                done = item["content"][0]
                key, kind = ("refusal", "refusal") if done["type"] == "refusal" else ("text", "output_text")
                text = done[key]
                at = {**at, "content_index": 0}
                events += [{"type": "response.output_item.added", "output_index": n,
                            "item": {**item, "status": "in_progress", "content": []}},
                           {"type": "response.content_part.added", **at, "part": {**done, key: ""}}]
                events += [{"type": f"response.{kind}.delta", **at, "delta": p} for p in _pieces(text)]
                events += [{"type": f"response.{kind}.done", **at, key: text},
                           {"type": "response.content_part.done", **at, "part": done}]
            else:
                events.append({"type": "response.output_item.added", "output_index": n,
                               "item": {**item, "arguments": "", "status": "in_progress"}})
                events += [{"type": "response.function_call_arguments.delta", **at, "delta": p}
                           for p in _pieces(item["arguments"])]
                events.append({"type": "response.function_call_arguments.done", **at,
                               "arguments": item["arguments"]})
            events.append({"type": "response.output_item.done", "output_index": n, "item": item})
        return events

    @staticmethod
    def _sse(events: list[JSONDict], first: int) -> bytes:
        return b"".join(_named({**e, "sequence_number": first + i}) for i, e in enumerate(events))

    def head(self, a: Answer) -> bytes:
        return self._sse(self._head_events(a), 0)

    def tail(self, a: Answer) -> bytes:
        response = self.body(a)
        kind = "response.completed" if response["status"] == "completed" else "response.incomplete"
        return self._sse([{"type": kind, "response": response}], len(self._head_events(a)))

    def error(self, kind: str) -> ErrorReply:
        return ChatWire().error(kind)

    def error_event(self, a: Answer, kind: str) -> bytes:
        if kind == "rate_limit":  # the response fails: response.failed carries its error
            failed = {**self._response(None, "failed"), "error": {
                "code": "rate_limit_exceeded", "message": "Rate limit reached for gpt-4o on tokens per min."}}
            return self._sse([{"type": "response.failed", "response": failed}], len(self._head_events(a)))
        return self._sse([{"type": "error", "code": "server_error", "param": None,
                           "message": "The server had an error while processing your request."}],
                         len(self._head_events(a)))

    def forced(self, request: JSONDict) -> str | None:
        choice = request.get("tool_choice")
        return choice["name"] if isinstance(choice, dict) and choice["type"] == "function" else None

    def structured(self, request: JSONDict) -> tuple[str, JSONDict]:
        if "text" in request:
            assert request["text"]["format"]["type"] == "json_schema"
            return "native", request["text"]["format"]["schema"]
        tool = next(t for t in request["tools"] if t["name"] == self.forced(request))
        return "tool", tool["parameters"]

    def tool_turns(self, said: Answer, pairs: list[tuple[ToolCall, Any]]) -> list[JSONDict]:
        # A reasoning item goes back only with its encrypted_content (none was asked for here).
        text = [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": said.text}]}]
        return [*(text if said.text else []), *({"type": "function_call", "call_id": c.id, "name": c.name,
                   "arguments": JSONText(c.arguments)} for c, _ in pairs),
                *({"type": "function_call_output", "call_id": c.id, "output": sent(r)} for c, r in pairs)]


class AnthropicWire:
    """Anthropic Messages (docs.anthropic.com/en/api/messages, .../build-with-claude/streaming)."""

    turns = "messages"
    response_id = "msg_01XFDUDYJgAACzvnptvVoYEL"
    _signature = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
    _stop: ClassVar[dict[str, str]] = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                                       "content_filter": "refusal"}

    @staticmethod
    def _blocks(a: Answer) -> list[JSONDict]:
        blocks: list[JSONDict] = []
        if a.thinking:
            blocks.append({"type": "thinking", "thinking": a.thinking, "signature": AnthropicWire._signature})
        if a.text:
            blocks.append({"type": "text", "text": a.text})
        blocks += [{"type": "tool_use", "id": f"toolu_01{c.id}", "name": c.name, "input": c.arguments}
                   for c in a.calls]
        return blocks

    @staticmethod
    def _usage(u: Counts, output: int) -> JSONDict:
        return {"input_tokens": u.input - u.cached, "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": u.cached, "output_tokens": output}

    def body(self, a: Answer) -> JSONDict:
        return {"id": self.response_id, "type": "message", "role": "assistant",
                "model": "claude-3-5-haiku-20241022", "content": self._blocks(a),
                "stop_reason": self._stop[a.finish], "stop_sequence": None,
                "usage": self._usage(a.usage, a.usage.output)}

    def head(self, a: Answer) -> bytes:
        start = {**self.body(a), "content": [], "stop_reason": None, "usage": self._usage(a.usage, 1)}
        events: list[JSONDict] = [{"type": "message_start", "message": start}, {"type": "ping"}]
        for i, block in enumerate(self._blocks(a)):
            kind = block["type"]
            opened: JSONDict
            deltas: list[JSONDict]
            if kind == "thinking":
                opened, deltas = {"type": "thinking", "thinking": ""}, [
                    *({"type": "thinking_delta", "thinking": p} for p in _pieces(block["thinking"])),
                    {"type": "signature_delta", "signature": block["signature"]}]
            elif kind == "text":
                opened = {"type": "text", "text": ""}
                deltas = [{"type": "text_delta", "text": p} for p in _pieces(block["text"])]
            else:
                opened = {**block, "input": {}}
                deltas = [{"type": "input_json_delta", "partial_json": p}
                          for p in ["", *_pieces(_json(block["input"])[: a.cut or None])]]
            events.append({"type": "content_block_start", "index": i, "content_block": opened})
            events += [{"type": "content_block_delta", "index": i, "delta": d} for d in deltas]
            events.append({"type": "content_block_stop", "index": i})
        return b"".join(_named(e) for e in events)

    def tail(self, a: Answer) -> bytes:
        delta = {"stop_reason": self._stop[a.finish], "stop_sequence": None}
        return _named({"type": "message_delta", "delta": delta, "usage": {"output_tokens": a.usage.output}}) \
            + _named({"type": "message_stop"})

    def error(self, kind: str) -> ErrorReply:
        if kind == "rate_limit":
            return 429, {"retry-after": "7"}, {"type": "error", "error": {
                "type": "rate_limit_error",
                "message": "Number of request tokens has exceeded your per-minute rate limit "
                           "(https://docs.anthropic.com/en/api/rate-limits); see the response headers for "
                           "current usage. Please reduce the prompt length or the maximum tokens requested, "
                           "or try again later. You may also contact sales to discuss your options for a "
                           "rate limit increase."}}
        status, error_type, message = {
            "overloaded": (529, "overloaded_error", "Overloaded"),
            "server_error": (500, "api_error", "Internal server error"),
            "auth": (401, "authentication_error", "invalid x-api-key"),
            "invalid_request": (400, "invalid_request_error",
                                "max_tokens: 100000 > 8192, which is the maximum allowed number of output "
                                "tokens for claude-3-5-haiku-20241022"),
            "not_found": (404, "not_found_error", "model: claude-3-5-haiku-20241022"),
        }[kind]
        return status, {}, {"type": "error", "error": {"type": error_type, "message": message}}

    def error_event(self, a: Answer, kind: str) -> bytes:
        return _named(self.error(kind)[2])

    def forced(self, request: JSONDict) -> str | None:
        choice = request.get("tool_choice")
        return choice["name"] if isinstance(choice, dict) and choice["type"] == "tool" else None

    def structured(self, request: JSONDict) -> tuple[str, JSONDict]:
        tool = next(t for t in request["tools"] if t["name"] == self.forced(request))
        return "tool", tool["input_schema"]

    def tool_turns(self, said: Answer, pairs: list[tuple[ToolCall, Any]]) -> list[JSONDict]:
        uses = [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments} for c, _ in pairs]
        return [{"role": "assistant", "content": [*self._blocks(dataclasses.replace(said, calls=())), *uses]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": c.id,
                                              "content": sent(r)} for c, r in pairs]}]


class GeminiWire:
    """Google Gemini (ai.google.dev/api/generate-content): CRLF-framed ``data:`` chunks, no [DONE]."""

    turns = "contents"
    response_id = "7NlnaPHrJ8ur1MkP8pnW6Ac"
    #: A function call ends "STOP" too.
    _finish: ClassVar[dict[str, str]] = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP",
                                         "content_filter": "SAFETY"}
    _signature = "CiQB0e2Kb7YbUu1pVxW3qC5nBvZh0xCHtjZ0yR0C1j5x8w=="

    @staticmethod
    def _usage(u: Counts, final: bool = True) -> JSONDict:
        meta: JSONDict = {"promptTokenCount": u.input, "totalTokenCount": u.input,
                          "promptTokensDetails": [{"modality": "TEXT", "tokenCount": u.input}]}
        if final:
            meta["candidatesTokenCount"] = u.output - u.reasoning
            meta["totalTokenCount"] = u.input + u.output
            if u.reasoning:
                meta["thoughtsTokenCount"] = u.reasoning
        if u.cached:
            meta["cachedContentTokenCount"] = u.cached
        return meta

    def _calls(self, a: Answer) -> list[JSONDict]:
        # A call without arguments comes without ``args``.
        parts: list[JSONDict] = [{"functionCall": {"name": c.name, "args": c.arguments} if c.arguments
                                  else {"name": c.name}} for c in a.calls]
        if parts and a.thinking:  # with thinking on, the first function call carries the signature
            parts[0]["thoughtSignature"] = self._signature
        return parts

    @staticmethod
    def _response(parts: list[JSONDict], finish: str | None, usage: JSONDict) -> JSONDict:
        candidate: JSONDict = {"content": {"parts": parts, "role": "model"}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": "gemini-2.5-flash",
                "responseId": GeminiWire.response_id}

    @staticmethod
    def _said(a: Answer) -> list[JSONDict]:
        parts: list[JSONDict] = [{"text": a.thinking, "thought": True}] if a.thinking else []
        return parts + ([{"text": a.text}] if a.text else [])

    def body(self, a: Answer) -> JSONDict:
        return self._response(self._said(a) + self._calls(a), self._finish[a.finish], self._usage(a.usage))

    def head(self, a: Answer) -> bytes:
        batches = [[{"text": p, "thought": True}] for p in _pieces(a.thinking)]
        batches += [[{"text": p}] for p in _pieces(a.text)]
        if a.calls:
            batches.append(self._calls(a))  # parallel calls arrive whole, together in one chunk
        partial = self._usage(a.usage, final=False)
        return b"".join(_data(self._response(parts, None, partial), "\r\n") for parts in batches)

    def tail(self, a: Answer) -> bytes:
        return _data(self._response([{"text": ""}], self._finish[a.finish], self._usage(a.usage)), "\r\n")

    def error(self, kind: str) -> ErrorReply:
        if kind == "rate_limit":
            return 429, {}, {"error": {
                "code": 429, "status": "RESOURCE_EXHAUSTED",
                "message": "You exceeded your current quota, please check your plan and billing details.",
                "details": [{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
                    {"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                     "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}]}}
        if kind == "auth":  # a bad key is a 400, told apart by its ErrorInfo reason
            return 400, {}, {"error": {
                "code": 400, "message": "API key not valid. Please pass a valid API key.",
                "status": "INVALID_ARGUMENT", "details": [
                    {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                     "domain": "googleapis.com",
                     "metadata": {"service": "generativelanguage.googleapis.com"}}]}}
        status, rpc, message = {
            "overloaded": (503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
            "server_error": (500, "INTERNAL", "An internal error has occurred. Please retry or report in "
                                              "https://developers.generativeai.google/guide/troubleshooting"),
            "invalid_request": (400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unknown name "
                                                         "\"foo\": Cannot find field."),
            "not_found": (404, "NOT_FOUND", "models/gemini-2.5-flash is not found for API version v1beta, or "
                                            "is not supported for generateContent."),
        }[kind]
        return status, {}, {"error": {"code": status, "message": message, "status": rpc}}

    def error_event(self, a: Answer, kind: str) -> bytes:
        return _data(self.error(kind)[2], "\r\n")

    def forced(self, request: JSONDict) -> str | None:
        config = (request.get("toolConfig") or {}).get("functionCallingConfig") or {}
        names = config.get("allowedFunctionNames") or []
        return str(names[0]) if config.get("mode") == "ANY" and len(names) == 1 else None

    def structured(self, request: JSONDict) -> tuple[str, JSONDict]:
        config = request["generationConfig"]
        assert config["responseMimeType"] == "application/json"
        return "native", config["responseJsonSchema"]

    def tool_turns(self, said: Answer, pairs: list[tuple[ToolCall, Any]]) -> list[JSONDict]:
        calls: list[JSONDict] = [{"functionCall": {"name": c.name, "args": c.arguments}} for c, _ in pairs]
        if calls and said.thinking:  # the signature goes back on the part it came on
            calls[0]["thoughtSignature"] = self._signature
        return [{"role": "model", "parts": self._said(said) + calls},
                {"role": "user", "parts": [{"functionResponse": {"name": c.name, "response": {"result": r}}}
                                           for c, r in pairs]}]


class BedrockWire:
    """AWS Bedrock Converse (docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html and
    API_runtime_ConverseStream.html): a JSON body, or an AWS event stream; no response id."""

    turns = "messages"
    response_id = None
    _signature = "ErUBCkgIAhABGAIiQHeU3y7N8Q0rVJd1AxjEvVyt1mH1Yk2r"
    _stop: ClassVar[dict[str, str]] = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                                       "content_filter": "content_filtered"}

    @staticmethod
    def _frame(kind: str, payload: JSONDict, message_type: str = "event") -> bytes:
        name = ":event-type" if message_type == "event" else ":exception-type"
        return encode_message({name: kind, ":content-type": "application/json", ":message-type": message_type},
                              _json({**payload, "p": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL"}).encode())

    def _blocks(self, a: Answer) -> list[JSONDict]:
        blocks: list[JSONDict] = []
        if a.thinking:
            blocks.append({"reasoningContent": {"reasoningText": {"text": a.thinking, "signature": self._signature}}})
        if a.text:
            blocks.append({"text": a.text})
        blocks += [{"toolUse": {"toolUseId": f"tooluse_{c.id}", "name": c.name, "input": c.arguments}}
                   for c in a.calls]
        return blocks

    @staticmethod
    def _usage(u: Counts) -> JSONDict:
        return {"inputTokens": u.input - u.cached, "outputTokens": u.output, "totalTokens": u.input + u.output,
                "cacheReadInputTokens": u.cached, "cacheWriteInputTokens": 0}

    def body(self, a: Answer) -> JSONDict:
        return {"output": {"message": {"role": "assistant", "content": self._blocks(a)}},
                "stopReason": self._stop[a.finish], "usage": self._usage(a.usage), "metrics": {"latencyMs": 1412}}

    def head(self, a: Answer) -> bytes:
        frames = [self._frame("messageStart", {"role": "assistant"})]
        for i, block in enumerate(self._blocks(a)):
            at = {"contentBlockIndex": i}
            if "reasoningContent" in block:
                deltas = [{"reasoningContent": {"text": p}} for p in _pieces(a.thinking)]
                deltas.append({"reasoningContent": {"signature": self._signature}})
            elif "text" in block:
                deltas = [{"text": p} for p in _pieces(block["text"])]
            else:
                use = block["toolUse"]
                frames.append(self._frame("contentBlockStart", {**at, "start": {"toolUse": {
                    "toolUseId": use["toolUseId"], "name": use["name"]}}}))
                raw = _json(use["input"])[: a.cut or None]
                deltas = [{"toolUse": {"input": p}} for p in _pieces(raw)]
            frames += [self._frame("contentBlockDelta", {**at, "delta": d}) for d in deltas]
            frames.append(self._frame("contentBlockStop", at))
        return b"".join(frames)

    def tail(self, a: Answer) -> bytes:
        return self._frame("messageStop", {"stopReason": self._stop[a.finish]}) + \
            self._frame("metadata", {"usage": self._usage(a.usage), "metrics": {"latencyMs": 1412}})

    def error(self, kind: str) -> ErrorReply:
        status, error_type, message = {
            "rate_limit": (429, "ThrottlingException", "Too many tokens, please wait before trying again."),
            "overloaded": (503, "ServiceUnavailableException", "Bedrock is unable to process your request."),
            "server_error": (500, "InternalServerException", "The server encountered an internal error."),
            "auth": (403, "UnrecognizedClientException", "The security token included in the request is invalid."),
            "invalid_request": (400, "ValidationException", "messages.0.content: Field required"),
            "not_found": (404, "ResourceNotFoundException", "Model not found."),
        }[kind]
        headers = {"x-amzn-errortype": f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/"}
        return status, headers, {"message": message}

    def error_event(self, a: Answer, kind: str) -> bytes:
        error_type = {"rate_limit": "throttlingException", "overloaded": "serviceUnavailableException"}[kind]
        return self._frame(error_type, {"message": self.error(kind)[2]["message"]}, "exception")

    def forced(self, request: JSONDict) -> str | None:
        choice = (request.get("toolConfig") or {}).get("toolChoice") or {}
        return str(choice["tool"]["name"]) if "tool" in choice else None

    def structured(self, request: JSONDict) -> tuple[str, JSONDict]:
        spec = next(t["toolSpec"] for t in request["toolConfig"]["tools"]
                    if t["toolSpec"]["name"] == self.forced(request))
        return "tool", spec["inputSchema"]["json"]

    def tool_turns(self, said: Answer, pairs: list[tuple[ToolCall, Any]]) -> list[JSONDict]:
        blocks = self._blocks(Answer(text=said.text, thinking=said.thinking))
        blocks += [{"toolUse": {"toolUseId": c.id, "name": c.name, "input": c.arguments}} for c, _ in pairs]
        return [{"role": "assistant", "content": blocks},
                {"role": "user", "content": [{"toolResult": {"toolUseId": c.id, "content": [{"text": sent(r)}]}}
                                             for c, r in pairs]}]


class EmbedWire(Protocol):
    """A provider's embeddings format: the answer to one request, and the inputs a request carries."""

    def embed_body(self, request: JSONDict, vectors: list[list[float]]) -> JSONDict: ...
    def embed_inputs(self, request: JSONDict) -> list[str]: ...


class OpenAIEmbeddings:
    """``POST /embeddings`` (platform.openai.com/docs/api-reference/embeddings): items carry ``index``."""

    def embed_body(self, request: JSONDict, vectors: list[list[float]]) -> JSONDict:
        data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
        return {"object": "list", "data": data[::-1], "model": "text-embedding-3-small",  # any order
                "usage": {"prompt_tokens": 3 * len(vectors), "total_tokens": 3 * len(vectors)}}

    def embed_inputs(self, request: JSONDict) -> list[str]:
        return list(request["input"])


class TitanEmbeddings:
    """Bedrock InvokeModel with Titan Text Embeddings V2 (one ``inputText`` per request)."""

    def embed_body(self, request: JSONDict, vectors: list[list[float]]) -> JSONDict:
        (vector,) = vectors
        return {"embedding": vector, "inputTextTokenCount": 3, "embeddingsByType": {"float": vector}}

    def embed_inputs(self, request: JSONDict) -> list[str]:
        return [request["inputText"]]


class GeminiEmbeddings:
    """``embedContent`` for one input, ``batchEmbedContents`` for several (ai.google.dev/api/embeddings)."""

    def embed_body(self, request: JSONDict, vectors: list[list[float]]) -> JSONDict:
        if "requests" not in request:
            return {"embedding": {"values": vectors[0]}}
        return {"embeddings": [{"values": v} for v in vectors]}

    def embed_inputs(self, request: JSONDict) -> list[str]:
        if "requests" not in request:
            return [request["content"]["parts"][0]["text"]]
        return [r["content"]["parts"][0]["text"] for r in request["requests"]]


# -- the table ------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Case:
    """One protocol: the model it is called with, its wire, and what it cannot express."""

    protocol: str
    spec: str
    wire: Wire
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    #: How generate_object asks this protocol for structure: "native" or a forced "tool".
    object_mode: str = "native"
    #: The class an overloaded provider (HTTP and in-stream) maps to.
    overloaded: type[APIError] = ProviderUnavailableError
    embed_spec: str | None = None
    embed_wire: EmbedWire | None = None
    #: Usage counts the protocol has no field for (they come back as 0).
    unreported: frozenset[str] = frozenset()
    #: Modes ("body", "stream") whose tool arguments travel as JSON text, so they can arrive cut short.
    raw_arguments: frozenset[str] = frozenset({"body", "stream"})
    #: The provider says how long to wait on a rate limit (Bedrock sends no such hint).
    retry_hint: bool = True


CASES = [
    Case("openai_chat", "openai:gpt-4o-mini", ChatWire(), embed_spec="openai:text-embedding-3-small",
         embed_wire=OpenAIEmbeddings()),
    Case("openai_responses", "openai:gpt-4o", ResponsesWire(), options={"protocol": "openai_responses"}),
    Case("anthropic", "anthropic:claude-3-5-haiku-20241022", AnthropicWire(), object_mode="tool",
         # Anthropic counts thinking in output_tokens and reports no separate reasoning count.
         overloaded=OverloadedError, unreported=frozenset({"reasoning_tokens"}),
         raw_arguments=frozenset({"stream"})),  # a body's tool_use input is already an object
    Case("gemini", "google:gemini-2.5-flash", GeminiWire(), embed_spec="google:gemini-embedding-001",
         embed_wire=GeminiEmbeddings(), raw_arguments=frozenset()),  # function calls arrive whole
    Case("bedrock_converse", "amazon-bedrock:anthropic.claude-haiku-4-5-20251001-v1:0", BedrockWire(),
         object_mode="tool", unreported=frozenset({"reasoning_tokens"}), raw_arguments=frozenset({"stream"}),
         # api_key= is a Bedrock API key (a bearer token): no AWS credentials needed
         retry_hint=False, embed_spec="amazon-bedrock:amazon.titan-embed-text-v2:0", embed_wire=TitanEmbeddings()),
]


def each(*variants: str) -> pytest.MarkDecorator:
    """Parametrize over every row (times ``variants``), with ids like ``anthropic-stream``."""
    if not variants:
        return pytest.mark.parametrize("case", CASES, ids=[c.protocol for c in CASES])
    params = [pytest.param(c, v, id=f"{c.protocol}-{v}") for c in CASES for v in variants]
    return pytest.mark.parametrize(("case", "variant"), params)


# -- running a call ---------------------------------------------------------------------------------
class Server:
    """A MockTransport handler: canned responses in order; keeps every request."""

    def __init__(self, *responses: httpx.Response) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.responses.pop(0)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))

    def body(self, position: int = -1) -> JSONDict:
        body: JSONDict = json.loads(self.requests[position].content)
        return body


def json_reply(body: JSONDict, status: int = 200, headers: Mapping[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=_json(body).encode(),
                          headers={"content-type": "application/json", **(headers or {})})


def stream_reply(data: bytes, pieces: list[bytes] | None = None) -> httpx.Response:
    content: Any = data if pieces is None else iter(pieces)
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=content)


def reply(case: Case, answer: Answer, mode: str) -> httpx.Response:
    """The provider's answer as a body ("body") or a stream ("stream")."""
    if mode == "body":
        return json_reply(case.wire.body(answer))
    return stream_reply(case.wire.head(answer) + case.wire.tail(answer))


def model_of(case: Case, cost: Cost | None = PRICE) -> reqllm.Model:
    """The row's catalogue model with ``cost`` as its price (so every row prices tokens alike)."""
    return reqllm.model(case.spec).model_copy(update={"cost": cost})


def ask(case: Case, server: Server, mode: str, messages: Any = "Un petit-déjeuner à Paris ?",
        model: Any = None, **opts: Any) -> reqllm.Response:
    """generate_text ("body") or stream_text ("stream") through ``server``."""
    options = {"api_key": "test-key", "max_retries": 0, "http_client": server.client(), **case.options,
               **opts}
    target = model if model is not None else model_of(case)
    if mode == "body":
        return reqllm.generate_text(target, messages, **options)
    return reqllm.stream_text(target, messages, **options).to_response()


def cost(u: Counts) -> float:
    """The cost of ``u`` at PRICE, computed here independently of reqllm._usage."""
    assert PRICE.input is not None and PRICE.output is not None and PRICE.cache_read is not None
    return ((u.input - u.cached) * PRICE.input + u.cached * PRICE.cache_read + u.output * PRICE.output) / 1e6


def expected(case: Case, answer: Answer, priced: bool = True) -> JSONDict:
    """The normalized result every protocol must give for ``answer``."""
    u = answer.usage
    usage = {"input_tokens": u.input, "output_tokens": u.output, "total_tokens": u.input + u.output,
             "reasoning_tokens": 0 if "reasoning_tokens" in case.unreported else u.reasoning,
             "cached_tokens": u.cached, "cache_write_tokens": 0,
             "cost": pytest.approx(cost(u), rel=1e-9) if priced else None}
    return {"text": answer.text, "thinking": answer.thinking,
            "tool_calls": [{"name": c.name, "arguments": c.arguments} for c in answer.calls],
            "finish_reason": answer.finish, "usage": usage}


def assert_tool_turns(case: Case, request: JSONDict, said: Answer, pairs: list[tuple[ToolCall, Any]]) -> None:
    """The request ends with the assistant's turn and the tool results, in the protocol's shape."""
    want = case.wire.tool_turns(said, pairs)
    turns: list[JSONDict] = request[case.wire.turns]
    assert turns[-len(want):] == want


# -- completeness -----------------------------------------------------------------------------------
def test_every_protocol_has_a_row() -> None:
    """Every protocol reqllm ships (registered id or module in reqllm/providers/) is in the table.

    Plugins from other packages (entry points, test registrations) are theirs to test.
    """
    rows = {c.protocol for c in CASES}
    assert len(rows) == len(CASES), "one row per protocol"
    assert rows <= set(protocol_ids())
    shipped = {p for p in protocol_ids() if type(get_protocol(p)).__module__.startswith("reqllm.providers.")}
    assert shipped - rows == set(), "a protocol shipped with reqllm has no row in CASES"
    package = importlib.import_module("reqllm.providers")  # (reqllm.providers is also a function)
    for module in pkgutil.iter_modules(package.__path__):
        plugins = [v for v in vars(importlib.import_module(f"reqllm.providers.{module.name}")).values()
                   if isinstance(v, type) and issubclass(v, ProtocolPlugin) and v is not ProtocolPlugin
                   and v.__module__ == f"reqllm.providers.{module.name}"]
        assert {p.id for p in plugins} <= rows, f"reqllm/providers/{module.name}.py: a protocol with no row"
    for case in CASES:  # the row's model and options really reach its protocol
        exchange = prepare("chat", case.spec, {"api_key": "test-key", **case.options}, messages="hi")
        assert exchange.protocol.id == case.protocol


# -- scenarios --------------------------------------------------------------------------------------
@each("body", "stream", "body-length", "stream-length", "body-refusal", "stream-refusal")
def test_text(case: Case, variant: str) -> None:
    answer = {"length": TRUNCATED, "refusal": REFUSAL}.get(variant.partition("-")[2], PLAIN)
    mode = variant.split("-")[0]
    response = ask(case, Server(reply(case, answer, mode)), mode)
    assert response.normalized() == expected(case, answer)
    assert response.id == case.wire.response_id


def _cuts(data: bytes, variant: str) -> list[bytes]:
    """``data`` in reads of N bytes ("every-N"), or cut inside every multi-byte UTF-8 character."""
    if variant.startswith("every-"):
        step = int(variant.removeprefix("every-"))
        return [data[i:i + step] for i in range(0, len(data), step)]
    cuts = [i + 1 for i, byte in enumerate(data) if byte >= 0xC0]  # just after each lead byte
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds) if b > a]


@each("every-1", "every-2", "every-3", "every-5", "every-7", "every-64", "every-4096", "utf8")
def test_stream_split_at_awkward_boundaries(case: Case, variant: str) -> None:
    data = case.wire.head(FULL) + case.wire.tail(FULL)
    assert "é".encode() in data and "🥐".encode() in data, "the wire carries raw multi-byte UTF-8"
    pieces = _cuts(data, variant)
    assert b"".join(pieces) == data
    if variant == "utf8":
        assert len(pieces) > 10  # one cut inside each of the answer's accented letters and emoji
        assert all(_splits_a_character(p) for p in pieces[:-1])
    response = ask(case, Server(stream_reply(data, pieces)), "stream", tools=[WEATHER, CLOCK])
    assert response.normalized() == expected(case, FULL)
    assert response.normalized() == ask(case, Server(reply(case, FULL, "body")), "body",
                                        tools=[WEATHER, CLOCK]).normalized()


def _splits_a_character(piece: bytes) -> bool:
    try:
        piece.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


@each("body", "stream")
def test_tool_round_trip(case: Case, variant: str) -> None:
    first = Answer(calls=(PARIS,), finish="tool_calls", usage=Counts(85, 16), forced=True)
    final = Answer(text="Il fait 21 °C et le ciel est dégagé à Paris ☀️.", usage=Counts(120, 18))
    server = Server(reply(case, first, variant), reply(case, final, variant))
    messages = [Message.user("Quel temps fait-il à Paris ?")]

    response = ask(case, server, variant, messages, tools=[WEATHER], tool_choice="get_weather")
    assert case.wire.forced(server.body(0)) == "get_weather"
    assert response.normalized() == expected(case, first)
    call = response.tool_calls[0]
    assert call.id
    result = {"temp_c": 21, "sky": "dégagé"}
    messages += [response.message, Message.tool_result(call, result)]

    answer = ask(case, server, variant, messages, tools=[WEATHER])
    assert answer.normalized() == expected(case, final)
    second = server.body(1)
    assert case.wire.forced(second) is None
    assert_tool_turns(case, second, first, [(call, result)])


@each("body", "stream", "body-with-thinking-and-text", "stream-with-thinking-and-text")
def test_parallel_tool_calls(case: Case, variant: str) -> None:
    first = FULL if variant.endswith("text") else PARALLEL
    mode = variant.split("-")[0]
    final = Answer(text="21 °C, ciel dégagé ; il est 14 h 05 à Paris.", usage=Counts(160, 20))
    server = Server(reply(case, first, mode), reply(case, final, mode))
    messages = [Message.user("Météo et heure à Paris ?")]
    response = ask(case, server, mode, messages, tools=[WEATHER, CLOCK])
    assert response.normalized() == expected(case, first)
    ids = [c.id for c in response.tool_calls]
    assert all(ids) and len(set(ids)) == 2

    results: list[Any] = [{"temp_c": 21, "sky": "dégagé"}, "14 h 05"]  # a dict, and plain text
    pairs = list(zip(response.tool_calls, results, strict=True))
    messages += [response.message, *(Message.tool_result(c, r) for c, r in pairs)]
    assert ask(case, server, mode, messages, tools=[WEATHER, CLOCK]).normalized() == expected(case, final)
    assert_tool_turns(case, server.body(1), first, pairs)


@each("body", "stream")
def test_tool_call_cut_off_by_the_output_limit(case: Case, variant: str) -> None:
    if variant not in case.raw_arguments:
        pytest.skip(f"{case.protocol} {variant}: tool arguments do not travel as JSON text")
    answer = Answer(calls=(PARIS,), finish="length", usage=Counts(85, 16), cut=13)
    assert answer.arguments(PARIS) == '{"city": "Par'
    response = ask(case, Server(reply(case, answer, variant)), variant, tools=[WEATHER])
    want = expected(case, answer)
    want["tool_calls"] = [{"name": "get_weather", "arguments": {}}]  # a truncated call: no usable arguments
    assert response.normalized() == want


@each("body", "stream")
def test_tool_call_without_arguments(case: Case, variant: str) -> None:
    utc = Tool(name="get_utc_time", description="The current UTC time")
    answer = Answer(calls=(Fn("Rt0mZ4", "get_utc_time", {}),), finish="tool_calls", usage=Counts(40, 9))
    response = ask(case, Server(reply(case, answer, variant)), variant, tools=[utc])
    assert response.normalized() == expected(case, answer)


class City(BaseModel):
    name: str
    population: int
    landmarks: list[str]


CITY_SCHEMA = {"type": "object", "additionalProperties": False,
               "required": ["name", "population", "landmarks"],
               "properties": {"name": {"type": "string"}, "population": {"type": "integer"},
                              "landmarks": {"type": "array", "items": {"type": "string"}}}}
ZURICH = {"name": "Zürich", "population": 421878, "landmarks": ["Grossmünster", "Üetliberg 🏔️"]}


@each("pydantic", "dict")
def test_generate_object(case: Case, variant: str) -> None:
    usage = Counts(60, 25)
    if case.object_mode == "native":
        answer = Answer(text=_json(ZURICH), usage=usage)
    else:
        answer = Answer(calls=(Fn("Ob7", OBJECT_TOOL_NAME, ZURICH),), finish="tool_calls", usage=usage,
                        forced=True)
    server = Server(json_reply(case.wire.body(answer)))
    schema: Any = City if variant == "pydantic" else CITY_SCHEMA
    options = {"api_key": "test-key", "max_retries": 0, "http_client": server.client(), **case.options}
    result = reqllm.generate_object(model_of(case), "Décris Zürich.", schema, **options)

    sent_schema = City.model_json_schema() if variant == "pydantic" else CITY_SCHEMA
    assert case.wire.structured(server.body()) == (case.object_mode, sent_schema)
    assert result.object == (City(**ZURICH) if variant == "pydantic" else ZURICH)
    assert isinstance(result.object, City if variant == "pydantic" else dict)
    assert result.usage.model_dump() == expected(case, answer)["usage"]


def _vector(text: str) -> list[float]:
    """A distinct vector per input ("phrase 12 …" -> [12.0, len])."""
    return [float(text.split()[1]), float(len(text)), -0.5]


@each("one", "three", "over-the-batch-cap")
def test_embed_keeps_input_order(case: Case, variant: str) -> None:
    count = {"one": 1, "three": 3}.get(variant, get_protocol(case.protocol).embed_batch_size + 3)
    inputs = [f"phrase {i} café crème 🥐"[: 12 + i % 9] for i in range(count)]
    if case.embed_spec is None or case.embed_wire is None:
        assert "embed" not in get_protocol(case.protocol).operations
        server = Server()
        with pytest.raises(UnsupportedOperationError):
            reqllm.embed(case.spec, inputs, api_key="test-key", http_client=server.client(), **case.options)
        assert server.requests == []
        return
    wire = case.embed_wire
    requests: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        requests.append(wire.embed_inputs(body))
        return json_reply(wire.embed_body(body, [_vector(t) for t in requests[-1]]))

    result = reqllm.embed(case.embed_spec, inputs, api_key="test-key", max_retries=0,
                          http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    assert [t for batch in requests for t in batch] == inputs
    size = get_protocol(case.protocol).embed_batch_size
    assert len(requests) == -(-count // size)  # as few requests as the batch cap allows
    assert len(requests) == (2 if variant == "over-the-batch-cap" else 1) or size == 1
    assert result.embeddings == [_vector(t) for t in inputs]


@each("body-priced", "stream-priced", "body-catalogue", "body-unpriced", "stream-unpriced")
def test_usage_with_cached_and_reasoning_tokens(case: Case, variant: str) -> None:
    answer = Answer(text="OK.", usage=RICH_USAGE)
    mode, price = variant.split("-")
    model = {"priced": model_of(case), "catalogue": case.spec, "unpriced": model_of(case, None)}[price]
    response = ask(case, Server(reply(case, answer, mode)), mode, model=model)
    want = expected(case, answer, priced=price == "priced")
    if price == "catalogue":
        assert response.usage.cost is not None and response.usage.cost > 0
        want["usage"]["cost"] = response.usage.cost
    assert response.normalized() == want


@each("body", "stream")
def test_thinking_and_text(case: Case, variant: str) -> None:
    response = ask(case, Server(reply(case, THOUGHTFUL, variant)), variant)
    assert response.normalized() == expected(case, THOUGHTFUL)
    assert [p.type for p in response.message.content] == ["thinking", "text"]


@each("body", "stream")
def test_thinking_cut_off_before_any_text(case: Case, variant: str) -> None:
    answer = Answer(thinking=THINKING, finish="length", usage=Counts(30, 64, reasoning=64))
    response = ask(case, Server(reply(case, answer, variant)), variant)
    assert response.normalized() == expected(case, answer)
    assert [p.type for p in response.message.content] == ["thinking"]


#: The error class each kind of provider error maps to on every protocol ("overloaded": see Case).
ERROR_CLASSES: dict[str, type[APIError]] = {
    "rate_limit": RateLimitError, "overloaded": ProviderUnavailableError,
    "server_error": ProviderUnavailableError,
    "auth": AuthenticationError, "invalid_request": InvalidRequestError, "not_found": InvalidRequestError,
}


@each(*ERROR_CLASSES)
def test_error_in_the_body(case: Case, variant: str) -> None:
    status, headers, body = case.wire.error(variant)
    server = Server(json_reply(body, status, headers))
    with pytest.raises(APIError) as caught:
        ask(case, server, "body")
    error = caught.value
    assert type(error) is (case.overloaded if variant == "overloaded" else ERROR_CLASSES[variant])
    assert error.status == status
    assert error.provider_message and error.provider_message in str(error)
    if variant == "rate_limit" and case.retry_hint:
        assert error.retry_after == 7.0
    assert len(server.requests) == 1


@each("overloaded-after-text", "overloaded-after-everything", "rate_limit-after-text")
def test_error_mid_stream_keeps_the_chunks_before_it(case: Case, variant: str) -> None:
    kind, _, what = variant.partition("-after-")
    answer = FULL if what == "everything" else PLAIN
    data = case.wire.head(answer) + case.wire.error_event(answer, kind)
    stream = reqllm.stream_text(model_of(case), "Un petit-déjeuner ?", api_key="test-key", max_retries=0,
                                http_client=Server(stream_reply(data, _cuts(data, "every-5"))).client(),
                                tools=[WEATHER, CLOCK], **case.options)
    seen: list[reqllm.StreamChunk] = []
    with pytest.raises(APIError) as caught:
        for chunk in stream:
            seen.append(chunk)
    error = caught.value
    assert seen, "the chunks before the error were delivered first"
    assert type(error) is (RateLimitError if kind == "rate_limit" else case.overloaded)
    assert error.status is None
    assert error.provider_message
    assert error.chunks == seen == stream.chunks
    assert "".join(c.text for c in error.chunks if c.type == "content") == answer.text
    assert "".join(c.text for c in error.chunks if c.type == "thinking") == answer.thinking
    names = [c.name for c in error.chunks if c.type == "tool_call" and c.name]
    assert names == [c.name for c in answer.calls]
    with pytest.raises(type(error)):
        stream.to_response()

