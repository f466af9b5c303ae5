"""Orchestration above one exchange: tool loops, fallbacks across models, usage limits.

A ``Run`` is one public call (generate_text, stream_text, generate_object, ...): it keeps the
conversation, the steps so far and their summed usage. Each step is one request; the request tries
the models of ``model=[...]`` in order, falling back on errors that retrying did not cure
(``FALLBACK_ERRORS``), after checking the usage limit. When the answer asks for tools that have a
``callable`` and fewer than ``max_steps`` steps ran, the tools run (concurrently in the async API),
their results join the conversation, and the next step starts. Nothing here knows a vendor: every
protocol detail stays in its plugin.

Input tokens are estimated before a request (``estimate_input_tokens``) as one token per four
characters of the text, tool-call arguments and tool definitions sent, plus four per message:
OpenAI's rule of thumb for English, without loading a tokenizer. It errs either way by up to a third
(more for code and for languages other than English); the counts a provider reports replace the
estimate as soon as a response arrives.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, Literal

from pydantic import ValidationError

from . import telemetry
from ._attempt import Attempt, complete_async, complete_sync, new_id
from ._http import Exchange, asyncio, prepare
from ._schema import schema_problem
from ._streaming import AsyncStreamResponse, StreamResponse
from ._types import Message, Response, StreamChunk, Tool, ToolCall, Usage, UsageLimit
from .errors import InvalidOptionError, RateLimitError, ReqLLMError, TransportError, UsageLimitExceeded
from .errors import ProviderUnavailableError as _Unavailable
from .providers.base import Operation
from .registry import Model

__all__ = ["FALLBACK_ERRORS", "AsyncLoopStream", "LoopStream", "Run", "estimate_input_tokens", "start"]

#: Errors after which the next model of ``model=[...]`` is tried: rate limited, overloaded,
#: unavailable (5xx), timeout, connection. Never an input, auth or decoding error.
FALLBACK_ERRORS: tuple[type[ReqLLMError], ...] = (RateLimitError, _Unavailable, TransportError)

ToolErrors = Literal["return", "raise"]
_LOOP_OPTIONS = ("max_steps", "tool_errors", "usage_limit")


@dataclasses.dataclass(slots=True)
class Settings:
    """The orchestration options of one call."""

    max_steps: int = 1
    tool_errors: ToolErrors = "return"
    limit: UsageLimit | None = None


def _settings(opts: dict[str, Any], operation: Operation) -> Settings:
    """Pop and validate max_steps, tool_errors and usage_limit from ``opts``."""
    settings = Settings()
    steps = opts.pop("max_steps", None)
    if steps is not None:
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise InvalidOptionError(f"option max_steps={steps!r} must be an integer >= 1")
        if operation != "chat" and steps != 1:
            raise InvalidOptionError(f"option max_steps={steps} applies to generate_text and stream_text only")
        settings.max_steps = steps
    errors = opts.pop("tool_errors", None)
    if errors is not None:
        if errors not in ("return", "raise"):
            raise InvalidOptionError(f"option tool_errors={errors!r} must be 'return' or 'raise'")
        settings.tool_errors = errors
    limit = opts.pop("usage_limit", None)
    if limit is not None:
        if isinstance(limit, Mapping):
            try:
                limit = UsageLimit.model_validate(dict(limit))
            except ValidationError as exc:
                raise InvalidOptionError(f"option usage_limit is not valid: {exc}") from None
        if not isinstance(limit, UsageLimit):
            raise InvalidOptionError(
                f"option usage_limit must be a reqllm.UsageLimit or a dict, not {type(limit).__name__}")
        settings.limit = limit
    return settings


def _models(model: Any) -> list[str | Model]:
    if isinstance(model, list | tuple):
        if not model:
            raise InvalidOptionError("model=[] names no model: give a spec, a reqllm.Model or a list of them")
        return list(model)
    return [model]


def start(operation: Operation, model: Any, opts: dict[str, Any], *, messages: Any, stream: bool = False,
          schema: dict[str, Any] | None = None, schema_name: str = "output") -> Run:
    """Validate a call for every model of the chain (raising before any request) and return its Run."""
    opts = dict(opts)
    settings = _settings(opts, operation)
    chain = [prepare(operation, m, opts, messages=messages, stream=stream, schema=schema, schema_name=schema_name)
             for m in _models(model)]
    if settings.limit is not None and settings.limit.cost is not None:
        unpriced = [e.call.model.spec for e in chain if not _priced(e.call.model)]
        if unpriced:
            raise InvalidOptionError(f"usage_limit cost={settings.limit.cost} cannot be kept: no price is known "
                                     f"for {', '.join(unpriced)} (give the Model a cost= or drop the cost limit)")
    return Run(chain, settings)


def _priced(model: Model) -> bool:
    return model.cost is not None and model.cost.input is not None and model.cost.output is not None


def estimate_input_tokens(messages: Sequence[Message], tools: Sequence[Tool] | None = None) -> int:
    """Input tokens of a request, estimated: ceil(characters / 4) plus 4 per message (see the module doc)."""
    chars = 0
    for message in messages:
        for part in message.content:
            chars += len(getattr(part, "text", "") or "")
        for call in message.tool_calls:
            chars += len(call.name) + len(json.dumps(call.arguments))
    for tool in tools or ():
        chars += len(tool.name) + len(tool.description) + len(json.dumps(tool.parameters))
    return -(-chars // 4) + 4 * len(messages)


@dataclasses.dataclass(slots=True)
class ToolOutcome:
    """What one tool call gave: the text sent back to the model, and the Python value or the error."""

    call: ToolCall
    content: str
    value: Any = None
    error: BaseException | None = None

    @property
    def is_error(self) -> bool:
        """True when the tool raised, is unknown or got arguments that break its schema."""
        return self.error is not None

    def message(self) -> Message:
        """The tool turn that carries this outcome back."""
        return Message.tool_result(self.call, self.content)

    def chunk(self) -> StreamChunk:
        """The ``meta`` chunk a stream yields for this outcome."""
        return StreamChunk("meta", metadata={"tool_result": {
            "id": self.call.id, "name": self.call.name, "content": self.content, "value": self.value,
            "is_error": self.is_error}})


class _ArgumentsError(ReqLLMError):
    """A tool call the loop cannot run: an unknown tool or arguments that break its schema."""


class Run:
    """The state of one orchestrated call: conversation, steps, usage, fallback errors."""

    __slots__ = ("_position", "chain", "conversation", "fallback_errors", "loop_id", "requests", "settings",
                 "steps", "tools", "usage")

    def __init__(self, chain: list[Exchange], settings: Settings) -> None:
        self.chain = chain
        self.settings = settings
        self.conversation: list[Message] = list(chain[0].call.messages)
        self.steps: list[Response] = []
        self.fallback_errors: list[ReqLLMError] = []
        self.usage: Usage | None = None
        self.requests = 0
        self.tools: dict[str, Tool] = {t.name: t for t in chain[0].call.options.tools or []}
        self.loop_id = new_id() if settings.max_steps > 1 else None
        self._position = 0

    # -- the chain of models -----------------------------------------------------------------
    @property
    def stream(self) -> bool:
        """True when the call streams."""
        return bool(self.chain[0].call.stream)

    def attempts(self) -> Iterator[Attempt]:
        """One attempt per model for the next step, in order; each checked against the usage limit."""
        step = len(self.steps) + 1
        for position, exchange in enumerate(self.chain):
            self._position = position
            call = dataclasses.replace(exchange.call, messages=list(self.conversation)) if self.steps else None
            attempt = Attempt.of(exchange, call, parent_id=self.loop_id, step=step if self.loop_id else None)
            self.check_before(attempt)
            self.requests += 1
            yield attempt

    def fall_back(self, attempt: Attempt, error: ReqLLMError) -> bool:
        """Record ``error`` and say whether the next model should be tried."""
        position = self._position
        if not isinstance(error, FALLBACK_ERRORS) or position >= len(self.chain) - 1:
            error.fallback_errors = list(self.fallback_errors)
            return False
        self.fallback_errors.append(error)
        attempt.event("request.fallback", error=error, fallback_model=self.chain[position + 1].call.model.spec)
        return True

    # -- usage limits ------------------------------------------------------------------------
    def _exceeded(self, field: str, message: str, response: Response | None) -> UsageLimitExceeded:
        return UsageLimitExceeded(message, field=field, limit=self.settings.limit, usage=self.usage or Usage(),
                                  response=response)

    def check_before(self, attempt: Attempt) -> None:
        """Raise UsageLimitExceeded when the request about to start would be past the limit."""
        limit = self.settings.limit
        if limit is None:
            return
        used = self.usage or Usage()
        where = f"before request {self.requests + 1} (model {attempt.call.model.spec})"
        if limit.requests is not None and self.requests + 1 > limit.requests:
            raise self._exceeded("requests", f"usage limit requests={limit.requests} reached {where}", None)
        if limit.output_tokens is not None and used.output_tokens >= limit.output_tokens:
            raise self._exceeded("output_tokens", f"usage limit output_tokens={limit.output_tokens} reached "
                                 f"({used.output_tokens} used) {where}", None)
        if limit.cost is not None and (used.cost or 0.0) >= limit.cost:
            raise self._exceeded("cost", f"usage limit cost={limit.cost} reached (${used.cost}) {where}", None)
        if limit.input_tokens is None and limit.total_tokens is None:
            return
        estimate = estimate_input_tokens(attempt.call.messages, attempt.call.options.tools)
        for field, ceiling, so_far in (("input_tokens", limit.input_tokens, used.input_tokens),
                                       ("total_tokens", limit.total_tokens, used.total_tokens)):
            if ceiling is not None and so_far + estimate > ceiling:
                raise self._exceeded(field, f"usage limit {field}={ceiling} would be passed {where}: {so_far} "
                                     f"used + ~{estimate} estimated input tokens", None)

    def record(self, response: Response) -> None:
        """Add a step's response; raise UsageLimitExceeded (carrying the result so far) past the limit."""
        self.steps.append(response)
        self.conversation.append(response.message)
        self.usage = response.usage if self.usage is None else _add(self.usage, response.usage)
        limit = self.settings.limit
        if limit is None:
            return
        used = self.usage
        for field in ("input_tokens", "output_tokens", "total_tokens", "cost"):
            ceiling = getattr(limit, field)
            value = getattr(used, field)
            if ceiling is not None and value is not None and value > ceiling:
                raise self._exceeded(field, f"usage limit {field}={ceiling} passed by step {len(self.steps)} "
                                     f"(model {response.model}): {value} used", self.result())

    # -- tools -------------------------------------------------------------------------------
    def pending(self, response: Response) -> list[ToolCall] | None:
        """The tool calls to run before the next step, or None when the loop ends here."""
        if len(self.steps) >= self.settings.max_steps or not response.tool_calls:
            return None
        for call in response.tool_calls:
            tool = self.tools.get(call.name)
            if tool is not None and tool.callable is None:
                return None  # the caller answers this call
        return list(response.tool_calls)

    def check_arguments(self, call: ToolCall) -> Tool:
        """The tool ``call`` names, once its arguments fit the tool's schema; _ArgumentsError otherwise."""
        tool = self.tools.get(call.name)
        if tool is None:
            known = ", ".join(sorted(self.tools)) or "(none)"
            raise _ArgumentsError(f"Error: there is no tool named {call.name!r}; the tools are: {known}")
        problem = schema_problem(call.arguments, tool.parameters)
        if problem is not None:
            raise _ArgumentsError(f"Error: invalid arguments for tool {call.name!r} at "
                                  f"{problem[0] or '<root>'}: {problem[1]}")
        return tool

    def tool_event(self, name: str, call: ToolCall, tool_id: int, **fields: Any) -> None:
        """Emit a tool.* telemetry event."""
        if telemetry.active():
            model = self.chain[0].call.model
            telemetry.emit(telemetry.TelemetryEvent(
                name=name, provider=model.provider, model=model.spec, operation="execute_tool", stream=self.stream,
                id=tool_id, parent_id=self.loop_id, step=len(self.steps), tool=call.name, tool_call_id=call.id,
                **fields))

    def begin_tool(self, call: ToolCall) -> tuple[int, Tool | ToolOutcome]:
        """Start one tool execution: the tool to run, or the error outcome of a call that cannot run."""
        tool_id = new_id()
        self.tool_event("tool.start", call, tool_id, input=call.arguments)
        try:
            return tool_id, self.check_arguments(call)
        except _ArgumentsError as exc:
            outcome = ToolOutcome(call, exc.message, error=exc)
            self.tool_event("tool.error", call, tool_id, error=exc)
            return tool_id, outcome

    def end_tool(self, call: ToolCall, tool_id: int, value: Any = None, error: BaseException | None = None,
                 started: float = 0.0) -> ToolOutcome:
        """The outcome of a tool that ran (or raised); re-raises with ``tool_errors="raise"``."""
        import time

        duration = time.perf_counter() - started
        if error is not None:
            self.tool_event("tool.error", call, tool_id, error=error, duration=duration)
            if self.settings.tool_errors == "raise":
                raise error
            return ToolOutcome(call, f"Error: tool {call.name!r} raised {type(error).__name__}: {error}", error=error)
        content = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
        self.tool_event("tool.stop", call, tool_id, output=value, duration=duration)
        return ToolOutcome(call, content, value=value)

    def add_outcomes(self, outcomes: list[ToolOutcome]) -> None:
        """The tool turns join the conversation, in the order of the calls."""
        self.conversation.extend(o.message() for o in outcomes)

    # -- the loop as a whole -----------------------------------------------------------------
    def loop_event(self, name: str, **fields: Any) -> None:
        """Emit a loop.* telemetry event (only for a tool loop)."""
        if self.loop_id is not None and telemetry.active():
            model = self.chain[0].call.model
            telemetry.emit(telemetry.TelemetryEvent(
                name=name, provider=model.provider, model=model.spec, operation="invoke_agent", stream=self.stream,
                id=self.loop_id, **fields))

    def result(self) -> Response:
        """The last step's response with every step, the whole conversation and the summed usage."""
        last = self.steps[-1]
        return last.model_copy(update={"steps": list(self.steps), "messages": list(self.conversation),
                                       "usage": self.usage, "fallback_errors": list(self.fallback_errors)})

    def finish(self) -> Response:
        """The result, reported as the loop's end."""
        result = self.result()
        self.loop_event("loop.stop", usage=result.usage, finish_reason=result.finish_reason, output=result.message)
        return result


def _add(a: Usage, b: Usage) -> Usage:
    cost = None if a.cost is None or b.cost is None else round(a.cost + b.cost, 10)
    return Usage(input_tokens=a.input_tokens + b.input_tokens, output_tokens=a.output_tokens + b.output_tokens,
                 total_tokens=a.total_tokens + b.total_tokens, reasoning_tokens=a.reasoning_tokens + b.reasoning_tokens,
                 cached_tokens=a.cached_tokens + b.cached_tokens,
                 cache_write_tokens=a.cache_write_tokens + b.cache_write_tokens, cost=cost)


# -- running tools --------------------------------------------------------------------------------
def _run_tools_sync(run: Run, calls: list[ToolCall]) -> list[ToolOutcome]:
    import time

    outcomes = []
    for call in calls:
        tool_id, target = run.begin_tool(call)
        if isinstance(target, ToolOutcome):
            outcomes.append(target)
            continue
        started = time.perf_counter()
        try:
            value = target(**call.arguments)
            if inspect.isawaitable(value):
                value = _await_in_sync(target, value)
        except Exception as exc:
            outcomes.append(run.end_tool(call, tool_id, error=exc, started=started))
            continue
        outcomes.append(run.end_tool(call, tool_id, value, started=started))
    run.add_outcomes(outcomes)
    return outcomes


def _await_in_sync(tool: Tool, awaitable: Any) -> Any:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        async def wait() -> Any:
            return await awaitable

        return asyncio.run(wait())
    if inspect.iscoroutine(awaitable):
        awaitable.close()
    raise InvalidOptionError(f"tool {tool.name!r} is async and an event loop is running: "
                             "call agenerate_text / astream_text instead")


async def _run_tools_async(run: Run, calls: list[ToolCall]) -> list[ToolOutcome]:
    import time

    async def one(call: ToolCall) -> ToolOutcome:
        tool_id, target = run.begin_tool(call)
        if isinstance(target, ToolOutcome):
            return target
        started = time.perf_counter()
        try:
            if inspect.iscoroutinefunction(target.callable):
                value = await target(**call.arguments)
            else:
                value = await asyncio.to_thread(target, **call.arguments)
                if inspect.isawaitable(value):
                    value = await value
        except Exception as exc:
            return run.end_tool(call, tool_id, error=exc, started=started)
        return run.end_tool(call, tool_id, value, started=started)

    outcomes = list(await asyncio.gather(*(one(c) for c in calls)))
    run.add_outcomes(outcomes)
    return outcomes


# -- non-stream calls -----------------------------------------------------------------------------
def run_sync(run: Run) -> Response:
    """Drive a non-stream call to its end (sync)."""
    run.loop_event("loop.start", input=run.conversation)
    try:
        while True:
            response: Response | None = None
            for attempt in run.attempts():
                try:
                    response = complete_sync(attempt)
                except ReqLLMError as exc:
                    if run.fall_back(attempt, exc):
                        continue
                    raise
                break
            assert response is not None
            run.record(response)
            calls = run.pending(response)
            if calls is None:
                return run.finish()
            _run_tools_sync(run, calls)
    except BaseException as exc:
        run.loop_event("loop.error", error=exc)
        raise


async def run_async(run: Run) -> Response:
    """Async twin of run_sync."""
    run.loop_event("loop.start", input=run.conversation)
    try:
        while True:
            response: Response | None = None
            for attempt in run.attempts():
                try:
                    response = await complete_async(attempt)
                except ReqLLMError as exc:
                    if run.fall_back(attempt, exc):
                        continue
                    raise
                break
            assert response is not None
            run.record(response)
            calls = run.pending(response)
            if calls is None:
                return run.finish()
            await _run_tools_async(run, calls)
    except BaseException as exc:
        run.loop_event("loop.error", error=exc)
        raise


# -- streams --------------------------------------------------------------------------------------
def _announced(attempts: Iterator[Attempt]) -> Iterator[Attempt]:
    for attempt in attempts:
        attempt.event("request.start")
        yield attempt


class _Opening:
    """A stream's first attempt, validated and announced (request.start) when the stream is made."""

    __slots__ = ("attempts", "first")

    def __init__(self, run: Run) -> None:
        self.attempts = _announced(run.attempts())
        self.first = next(self.attempts)

    def all(self) -> Iterator[Attempt]:
        yield self.first
        yield from self.attempts


class LoopStream(StreamResponse):
    """A stream over every step of a call: each step's chunks in order, a ``meta`` chunk per tool result.

    Falls back to the next model only before a step's first chunk.
    """

    __slots__ = ("_answered_by", "_opening", "_run_state")

    def __init__(self, run: Run) -> None:
        super().__init__(run.chain[0])
        self._run_state = run
        self._answered_by: str = run.chain[0].call.model.spec
        run.loop_event("loop.start", input=run.conversation)
        try:
            self._opening: _Opening | None = _Opening(run)
        except BaseException as exc:
            run.loop_event("loop.error", error=exc)
            raise

    @property
    def model(self) -> str:
        """The model that answered (the first of the chain until a step started)."""
        return self._answered_by

    def _run(self) -> Iterator[StreamChunk]:
        run = self._run_state
        try:
            while True:
                yield from self._step(run)
                response = run.steps[-1]
                calls = run.pending(response)
                if calls is None:
                    self._response = run.finish()
                    return
                for outcome in _run_tools_sync(run, calls):
                    chunk = outcome.chunk()
                    self.chunks.append(chunk)
                    yield chunk
        except ReqLLMError as exc:
            exc.chunks = list(self.chunks)
            self._error = exc
            run.loop_event("loop.error", error=exc)
            raise
        except BaseException as exc:
            run.loop_event("loop.error", error=exc)
            raise

    def _attempts(self, run: Run) -> Iterator[Attempt]:
        opening, self._opening = self._opening, None
        return opening.all() if opening is not None else _announced(run.attempts())

    def _step(self, run: Run) -> Iterator[StreamChunk]:
        for attempt in self._attempts(run):
            stream = StreamResponse(attempt)
            chunks = iter(stream)
            try:
                try:
                    first = next(chunks, None)
                except ReqLLMError as exc:
                    if run.fall_back(attempt, exc):
                        continue
                    raise
                self._answered_by = attempt.call.model.spec
                if first is not None:
                    self.chunks.append(first)
                    yield first
                    for chunk in chunks:
                        self.chunks.append(chunk)
                        yield chunk
            finally:
                chunks.close()  # type: ignore[attr-defined]
            run.record(stream.to_response())
            return


class AsyncLoopStream(AsyncStreamResponse):
    """Async twin of LoopStream."""

    __slots__ = ("_answered_by", "_opening", "_run_state")

    def __init__(self, run: Run) -> None:
        super().__init__(run.chain[0])
        self._run_state = run
        self._answered_by: str = run.chain[0].call.model.spec
        run.loop_event("loop.start", input=run.conversation)
        try:
            self._opening: _Opening | None = _Opening(run)
        except BaseException as exc:
            run.loop_event("loop.error", error=exc)
            raise

    @property
    def model(self) -> str:
        """The model that answered (the first of the chain until a step started)."""
        return self._answered_by

    async def _run(self) -> AsyncIterator[StreamChunk]:
        run = self._run_state
        try:
            while True:
                async for chunk in self._step(run):
                    yield chunk
                response = run.steps[-1]
                calls = run.pending(response)
                if calls is None:
                    self._response = run.finish()
                    return
                for outcome in await _run_tools_async(run, calls):
                    meta = outcome.chunk()
                    self.chunks.append(meta)
                    yield meta
        except ReqLLMError as exc:
            exc.chunks = list(self.chunks)
            self._error = exc
            run.loop_event("loop.error", error=exc)
            raise
        except BaseException as exc:
            run.loop_event("loop.error", error=exc)
            raise

    def _attempts(self, run: Run) -> Iterator[Attempt]:
        opening, self._opening = self._opening, None
        return opening.all() if opening is not None else _announced(run.attempts())

    async def _step(self, run: Run) -> AsyncIterator[StreamChunk]:
        for attempt in self._attempts(run):
            stream = AsyncStreamResponse(attempt)
            chunks = stream.__aiter__()
            try:
                try:
                    first = await anext(chunks, None)
                except ReqLLMError as exc:
                    if run.fall_back(attempt, exc):
                        continue
                    raise
                self._answered_by = attempt.call.model.spec
                if first is not None:
                    self.chunks.append(first)
                    yield first
                    async for chunk in chunks:
                        self.chunks.append(chunk)
                        yield chunk
            finally:
                await chunks.aclose()  # type: ignore[attr-defined]
            run.record(await stream.to_response())
            return
