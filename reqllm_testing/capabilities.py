"""Capability verifiers: what a model advertises, checked through reqllm's public API only.

Each capability has an ``id``, ``advertised(model)`` (from registry metadata) and
``verify(model, **opts)`` returning a ``CapabilityResult``. Downstream projects use them for
their own models and custom providers::

    from reqllm_testing.capabilities import CAPABILITIES, verify
    result = verify("my-provider:my-model", "tool_calling", api_key=...)
    assert result.passed, result.summary()
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "CAPABILITIES",
    "Capability",
    "CapabilityResult",
    "Check",
    "advertised_capabilities",
    "verify",
]

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name"}},
        "required": ["city"],
    },
}
PERSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}
FINISH_REASONS = {"stop", "length", "tool_calls", "content_filter", "error", "other"}


class Check(BaseModel):
    """One assertion a verifier made."""

    name: str
    passed: bool
    detail: str = ""


class CapabilityResult(BaseModel):
    """The outcome of verifying one capability of one model."""

    model: str
    capability: str
    passed: bool
    checks: list[Check] = Field(default_factory=list)
    error: str | None = None
    duration: float = 0.0

    def summary(self) -> str:
        """One line per failed check (or the error), for assertion messages."""
        if self.error:
            return f"{self.model}/{self.capability}: {self.error}"
        failed = [f"{c.name}: {c.detail}" for c in self.checks if not c.passed]
        return f"{self.model}/{self.capability}: " + ("; ".join(failed) if failed else "passed")


class _Checks:
    def __init__(self) -> None:
        self.items: list[Check] = []

    def that(self, name: str, condition: bool, detail: Any = "") -> bool:
        self.items.append(Check(name=name, passed=bool(condition), detail=str(detail)[:500]))
        return bool(condition)


def _model(spec: Any) -> Any:
    import reqllm

    return reqllm.model(spec, allow_unknown=True) if isinstance(spec, str) else spec


def _base_opts(model: Any, opts: dict[str, Any]) -> dict[str, Any]:
    out = dict(opts)
    if model.temperature and "temperature" not in out:
        out["temperature"] = 0.0
    return out


class Capability:
    """A capability: ``advertised`` from metadata, ``verify`` through the public API."""

    def __init__(self, id: str, description: str, advertised: Callable[[Any], bool],
                 run: Callable[[Any, dict[str, Any], _Checks], None]) -> None:
        self.id = id
        self.description = description
        self._advertised = advertised
        self._run = run

    def __repr__(self) -> str:
        return f"Capability({self.id!r})"

    def advertised(self, model: Any) -> bool:
        """True when the registry says the model has this capability."""
        resolved = _model(model)
        return self.id not in resolved.unsupported and self._advertised(resolved)

    def verify(self, model: Any, **opts: Any) -> CapabilityResult:
        """Exercise the capability; failures are reported in the result, never raised."""
        from reqllm import ReqLLMError

        resolved = _model(model)
        checks = _Checks()
        started = time.perf_counter()
        error: str | None = None
        try:
            self._run(resolved, _base_opts(resolved, opts), checks)
        except ReqLLMError as exc:
            error = f"{type(exc).__name__}: {exc}"
        passed = error is None and bool(checks.items) and all(c.passed for c in checks.items)
        return CapabilityResult(model=resolved.spec, capability=self.id, passed=passed, checks=checks.items,
                                error=error, duration=time.perf_counter() - started)


# -- advertised -----------------------------------------------------------------------------------
def _text(model: Any) -> bool:
    return not model.embedding and "text" in model.modalities.output


def _tools(model: Any) -> bool:
    return _text(model) and bool(model.tool_call)


def _objects(model: Any) -> bool:
    return _text(model) and (bool(model.structured_output) or bool(model.tool_call))


# -- verifiers ------------------------------------------------------------------------------------
def _generate_text(model: Any, opts: dict[str, Any], c: _Checks) -> None:
    import reqllm

    r = reqllm.generate_text(model, "Say hello in one short sentence.", max_tokens=opts.pop("max_tokens", 64),
                             **opts)
    c.that("text is not empty", bool(r.text.strip()) or bool(r.thinking), repr(r.text))
    c.that("finish_reason is known", r.finish_reason in FINISH_REASONS, r.finish_reason)
    c.that("message is an assistant turn", r.message.role == "assistant", r.message.role)


def _stream_text(model: Any, opts: dict[str, Any], c: _Checks) -> None:
    import reqllm

    stream = reqllm.stream_text(model, "Count from 1 to 5.", max_tokens=opts.pop("max_tokens", 64), **opts)
    chunks = list(stream)
    final = stream.to_response()
    text = "".join(ch.text for ch in chunks if ch.type == "content")
    c.that("chunks arrived", len(chunks) > 1, len(chunks))
    c.that("streamed text equals the final text", text == final.text, f"{text!r} != {final.text!r}")
    c.that("text is not empty", bool(final.text.strip()) or bool(final.thinking), repr(final.text))
    c.that("usage is reported", final.usage.total_tokens > 0, final.usage)
    c.that("finish_reason is present", final.finish_reason in FINISH_REASONS, final.finish_reason)


def _token_limit(model: Any, opts: dict[str, Any], c: _Checks) -> None:
    import reqllm

    opts.pop("max_tokens", None)
    r = reqllm.generate_text(model, "Write a long story about a lighthouse keeper.", max_tokens=5, **opts)
    c.that("finish_reason is length", r.finish_reason == "length", r.finish_reason)
    c.that("output tokens within the limit", 0 < r.usage.output_tokens <= 5 or r.usage.output_tokens == 0,
           r.usage.output_tokens)


def _tool_calling(model: Any, opts: dict[str, Any], c: _Checks) -> None:
    import reqllm

    tool = reqllm.Tool(**WEATHER_TOOL)
    messages: list[Any] = [reqllm.Message.user("What is the weather in Paris? Use the tool.")]
    first = reqllm.generate_text(model, messages, tools=[tool], tool_choice="get_weather",
                                 max_tokens=opts.pop("max_tokens", 128), **opts)
    if not c.that("a tool call came back", len(first.tool_calls) >= 1, first.text):
        return
    call = first.tool_calls[0]
    c.that("the forced tool was called", call.name == "get_weather", call.name)
    c.that("arguments are a parsed object", isinstance(call.arguments, dict), call.arguments)
    c.that("the call has an id", bool(call.id), call.id)
    c.that("finish_reason is tool_calls", first.finish_reason == "tool_calls", first.finish_reason)
    messages += [first.message, reqllm.Message.tool_result(call, {"temperature_c": 21, "sky": "clear"})]
    final = reqllm.generate_text(model, messages, tools=[tool], tool_choice="none", max_tokens=64, **opts)
    # The provider accepted the tool result and answered without asking for another call. (The text may be
    # empty: a small local model answers a tool result with an immediate end of turn.)
    c.that("round trip: the tool result was accepted and answered",
           final.message.role == "assistant" and not final.tool_calls and final.finish_reason in ("stop", "length"),
           f"finish_reason={final.finish_reason} text={final.text!r}")


def _stream_tool_calling(model: Any, opts: dict[str, Any], c: _Checks) -> None:
    import reqllm

    tool = reqllm.Tool(**WEATHER_TOOL)
    stream = reqllm.stream_text(model, "What is the weather in Paris? Use the tool.", tools=[tool],
                                tool_choice="get_weather", max_tokens=opts.pop("max_tokens", 128), **opts)
    chunks = list(stream)
    final = stream.to_response()
    c.that("tool_call chunks arrived", any(ch.type == "tool_call" for ch in chunks), len(chunks))
    if c.that("a tool call in the final response", len(final.tool_calls) >= 1, final.text):
        c.that("the forced tool was called", final.tool_calls[0].name == "get_weather", final.tool_calls[0].name)
        c.that("arguments are a parsed object", isinstance(final.tool_calls[0].arguments, dict),
               final.tool_calls[0].arguments)


def _generate_object(model: Any, opts: dict[str, Any], c: _Checks) -> None:
    import reqllm

    r = reqllm.generate_object(model, "Invent a person: a name and an age.", PERSON_SCHEMA,
                               max_tokens=opts.pop("max_tokens", 128), **opts)
    obj = r.object
    c.that("object is a dict", isinstance(obj, dict), obj)
    c.that("name is a string", isinstance(obj, dict) and isinstance(obj.get("name"), str), obj)
    c.that("age is an integer", isinstance(obj, dict) and isinstance(obj.get("age"), int), obj)


def _tool_loop(model: Any, opts: dict[str, Any], c: _Checks) -> None:
    import reqllm

    ran: list[dict[str, Any]] = []

    def get_weather(city: str, **extra: Any) -> dict[str, Any]:
        ran.append({"city": city, **extra})
        return {"city": city, "temperature_c": 21, "sky": "clear"}

    tool = reqllm.Tool(**WEATHER_TOOL, callable=get_weather)
    r = reqllm.generate_text(model, "What is the weather in Paris? Call the get_weather tool, then answer in "
                             "one sentence.", tools=[tool], max_steps=3, max_tokens=opts.pop("max_tokens", 128),
                             **opts)
    c.that("the tool ran", len(ran) >= 1, r.text)
    c.that("the loop asked again after the tool result", len(r.steps) >= 2, len(r.steps))
    c.that("the tool result went back as a tool turn", any(m.role == "tool" for m in r.messages),
           [m.role for m in r.messages])
    c.that("the last step answered without a call", not r.tool_calls and r.finish_reason in ("stop", "length"),
           f"finish_reason={r.finish_reason} calls={[t.name for t in r.tool_calls]}")
    total = sum(s.usage.total_tokens for s in r.steps)
    c.that("usage is the sum over the steps", r.usage.total_tokens == total, f"{r.usage.total_tokens} != {total}")


def _object_stream(model: Any, opts: dict[str, Any], c: _Checks) -> None:
    import reqllm

    stream = reqllm.stream_object(model, "Invent a person: a name and an age.", PERSON_SCHEMA,
                                  max_tokens=opts.pop("max_tokens", 128), **opts)
    partials = list(stream)
    final = stream.to_response().object
    c.that("partial objects arrived", len(partials) >= 1, len(stream.chunks))
    c.that("every partial is a dict", all(isinstance(p, dict) for p in partials), partials[:3])
    c.that("the last partial is the final object", bool(partials) and partials[-1] == final,
           f"{partials[-1:]} vs {final}")
    c.that("the object validates", isinstance(final, dict) and isinstance(final.get("name"), str)
           and isinstance(final.get("age"), int), final)


def _reasoning(model: Any, opts: dict[str, Any], c: _Checks) -> None:
    import reqllm

    r = reqllm.generate_text(model, "What is 17 * 23? Think it through.", reasoning="low",
                             max_tokens=opts.pop("max_tokens", 2048), **opts)
    c.that("thinking or reasoning tokens reported", bool(r.thinking) or r.usage.reasoning_tokens > 0,
           f"thinking={r.thinking[:80]!r} reasoning_tokens={r.usage.reasoning_tokens}")


def _embed(model: Any, opts: dict[str, Any], c: _Checks) -> None:
    import reqllm

    opts.pop("temperature", None)
    opts.pop("max_tokens", None)
    r = reqllm.embed(model, ["hello world", "goodbye moon"], **opts)
    c.that("one vector per input", len(r.embeddings) == 2, len(r.embeddings))
    dims = {len(v) for v in r.embeddings}
    expected = model.limit.output
    c.that("vectors have the advertised dimension",
           len(dims) == 1 and (not expected or dims == {expected}), f"{dims} vs {expected}")


def _usage_and_cost(model: Any, opts: dict[str, Any], c: _Checks) -> None:
    import reqllm

    r = reqllm.generate_text(model, "Say hello.", max_tokens=opts.pop("max_tokens", 32), **opts)
    u = r.usage
    c.that("input tokens counted", u.input_tokens > 0, u)
    c.that("output tokens counted", u.output_tokens > 0, u)
    c.that("total covers input + output", u.total_tokens >= u.input_tokens + u.output_tokens, u)
    priced = model.cost is not None and model.cost.input is not None and model.cost.output is not None
    if priced:
        c.that("cost computed from prices", u.cost is not None and u.cost > 0, u.cost)
    else:
        c.that("cost is None for an unpriced model", u.cost is None, u.cost)


def _multi_turn(model: Any, opts: dict[str, Any], c: _Checks) -> None:
    import reqllm

    max_tokens = opts.pop("max_tokens", 48)
    messages: list[Any] = [reqllm.Message.user("My name is Ada. Please remember it and reply with one word.")]
    first = reqllm.generate_text(model, messages, max_tokens=max_tokens, **opts)
    messages += [first.message, reqllm.Message.user("What is my name?")]
    second = reqllm.generate_text(model, messages, max_tokens=max_tokens, **opts)
    c.that("first turn answered", bool(first.text.strip()) or bool(first.thinking), repr(first.text))
    c.that("response message appended as an assistant turn", messages[1].role == "assistant")
    c.that("second turn answered", bool(second.text.strip()) or bool(second.thinking), repr(second.text))


CAPABILITIES: dict[str, Capability] = {cap.id: cap for cap in (
    Capability("generate_text", "a complete text answer", _text, _generate_text),
    Capability("stream_text", "chunks arrive; their text equals the final response; usage and finish reason",
               _text, _stream_text),
    Capability("token_limit", "a small max_tokens gives finish_reason 'length'", _text, _token_limit),
    Capability("tool_calling", "a forced call and a full round trip with the tool result", _tools, _tool_calling),
    Capability("stream_tool_calling", "a forced call, streamed", _tools, _stream_tool_calling),
    Capability("generate_object", "a schema-valid object", _objects, _generate_object),
    Capability("tool_loop", "max_steps runs the tool, sends its result back and gets an answer", _tools,
               _tool_loop),
    Capability("object_stream", "stream_object: partial dicts, then the schema-valid object", _objects,
               _object_stream),
    Capability("reasoning", "thinking or reasoning tokens reported", lambda m: _text(m) and m.reasoning,
               _reasoning),
    Capability("embed", "vectors of the advertised dimension", lambda m: bool(m.embedding), _embed),
    Capability("usage_and_cost", "token counts, and cost when the model is priced", _text, _usage_and_cost),
    Capability("multi_turn", "the response message appended; the second turn answered", _text, _multi_turn),
)}


def advertised_capabilities(model: Any) -> list[str]:
    """Ids of the capabilities ``model`` advertises, in table order."""
    resolved = _model(model)
    return [cid for cid, cap in CAPABILITIES.items() if cap.advertised(resolved)]


def verify(model: Any, capability: str, **opts: Any) -> CapabilityResult:
    """Verify one capability of one model (opts go to every reqllm call, e.g. api_key=, base_url=)."""
    try:
        cap = CAPABILITIES[capability]
    except KeyError:
        raise KeyError(f"unknown capability {capability!r}; known: {', '.join(CAPABILITIES)}") from None
    return cap.verify(model, **opts)
