"""Call options: the one place that knows every option, validates it, and names what is wrong."""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from collections.abc import Mapping
from typing import Any, Literal

import httpx

from ._types import Message, Tool
from .errors import InvalidOptionError

__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "Options", "ReasoningEffort", "check_header", "check_header_value",
           "check_json_numbers",
           "normalize_messages", "parse_options"]

ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh"]
_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
_TOOL_CHOICES = ("auto", "none", "required")


@dataclasses.dataclass(slots=True)
class Options:
    """Validated options of one call (None means "not given": the provider's default applies)."""

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    stop: list[str] | None = None
    seed: int | None = None
    tools: list[Tool] | None = None
    tool_choice: str | None = None
    reasoning_effort: str | None = None
    reasoning_budget: int | None = None
    provider_options: dict[str, Any] | None = None
    #: Never in ``repr``: secrets stay out of logs and tracebacks.
    api_key: str | None = dataclasses.field(default=None, repr=False)
    base_url: str | None = None
    http_client: httpx.Client | httpx.AsyncClient | None = None
    timeout: httpx.Timeout | None = None
    max_retries: int = 2
    system: str | None = None
    protocol: str | None = None
    headers: dict[str, str] | None = dataclasses.field(default=None, repr=False)
    dimensions: int | None = None
    #: Cloud location: the AWS region (Bedrock) or Google Cloud location (Vertex AI).
    region: str | None = None
    #: Google Cloud project (Vertex AI).
    project: str | None = None
    #: Azure resource name (``{resource}.openai.azure.com``).
    resource: str | None = None
    #: An OAuth bearer token minted by the caller (Vertex AI, Azure Entra ID).
    access_token: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None
    #: Seconds the whole call may take: every attempt, the waits between them and the whole body.
    deadline: float | None = None
    #: The most bytes a response body may hold once decoded (content-encoding undone).
    max_response_bytes: int = 64 * 1024 * 1024


_NAMES = frozenset(f.name for f in dataclasses.fields(Options)) - {"reasoning_effort", "reasoning_budget"} | {
    "reasoning"
}
DEFAULT_TIMEOUT = httpx.Timeout(120.0, connect=10.0)
_STRINGS = frozenset({"api_key", "base_url", "system", "protocol", "region", "project", "resource", "access_token",
                      "aws_access_key_id", "aws_secret_access_key", "aws_session_token"})
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
#: An HTTP header name (RFC 9110 token) and a value httpx can send as is (visible ASCII, spaces, tabs).
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_BAD_VALUE = re.compile(r"[^\t\x20-\x7e]")


def check_header(name: Any, value: Any, where: str) -> None:
    """InvalidOptionError unless ``name: value`` can be sent as an HTTP header; never shows the value."""
    if not isinstance(name, str) or not _TOKEN.fullmatch(name):
        raise InvalidOptionError(f"{where}: header name {name!r} is not a valid HTTP header name")
    check_header_value(value, f"{where}: the value of header {name!r}")


def check_header_value(value: Any, what: str) -> None:
    """InvalidOptionError unless ``value`` can be sent in an HTTP header; ``what`` names it; never shows it."""
    if not isinstance(value, str):
        raise InvalidOptionError(f"{what} must be a string, not {type(value).__name__}")
    bad = _BAD_VALUE.search(value)
    if bad is not None:
        kind = "a line break" if bad.group() in "\r\n" else (
            "a non-ASCII character" if ord(bad.group()) > 127 else "a control character")
        raise InvalidOptionError(f"{what} holds {kind} at position {bad.start()}, which HTTP headers cannot "
                                 f"carry (the value is not shown: it may be a secret)")


def check_json_numbers(value: Any, path: str) -> None:
    """InvalidOptionError naming the first NaN or infinity inside ``value`` (JSON has no such numbers)."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                raise InvalidOptionError(f"{where} is {item!r}, which JSON cannot carry; use a finite number")
        elif isinstance(item, Mapping):
            stack.extend((v, f"{where}.{k}") for k, v in item.items())
        elif isinstance(item, list | tuple):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(item))


def _number(name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidOptionError(f"option {name}={value!r} must be a number between {low} and {high}")
    return float(value)


def _integer(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidOptionError(f"option {name}={value!r} must be an integer >= {low}")
    return value


def _tool(value: Any, position: int) -> Tool:
    if isinstance(value, Tool):
        return value
    if isinstance(value, Mapping):
        spec = value.get("function", value) if value.get("type") == "function" else value
        try:
            return Tool(name=spec["name"], description=spec.get("description", ""),
                        parameters=spec.get("parameters") or {"type": "object", "properties": {}})
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidOptionError(f"option tools[{position}] is not a valid tool: {exc}") from None
    raise InvalidOptionError(
        f"option tools[{position}] must be a reqllm.Tool or a dict, not {type(value).__name__}")


def _tool_choice(value: Any, tools: list[Tool] | None) -> str:
    if isinstance(value, Mapping):
        function = value.get("function")
        value = (function.get("name") if isinstance(function, Mapping) else None) or value.get("name")
    if not isinstance(value, str):
        raise InvalidOptionError(
            f"option tool_choice={value!r} must be 'auto', 'none', 'required' or a tool name")
    if value in _TOOL_CHOICES:
        return value
    names = [t.name for t in tools or []]
    if value not in names:
        raise InvalidOptionError(f"option tool_choice={value!r} names no tool in tools={names}")
    return value


def parse_options(opts: Mapping[str, Any]) -> Options:
    """Validate keyword options; an unknown name or a bad value raises InvalidOptionError."""
    unknown = [k for k in opts if k not in _NAMES]
    if unknown:
        hints = {k: difflib.get_close_matches(k, sorted(_NAMES), n=1) for k in unknown}
        named = ", ".join(f"{k!r}" + (f" (did you mean {h[0]!r}?)" if h else "") for k, h in hints.items())
        raise InvalidOptionError(f"unknown option(s): {named}; known options: {', '.join(sorted(_NAMES))}")
    o = Options()
    for name, value in opts.items():
        if value is None:
            continue
        if name == "temperature":
            o.temperature = _number(name, value, 0.0, 2.0)
        elif name == "top_p":
            o.top_p = _number(name, value, 0.0, 1.0)
        elif name == "max_tokens":
            o.max_tokens = _integer(name, value, 1)
        elif name == "seed":
            o.seed = _integer(name, value, -(2**63))
        elif name == "max_retries":
            o.max_retries = _integer(name, value, 0)
        elif name == "dimensions":
            o.dimensions = _integer(name, value, 1)
        elif name == "stop":
            stops = [value] if isinstance(value, str) else value
            if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
                raise InvalidOptionError(f"option stop={value!r} must be a string or a list of strings")
            o.stop = stops
        elif name == "tools":
            if not isinstance(value, list | tuple):
                raise InvalidOptionError(
                    f"option tools must be a list of reqllm.Tool, not {type(value).__name__}")
            o.tools = [_tool(t, i) for i, t in enumerate(value)]
            for i, t in enumerate(o.tools):
                check_json_numbers(t.parameters, f"option tools[{i}].parameters")
        elif name == "reasoning":
            _reasoning(o, value)
        elif name == "timeout":
            if isinstance(value, httpx.Timeout):
                o.timeout = value
            else:
                o.timeout = httpx.Timeout(_number(name, value, 0.0, 86400.0), connect=min(10.0, float(value)))
        elif name == "http_client":
            if not isinstance(value, httpx.Client | httpx.AsyncClient):
                kind = f"{type(value).__module__.split('.')[0]}.{type(value).__name__}"
                if kind.startswith("httpx2."):
                    raise InvalidOptionError(
                        f"option http_client is an {kind}: reqllm sends through httpx, not httpx2 (the package "
                        f"of the current official SDKs); pass an httpx.Client or httpx.AsyncClient")
                raise InvalidOptionError("option http_client must be an httpx.Client or httpx.AsyncClient, "
                                         f"not {kind}")
            o.http_client = value
        elif name in ("provider_options", "headers"):
            if not isinstance(value, Mapping):
                raise InvalidOptionError(f"option {name} must be a dict, not {type(value).__name__}")
            if name == "headers":
                for key, item in value.items():
                    check_header(key, item, "option headers")
            else:
                check_json_numbers(value, "option provider_options")
            setattr(o, name, dict(value))
        elif name == "deadline":
            o.deadline = _number(name, value, 0.0, 86400.0)
        elif name == "max_response_bytes":
            o.max_response_bytes = _integer(name, value, 1)
        elif name in _STRINGS:
            if not isinstance(value, str):
                raise InvalidOptionError(f"option {name} must be a string, not {type(value).__name__}")
            if name in ("api_key", "access_token", "aws_access_key_id", "aws_secret_access_key",
                        "aws_session_token"):
                check_header_value(value, f"option {name}")
            setattr(o, name, value)
    if "tool_choice" in opts and opts["tool_choice"] is not None:
        o.tool_choice = _tool_choice(opts["tool_choice"], o.tools)
    return o


def _reasoning(o: Options, value: Any) -> None:
    if isinstance(value, Mapping):
        effort, budget = value.get("effort"), value.get("budget_tokens", value.get("budget"))
    elif isinstance(value, bool):
        raise InvalidOptionError(
            "option reasoning must be an effort ('low', 'medium', 'high', ...) or a token budget")
    elif isinstance(value, int):
        effort, budget = None, value
    else:
        effort, budget = value, None
    if effort is not None:
        if effort not in _EFFORTS:
            raise InvalidOptionError(
                f"option reasoning effort {effort!r} must be one of {', '.join(_EFFORTS)}")
        o.reasoning_effort = effort
    if budget is not None:
        o.reasoning_budget = _integer("reasoning budget", budget, 0)


def normalize_messages(messages: Any, system: str | None) -> list[Message]:
    """A string, Messages or OpenAI-style dicts become Messages; ``system`` goes first."""
    if isinstance(messages, str):
        out = [Message(role="user", content=messages)]
    elif isinstance(messages, Message):
        out = [messages]
    elif isinstance(messages, list | tuple):
        out = [_message(m, i) for i, m in enumerate(messages)]
    else:
        raise InvalidOptionError(
            f"messages must be a string or a list of messages, not {type(messages).__name__}")
    if system is not None:
        out.insert(0, Message(role="system", content=system))
    if not any(m.role != "system" for m in out):
        raise InvalidOptionError("messages hold no user turn: give at least one non-system message")
    return out


def _message(value: Any, position: int) -> Message:
    if isinstance(value, Message):
        return value
    if not isinstance(value, Mapping):
        raise InvalidOptionError(
            f"messages[{position}] must be a Message or a dict, not {type(value).__name__}")
    data = dict(value)
    if data.get("role") == "developer":
        data["role"] = "system"
    try:
        if data.get("tool_calls"):
            data["tool_calls"] = [_openai_tool_call(c) for c in data["tool_calls"]]
        return Message.model_validate(data)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidOptionError(f"messages[{position}] is not a valid message: {exc}") from None


def _openai_tool_call(call: Any) -> Any:
    import json

    if isinstance(call, Mapping) and "function" in call:
        args = call["function"].get("arguments") or "{}"
        return {"id": call.get("id", ""), "name": call["function"]["name"],
                "arguments": json.loads(args) if isinstance(args, str) else args}
    return call
