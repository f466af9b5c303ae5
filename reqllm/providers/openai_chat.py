"""OpenAI Chat Completions (``/chat/completions``, ``/embeddings``) — also every OpenAI-compatible API.

Reference: https://platform.openai.com/docs/api-reference/chat. Streams are ``data:`` JSON chunks
ending with ``data: [DONE]``; usage arrives in a last chunk with empty ``choices`` when
``stream_options.include_usage`` is set. Some servers (Cerebras) end without ``[DONE]``: a stream
is complete once every choice it opened delivered its ``finish_reason``, so a clean end after that
is a finished answer, and one before it is truncated. Tool-call fragments are keyed by ``index`` and may
interleave across calls. Compatible servers stream reasoning as ``reasoning_content`` (llama.cpp,
DeepSeek) or ``reasoning`` (Groq, vLLM); both become thinking.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from .._sse import ServerSentEvent
from .._types import ImagePart, Message, StreamChunk, TextPart, ThinkingPart, ToolCall
from ..errors import APIError, ResponseDecodeError, UnsupportedOperationError, error_class
from .base import (
    OBJECT_TOOL_NAME,
    Call,
    Decoded,
    DecodedEmbeddings,
    ErrorInfo,
    ErrorKind,
    Protocol,
    StreamState,
    parse_arguments,
    reasoning_effort,
)

__all__ = ["OpenAIChat", "error_kind", "openai_error_info", "openai_usage"]

FINISH_REASONS = {"stop": "stop", "length": "length", "tool_calls": "tool_calls",
                  "function_call": "tool_calls", "content_filter": "content_filter", "eos": "stop",
                  "end_turn": "stop", "max_tokens": "length"}


def error_kind(error_type: str | None) -> ErrorKind | None:
    """An error kind from an OpenAI-style ``type``/``code`` string."""
    if not error_type:
        return None
    t = error_type.lower()
    if "overload" in t:
        return "overloaded"
    if "rate_limit" in t or "quota" in t or "too_many" in t:
        return "rate_limit"
    if "auth" in t or "api_key" in t or "permission" in t:
        return "auth"
    if "server_error" in t or "unavailable" in t or "internal" in t:
        return "unavailable"
    if "invalid" in t or "not_found" in t or "tool_use_failed" in t:
        return "invalid_request"
    return None


def openai_error_info(body: Any) -> ErrorInfo | None:
    """The provider's message, code and kind from an OpenAI-style ``{"error": ...}`` body, else None."""
    err = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(err, Mapping):
        code = err.get("code") or err.get("type")
        # The code is the more specific of the two: a bad key is type "invalid_request_error",
        # code "invalid_api_key".
        kind = error_kind(str(err.get("code") or "")) or error_kind(str(err.get("type") or ""))
        return ErrorInfo(message=str(err.get("message") or err), code=None if code is None else str(code),
                         kind=kind)
    if isinstance(err, str):
        return ErrorInfo(message=err)
    return None


def openai_usage(usage: Mapping[str, Any] | None, timings: Any = None) -> dict[str, int] | None:
    """Usage counts from an OpenAI-style ``usage`` object.

    Cached prompt tokens: ``prompt_tokens_details.cached_tokens`` (OpenAI), ``prompt_cache_hit_tokens``
    (DeepSeek), else ``timings.cache_n`` of a llama.cpp server that predates ``prompt_tokens_details``
    (the chunk's sibling ``timings`` object; its prompt_tokens = prompt_n + cache_n).
    """
    if not isinstance(usage, Mapping):
        return None
    prompt = usage.get("prompt_tokens_details") or {}
    completion = usage.get("completion_tokens_details") or {}
    counts = {
        "input_tokens": usage.get("prompt_tokens") or 0,
        "output_tokens": usage.get("completion_tokens") or 0,
        "total_tokens": usage.get("total_tokens") or 0,
        "cached_tokens": (prompt.get("cached_tokens") if isinstance(prompt, Mapping) else 0)
        or usage.get("prompt_cache_hit_tokens")
        or (timings.get("cache_n") if isinstance(timings, Mapping) else 0) or 0,
        "reasoning_tokens": (completion.get("reasoning_tokens") if isinstance(completion, Mapping) else 0)
        or 0,
    }
    return {k: int(v) for k, v in counts.items()}


def _content(message: Message) -> str | list[dict[str, Any]]:
    parts = [p for p in message.content if not isinstance(p, ThinkingPart)]
    if all(isinstance(p, TextPart) for p in parts):
        return "".join(p.text for p in parts if isinstance(p, TextPart))
    out: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            out.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):
            url = part.url or f"data:{part.media_type};base64,{part.data}"
            out.append({"type": "image_url", "image_url": {"url": url}})
    return out


def _message(message: Message, content_not_null: bool = False) -> dict[str, Any]:
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id or "", "content": _content(message)}
    out: dict[str, Any] = {"role": message.role, "content": _content(message)}
    if message.role == "assistant" and message.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function",
             "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
            for c in message.tool_calls
        ]
        if not out["content"]:
            out["content"] = "" if content_not_null else None
    return out


class _ChatStream(StreamState):
    def __init__(self, call: Call) -> None:
        super().__init__(call)
        #: The answer came as ``delta.refusal``: the stream finishes as "content_filter", as a body does.
        self.refused = False
        #: Choice indexes seen without their finish_reason yet, and whether any choice finished.
        self.open: set[Any] = set()
        self.finished = False


class OpenAIChat(Protocol):
    """The OpenAI Chat Completions wire protocol."""

    id: ClassVar[str] = "openai_chat"
    auth: ClassVar[str] = "bearer"
    default_base_url: ClassVar[str | None] = "https://api.openai.com/v1"
    operations: ClassVar[frozenset[str]] = frozenset({"chat", "object", "embed"})
    QUIRKS: ClassVar[Mapping[str, str]] = {
        "max_tokens_field": "body field for max_tokens (default 'max_tokens')",
        "reasoning_max_tokens_field":
            "body field for max_tokens of reasoning models (OpenAI: max_completion_tokens)",
        "no_stream_options": "the server rejects stream_options; usage is requested some other way",
        "drop_fields": "list of body fields the server rejects (removed before sending)",
        "usage_in": "where else a stream carries usage, e.g. 'x_groq' (Groq)",
        "native_object": "'json_schema' | 'json_object' | 'tool': how generate_object asks for structure",
        "rename_fields": "body field -> the server's name for it, e.g. {'seed': 'random_seed'} (Mistral)",
        "tool_choice_map": "tool_choice word -> the server's word, e.g. {'required': 'any'} (Mistral)",
        "reject_fields": "body field -> why the server cannot take it; a call using it fails before sending",
        "assistant_content_not_null": "send '' instead of null content beside assistant tool calls",
    }

    # -- requests ----------------------------------------------------------------------------
    def build_request(self, call: Call) -> httpx.Request:
        """Chat completion, object or embeddings request."""
        if call.operation == "embed":
            body: dict[str, Any] = {"model": call.model.id, "input": call.input}
            if call.options.dimensions is not None:
                body["dimensions"] = call.options.dimensions
            return self.post(call, "/embeddings", body)
        return self.post(call, "/chat/completions", self.chat_body(call))

    def chat_body(self, call: Call) -> dict[str, Any]:
        """The JSON body of a chat completion."""
        o = call.options
        quirks = call.quirks
        not_null = bool(quirks.get("assistant_content_not_null"))
        body: dict[str, Any] = {"model": call.model.id, "messages": [_message(m, not_null) for m in call.messages]}
        if o.temperature is not None:
            body["temperature"] = o.temperature
        if o.max_tokens is not None:
            field = quirks.get("max_tokens_field") or "max_tokens"
            if call.model.reasoning and "max_tokens_field" not in quirks:
                field = quirks.get("reasoning_max_tokens_field", field)
            body[field] = o.max_tokens
        if o.top_p is not None:
            body["top_p"] = o.top_p
        if o.stop is not None:
            body["stop"] = o.stop
        if o.seed is not None:
            body["seed"] = o.seed
        effort = reasoning_effort(call)
        if effort is not None:
            body["reasoning_effort"] = effort
        tools = list(o.tools or [])
        tool_choice: Any = _tool_choice(o.tool_choice)
        if call.operation == "object" and call.schema is not None:
            native = call.model.structured_output is not False or not call.model.tool_call
            mode = quirks.get("native_object") or ("json_schema" if native else "tool")
            if mode == "tool":
                from .._types import Tool

                tools = [Tool(name=OBJECT_TOOL_NAME, description=f"Return the {call.schema_name} object.",
                              parameters=call.schema)]
                tool_choice = {"type": "function", "function": {"name": OBJECT_TOOL_NAME}}
            elif mode == "json_object":
                body["response_format"] = {"type": "json_object"}
            else:
                strict = call.schema.get("additionalProperties") is False
                body["response_format"] = {"type": "json_schema", "json_schema": {
                    "name": call.schema_name, "schema": call.schema, "strict": strict}}
        if tools:
            body["tools"] = [{"type": "function", "function": {
                "name": t.name, "description": t.description, "parameters": t.parameters,
                **({"strict": True} if t.strict else {})}} for t in tools]
            if isinstance(tool_choice, str):
                tool_choice = quirks.get("tool_choice_map", {}).get(tool_choice, tool_choice)
            if tool_choice is not None:
                body["tool_choice"] = tool_choice
        if call.stream:
            body["stream"] = True
            if not quirks.get("no_stream_options"):
                body["stream_options"] = {"include_usage": True}
        for field in quirks.get("drop_fields", ()):
            body.pop(field, None)
        for field, reason in quirks.get("reject_fields", {}).items():
            if field in body:
                raise UnsupportedOperationError(
                    f"{call.provider.id} ({call.model.spec}) cannot take {field!r}: {reason}")
        for field, renamed in quirks.get("rename_fields", {}).items():
            if field in body:
                body[renamed] = body.pop(field)
        return body

    # -- responses ---------------------------------------------------------------------------
    def parse_response(self, call: Call, body: Any) -> Decoded | DecodedEmbeddings:
        """Decode a chat completion or an embeddings list."""
        if call.operation == "embed":
            items = sorted(body["data"], key=lambda d: d.get("index", 0))
            return DecodedEmbeddings([list(map(float, d["embedding"])) for d in items],
                                     openai_usage(body.get("usage")))
        choices = body.get("choices")
        if not isinstance(choices, list) or not choices:
            raise ResponseDecodeError("chat completion has no choices", provider=call.provider.id,
                                      field="choices", raw=body)
        choice = choices[0]
        if isinstance(choice, Mapping) and choice.get("error"):
            raise self.choice_error(call, choice)
        msg = choice.get("message") or {}
        content: list[TextPart | ThinkingPart] = []
        reasoning = msg.get("reasoning_content") or msg.get("reasoning")
        text = msg.get("content")
        if isinstance(text, list):
            reasoning, text = _split_parts(text, reasoning)
        if isinstance(reasoning, str) and reasoning:
            content.append(ThinkingPart(text=reasoning))
        reason = choice.get("finish_reason")
        finish = FINISH_REASONS.get(reason, "other") if reason else None
        if not text and msg.get("refusal"):
            text, finish = msg["refusal"], "content_filter"
        if text:
            content.append(TextPart(text=text))
        # Cut off by the output limit, arguments may be partial JSON: they decode to {}, as in a stream.
        calls = [_tool_call(c, i, call.provider.id, truncated=finish == "length")
                 for i, c in enumerate(msg.get("tool_calls") or [])]
        return Decoded(message=Message(role="assistant", content=content, tool_calls=calls),
                       finish_reason=finish, usage=openai_usage(body.get("usage"), body.get("timings")),
                       id=body.get("id"))

    def new_stream(self, call: Call) -> StreamState:
        """State of one chat stream."""
        return _ChatStream(call)

    def parse_event(self, state: StreamState, event: ServerSentEvent) -> list[StreamChunk]:
        """One ``data:`` chunk (or ``[DONE]``, or an ``error`` object)."""
        data = event.data
        if data == "[DONE]":
            state.done = True
            return []
        if not data:
            return []
        payload = event.json()
        if not isinstance(payload, dict):
            raise ResponseDecodeError("stream chunk is not a JSON object", provider=state.call.provider.id,
                                      field="data", raw=data)
        if payload.get("error"):
            raise self.stream_error(state.call, payload)
        out: list[StreamChunk] = []
        chat = state if isinstance(state, _ChatStream) else None
        for choice in payload.get("choices") or ():
            position = choice.get("index", 0)
            if chat is not None:
                if choice.get("finish_reason"):
                    chat.open.discard(position)
                    chat.finished = True
                else:
                    chat.open.add(position)
                # complete once every choice finished ([DONE] may never come); reopened by new deltas
                state.done = chat.finished and not chat.open
            if choice.get("error"):
                raise self.choice_error(state.call, choice)
            if position != 0:
                continue
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            text = delta.get("content")
            if isinstance(text, list):
                reasoning, text = _split_parts(text, reasoning)
            if isinstance(reasoning, str) and reasoning:
                out.append(StreamChunk("thinking", text=reasoning))
            if isinstance(text, str) and text:
                out.append(StreamChunk("content", text=text))
            refusal = delta.get("refusal")
            if refusal and isinstance(refusal, str) and isinstance(state, _ChatStream):
                state.refused = True
                out.append(StreamChunk("content", text=refusal))
            out.extend(_tool_fragment(fragment) for fragment in delta.get("tool_calls") or ())
            reason = choice.get("finish_reason")
            if reason:
                refused = isinstance(state, _ChatStream) and state.refused
                finish = "content_filter" if refused else FINISH_REASONS.get(reason, "other")
                out.append(StreamChunk("meta", metadata={"finish_reason": finish, "id": payload.get("id")}))
        usage = payload.get("usage")
        extra = state.call.quirks.get("usage_in")
        if not usage and extra and isinstance(payload.get(extra), Mapping):
            usage = payload[extra].get("usage")
        counts = openai_usage(usage, payload.get("timings")) if usage else None
        if counts is not None:
            out.append(StreamChunk("meta", metadata={"usage": counts, "id": payload.get("id")}))
        return out

    def parse_error(self, status: int | None, body: Any) -> ErrorInfo:
        """OpenAI-style ``{"error": {"message", "type", "code"}}`` bodies."""
        return openai_error_info(body) or super().parse_error(status, body)

    def choice_error(self, call: Call, choice: Mapping[str, Any]) -> APIError:
        """A choice that failed inside a 200 answer (OpenRouter's ``choices[0].error``, "Provider returned
        error"): its message, and a class from its kind or its HTTP-like ``code``."""
        info = self.parse_error(None, choice)
        code = choice["error"].get("code") if isinstance(choice["error"], Mapping) else None
        status = code if isinstance(code, int) and not isinstance(code, bool) and 400 <= code < 600 else None
        return error_class(info.kind, status)(info.message, provider=call.provider.id, model=call.model.spec,
                                              body=dict(choice), code=info.code)


def _split_parts(parts: list[Any], reasoning: Any) -> tuple[Any, str]:
    """Content given as typed parts (Mistral): text parts, and ``thinking`` parts folded into reasoning."""
    thought = [reasoning] if isinstance(reasoning, str) and reasoning else []
    text: list[str] = []
    for part in parts:
        if not isinstance(part, Mapping):
            continue
        if part.get("type") == "thinking":
            inner = part.get("thinking")
            if isinstance(inner, list):
                thought.extend(str(p.get("text") or "") for p in inner if isinstance(p, Mapping))
            elif isinstance(inner, str):
                thought.append(inner)
        else:
            text.append(str(part.get("text") or ""))
    return "".join(thought) or reasoning, "".join(text)


def _tool_fragment(fragment: Mapping[str, Any]) -> StreamChunk:
    """One streamed tool-call fragment (arguments sent as an object are encoded back to JSON text)."""
    function = fragment.get("function") or {}
    arguments = function.get("arguments")
    if isinstance(arguments, Mapping):
        arguments = json.dumps(arguments)
    index = fragment.get("index", 0)
    if not isinstance(index, int) or not isinstance(arguments, str | None):
        raise TypeError(f"tool call fragment with index {index!r} and arguments {arguments!r}")
    call_id, name = fragment.get("id"), function.get("name")
    return StreamChunk("tool_call", id=call_id if isinstance(call_id, str) else None,
                       name=name if isinstance(name, str) else None, arguments=arguments, index=index)


def _tool_choice(choice: str | None) -> Any:
    if choice is None or choice in ("auto", "none", "required"):
        return choice
    return {"type": "function", "function": {"name": choice}}


def _tool_call(raw: Mapping[str, Any], position: int, provider: str, *, truncated: bool = False) -> ToolCall:
    function = raw.get("function") or {}
    name = function.get("name") or ""
    arguments = function.get("arguments")
    parsed = arguments if isinstance(arguments, dict) else parse_arguments(
        arguments or "", name=name, provider=provider, truncated=truncated)
    return ToolCall(id=raw.get("id") or f"call_{position}", name=name, arguments=parsed)
