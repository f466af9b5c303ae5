"""Anthropic Messages (``POST /messages``).

Reference: https://docs.anthropic.com/en/api/messages and .../build-with-claude/streaming.
``max_tokens`` is required; system text is a top-level field; tool results travel as
``tool_result`` blocks of a user turn. A stream is named events: ``message_start`` (id, input
and cache counts), ``content_block_start``/``_delta``/``_stop`` per content block (text,
thinking with a ``signature_delta``, redacted thinking, tool use with ``input_json_delta``
fragments), ``message_delta`` (stop reason, the final usage counts) and the terminal
``message_stop``; ``ping`` and ``error`` may come at any time. Chunks carry the content block's
index, so interleaved thinking, text and tool blocks stay apart.

Thinking parts go back on the next turn with their signature, unchanged; a redacted block keeps
its opaque data in ``ThinkingPart.metadata["redacted_thinking"]``. Thinking parts without a
signature (another provider's reasoning) are not sent: Anthropic would reject them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from .._sse import ServerSentEvent
from .._types import ImagePart, Message, StreamChunk, TextPart, ThinkingPart, Tool, ToolCall
from ..errors import ResponseDecodeError
from .base import (
    OBJECT_TOOL_NAME,
    Call,
    Decoded,
    DecodedEmbeddings,
    ErrorInfo,
    ErrorKind,
    Protocol,
    StreamState,
    require,
)

__all__ = ["ANTHROPIC_VERSION", "VERTEX_ANTHROPIC_VERSION", "AnthropicMessages", "anthropic_usage", "error_kind"]

ANTHROPIC_VERSION = "2023-06-01"
#: The ``anthropic_version`` body field Claude on Vertex AI requires.
VERTEX_ANTHROPIC_VERSION = "vertex-2023-10-16"
#: max_tokens when the caller gives none (capped by the model's output limit).
DEFAULT_MAX_TOKENS = 4096
#: The smallest thinking budget Anthropic accepts.
MIN_THINKING_BUDGET = 1024
THINKING_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 4096, "high": 16384, "xhigh": 32768}
REDACTED_KEY = "redacted_thinking"

STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
                "refusal": "content_filter", "pause_turn": "other", "model_context_window_exceeded": "length"}

_ERROR_KINDS: dict[str, ErrorKind] = {
    "overloaded_error": "overloaded",
    "rate_limit_error": "rate_limit",
    "api_error": "unavailable",
    "timeout_error": "unavailable",
    "invalid_request_error": "invalid_request",
    "not_found_error": "invalid_request",
    "request_too_large": "invalid_request",
    "authentication_error": "auth",
    "permission_error": "auth",
}
_USAGE_KEYS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def error_kind(error_type: str | None) -> ErrorKind | None:
    """The error kind for an Anthropic ``error.type`` (``overloaded_error`` -> "overloaded")."""
    return _ERROR_KINDS.get(error_type or "")


def anthropic_usage(usage: Mapping[str, Any] | None) -> dict[str, int] | None:
    """Usage counts from an Anthropic ``usage`` object; input counts cache reads and writes too."""
    if not isinstance(usage, Mapping):
        return None
    fresh, output, read, written = (int(usage.get(k) or 0) for k in _USAGE_KEYS)
    return {"input_tokens": fresh + read + written, "output_tokens": output, "cached_tokens": read,
            "cache_write_tokens": written}


# -- requests ----------------------------------------------------------------------------------
def _budget(call: Call) -> int | None:
    """The thinking budget the call asks for (at least Anthropic's minimum), or None for no thinking."""
    o = call.options
    if o.reasoning_budget is not None:
        return max(o.reasoning_budget, MIN_THINKING_BUDGET) if o.reasoning_budget > 0 else None
    if o.reasoning_effort is None or o.reasoning_effort == "none":
        return None
    return THINKING_BUDGETS.get(o.reasoning_effort, THINKING_BUDGETS["medium"])


def _limits(call: Call) -> tuple[int, int | None]:
    """``max_tokens`` and the thinking budget: max_tokens must exceed the budget."""
    limit = call.model.limit.output or None
    answer = call.options.max_tokens or min(limit or DEFAULT_MAX_TOKENS, DEFAULT_MAX_TOKENS)
    budget = _budget(call)
    if budget is None or answer > budget:
        return answer, budget
    # The caller's max_tokens (or the default) is what is left for the answer after thinking.
    max_tokens = budget + answer if limit is None else min(budget + answer, limit)
    if max_tokens <= budget:
        budget = max(max_tokens - 1, MIN_THINKING_BUDGET)
    return max_tokens, budget


def _image(part: ImagePart) -> dict[str, Any]:
    url = part.url
    if url and url.startswith("data:") and ";base64," in url:
        head, _, data = url.partition(";base64,")
        return {"type": "image", "source": {"type": "base64", "media_type": head[5:] or part.media_type,
                                            "data": data}}
    if url:
        return {"type": "image", "source": {"type": "url", "url": url}}
    source = {"type": "base64", "media_type": part.media_type, "data": part.data or ""}
    return {"type": "image", "source": source}


def _text(part: TextPart) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": part.text}
    if part.metadata.get("cache_control"):
        block["cache_control"] = part.metadata["cache_control"]
    return block


def _user_blocks(message: Message) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, TextPart) and part.text:
            out.append(_text(part))
        elif isinstance(part, ImagePart):
            out.append(_image(part))
    return out


def _assistant_blocks(message: Message) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, ThinkingPart):
            if part.metadata.get(REDACTED_KEY):
                out.append({"type": "redacted_thinking", "data": part.metadata[REDACTED_KEY]})
            elif part.signature:
                out.append({"type": "thinking", "thinking": part.text, "signature": part.signature})
        elif isinstance(part, TextPart) and part.text:
            out.append(_text(part))
        elif isinstance(part, ImagePart):
            out.append(_image(part))
    out.extend({"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
               for c in message.tool_calls)
    return out


def _tool_result(message: Message) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.tool_call_id or ""}
    if any(isinstance(p, ImagePart) for p in message.content):
        block["content"] = _user_blocks(message)
    elif message.text:
        block["content"] = message.text
    return block


def wire_messages(messages: list[Message]) -> tuple[list[dict[str, Any]], list[TextPart]]:
    """The ``messages`` array and the system parts; same-role turns (tool results too) are merged."""
    system: list[TextPart] = []
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            system.extend(p for p in message.content if isinstance(p, TextPart) and p.text)
            continue
        if message.role == "tool":
            role, blocks = "user", [_tool_result(message)]
        elif message.role == "assistant":
            role, blocks = "assistant", _assistant_blocks(message)
        else:
            role, blocks = "user", _user_blocks(message)
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return out, system


def _system(parts: list[TextPart]) -> str | list[dict[str, Any]] | None:
    if not parts:
        return None
    if any(p.metadata.get("cache_control") for p in parts):
        return [_text(p) for p in parts]
    return "\n\n".join(p.text for p in parts)


def _tool_choice(choice: str | None) -> dict[str, Any] | None:
    if choice is None:
        return None
    if choice in ("auto", "none"):
        return {"type": choice}
    if choice == "required":
        return {"type": "any"}
    return {"type": "tool", "name": choice}


def _tool(tool: Tool) -> dict[str, Any]:
    out: dict[str, Any] = {"name": tool.name}
    if tool.description:
        out["description"] = tool.description
    out["input_schema"] = tool.parameters
    return out


# -- responses ---------------------------------------------------------------------------------
def _finish(reason: Any) -> str | None:
    if not reason:
        return None
    return STOP_REASONS.get(str(reason), "other")


class _MessagesStream(StreamState):
    def __init__(self, call: Call) -> None:
        super().__init__(call)
        #: Content block type by index; deltas of blocks we do not decode are skipped.
        self.blocks: dict[int, str] = {}
        #: Raw Anthropic usage counts seen so far.
        self.usage: dict[str, int] = {}


class AnthropicMessages(Protocol):
    """The Anthropic Messages wire protocol."""

    id: ClassVar[str] = "anthropic"
    auth: ClassVar[str] = "x-api-key"
    default_base_url: ClassVar[str | None] = "https://api.anthropic.com/v1"
    operations: ClassVar[frozenset[str]] = frozenset({"chat", "object"})

    QUIRKS: ClassVar[Mapping[str, str]] = {
        "vertex_raw_predict": "Vertex AI: POST {base}/{model}:rawPredict (streams :streamRawPredict), the model in "
                              "the URL, anthropic_version in the body instead of a header",
    }

    # -- requests ----------------------------------------------------------------------------
    def build_request(self, call: Call) -> httpx.Request:
        """A ``POST /messages`` for a chat or object call (Vertex AI: ``{model}:rawPredict``)."""
        if call.quirks.get("vertex_raw_predict"):
            body = self.messages_body(call)
            del body["model"]
            body = {"anthropic_version": VERTEX_ANTHROPIC_VERSION, **body}
            action = "streamRawPredict" if call.stream else "rawPredict"
            return self.post(call, f"/{quote(call.model.id, safe='@')}:{action}", body)
        headers = {"anthropic-version": ANTHROPIC_VERSION}
        return self.post(call, "/messages", self.messages_body(call), headers)

    def messages_body(self, call: Call) -> dict[str, Any]:
        """The JSON body of a Messages request."""
        o = call.options
        messages, system_parts = wire_messages(call.messages)
        max_tokens, budget = _limits(call)
        body: dict[str, Any] = {"model": call.model.id, "max_tokens": max_tokens}
        system = _system(system_parts)
        if system is not None:
            body["system"] = system
        body["messages"] = messages
        if o.temperature is not None:
            body["temperature"] = o.temperature
        if o.top_p is not None:
            body["top_p"] = o.top_p
        if o.stop:
            body["stop_sequences"] = o.stop
        tools = list(o.tools or [])
        tool_choice = _tool_choice(o.tool_choice)
        if call.operation == "object" and call.schema is not None:
            tools = [Tool(name=OBJECT_TOOL_NAME, description=f"Return the {call.schema_name} object.",
                          parameters=call.schema)]
            # Extended thinking accepts only tool_choice auto or none.
            tool_choice = {"type": "auto"} if budget else {"type": "tool", "name": OBJECT_TOOL_NAME}
        if tools:
            body["tools"] = [_tool(t) for t in tools]
            if tool_choice is not None:
                body["tool_choice"] = tool_choice
        if budget is not None:
            body["thinking"] = {"type": "enabled", "budget_tokens": budget}
        if call.stream:
            body["stream"] = True
        return body

    # -- responses ---------------------------------------------------------------------------
    def parse_response(self, call: Call, body: Any) -> Decoded | DecodedEmbeddings:
        """Decode a Message object."""
        provider = call.provider.id
        blocks = require(body, "content", list, where="message", provider=provider)
        content: list[TextPart | ThinkingPart] = []
        calls: list[ToolCall] = []
        for position, block in enumerate(blocks):
            kind = block.get("type") if isinstance(block, Mapping) else None
            if kind == "text":
                if block.get("text"):
                    content.append(TextPart(text=block["text"]))
            elif kind == "thinking":
                content.append(ThinkingPart(text=block.get("thinking") or "",
                                            signature=block.get("signature") or None))
            elif kind == "redacted_thinking":
                content.append(ThinkingPart(metadata={REDACTED_KEY: block.get("data")}))
            elif kind == "tool_use":
                arguments = block.get("input")
                if arguments is None:
                    arguments = {}
                if not isinstance(arguments, dict):
                    raise ResponseDecodeError("tool_use input is not a JSON object", provider=provider,
                                              field=f"content[{position}].input", raw=body)
                calls.append(ToolCall(id=block.get("id") or f"toolu_{position}", name=block.get("name") or "",
                                      arguments=arguments))
        return Decoded(message=Message(role="assistant", content=content, tool_calls=calls),
                       finish_reason=_finish(body.get("stop_reason")),
                       usage=anthropic_usage(body.get("usage")), id=body.get("id"))

    def new_stream(self, call: Call) -> StreamState:
        """State of one Messages stream."""
        return _MessagesStream(call)

    def parse_event(self, state: StreamState, event: ServerSentEvent) -> list[StreamChunk]:
        """One named event of a Messages stream."""
        assert isinstance(state, _MessagesStream)
        if not event.data:
            return []
        payload = event.json()
        if not isinstance(payload, dict):
            raise ResponseDecodeError("stream event is not a JSON object", provider=state.call.provider.id,
                                      field=f"event:{event.event}", raw=event.data)
        kind = payload.get("type") or event.event
        if kind == "content_block_delta":
            return _delta(state, payload)
        if kind == "content_block_start":
            return _block_start(state, payload)
        if kind == "message_start":
            message = payload.get("message") or {}
            usage = _stream_usage(state, message.get("usage"))
            return [StreamChunk("meta", metadata={"usage": usage, "id": message.get("id")})]
        if kind == "message_delta":
            meta: dict[str, Any] = {}
            reason = _finish((payload.get("delta") or {}).get("stop_reason"))
            if reason:
                meta["finish_reason"] = reason
            if isinstance(payload.get("usage"), Mapping):
                meta["usage"] = _stream_usage(state, payload["usage"])
            return [StreamChunk("meta", metadata=meta)] if meta else []
        if kind == "message_stop":
            state.done = True
        elif kind == "error":
            raise self.stream_error(state.call, payload)
        return []

    def parse_error(self, status: int | None, body: Any) -> ErrorInfo:
        """``{"type": "error", "error": {"type", "message"}}``; HTTP 529 is always overloaded."""
        err = body.get("error") if isinstance(body, Mapping) else None
        if isinstance(err, Mapping):
            error_type = err.get("type")
            kind = "overloaded" if status == 529 else error_kind(str(error_type or ""))
            return ErrorInfo(message=str(err.get("message") or err), kind=kind,
                             code=None if error_type is None else str(error_type))
        info = super().parse_error(status, body)
        if status == 529:
            info.kind = "overloaded"
        return info


def _stream_usage(state: _MessagesStream, usage: Any) -> dict[str, int]:
    """Normalized counts after folding in one event's raw usage.

    ``message_delta`` holds the final counts: every count it carries replaces the one of
    ``message_start``, zero included (as the official SDK's stream accumulator does; compaction
    answers start with a cache read and end with none). A count it leaves out (null or absent) stays.
    """
    if isinstance(usage, Mapping):
        for key in _USAGE_KEYS:
            value = usage.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                state.usage[key] = value
    return anthropic_usage(state.usage) or {}


def _block_start(state: _MessagesStream, payload: Mapping[str, Any]) -> list[StreamChunk]:
    index = int(payload.get("index") or 0)
    block = payload.get("content_block") or {}
    kind = str(block.get("type") or "")
    state.blocks[index] = kind
    if kind == "text":
        return [StreamChunk("content", text=block["text"], index=index)] if block.get("text") else []
    if kind == "thinking":
        signature = block.get("signature")
        if block.get("thinking") or signature:
            return [StreamChunk("thinking", text=block.get("thinking") or "", index=index,
                                metadata={"signature": signature} if signature else None)]
        return []
    if kind == "redacted_thinking":
        return [StreamChunk("thinking", index=index, metadata={REDACTED_KEY: block.get("data")})]
    if kind == "tool_use":
        initial = block.get("input")
        arguments = None
        if isinstance(initial, Mapping) and initial:
            arguments = json.dumps(initial)
        return [StreamChunk("tool_call", id=block.get("id"), name=block.get("name"), arguments=arguments,
                            index=index)]
    return []


def _delta(state: _MessagesStream, payload: Mapping[str, Any]) -> list[StreamChunk]:
    index = int(payload.get("index") or 0)
    delta = payload.get("delta") or {}
    kind = delta.get("type")
    block = state.blocks.get(index)
    if kind == "text_delta" and block in ("text", None):
        text = delta.get("text")
        return [StreamChunk("content", text=text, index=index)] if text else []
    if kind == "thinking_delta" and block in ("thinking", None):
        text = delta.get("thinking")
        return [StreamChunk("thinking", text=text, index=index)] if text else []
    if kind == "signature_delta" and block in ("thinking", None):
        signature = delta.get("signature")
        return [StreamChunk("thinking", index=index, metadata={"signature": signature})] if signature else []
    if kind == "input_json_delta" and block == "tool_use":
        fragment = delta.get("partial_json")
        return [StreamChunk("tool_call", arguments=fragment, index=index)] if fragment else []
    return []
