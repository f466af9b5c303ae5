"""AWS Bedrock Converse (``POST /model/{modelId}/converse`` and ``/converse-stream``).

Reference: the Bedrock Runtime API reference (Converse, ConverseStream, ContentBlock,
ContentBlockDelta, ToolConfiguration, TokenUsage). The model id (a model, inference profile or ARN)
travels percent-encoded in the path. System text is a top-level ``system`` list; ``inferenceConfig``
holds maxTokens/temperature/topP/stopSequences; tools are ``toolConfig.tools[].toolSpec`` with the
schema under ``inputSchema.json``; tool results are ``toolResult`` blocks of a user turn.
Claude's extended thinking is switched on through ``additionalModelRequestFields.thinking`` and
comes back as ``reasoningContent`` blocks (``reasoningText`` with a ``signature``, or
``redactedContent``); they go back on the next turn unchanged.

A stream is the AWS event-stream framing (decoded by the core's ``_eventstream``): events
``messageStart``, ``contentBlockStart`` (a tool use's id and name), ``contentBlockDelta`` (text,
tool input JSON fragments, reasoning text / signature / redacted bytes), ``contentBlockStop``,
``messageStop`` (stop reason) and ``metadata`` (usage). Exception frames
(``throttlingException``, ``modelStreamErrorException``, ``validationException``,
``internalServerException``, ``serviceUnavailableException``) raise typed errors.

Signing (SigV4) or the Bedrock API key is the core's auth step: this plugin never sees a credential.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from .._eventstream import EventStreamMessage
from .._sse import ServerSentEvent
from .._types import ImagePart, Message, StreamChunk, TextPart, ThinkingPart, Tool, ToolCall
from ..errors import ResponseDecodeError
from .anthropic import _limits
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

__all__ = ["BedrockConverse", "bedrock_usage", "error_kind"]

#: Key in ThinkingPart.metadata holding redacted reasoning (base64, as the wire carries it).
REDACTED_KEY = "redacted_content"

STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
                "guardrail_intervened": "content_filter", "content_filtered": "content_filter",
                "model_context_window_exceeded": "length", "malformed_model_output": "error",
                "malformed_tool_use": "error"}

#: Bedrock error types (HTTP ``x-amzn-errortype`` header, or a stream's ``:exception-type``), lower-cased.
_ERROR_KINDS: dict[str, ErrorKind] = {
    "throttlingexception": "rate_limit",
    "servicequotaexceededexception": "rate_limit",
    "modelnotreadyexception": "unavailable",
    "serviceunavailableexception": "unavailable",
    "internalserverexception": "unavailable",
    "modeltimeoutexception": "unavailable",
    "modelstreamerrorexception": "unavailable",
    "validationexception": "invalid_request",
    "resourcenotfoundexception": "invalid_request",
    "modelerrorexception": "other",
    "accessdeniedexception": "auth",
    "unrecognizedclientexception": "auth",
    "expiredtokenexception": "auth",
    "invalidsignatureexception": "auth",
    "incompletesignatureexception": "auth",
}
_IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif",
                  "image/webp": "webp"}


def error_kind(error_type: str | None) -> ErrorKind | None:
    """The error kind of a Bedrock error type (``ThrottlingException`` -> "rate_limit")."""
    return _ERROR_KINDS.get((error_type or "").split(":", 1)[0].strip().lower())


def bedrock_usage(usage: Any) -> dict[str, int] | None:
    """Usage counts from a Converse ``usage`` object; input counts cache reads and writes too."""
    if not isinstance(usage, Mapping):
        return None
    fresh, output, read, written = (int(usage.get(k) or 0) for k in (
        "inputTokens", "outputTokens", "cacheReadInputTokens", "cacheWriteInputTokens"))
    return {"input_tokens": fresh + read + written, "output_tokens": output, "cached_tokens": read,
            "cache_write_tokens": written}


# -- requests ----------------------------------------------------------------------------------
def _image(part: ImagePart) -> dict[str, Any]:
    data, media_type = part.data, part.media_type
    url = part.url
    if url and url.startswith("data:") and ";base64," in url:
        head, _, data = url.partition(";base64,")
        media_type = head[5:] or media_type
    elif url:
        raise ValueError(f"Bedrock takes images as bytes, not URLs ({url[:60]!r}); pass data= instead")
    fmt = _IMAGE_FORMATS.get(media_type, media_type.rpartition("/")[2])
    return {"image": {"format": fmt, "source": {"bytes": data or ""}}}


def _text(part: TextPart) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"text": part.text}]
    if part.metadata.get("cache_control") or part.metadata.get("cache_point"):
        blocks.append({"cachePoint": {"type": "default"}})
    return blocks


def _user_blocks(message: Message) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, TextPart) and part.text:
            out.extend(_text(part))
        elif isinstance(part, ImagePart):
            out.append(_image(part))
    return out


def _assistant_blocks(message: Message) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, ThinkingPart):
            if part.metadata.get(REDACTED_KEY):
                out.append({"reasoningContent": {"redactedContent": part.metadata[REDACTED_KEY]}})
            elif part.signature:
                out.append({"reasoningContent": {"reasoningText": {"text": part.text, "signature": part.signature}}})
        elif isinstance(part, TextPart) and part.text:
            out.extend(_text(part))
    out.extend({"toolUse": {"toolUseId": c.id, "name": c.name, "input": c.arguments}} for c in message.tool_calls)
    return out


def _tool_result(message: Message) -> dict[str, Any]:
    content: list[dict[str, Any]] = [b for b in _user_blocks(message) if "cachePoint" not in b]
    if not content:
        content = [{"text": ""}]
    return {"toolResult": {"toolUseId": message.tool_call_id or "", "content": content}}


def wire_messages(messages: list[Message]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``messages`` array and the ``system`` blocks; same-role turns (tool results too) are merged."""
    system: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            for part in message.content:
                if isinstance(part, TextPart) and part.text:
                    system.extend(_text(part))
            continue
        if message.role == "tool":
            role, blocks = "user", [_tool_result(message)]
        elif message.role == "assistant":
            role, blocks = "assistant", _assistant_blocks(message)
        else:
            role, blocks = "user", _user_blocks(message)
        if not blocks:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return out, system


def _tool(tool: Tool) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": tool.name}
    if tool.description:
        spec["description"] = tool.description
    spec["inputSchema"] = {"json": tool.parameters}
    return {"toolSpec": spec}


def _tool_choice(choice: str | None) -> dict[str, Any] | None:
    if choice is None or choice == "none":
        return None
    if choice == "auto":
        return {"auto": {}}
    if choice == "required":
        return {"any": {}}
    return {"tool": {"name": choice}}


def _is_claude(call: Call) -> bool:
    return "anthropic." in call.model.id or "claude" in call.model.id


class _ConverseStream(StreamState):
    def __init__(self, call: Call) -> None:
        super().__init__(call)
        #: Block kind by contentBlockIndex ("tool" for a tool use); deltas of other blocks are text.
        self.blocks: dict[int, str] = {}


class BedrockConverse(Protocol):
    """The AWS Bedrock Converse wire protocol (SigV4 signing is the core's auth step)."""

    id: ClassVar[str] = "bedrock_converse"
    auth: ClassVar[str] = "aws-sigv4"
    stream_format: ClassVar[str] = "eventstream"
    operations: ClassVar[frozenset[str]] = frozenset({"chat", "object", "embed"})
    #: InvokeModel embeds one text per request with Titan (Cohere takes more, but one size fits both).
    embed_batch_size: ClassVar[int] = 1

    # -- requests ----------------------------------------------------------------------------
    def build_request(self, call: Call) -> httpx.Request:
        """``POST /model/{modelId}/converse`` (or ``/converse-stream``), the model id percent-encoded;
        embeddings: ``POST /model/{modelId}/invoke`` with the model's native body (Titan, Cohere)."""
        if call.operation == "embed":
            return self.post(call, f"/model/{quote(call.model.id, safe='')}/invoke", _embed_body(call))
        action = "converse-stream" if call.stream else "converse"
        path = f"/model/{quote(call.model.id, safe='')}/{action}"
        accept = "application/vnd.amazon.eventstream" if call.stream else "application/json"
        request = self.post(call, path, self.converse_body(call), {"accept": accept})
        return request

    def headers(self, call: Call, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Content type and user headers; credentials are the core's auth step, never the plugin's."""
        headers = super().headers(call, extra)
        if not call.api_key:
            headers.pop("authorization", None)
        return headers

    def converse_body(self, call: Call) -> dict[str, Any]:
        """The JSON body of a Converse request."""
        o = call.options
        messages, system = wire_messages(call.messages)
        body: dict[str, Any] = {"messages": messages}
        if system:
            body["system"] = system
        config: dict[str, Any] = {}
        budget: int | None = None
        if _is_claude(call):
            max_tokens, budget = _limits(call)
            config["maxTokens"] = max_tokens
        elif o.max_tokens is not None:
            config["maxTokens"] = o.max_tokens
        if o.temperature is not None:
            config["temperature"] = o.temperature
        if o.top_p is not None:
            config["topP"] = o.top_p
        if o.stop:
            config["stopSequences"] = o.stop
        if config:
            body["inferenceConfig"] = config
        tools = list(o.tools or [])
        choice = _tool_choice(o.tool_choice)
        if call.operation == "object" and call.schema is not None:
            tools = [Tool(name=OBJECT_TOOL_NAME, description=f"Return the {call.schema_name} object.",
                          parameters=call.schema)]
            # Claude's extended thinking accepts only tool choice auto.
            choice = {"auto": {}} if budget else {"tool": {"name": OBJECT_TOOL_NAME}}
        if tools and o.tool_choice != "none":
            tool_config: dict[str, Any] = {"tools": [_tool(t) for t in tools]}
            if choice is not None:
                tool_config["toolChoice"] = choice
            body["toolConfig"] = tool_config
        if budget is not None:
            body["additionalModelRequestFields"] = {"thinking": {"type": "enabled", "budget_tokens": budget}}
        elif o.reasoning_effort and o.reasoning_effort != "none" and not _is_claude(call):
            body["additionalModelRequestFields"] = {"reasoning_effort": o.reasoning_effort}
        return body

    # -- responses ---------------------------------------------------------------------------
    def parse_response(self, call: Call, body: Any) -> Decoded | DecodedEmbeddings:
        """Decode a Converse response (or an InvokeModel embeddings answer)."""
        provider = call.provider.id
        if call.operation == "embed":
            return _embeddings(body, provider)
        output = require(body, "output", Mapping, where="response", provider=provider)
        message = require(output, "message", Mapping, where="response.output", provider=provider)
        blocks = require(message, "content", list, where="response.output.message", provider=provider)
        content: list[TextPart | ThinkingPart] = []
        calls: list[ToolCall] = []
        for position, block in enumerate(blocks):
            if not isinstance(block, Mapping):
                continue
            if "text" in block:
                if block["text"]:
                    content.append(TextPart(text=str(block["text"])))
            elif "reasoningContent" in block:
                content.append(_reasoning_part(block["reasoningContent"]))
            elif "toolUse" in block:
                use = block["toolUse"]
                arguments = use.get("input")
                if arguments is None:
                    arguments = {}
                if not isinstance(arguments, dict):
                    raise ResponseDecodeError("toolUse input is not a JSON object", provider=provider,
                                              field=f"output.message.content[{position}].toolUse.input", raw=body)
                calls.append(ToolCall(id=use.get("toolUseId") or f"tooluse_{position}", name=use.get("name") or "",
                                      arguments=arguments))
        return Decoded(message=Message(role="assistant", content=content, tool_calls=calls),
                       finish_reason=_finish(body.get("stopReason")), usage=bedrock_usage(body.get("usage")))

    def new_stream(self, call: Call) -> StreamState:
        """State of one ConverseStream."""
        return _ConverseStream(call)

    def parse_event(self, state: StreamState, event: ServerSentEvent) -> list[StreamChunk]:
        """One event-stream message of a ConverseStream."""
        assert isinstance(state, _ConverseStream)
        if isinstance(event, EventStreamMessage) and event.message_type != "event":
            raise self._stream_exception(state.call, event)
        if not event.data:
            return []
        payload = event.json()
        if not isinstance(payload, Mapping):
            raise ResponseDecodeError("stream event is not a JSON object", provider=state.call.provider.id,
                                      field=f"event:{event.event}", raw=event.data)
        kind = event.event
        if kind == "contentBlockDelta":
            return _delta(state, payload)
        if kind == "contentBlockStart":
            index = int(payload.get("contentBlockIndex") or 0)
            use = (payload.get("start") or {}).get("toolUse")
            if isinstance(use, Mapping):
                state.blocks[index] = "tool"
                return [StreamChunk("tool_call", id=use.get("toolUseId"), name=use.get("name"), index=index)]
            return []
        if kind == "messageStop":
            state.done = True
            reason = _finish(payload.get("stopReason"))
            return [StreamChunk("meta", metadata={"finish_reason": reason})] if reason else []
        if kind == "metadata":
            usage = bedrock_usage(payload.get("usage"))
            return [StreamChunk("meta", metadata={"usage": usage})] if usage else []
        return []

    def _stream_exception(self, call: Call, event: EventStreamMessage) -> Exception:
        from ..errors import error_class

        try:
            payload = json.loads(event.data) if event.data else {}
        except ValueError:
            payload = {"message": event.data}
        if not isinstance(payload, Mapping):
            payload = {"message": str(payload)}
        error_type = event.event
        message = str(payload.get("message") or payload.get("Message") or event.data or error_type)
        kind = error_kind(error_type)
        return error_class(kind, None)(f"{error_type}: {message}", provider=call.provider.id, model=call.model.spec,
                                       body=dict(payload), code=error_type)

    def parse_error(self, status: int | None, body: Any) -> ErrorInfo:
        """``{"message": ...}`` (the type travels in ``x-amzn-errortype``; see ``parse_error_response``)."""
        if isinstance(body, Mapping):
            message = body.get("message") or body.get("Message")
            error_type = body.get("__type") or body.get("code")
            if message is not None or error_type is not None:
                code = str(error_type).rpartition("#")[2] if error_type else None
                return ErrorInfo(message=str(message or body), kind=error_kind(code), code=code)
        return super().parse_error(status, body)

    def parse_error_response(self, status: int, headers: httpx.Headers, body: Any) -> ErrorInfo:
        """The body's message with the error type from ``x-amzn-errortype`` (``ThrottlingException:...``)."""
        info = self.parse_error(status, body)
        header = headers.get("x-amzn-errortype")
        if header:
            code = header.split(":", 1)[0]
            info.code = code
            info.kind = error_kind(code) or info.kind
            if not info.message.startswith(f"{code}:"):
                info.message = f"{code}: {info.message}"
        return info


def _embed_body(call: Call) -> dict[str, Any]:
    """Cohere Embed: ``{"texts", "input_type"}``; Titan Text Embeddings: ``{"inputText", "dimensions"}``."""
    if "cohere.embed" in call.model.id:
        return {"texts": list(call.input), "input_type": "search_document"}
    body: dict[str, Any] = {"inputText": call.input[0]}
    if call.options.dimensions is not None:
        body["dimensions"] = call.options.dimensions
    return body


def _embeddings(body: Any, provider: str) -> DecodedEmbeddings:
    if isinstance(body, Mapping) and isinstance(body.get("embedding"), list):  # Titan
        count = body.get("inputTextTokenCount")
        return DecodedEmbeddings([[float(x) for x in body["embedding"]]],
                                 {"input_tokens": int(count)} if isinstance(count, int) else None)
    vectors = body.get("embeddings") if isinstance(body, Mapping) else None
    if isinstance(vectors, Mapping):  # Cohere with embedding_types: {"float": [...]}
        vectors = vectors.get("float")
    if not isinstance(vectors, list):
        raise ResponseDecodeError("the embeddings answer holds neither 'embedding' (Titan) nor 'embeddings' (Cohere)",
                                  provider=provider, field="embeddings", raw=body)
    return DecodedEmbeddings([[float(x) for x in v] for v in vectors])


def _finish(reason: Any) -> str | None:
    if not reason:
        return None
    return STOP_REASONS.get(str(reason), "other")


def _reasoning_part(reasoning: Any) -> ThinkingPart:
    if not isinstance(reasoning, Mapping):
        raise ResponseDecodeError("reasoningContent is not an object", field="reasoningContent", raw=reasoning)
    if reasoning.get("redactedContent") is not None:
        return ThinkingPart(metadata={REDACTED_KEY: _b64(reasoning["redactedContent"])})
    text = reasoning.get("reasoningText") or {}
    return ThinkingPart(text=str(text.get("text") or ""), signature=text.get("signature") or None)


def _b64(value: Any) -> str:
    """Redacted reasoning as base64 text (the JSON wire already carries it so; bytes are encoded)."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def _delta(state: _ConverseStream, payload: Mapping[str, Any]) -> list[StreamChunk]:
    index = int(payload.get("contentBlockIndex") or 0)
    delta = payload.get("delta") or {}
    if not isinstance(delta, Mapping):
        raise ResponseDecodeError("contentBlockDelta.delta is not an object", provider=state.call.provider.id,
                                  field="event:contentBlockDelta.delta", raw=payload)
    if "text" in delta:
        text = delta["text"]
        return [StreamChunk("content", text=text, index=index)] if text else []
    if "toolUse" in delta:
        fragment = (delta["toolUse"] or {}).get("input")
        return [StreamChunk("tool_call", arguments=fragment, index=index)] if fragment else []
    reasoning = delta.get("reasoningContent")
    if isinstance(reasoning, Mapping):
        if reasoning.get("text"):
            return [StreamChunk("thinking", text=reasoning["text"], index=index)]
        if reasoning.get("signature"):
            return [StreamChunk("thinking", index=index, metadata={"signature": reasoning["signature"]})]
        if reasoning.get("redactedContent") is not None:
            return [StreamChunk("thinking", index=index, metadata={REDACTED_KEY: _b64(reasoning["redactedContent"])})]
    return []
