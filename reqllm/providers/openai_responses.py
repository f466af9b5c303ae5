"""OpenAI Responses (``POST /responses``): the API OpenAI recommends for its reasoning models.

Reference: https://platform.openai.com/docs/api-reference/responses. The body carries ``input``
items instead of messages: role messages, ``function_call`` / ``function_call_output`` items and
``reasoning`` items. System messages, wherever they stand, are joined into ``instructions`` (the
documented top-level field, accepted by every model); the other turns keep their order.

Reasoning round trip: a ``reasoning`` output item becomes a ThinkingPart (its summaries joined
by blank lines) whose ``metadata`` keeps the item ``id`` and ``encrypted_content``. For reasoning
models the request asks for ``include: ["reasoning.encrypted_content"]``, so the item can be sent
back whether or not the server stores responses (``store: false`` needs the encrypted content).
A reasoning item is sent back only when it has ``encrypted_content``; the message and
function-call items after it then carry their own item ids, which the API needs to pair them.

Streams are named SSE events whose data repeats the name in ``type`` (with or without
``sequence_number``); ``response.completed`` / ``response.incomplete`` end them, ``response.failed``
and ``error`` raise. Chunk indexes are output indexes, and argument deltas are routed by item id,
so interleaved deltas of parallel calls land on the right call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import httpx

from .._sse import ServerSentEvent
from .._types import ImagePart, Message, StreamChunk, TextPart, ThinkingPart, ToolCall
from ..errors import APIError, InvalidOptionError, ResponseDecodeError, error_class
from .base import (
    Call,
    Decoded,
    DecodedEmbeddings,
    ErrorInfo,
    Protocol,
    StreamState,
    parse_arguments,
    reasoning_effort,
)
from .openai_chat import error_kind, openai_error_info

__all__ = ["OpenAIResponses", "responses_usage"]

INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}
#: Options the Responses API has no field for.
UNSUPPORTED_OPTIONS = ("stop", "seed")


def responses_usage(usage: Any) -> dict[str, int] | None:
    """Usage counts from a Responses ``usage`` object."""
    if not isinstance(usage, Mapping):
        return None
    inputs = usage.get("input_tokens_details") or {}
    outputs = usage.get("output_tokens_details") or {}
    counts = {
        "input_tokens": usage.get("input_tokens") or 0,
        "output_tokens": usage.get("output_tokens") or 0,
        "total_tokens": usage.get("total_tokens") or 0,
        "cached_tokens": (inputs.get("cached_tokens") if isinstance(inputs, Mapping) else 0) or 0,
        "reasoning_tokens": (outputs.get("reasoning_tokens") if isinstance(outputs, Mapping) else 0) or 0,
    }
    return {k: int(v) for k, v in counts.items()}


# -- request ---------------------------------------------------------------------------------
def _user_content(message: Message) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, TextPart):
            out.append({"type": "input_text", "text": part.text})
        elif isinstance(part, ImagePart):
            url = part.url or f"data:{part.media_type};base64,{part.data}"
            out.append({"type": "input_image", "image_url": url})
    return out


def _reasoning_item(part: ThinkingPart) -> dict[str, Any] | None:
    encrypted = part.metadata.get("encrypted_content")
    if not encrypted:
        return None
    item: dict[str, Any] = {"type": "reasoning"}
    if part.metadata.get("id"):
        item["id"] = part.metadata["id"]
    item["summary"] = [{"type": "summary_text", "text": part.text}] if part.text else []
    item["encrypted_content"] = encrypted
    return item


def _assistant_items(message: Message) -> list[dict[str, Any]]:
    """Reasoning, message and function-call items of one assistant turn, in that order."""
    items: list[dict[str, Any]] = []
    paired = False  # a reasoning item was sent: the items after it must carry their ids
    texts: list[TextPart] = []

    def flush() -> None:
        if not texts:
            return
        item_id = next((t.metadata["id"] for t in texts if t.metadata.get("id")), None)
        if paired and item_id:
            parts = [{"type": "output_text", "text": t.text, "annotations": []} for t in texts]
            items.append({"type": "message", "role": "assistant", "id": item_id, "status": "completed",
                          "content": parts})
        else:
            items.append({"type": "message", "role": "assistant",
                          "content": [{"type": "output_text", "text": t.text} for t in texts]})
        texts.clear()

    for part in message.content:
        if isinstance(part, TextPart):
            texts.append(part)
        elif isinstance(part, ThinkingPart):
            reasoning = _reasoning_item(part)
            if reasoning is not None:
                flush()
                items.append(reasoning)
                paired = True
    flush()
    for call in message.tool_calls:
        item: dict[str, Any] = {"type": "function_call", "call_id": call.id, "name": call.name,
                                "arguments": json.dumps(call.arguments)}
        if paired and call.metadata.get("item_id"):
            item["id"] = call.metadata["item_id"]
        items.append(item)
    return items


def _input(messages: list[Message]) -> tuple[str | None, list[dict[str, Any]]]:
    """``instructions`` (the joined system messages) and the ``input`` items."""
    system: list[str] = []
    items: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            system.append(message.text)
        elif message.role == "tool":
            items.append({"type": "function_call_output", "call_id": message.tool_call_id or "",
                          "output": message.text})
        elif message.role == "assistant":
            items.extend(_assistant_items(message))
        else:
            items.append({"type": "message", "role": "user", "content": _user_content(message)})
    return ("\n\n".join(system) if system else None), items


# -- response --------------------------------------------------------------------------------
def _summary_text(item: Mapping[str, Any]) -> str:
    summaries = [s.get("text") or "" for s in item.get("summary") or () if isinstance(s, Mapping)]
    if any(summaries):
        return "\n\n".join(s for s in summaries if s)
    return "".join(c.get("text") or "" for c in item.get("content") or () if isinstance(c, Mapping))


def _reasoning_metadata(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in ("id", "encrypted_content") if item.get(k)}


def _message_text(item: Mapping[str, Any]) -> tuple[str, bool]:
    """The text of a message item and whether it is a refusal."""
    texts: list[str] = []
    refused = False
    for part in item.get("content") or ():
        if part.get("type") == "refusal":
            texts.append(part.get("refusal") or "")
            refused = True
        elif part.get("type") == "output_text" or "text" in part:
            texts.append(part.get("text") or "")
    return "".join(texts), refused


def _finish(response: Mapping[str, Any], refused: bool) -> str | None:
    status = response.get("status")
    if status == "completed":
        return "content_filter" if refused else "stop"
    if status == "incomplete":
        reason = (response.get("incomplete_details") or {}).get("reason")
        return INCOMPLETE_REASONS.get(reason or "", "other")
    return "other" if status else None


def _failure(call: Call, error: Any, body: Any) -> APIError:
    """The typed error of a failed response or an ``error`` event."""
    err = error if isinstance(error, Mapping) else {}
    code = err.get("code") or (err.get("type") if err.get("type") != "error" else None)
    message = str(err.get("message") or error or "the response failed")
    kind = error_kind(str(err.get("type") or "")) or error_kind(str(err.get("code") or ""))
    return error_class(kind, None)(message, provider=call.provider.id, model=call.model.spec, body=body,
                                   code=None if code is None else str(code))


class _ResponsesStream(StreamState):
    def __init__(self, call: Call) -> None:
        super().__init__(call)
        self.indexes: dict[str, int] = {}  # item id -> chunk index
        self.streamed: set[str] = set()  # item ids whose text or arguments arrived as deltas
        self.summary_part: dict[str, int] = {}  # reasoning item id -> last summary_index seen
        self.refused = False

    def index(self, payload: Mapping[str, Any]) -> int:
        """The stable chunk index of the item an event is about."""
        item_id = payload.get("item_id")
        if item_id is not None and item_id in self.indexes:
            return self.indexes[item_id]
        position = payload.get("output_index")
        index = position if isinstance(position, int) else max(self.indexes.values(), default=-1) + 1
        if item_id is not None:
            self.indexes[item_id] = index
        return index


class OpenAIResponses(Protocol):
    """The OpenAI Responses wire protocol."""

    id: ClassVar[str] = "openai_responses"
    auth: ClassVar[str] = "bearer"
    default_base_url: ClassVar[str | None] = "https://api.openai.com/v1"
    operations: ClassVar[frozenset[str]] = frozenset({"chat", "object"})
    QUIRKS: ClassVar[Mapping[str, str]] = {
        "no_encrypted_reasoning": "never ask for reasoning.encrypted_content (servers rejecting `include`)",
    }

    # -- requests ----------------------------------------------------------------------------
    def build_request(self, call: Call) -> httpx.Request:
        """A ``/responses`` request; ``stop`` and ``seed`` raise InvalidOptionError (no such fields)."""
        return self.post(call, "/responses", self.responses_body(call))

    def responses_body(self, call: Call) -> dict[str, Any]:
        """The JSON body of a Responses request."""
        o = call.options
        for name in UNSUPPORTED_OPTIONS:
            if getattr(o, name) is not None:
                raise InvalidOptionError(f"option {name} is not supported by the {self.id} protocol "
                                         f"(model {call.model.spec}); remove it, or pass "
                                         "protocol='openai_chat'")
        instructions, items = _input(call.messages)
        body: dict[str, Any] = {"model": call.model.id, "input": items}
        if instructions is not None:
            body["instructions"] = instructions
        if o.max_tokens is not None:
            body["max_output_tokens"] = o.max_tokens
        if o.temperature is not None:
            body["temperature"] = o.temperature
        if o.top_p is not None:
            body["top_p"] = o.top_p
        effort = reasoning_effort(call)
        if effort is not None:
            body["reasoning"] = {"effort": effort}
            if effort != "none":
                body["reasoning"]["summary"] = "auto"
        if (call.model.reasoning or effort is not None) and not call.quirks.get("no_encrypted_reasoning"):
            body["include"] = ["reasoning.encrypted_content"]
        if o.tools:
            body["tools"] = [{"type": "function", "name": t.name, "description": t.description,
                              "parameters": t.parameters, "strict": t.strict} for t in o.tools]
            if o.tool_choice is not None:
                body["tool_choice"] = (o.tool_choice if o.tool_choice in ("auto", "none", "required")
                                       else {"type": "function", "name": o.tool_choice})
        if call.operation == "object" and call.schema is not None:
            body["text"] = {"format": {"type": "json_schema", "name": call.schema_name, "schema": call.schema,
                                       "strict": call.schema.get("additionalProperties") is False}}
        if call.stream:
            body["stream"] = True
        return body

    # -- responses ---------------------------------------------------------------------------
    def parse_response(self, call: Call, body: Any) -> Decoded | DecodedEmbeddings:
        """Decode a response object: its output items, status and usage."""
        if not isinstance(body, Mapping) or not isinstance(body.get("output"), list):
            raise ResponseDecodeError("response has no output list", provider=call.provider.id,
                                      field="output", raw=body)
        if body.get("status") == "failed":
            raise _failure(call, body.get("error"), body)
        truncated = body.get("status") == "incomplete"
        content: list[TextPart | ThinkingPart] = []
        calls: list[ToolCall] = []
        refused = False
        for item in body["output"]:
            kind = item.get("type")
            if kind == "reasoning":
                content.append(ThinkingPart(text=_summary_text(item), metadata=_reasoning_metadata(item)))
            elif kind == "message":
                text, refusal = _message_text(item)
                refused = refused or refusal
                if text or item.get("id"):
                    content.append(TextPart(text=text, metadata={"id": item["id"]} if item.get("id") else {}))
            elif kind == "function_call":
                name = item.get("name") or ""
                arguments = parse_arguments(item.get("arguments") or "", name=name, provider=call.provider.id,
                                            truncated=truncated)
                calls.append(ToolCall(id=item.get("call_id") or item.get("id") or f"call_{len(calls)}",
                                      name=name, arguments=arguments,
                                      metadata={"item_id": item["id"]} if item.get("id") else {}))
        return Decoded(message=Message(role="assistant", content=content, tool_calls=calls),
                       finish_reason=_finish(body, refused), usage=responses_usage(body.get("usage")),
                       id=body.get("id"))

    def new_stream(self, call: Call) -> StreamState:
        """State of one Responses stream."""
        return _ResponsesStream(call)

    def parse_event(self, state: StreamState, event: ServerSentEvent) -> list[StreamChunk]:
        """One named event; ``response.failed`` and ``error`` raise their typed error."""
        assert isinstance(state, _ResponsesStream)
        if not event.data or event.data == "[DONE]":
            return []
        payload = event.json()
        if not isinstance(payload, dict):
            raise ResponseDecodeError("stream event is not a JSON object", provider=state.call.provider.id,
                                      field="data", raw=event.data)
        kind = payload.get("type") or event.event
        if kind in ("response.output_text.delta", "response.refusal.delta"):
            return self._delta(state, payload, "content", refusal=kind == "response.refusal.delta")
        if kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            return self._delta(state, payload, "thinking")
        if kind in ("response.function_call_arguments.delta", "response.function_call_arguments.done"):
            return self._arguments(state, payload, done=kind.endswith(".done"))
        if kind == "response.output_item.added":
            return self._item_added(state, payload)
        if kind == "response.output_item.done":
            return self._item_done(state, payload)
        if kind in ("response.completed", "response.incomplete"):
            response = payload.get("response") or {}
            state.done = True
            return [StreamChunk("meta", metadata={"usage": responses_usage(response.get("usage")) or {},
                                                  "finish_reason": _finish(response, state.refused),
                                                  "id": response.get("id")})]
        if kind == "response.failed":
            response = payload.get("response") or {}
            raise _failure(state.call, response.get("error"), payload)
        if kind == "error":
            raise _failure(state.call, payload.get("error") if isinstance(payload.get("error"), Mapping)
                           else payload, payload)
        return []

    def _delta(self, state: _ResponsesStream, payload: Mapping[str, Any],
               kind: Literal["content", "thinking"], *, refusal: bool = False) -> list[StreamChunk]:
        text = payload.get("delta") or ""
        if not isinstance(text, str):
            return []
        item_id = payload.get("item_id") or ""
        state.streamed.add(item_id)
        state.refused = state.refused or refusal
        summary = payload.get("summary_index")
        if isinstance(summary, int):
            previous = state.summary_part.setdefault(item_id, summary)
            if previous != summary:
                state.summary_part[item_id] = summary
                text = "\n\n" + text
        return [StreamChunk(kind, text=text, index=state.index(payload))] if text else []

    def _arguments(self, state: _ResponsesStream, payload: Mapping[str, Any], *,
                   done: bool) -> list[StreamChunk]:
        """An argument fragment; ``.done`` repeats them all and counts only when no delta came."""
        item_id = payload.get("item_id") or ""
        if done and item_id in state.streamed:
            return []
        state.streamed.add(item_id)
        fragment = payload.get("arguments" if done else "delta") or ""
        return [StreamChunk("tool_call", arguments=fragment, index=state.index(payload))]

    def _item_added(self, state: _ResponsesStream, payload: Mapping[str, Any]) -> list[StreamChunk]:
        item = payload.get("item") or {}
        index = state.index({"item_id": item.get("id"), "output_index": payload.get("output_index")})
        if item.get("type") != "function_call":
            return []
        return [StreamChunk("tool_call", id=item.get("call_id") or item.get("id"), name=item.get("name"),
                            index=index, metadata={"item_id": item["id"]} if item.get("id") else None)]

    def _item_done(self, state: _ResponsesStream, payload: Mapping[str, Any]) -> list[StreamChunk]:
        """Item metadata the deltas lacked, and the item's content if it arrived without deltas."""
        item = payload.get("item") or {}
        item_id = item.get("id")
        index = state.index({"item_id": item_id, "output_index": payload.get("output_index")})
        streamed = (item_id or "") in state.streamed
        kind = item.get("type")
        if kind == "reasoning":
            return [StreamChunk("thinking", text="" if streamed else _summary_text(item), index=index,
                                metadata=_reasoning_metadata(item) or None)]
        if kind == "message":
            text, refusal = ("", False) if streamed else _message_text(item)
            state.refused = state.refused or refusal
            return [StreamChunk("content", text=text, index=index,
                                metadata={"id": item_id} if item_id else None)]
        if kind == "function_call" and not streamed:
            return [StreamChunk("tool_call", id=item.get("call_id") or item_id, name=item.get("name"),
                                arguments=item.get("arguments") or "", index=index,
                                metadata={"item_id": item_id} if item_id else None)]
        return []

    def parse_error(self, status: int | None, body: Any) -> ErrorInfo:
        """OpenAI-style ``{"error": {"message", "type", "code"}}`` bodies."""
        return openai_error_info(body) or super().parse_error(status, body)
