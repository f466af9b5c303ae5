"""The step loop of one orchestrated call (generate_text, stream_text, generate_object, ...).

A ``Run`` keeps the conversation, the steps so far and their summed usage. Its ``plan()`` is the
loop itself, free of I/O: for each step it hands out an ``Attempt`` per model of the chain
(``reqllm._fallback``: the next one after an error that retrying did not cure), each vetted
against the usage limit (``reqllm._usage_limit``); when the answer asks for tools that have a
``callable`` and fewer than ``max_steps`` steps ran, it hands out the tool calls
(``reqllm._tool_run``), adds their results to the conversation and starts the next step. Thin
drivers do the I/O: ``run_sync`` / ``run_async`` here, the streams in ``reqllm._loop_stream``.
Nothing here knows a vendor: every protocol detail stays in its plugin.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Iterator
from typing import Any

from . import telemetry
from ._attempt import Attempt, complete_async, complete_sync, new_id
from ._fallback import FALLBACK_ERRORS, Chain
from ._http import Exchange, prepare
from ._loop_options import Settings, model_chain, pop_settings, priced
from ._tool_run import ToolOutcome, ToolRunner
from ._types import Message, Response, ToolCall, Usage
from ._usage_limit import Budget, estimate_input_tokens
from .errors import InvalidOptionError, ReqLLMError
from .providers.base import Operation

__all__ = ["FALLBACK_ERRORS", "Run", "Steps", "estimate_input_tokens", "run_async", "run_sync", "start"]

#: What a Run's plan asks its driver for: an Attempt to send, or the tool calls of a step to run.
Todo = Attempt | list[ToolCall]


def start(operation: Operation, model: Any, opts: dict[str, Any], *, messages: Any, stream: bool = False,
          schema: dict[str, Any] | None = None, schema_name: str = "output") -> Run:
    """Validate a call for every model of the chain (raising before any request) and return its Run."""
    opts = dict(opts)
    settings = pop_settings(opts, operation)
    chain = [prepare(operation, m, opts, messages=messages, stream=stream, schema=schema, schema_name=schema_name,
                     kind=Attempt) for m in model_chain(model)]
    if settings.limit is not None and settings.limit.cost is not None:
        unpriced = [e.call.model.spec for e in chain if not priced(e.call.model)]
        if unpriced:
            raise InvalidOptionError(f"usage_limit cost={settings.limit.cost} cannot be kept: no price is known "
                                     f"for {', '.join(unpriced)} (give the Model a cost= or drop the cost limit)")
    return Run(chain, settings)


class Run:
    """The state of one orchestrated call: conversation, steps, usage, fallback errors."""

    __slots__ = ("budget", "chain", "conversation", "loop_id", "settings", "steps", "tools")

    def __init__(self, exchanges: list[Exchange], settings: Settings) -> None:
        first = exchanges[0].call
        self.chain = Chain(exchanges)
        self.settings = settings
        self.budget = Budget(settings.limit)
        self.conversation: list[Message] = list(first.messages)
        self.steps: list[Response] = []
        self.loop_id = new_id() if settings.max_steps > 1 else None
        self.tools = ToolRunner(first.options.tools or [], settings.tool_errors, model=first.model,
                                stream=bool(first.stream), loop_id=self.loop_id)

    @property
    def stream(self) -> bool:
        """True when the call streams."""
        return self.tools.stream

    @property
    def usage(self) -> Usage | None:
        """The usage summed over the steps so far (None before the first answer)."""
        return self.budget.usage

    @property
    def fallback_errors(self) -> list[ReqLLMError]:
        """The errors of the models that failed so far."""
        return self.chain.errors

    # -- the fast path: a call with nothing to orchestrate ---------------------------------------
    def single(self) -> Attempt | None:
        """The call's only request when there is nothing to orchestrate (one model, one step, no usage
        limit), else None. The drivers' fast path: the same request, events and result as ``plan``,
        without its generators and per-attempt copies (``start`` prepares Attempts: the only one is sent
        as it is). ``answered`` then gives the result."""
        settings = self.settings
        if settings.max_steps != 1 or settings.limit is not None or len(self.chain.exchanges) != 1:
            return None
        attempt = self.chain.exchanges[0]
        assert isinstance(attempt, Attempt)  # start prepares Attempts
        self.budget.requests = 1
        if self.stream:  # as in _attempts
            attempt.event("request.start")
        return attempt

    def answered(self, response: Response) -> Response:
        """The result of a ``single`` call from its one response (as ``plan`` ends such a call)."""
        self._record(response)
        return self.finish()

    # -- the loop, without I/O ----------------------------------------------------------------
    def plan(self) -> Generator[Todo, Any, Response]:
        """The loop: yields what to do next and returns the result.

        Send back an Attempt's Response (or throw its ReqLLMError: the next model is tried, or the
        error comes back out) and the outcomes of tool calls (a list of ToolOutcome).
        """
        while True:
            response = None
            for attempt in self._attempts():
                try:
                    response = yield attempt
                except ReqLLMError as exc:
                    if self.chain.fall_back(attempt, exc):
                        continue
                    raise
                break
            assert isinstance(response, Response)
            self._record(response)
            calls = self._pending(response)
            if calls is None:
                return self.finish()
            outcomes: list[ToolOutcome] = yield calls
            self.conversation.extend(o.message() for o in outcomes)

    def _attempts(self) -> Iterator[Attempt]:
        step = len(self.steps) + 1
        attempts = self.chain.attempts(self.conversation if self.steps else None, before=self.budget.before,
                                       parent_id=self.loop_id, step=step if self.loop_id else None)
        for attempt in attempts:
            if self.stream:  # a non-stream request announces itself (complete_sync / complete_async)
                attempt.event("request.start")
            yield attempt

    def _record(self, response: Response) -> None:
        """Add a step's response; raise UsageLimitExceeded (carrying the result so far) past the limit."""
        self.steps.append(response)
        self.conversation.append(response.message)
        passed = self.budget.after(response.usage, len(self.steps), response.model)
        if passed is not None:
            raise self.budget.exceeded(*passed, response=self.result())

    def _pending(self, response: Response) -> list[ToolCall] | None:
        """The tool calls to run before the next step, or None when the loop ends here."""
        if len(self.steps) >= self.settings.max_steps or not response.tool_calls:
            return None
        if not self.tools.answers(response.tool_calls):
            return None  # the caller answers these calls
        return list(response.tool_calls)

    # -- the loop as a whole -----------------------------------------------------------------
    def loop_event(self, name: str, **fields: Any) -> None:
        """Emit a loop.* telemetry event (only for a tool loop)."""
        if self.loop_id is not None and telemetry.active():
            model = self.tools.model
            telemetry.emit(telemetry.TelemetryEvent(
                name=name, provider=model.provider, model=model.spec, operation="invoke_agent", stream=self.stream,
                id=self.loop_id, **fields))

    @contextlib.contextmanager
    def reported(self) -> Iterator[None]:
        """Report the loop's start, and its error when the block raises."""
        self.loop_event("loop.start", input=self.conversation)
        try:
            yield
        except BaseException as exc:
            self.loop_event("loop.error", error=exc)
            raise

    def result(self) -> Response:
        """The last step's response with every step, the whole conversation and the summed usage."""
        return _updated(self.steps[-1], {"steps": list(self.steps), "messages": list(self.conversation),
                                         "usage": self.usage, "fallback_errors": list(self.fallback_errors)})

    def finish(self) -> Response:
        """The result, reported as the loop's end."""
        result = self.result()
        self.loop_event("loop.stop", usage=result.usage, finish_reason=result.finish_reason, output=result.message)
        return result


def _updated(response: Response, update: dict[str, Any]) -> Response:
    """``response.model_copy(update=update)`` without its generic steps (it ran once per call, ~7 µs of ~330)."""
    cls = type(response)
    copied = cls.__new__(cls)
    _set(copied, "__dict__", {**response.__dict__, **update})
    _set(copied, "__pydantic_fields_set__", response.__pydantic_fields_set__ | update.keys())
    _set(copied, "__pydantic_extra__", response.__pydantic_extra__)  # None: Response has no extras,
    _set(copied, "__pydantic_private__", response.__pydantic_private__)  # nor private attributes
    return copied


_set = object.__setattr__


class Steps:
    """A driver's handle on a Run's plan: ``todo`` until ``done``, then ``response()``.

    Creating it takes the first step's first attempt (vetted against the usage limit).
    """

    __slots__ = ("_plan", "_result", "todo")

    def __init__(self, run: Run) -> None:
        self._plan = run.plan()
        self._result: Response | None = None
        self.todo: Todo = next(self._plan)

    @property
    def done(self) -> bool:
        """True once the plan returned its result."""
        return self._result is not None

    def answer(self, value: Response | list[ToolOutcome]) -> None:
        """Hand the plan what ``todo`` gave."""
        try:
            self.todo = self._plan.send(value)
        except StopIteration as stop:
            self._result = stop.value

    def fail(self, error: ReqLLMError) -> None:
        """Hand the plan the error of the attempt in ``todo``: the next model, or the error raises here."""
        self.todo = self._plan.throw(error)

    def response(self) -> Response:
        """The call's result, once ``done``."""
        assert self._result is not None
        return self._result


# -- the non-stream drivers -------------------------------------------------------------------------
def run_sync(run: Run) -> Response:
    """Drive a non-stream call to its end (sync)."""
    single = run.single()
    if single is not None:
        return run.answered(complete_sync(single))
    with run.reported():
        steps = Steps(run)
        while not steps.done:
            todo = steps.todo
            if isinstance(todo, Attempt):
                try:
                    response = complete_sync(todo)
                except ReqLLMError as exc:
                    steps.fail(exc)
                    continue
                steps.answer(response)
            else:
                steps.answer(run.tools.run_sync(todo, len(run.steps)))
        return steps.response()


async def run_async(run: Run) -> Response:
    """Async twin of run_sync (the tool calls of a step run concurrently)."""
    single = run.single()
    if single is not None:
        return run.answered(await complete_async(single))
    with run.reported():
        steps = Steps(run)
        while not steps.done:
            todo = steps.todo
            if isinstance(todo, Attempt):
                try:
                    response = await complete_async(todo)
                except ReqLLMError as exc:
                    steps.fail(exc)
                    continue
                steps.answer(response)
            else:
                steps.answer(await run.tools.run_async(todo, len(run.steps)))
        return steps.response()
