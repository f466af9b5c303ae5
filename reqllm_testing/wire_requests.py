"""Requests read back: which protocol a request speaks, and its messages and tools as reqllm values.

The inverse of each protocol's request builder, for any client's request (reqllm's or an official
SDK's): ``detect(method, path)`` names the protocol and operation from the URL alone, and
``read_body(protocol, body)`` gives the conversation as ``reqllm.Message`` s (tool calls and tool
results included) and the tools as ``reqllm.Tool`` s.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from reqllm import ImagePart, Message, TextPart, ThinkingPart, Tool, ToolCall

__all__ = ["Endpoint", "detect", "read_body"]

Endpoint = tuple[str, str, bool]  # (protocol, operation: "chat" | "embed", stream from the URL)


def detect(method: str, path: str) -> Endpoint | None:
    """The protocol, operation and URL-given stream flag of a request, or None for an unknown endpoint."""
    if method.upper() != "POST":
        return None
    if path.endswith("/chat/completions"):
        return "openai_chat", "chat", False
    if path.endswith("/responses"):
        return "openai_responses", "chat", False
    if path.endswith("/messages"):
        return "anthropic", "chat", False
    if path.endswith(":generateContent"):
        return "gemini", "chat", False
    if path.endswith(":streamGenerateContent"):
        return "gemini", "chat", True
    if path.endswith("/embeddings"):
        return "openai_chat", "embed", False
    if path.endswith((":embedContent", ":batchEmbedContents")):
        return "gemini", "embed", False
    return None


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text") or "") for p in content if isinstance(p, Mapping))
    return "" if content is None else str(content)


def _arguments(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _parts(content: Any) -> list[TextPart | ImagePart]:
    """OpenAI Chat / Responses user content (a string or typed parts) as reqllm parts."""
    if isinstance(content, str):
        return [TextPart(text=content)]
    parts: list[TextPart | ImagePart] = []
    for part in content or ():
        if not isinstance(part, Mapping):
            continue
        kind = part.get("type")
        if kind in ("text", "input_text", "output_text"):
            parts.append(TextPart(text=str(part.get("text") or "")))
        elif kind == "image_url":
            image = part.get("image_url")
            parts.append(ImagePart(url=image.get("url") if isinstance(image, Mapping) else image))
        elif kind == "input_image":
            parts.append(ImagePart(url=part.get("image_url")))
    return parts


# -- OpenAI Chat Completions ---------------------------------------------------------------------------
def _chat(body: Mapping[str, Any]) -> tuple[list[Message], list[Tool]]:
    messages: list[Message] = []
    for raw in body.get("messages") or ():
        role = raw.get("role")
        if role in ("system", "developer"):
            messages.append(Message.system(_text_of(raw.get("content"))))
        elif role == "tool":
            messages.append(Message(role="tool", content=_text_of(raw.get("content")),
                                    tool_call_id=raw.get("tool_call_id")))
        elif role == "assistant":
            content: list[Any] = []
            reasoning = raw.get("reasoning_content") or raw.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                content.append(ThinkingPart(text=reasoning))
            text = _text_of(raw.get("content"))
            if text:
                content.append(TextPart(text=text))
            calls = [ToolCall(id=c.get("id") or "", name=(c.get("function") or {}).get("name") or "",
                              arguments=_arguments((c.get("function") or {}).get("arguments")))
                     for c in raw.get("tool_calls") or ()]
            messages.append(Message(role="assistant", content=content, tool_calls=calls))
        else:
            messages.append(Message(role="user", content=_parts(raw.get("content"))))
    tools = [Tool(name=f.get("name") or "", description=f.get("description") or "",
                  parameters=f.get("parameters") or {"type": "object", "properties": {}})
             for f in ((t.get("function") or {}) for t in body.get("tools") or () if t.get("type") == "function")]
    return messages, tools


# -- OpenAI Responses ------------------------------------------------------------------------------------
def _responses(body: Mapping[str, Any]) -> tuple[list[Message], list[Tool]]:
    messages: list[Message] = []
    if body.get("instructions"):
        messages.append(Message.system(str(body["instructions"])))
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]

    def assistant() -> Message:
        if not messages or messages[-1].role != "assistant":
            messages.append(Message(role="assistant"))
        return messages[-1]

    for item in items or ():
        kind = item.get("type") or "message"
        if kind == "function_call":
            assistant().tool_calls.append(ToolCall(id=item.get("call_id") or item.get("id") or "",
                                                   name=item.get("name") or "",
                                                   arguments=_arguments(item.get("arguments"))))
        elif kind == "function_call_output":
            output = item.get("output")
            messages.append(Message(role="tool", content=output if isinstance(output, str) else _text_of(output),
                                    tool_call_id=item.get("call_id")))
        elif kind == "reasoning":
            summary = "\n\n".join(str(s.get("text") or "") for s in item.get("summary") or ())
            assistant().content.append(ThinkingPart(text=summary))
        elif kind == "message":
            role = item.get("role")
            if role in ("system", "developer"):
                messages.append(Message.system(_text_of(item.get("content"))))
            elif role == "assistant":
                text = _text_of(item.get("content"))
                if text:
                    assistant().content.append(TextPart(text=text))
            else:
                messages.append(Message(role="user", content=_parts(item.get("content"))))
    tools = [Tool(name=t.get("name") or "", description=t.get("description") or "",
                  parameters=t.get("parameters") or {"type": "object", "properties": {}})
             for t in body.get("tools") or () if t.get("type") == "function"]
    return messages, tools


# -- Anthropic Messages ---------------------------------------------------------------------------------
def _anthropic_image(block: Mapping[str, Any]) -> ImagePart:
    source = block.get("source") or {}
    if source.get("type") == "base64":
        return ImagePart(data=source.get("data"), media_type=source.get("media_type") or "image/png")
    return ImagePart(url=source.get("url"))


def _anthropic(body: Mapping[str, Any]) -> tuple[list[Message], list[Tool]]:
    messages: list[Message] = []
    system = body.get("system")
    if system:
        messages.append(Message.system(_text_of(system)))
    for raw in body.get("messages") or ():
        content = raw.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else list(content or ())
        if raw.get("role") == "assistant":
            parts: list[Any] = []
            calls: list[ToolCall] = []
            for block in blocks:
                kind = block.get("type")
                if kind == "text":
                    parts.append(TextPart(text=block.get("text") or ""))
                elif kind == "thinking":
                    parts.append(ThinkingPart(text=block.get("thinking") or "", signature=block.get("signature")))
                elif kind == "tool_use":
                    calls.append(ToolCall(id=block.get("id") or "", name=block.get("name") or "",
                                          arguments=_arguments(block.get("input"))))
            messages.append(Message(role="assistant", content=parts, tool_calls=calls))
            continue
        user: list[TextPart | ImagePart] = []
        for block in blocks:
            kind = block.get("type")
            if kind == "tool_result":
                messages.append(Message(role="tool", content=_text_of(block.get("content")),
                                        tool_call_id=block.get("tool_use_id")))
            elif kind == "text":
                user.append(TextPart(text=block.get("text") or ""))
            elif kind == "image":
                user.append(_anthropic_image(block))
        if user:
            messages.append(Message(role="user", content=user))
    tools = [Tool(name=t.get("name") or "", description=t.get("description") or "",
                  parameters=t.get("input_schema") or {"type": "object", "properties": {}})
             for t in body.get("tools") or () if "input_schema" in t or t.get("type") in (None, "custom")]
    return messages, tools


# -- Gemini ----------------------------------------------------------------------------------------------
def _gemini(body: Mapping[str, Any]) -> tuple[list[Message], list[Tool]]:
    messages: list[Message] = []
    system = body.get("systemInstruction") or body.get("system_instruction")
    if isinstance(system, Mapping) and system.get("parts"):
        messages.append(Message.system(_text_of(system["parts"])))
    for turn in body.get("contents") or ():
        parts = turn.get("parts") or ()
        if turn.get("role") == "model":
            content: list[Any] = []
            calls: list[ToolCall] = []
            for part in parts:
                call = part.get("functionCall") or part.get("function_call")
                if isinstance(call, Mapping):
                    # Gemini usually sends no call ids; calls and results pair by name.
                    calls.append(ToolCall(id=call.get("id") or call.get("name") or "", name=call.get("name") or "",
                                          arguments=dict(call.get("args") or {})))
                elif part.get("thought"):
                    content.append(ThinkingPart(text=part.get("text") or ""))
                elif "text" in part:
                    content.append(TextPart(text=part.get("text") or ""))
            messages.append(Message(role="assistant", content=content, tool_calls=calls))
            continue
        user: list[TextPart | ImagePart] = []
        for part in parts:
            result = part.get("functionResponse") or part.get("function_response")
            if isinstance(result, Mapping):
                response = result.get("response")
                value = response.get("result", response) if isinstance(response, Mapping) else response
                text = value if isinstance(value, str) else json.dumps(value)
                messages.append(Message(role="tool", content=text, tool_call_id=result.get("id") or result.get("name"),
                                        name=result.get("name")))
            elif "text" in part:
                user.append(TextPart(text=part.get("text") or ""))
            elif isinstance(part.get("inlineData") or part.get("inline_data"), Mapping):
                data = part.get("inlineData") or part.get("inline_data")
                user.append(ImagePart(data=data.get("data"), media_type=data.get("mimeType") or "image/png"))
        if user:
            messages.append(Message(role="user", content=user))
    tools = []
    for group in body.get("tools") or ():
        for f in group.get("functionDeclarations") or group.get("function_declarations") or ():
            tools.append(Tool(name=f.get("name") or "", description=f.get("description") or "",
                              parameters=f.get("parametersJsonSchema") or f.get("parameters")
                              or {"type": "object", "properties": {}}))
    return messages, tools


def read_body(protocol: str, body: Any) -> tuple[list[Message], list[Tool]]:
    """The messages and tools of a chat request body of ``protocol``."""
    if not isinstance(body, Mapping):
        return [], []
    reader = {"openai_chat": _chat, "openai_responses": _responses, "anthropic": _anthropic,
              "gemini": _gemini}[protocol]
    return reader(body)
