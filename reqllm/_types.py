"""The values a reqllm call takes and returns: messages, tools, usage, responses, stream chunks."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "ContentPart",
    "EmbedResponse",
    "FinishReason",
    "ImagePart",
    "Message",
    "ObjectResponse",
    "Response",
    "StreamChunk",
    "TextPart",
    "ThinkingPart",
    "Tool",
    "ToolCall",
    "Usage",
    "UsageLimit",
]

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error", "other"]
Role = Literal["system", "user", "assistant", "tool"]


class TextPart(BaseModel):
    """Plain text; ``metadata`` keeps provider data that must travel back (e.g. a signature)."""

    type: Literal["text"] = "text"
    text: str
    metadata: dict[str, Any] = Field(default_factory=dict)


class ThinkingPart(BaseModel):
    """Reasoning text; ``signature`` (Anthropic) must be sent back unchanged on the next turn."""

    type: Literal["thinking"] = "thinking"
    text: str = ""
    signature: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class ImagePart(BaseModel):
    """An image, by URL or as base64 ``data`` with its ``media_type``."""

    type: Literal["image"] = "image"
    url: str | None = None
    data: str | None = None
    media_type: str = "image/png"


ContentPart = Annotated[TextPart | ThinkingPart | ImagePart, Field(discriminator="type")]


class ToolCall(BaseModel):
    """A call the model asked for: ``arguments`` is the parsed JSON object."""

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)


class Message(BaseModel):
    """One conversation turn. ``content`` accepts a string; tool results use role "tool"."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    content: list[ContentPart] = Field(default_factory=list)
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _content_from_string(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            return [TextPart(text=value)]
        if isinstance(value, list):
            return [_openai_part(p) if isinstance(p, dict) else p for p in value]
        return value

    @classmethod
    def user(cls, content: str | list[Any]) -> Message:
        """A user turn."""
        return cls(role="user", content=content)

    @classmethod
    def system(cls, content: str) -> Message:
        """A system turn."""
        return cls(role="system", content=content)

    @classmethod
    def assistant(cls, content: str, tool_calls: list[ToolCall] | None = None) -> Message:
        """An assistant turn, e.g. a few-shot example."""
        return cls(role="assistant", content=content, tool_calls=tool_calls or [])

    @classmethod
    def tool_result(cls, call: ToolCall | str, result: Any, *, name: str | None = None) -> Message:
        """The result of a tool call, to send back; non-string results are JSON-encoded (str() fallback)."""
        call_id = call.id if isinstance(call, ToolCall) else call
        tool_name = name or (call.name if isinstance(call, ToolCall) else None)
        text = result if isinstance(result, str) else json.dumps(result, default=str)
        return cls(role="tool", content=text, tool_call_id=call_id, name=tool_name)

    @property
    def text(self) -> str:
        """The concatenated text parts."""
        return "".join(p.text for p in self.content if isinstance(p, TextPart))

    @property
    def thinking(self) -> str:
        """The thinking parts' text; separate parts (reasoning items, summaries, thinking blocks) are
        separate thoughts, joined with a blank line."""
        return "\n\n".join(p.text for p in self.content if isinstance(p, ThinkingPart) and p.text)


def _openai_part(part: dict[str, Any]) -> Any:
    """Accept OpenAI-style content parts (``image_url``) next to reqllm's own."""
    if part.get("type") == "image_url":
        url = part["image_url"]["url"] if isinstance(part.get("image_url"), dict) else part.get("image_url")
        return ImagePart(url=url)
    return part


class Tool(BaseModel):
    """A function the model may call: JSON-schema ``parameters`` and an optional Python callable."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    callable: Callable[..., Any] | None = Field(default=None, exclude=True)
    strict: bool = False

    def __call__(self, **arguments: Any) -> Any:
        """Run the tool's callable with the model's arguments."""
        if self.callable is None:
            raise TypeError(f"tool {self.name!r} has no callable")
        return self.callable(**arguments)


class Usage(BaseModel):
    """Token counts of one call and its cost in USD (None when the model has no price)."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    cost: float | None = None


class UsageLimit(BaseModel):
    """Ceilings for one call (a tool loop counts all its steps); None means no limit.

    Checked before each request (input tokens estimated from the messages, see
    ``reqllm._usage_limit.estimate_input_tokens``) and after each response.
    """

    model_config = ConfigDict(extra="forbid")

    input_tokens: int | None = Field(default=None, ge=0)
    output_tokens: int | None = Field(default=None, ge=0)
    total_tokens: int | None = Field(default=None, ge=0)
    cost: float | None = Field(default=None, ge=0)
    requests: int | None = Field(default=None, ge=0)


class Response(BaseModel):
    """The result of generate_text: the assistant ``message`` plus usage and finish reason.

    After a tool loop, ``message`` is the last step's answer, ``steps`` holds each step's Response,
    ``messages`` the whole conversation (ready to continue) and ``usage`` the sum over steps.
    ``model`` is the model that answered; ``fallback_errors`` the errors of models that did not.
    """

    model: str
    message: Message
    finish_reason: FinishReason = "stop"
    usage: Usage = Field(default_factory=Usage)
    id: str | None = None
    raw: Any = Field(default=None, repr=False)
    steps: list[Response] = Field(default_factory=list, repr=False)
    messages: list[Message] = Field(default_factory=list, repr=False)
    fallback_errors: list[Any] = Field(default_factory=list, repr=False, exclude=True)

    @property
    def text(self) -> str:
        """The answer's text."""
        return self.message.text

    @property
    def thinking(self) -> str:
        """The answer's reasoning text, when the provider returned it."""
        return self.message.thinking

    @property
    def tool_calls(self) -> list[ToolCall]:
        """The tool calls the model asked for, in order."""
        return self.message.tool_calls

    def normalized(self) -> dict[str, Any]:
        """A provider-independent dict of the result (no raw body, no ids)."""
        return {
            "text": self.text,
            "thinking": self.thinking,
            "tool_calls": [{"name": c.name, "arguments": c.arguments} for c in self.tool_calls],
            "finish_reason": self.finish_reason,
            "usage": self.usage.model_dump(),
        }


class ObjectResponse(Response):
    """The result of generate_object: ``object`` is a model instance or a dict."""

    object: Any = None


class EmbedResponse(BaseModel):
    """The result of embed: one vector per input, in input order."""

    model: str
    embeddings: list[list[float]]
    usage: Usage = Field(default_factory=Usage)
    raw: Any = Field(default=None, repr=False)


ChunkType = Literal["content", "thinking", "tool_call", "meta"]


@dataclasses.dataclass(slots=True)
class StreamChunk:
    """One decoded piece of a stream.

    ``content`` and ``thinking`` carry ``text``; ``tool_call`` carries ``id``/``name`` on its first
    fragment and an ``arguments`` JSON fragment; ``meta`` carries ``usage`` and ``finish_reason`` in
    ``metadata``. ``index`` groups fragments of one block or call.
    """

    type: ChunkType
    text: str = ""
    id: str | None = None
    name: str | None = None
    arguments: str | None = None
    index: int = 0
    metadata: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A compact dict: fields at their default are left out."""
        out: dict[str, Any] = {"type": self.type}
        if self.text:
            out["text"] = self.text
        if self.id is not None:
            out["id"] = self.id
        if self.name is not None:
            out["name"] = self.name
        if self.arguments is not None:
            out["arguments"] = self.arguments
        if self.index:
            out["index"] = self.index
        if self.metadata:
            out["metadata"] = self.metadata
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StreamChunk:
        """The inverse of ``to_dict``."""
        return cls(**data)
