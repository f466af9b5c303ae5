"""Google Gemini (``generateContent``, ``streamGenerateContent``, ``embedContent``).

Reference: https://ai.google.dev/api/generate-content. A stream (``?alt=sse``) is a series of
``data:`` GenerateContentResponse objects with no ``[DONE]``: it is complete once a candidate
reports a ``finishReason``. Every chunk repeats ``usageMetadata`` (not monotonically; the last
one wins). Function calls arrive whole, often several in one chunk, usually without an id.
A ``thoughtSignature`` may ride on any part and must go back on that same part next turn: it is
kept in ``ToolCall.metadata["thought_signature"]``, ``TextPart.metadata["thought_signature"]``
or ``ThinkingPart.signature``.
"""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from .._sse import ServerSentEvent
from .._types import ImagePart, Message, StreamChunk, TextPart, ThinkingPart, ToolCall
from ..errors import APIError, ResponseDecodeError, error_class
from .base import Call, Decoded, DecodedEmbeddings, ErrorInfo, ErrorKind, Protocol, StreamState

__all__ = ["FINISH_REASONS", "Gemini", "gemini_usage"]

FINISH_REASONS = {
    "STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter", "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter", "PROHIBITED_CONTENT": "content_filter", "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter", "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter", "MALFORMED_FUNCTION_CALL": "error", "UNEXPECTED_TOOL_CALL": "error",
}
#: Thinking budgets (tokens) for a reasoning effort; 24576 is the most Flash models accept.
EFFORT_BUDGETS = {"none": 0, "minimal": 512, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 32768}
FLASH_MAX_BUDGET = 24576
#: Google's documented stand-in for a missing signature on a Gemini 3 function call.
SKIP_SIGNATURE = "skip_thought_signature_validator"
_TOOL_CHOICE = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
_AUTH_REASONS = frozenset({
    "API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_SERVICE_BLOCKED", "ACCESS_TOKEN_EXPIRED",
    "API_KEY_HTTP_REFERRER_BLOCKED", "API_KEY_IP_ADDRESS_BLOCKED",
})
_KIND_BY_STATUS: dict[str, ErrorKind] = {
    "UNAUTHENTICATED": "auth", "PERMISSION_DENIED": "auth", "RESOURCE_EXHAUSTED": "rate_limit",
    "UNAVAILABLE": "unavailable", "INTERNAL": "unavailable", "DEADLINE_EXCEEDED": "unavailable",
    "INVALID_ARGUMENT": "invalid_request", "FAILED_PRECONDITION": "invalid_request",
    "NOT_FOUND": "invalid_request", "OUT_OF_RANGE": "invalid_request",
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")
_DATA_URL = re.compile(r"^data:([^;,]+)?(?:;[^,]*)?;base64,(.*)$", re.DOTALL)


def gemini_usage(meta: Any) -> dict[str, int] | None:
    """Usage counts from ``usageMetadata``; every key is always present so a later chunk replaces all."""
    if not isinstance(meta, Mapping):
        return None
    prompt = int(meta.get("promptTokenCount") or 0) + int(meta.get("toolUsePromptTokenCount") or 0)
    thoughts = int(meta.get("thoughtsTokenCount") or 0)
    output = int(meta.get("candidatesTokenCount") or 0) + thoughts
    return {"input_tokens": prompt, "output_tokens": output,
            "total_tokens": int(meta.get("totalTokenCount") or prompt + output),
            "reasoning_tokens": thoughts, "cached_tokens": int(meta.get("cachedContentTokenCount") or 0)}


def _model_path(call: Call) -> str:
    model_id = call.model.id
    return model_id if model_id.startswith(("models/", "tunedModels/")) else f"models/{model_id}"


def _thinking_config(call: Call) -> dict[str, Any] | None:
    options = call.options
    if options.reasoning_budget is not None:
        budget = options.reasoning_budget
    elif options.reasoning_effort is not None:
        budget = EFFORT_BUDGETS.get(options.reasoning_effort, EFFORT_BUDGETS["medium"])
        if "flash" in call.model.id:
            budget = min(budget, FLASH_MAX_BUDGET)
    else:
        return None
    if budget == 0:
        return {"thinkingBudget": 0}
    return {"thinkingBudget": budget, "includeThoughts": True}


def _image(part: ImagePart) -> dict[str, Any]:
    if part.data:
        return {"inlineData": {"mimeType": part.media_type, "data": part.data}}
    url = part.url or ""
    inline = _DATA_URL.match(url)
    if inline:
        return {"inlineData": {"mimeType": inline.group(1) or part.media_type, "data": inline.group(2)}}
    guessed = mimetypes.guess_type(url.split("?", 1)[0])[0]
    return {"fileData": {"mimeType": guessed or part.media_type, "fileUri": url}}


def _with_signature(part: dict[str, Any], signature: Any) -> dict[str, Any]:
    if signature:
        part["thoughtSignature"] = signature
    return part


def _model_parts(message: Message, gemini3: bool) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for p in message.content:
        if isinstance(p, ThinkingPart):
            if p.text or p.signature:
                parts.append(_with_signature({"text": p.text, "thought": True}, p.signature))
        elif isinstance(p, TextPart):
            signature = p.metadata.get("thought_signature")
            if p.text or signature:
                parts.append(_with_signature({"text": p.text}, signature))
        elif isinstance(p, ImagePart):
            parts.append(_image(p))
    for i, c in enumerate(message.tool_calls):
        signature = c.metadata.get("thought_signature") or (SKIP_SIGNATURE if gemini3 and i == 0 else None)
        parts.append(_with_signature({"functionCall": {"name": c.name, "args": c.arguments}}, signature))
    return parts


def _user_parts(message: Message) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for p in message.content:
        if isinstance(p, TextPart) and p.text:
            parts.append({"text": p.text})
        elif isinstance(p, ImagePart):
            parts.append(_image(p))
    return parts


def _tool_result(message: Message, names: Mapping[str, str]) -> dict[str, Any]:
    text = message.text
    result: Any = text
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict | list):
        result = parsed
    name = message.name or names.get(message.tool_call_id or "", "")
    return {"functionResponse": {"name": name, "response": {"result": result}}}


def contents(call: Call) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``contents`` turns and the system instruction parts of a call's messages."""
    gemini3 = "gemini-3" in call.model.id
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    results: dict[str, Any] | None = None
    for m in call.messages:
        if m.role == "system":
            system.extend({"text": p.text} for p in m.content if isinstance(p, TextPart) and p.text)
            continue
        if m.role == "tool":
            part = _tool_result(m, names)
            if results is None:
                results = {"role": "user", "parts": []}
                turns.append(results)
            results["parts"].append(part)
            continue
        results = None
        if m.role == "assistant":
            names.update((c.id, c.name) for c in m.tool_calls)
            parts = _model_parts(m, gemini3)
            if parts:
                turns.append({"role": "model", "parts": parts})
        else:
            parts = _user_parts(m)
            if parts:
                turns.append({"role": "user", "parts": parts})
    return turns, system


def _generation_config(call: Call) -> dict[str, Any]:
    o = call.options
    config: dict[str, Any] = {}
    if o.temperature is not None:
        config["temperature"] = o.temperature
    if o.top_p is not None:
        config["topP"] = o.top_p
    if o.max_tokens is not None:
        config["maxOutputTokens"] = o.max_tokens
    if o.stop is not None:
        config["stopSequences"] = o.stop
    if o.seed is not None:
        config["seed"] = o.seed
    if call.operation == "object" and call.schema is not None:
        config["responseMimeType"] = "application/json"
        config["responseJsonSchema"] = call.schema
    thinking = _thinking_config(call)
    if thinking is not None:
        config["thinkingConfig"] = thinking
    return config


def _tool_config(choice: str | None) -> dict[str, Any] | None:
    if choice is None:
        return None
    if choice in _TOOL_CHOICE:
        return {"functionCallingConfig": {"mode": _TOOL_CHOICE[choice]}}
    return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [choice]}}


def _call_id(raw: Mapping[str, Any], response_id: Any, position: int) -> str:
    """The provider's id, else one derived from the response id and the call's position (stable)."""
    given = raw.get("id")
    if given:
        return str(given)
    return f"call_{response_id}_{position}" if response_id else f"call_{position}"


def _candidate(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    candidates = body.get("candidates")
    if isinstance(candidates, list) and candidates and isinstance(candidates[0], Mapping):
        return candidates[0]
    return None


def _finish(candidate: Mapping[str, Any] | None, body: Mapping[str, Any]) -> str | None:
    reason = candidate.get("finishReason") if candidate is not None else None
    if reason:
        return FINISH_REASONS.get(str(reason), "other")
    feedback = body.get("promptFeedback")
    if candidate is None and isinstance(feedback, Mapping) and feedback.get("blockReason"):
        return "content_filter"
    return None


def _parts(candidate: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    content = candidate.get("content") if candidate is not None else None
    parts = content.get("parts") if isinstance(content, Mapping) else None
    return [p for p in parts if isinstance(p, Mapping)] if isinstance(parts, list) else []


def _retry_delay(details: Any) -> float | None:
    for detail in details if isinstance(details, list) else ():
        if isinstance(detail, Mapping) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            delay = detail.get("retryDelay")
            match = _DURATION.match(delay) if isinstance(delay, str) else None
            if match:
                return float(match.group(1))
    return None


def _reason(details: Any) -> str | None:
    for detail in details if isinstance(details, list) else ():
        if isinstance(detail, Mapping) and detail.get("reason"):
            return str(detail["reason"])
    return None


class _GeminiStream(StreamState):
    def __init__(self, call: Call) -> None:
        super().__init__(call)
        self.response_id: str | None = None
        self.tool_calls = 0
        self.blocks: dict[str, int] = {}
        self.last_kind: str | None = None
        self.block_signed = False

    def block(self, kind: str, signed: bool) -> int:
        """The chunk index of a text/thinking part: a new block after another kind, or a second signature."""
        if self.last_kind != kind or (signed and self.block_signed):
            self.blocks[kind] = self.blocks.get(kind, -1) + 1
            self.block_signed = False
        self.last_kind = kind
        self.block_signed = self.block_signed or signed
        return self.blocks[kind]


class Gemini(Protocol):
    """The Google Gemini (Generative Language API) wire protocol."""

    id: ClassVar[str] = "gemini"
    auth: ClassVar[str] = "x-goog-api-key"
    default_base_url: ClassVar[str | None] = "https://generativelanguage.googleapis.com/v1beta"
    operations: ClassVar[frozenset[str]] = frozenset({"chat", "object", "embed"})
    embed_batch_size: ClassVar[int] = 100

    # -- requests ----------------------------------------------------------------------------
    def build_request(self, call: Call) -> httpx.Request:
        """generateContent, streamGenerateContent (SSE), embedContent or batchEmbedContents."""
        path = "/" + _model_path(call)
        if call.operation == "embed":
            return self._embed_request(call, path)
        body = self.chat_body(call)
        if call.stream:
            return self.post(call, f"{path}:streamGenerateContent", body, params={"alt": "sse"})
        return self.post(call, f"{path}:generateContent", body)

    def chat_body(self, call: Call) -> dict[str, Any]:
        """The JSON body of a generateContent call."""
        turns, system = contents(call)
        body: dict[str, Any] = {"contents": turns}
        if system:
            body["systemInstruction"] = {"parts": system}
        config = _generation_config(call)
        if config:
            body["generationConfig"] = config
        tools = call.options.tools or []
        if tools:
            body["tools"] = [{"functionDeclarations": [
                {"name": t.name, **({"description": t.description} if t.description else {}),
                 "parametersJsonSchema": t.parameters} for t in tools]}]
            tool_config = _tool_config(call.options.tool_choice)
            if tool_config is not None:
                body["toolConfig"] = tool_config
        return body

    def _embed_request(self, call: Call, path: str) -> httpx.Request:
        dimensions = call.options.dimensions
        extra = {"outputDimensionality": dimensions} if dimensions is not None else {}
        if len(call.input) == 1:
            body = {"content": {"parts": [{"text": call.input[0]}]}, **extra}
            return self.post(call, f"{path}:embedContent", body)
        requests = [{"model": _model_path(call), "content": {"parts": [{"text": text}]}, **extra}
                    for text in call.input]
        return self.post(call, f"{path}:batchEmbedContents", {"requests": requests})

    # -- responses ---------------------------------------------------------------------------
    def parse_response(self, call: Call, body: Any) -> Decoded | DecodedEmbeddings:
        """Decode a GenerateContentResponse or an embeddings answer."""
        if not isinstance(body, Mapping):
            raise ResponseDecodeError("response is not a JSON object", provider=call.provider.id,
                                      field="body", raw=body)
        if call.operation == "embed":
            return self._embeddings(call, body)
        candidate = _candidate(body)
        finish = _finish(candidate, body)
        if candidate is None and finish is None:
            raise ResponseDecodeError("response has no candidates", provider=call.provider.id,
                                      field="candidates", raw=body)
        response_id = body.get("responseId")
        content: list[TextPart | ThinkingPart] = []
        calls: list[ToolCall] = []
        for part in _parts(candidate):
            signature = part.get("thoughtSignature")
            function = part.get("functionCall")
            if isinstance(function, Mapping):
                calls.append(ToolCall(id=_call_id(function, response_id, len(calls)),
                                      name=str(function.get("name") or ""),
                                      arguments=dict(function.get("args") or {}),
                                      metadata={"thought_signature": signature} if signature else {}))
            elif isinstance(part.get("text"), str):
                if part.get("thought"):
                    content.append(ThinkingPart(text=part["text"], signature=signature))
                elif part["text"] or signature:
                    content.append(TextPart(text=part["text"],
                                            metadata={"thought_signature": signature} if signature else {}))
        return Decoded(message=Message(role="assistant", content=content, tool_calls=calls),
                       finish_reason=finish, usage=gemini_usage(body.get("usageMetadata")),
                       id=response_id if isinstance(response_id, str) else None)

    def _embeddings(self, call: Call, body: Mapping[str, Any]) -> DecodedEmbeddings:
        items = body.get("embeddings")
        if items is None and isinstance(body.get("embedding"), Mapping):
            items = [body["embedding"]]
        if not isinstance(items, list):
            raise ResponseDecodeError("embeddings response has no embeddings", provider=call.provider.id,
                                      field="embeddings", raw=body)
        return DecodedEmbeddings([[float(v) for v in item["values"]] for item in items])

    def new_stream(self, call: Call) -> StreamState:
        """State of one Gemini stream."""
        return _GeminiStream(call)

    def parse_event(self, state: StreamState, event: ServerSentEvent) -> list[StreamChunk]:
        """One ``data:`` GenerateContentResponse (or an ``{"error": ...}`` payload)."""
        assert isinstance(state, _GeminiStream)
        if not event.data.strip():
            return []
        payload = event.json()
        if isinstance(payload, list) and len(payload) == 1:
            payload = payload[0]
        if not isinstance(payload, Mapping):
            raise ResponseDecodeError("stream chunk is not a JSON object", provider=state.call.provider.id,
                                      field="data", raw=event.data)
        if payload.get("error"):
            raise self.stream_error(state.call, payload)
        if isinstance(payload.get("responseId"), str):
            state.response_id = payload["responseId"]
        candidate = _candidate(payload)
        out: list[StreamChunk] = []
        for part in _parts(candidate):
            chunk = self._part_chunk(state, part)
            if chunk is not None:
                out.append(chunk)
        meta: dict[str, Any] = {}
        usage = gemini_usage(payload.get("usageMetadata"))
        if usage is not None:
            meta["usage"] = usage
        if state.response_id:
            meta["id"] = state.response_id
        finish = _finish(candidate, payload)
        if finish is not None:
            meta["finish_reason"] = finish
            state.done = True
        if meta:
            out.append(StreamChunk("meta", metadata=meta))
        return out

    def _part_chunk(self, state: _GeminiStream, part: Mapping[str, Any]) -> StreamChunk | None:
        signature = part.get("thoughtSignature")
        function = part.get("functionCall")
        if isinstance(function, Mapping):
            index = state.tool_calls
            state.tool_calls += 1
            state.last_kind = "tool_call"
            return StreamChunk("tool_call", id=_call_id(function, state.response_id, index),
                               name=str(function.get("name") or ""),
                               arguments=json.dumps(function.get("args") or {}),
                               index=index, metadata={"thought_signature": signature} if signature else None)
        text = part.get("text")
        if not isinstance(text, str) or not (text or signature):
            return None
        if part.get("thought"):
            return StreamChunk("thinking", text=text, index=state.block("thinking", bool(signature)),
                               metadata={"signature": signature} if signature else None)
        return StreamChunk("content", text=text, index=state.block("content", bool(signature)),
                           metadata={"thought_signature": signature} if signature else None)

    def stream_error(self, call: Call, payload: Mapping[str, Any]) -> APIError:
        """The typed error for an in-stream ``{"error": ...}`` payload."""
        info = self.parse_error(None, payload)
        err = payload.get("error")
        status = err.get("code") if isinstance(err, Mapping) else None
        cls = error_class(info.kind, status if isinstance(status, int) else None)
        return cls(info.message, provider=call.provider.id, model=call.model.spec, body=payload,
                   code=info.code, retry_after=info.retry_after)

    def parse_error(self, status: int | None, body: Any) -> ErrorInfo:
        """Google RPC error bodies: ``{"error": {"code", "message", "status", "details"}}``."""
        if isinstance(body, list) and body:
            body = body[0]
        err = body.get("error") if isinstance(body, Mapping) else None
        if not isinstance(err, Mapping):
            return super().parse_error(status, body)
        details = err.get("details")
        reason = _reason(details)
        rpc_status = str(err.get("status") or "")
        kind: ErrorKind | None = "auth" if reason in _AUTH_REASONS else _KIND_BY_STATUS.get(rpc_status)
        return ErrorInfo(message=str(err.get("message") or err), kind=kind, code=reason or rpc_status or None,
                         retry_after=_retry_delay(details))
