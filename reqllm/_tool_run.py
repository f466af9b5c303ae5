"""Running the tool calls of one step: checked arguments, the callables, their outcomes, tool.* telemetry.

A call of an unknown tool, or with arguments that break the tool's schema, and a tool that raises
give an error outcome whose text goes back to the model (``tool_errors="return"``, the default);
``tool_errors="raise"`` re-raises what the tool raised. The sync API runs the calls of a step in
order; the async API runs them concurrently (sync callables in threads).
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import time
from collections.abc import Sequence
from typing import Any, Literal

from . import telemetry
from ._attempt import new_id
from ._schema import schema_problem
from ._types import Message, StreamChunk, Tool, ToolCall
from .errors import InvalidOptionError, ReqLLMError
from .registry import Model

__all__ = ["ToolErrors", "ToolOutcome", "ToolRunner"]

ToolErrors = Literal["return", "raise"]


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


class ToolRunner:
    """Runs the tool calls of a step for one call: its tools, its ``tool_errors`` and its telemetry tags."""

    __slots__ = ("errors", "loop_id", "model", "stream", "tools")

    def __init__(self, tools: Sequence[Tool], errors: ToolErrors, *, model: Model, stream: bool,
                 loop_id: int | None) -> None:
        self.tools: dict[str, Tool] = {t.name: t for t in tools}
        self.errors = errors
        self.model = model
        self.stream = stream
        self.loop_id = loop_id

    def answers(self, calls: Sequence[ToolCall]) -> bool:
        """False when a call names a tool without a callable: the caller answers it, the loop ends."""
        for call in calls:
            tool = self.tools.get(call.name)
            if tool is not None and tool.callable is None:
                return False
        return True

    def run_sync(self, calls: Sequence[ToolCall], step: int) -> list[ToolOutcome]:
        """Run the calls one after the other; the outcomes in the order of the calls."""
        outcomes = []
        for call in calls:
            tool_id, target = self._begin(call, step)
            if isinstance(target, ToolOutcome):
                outcomes.append(target)
                continue
            started = time.perf_counter()
            try:
                value = target(**call.arguments)
                if inspect.isawaitable(value):
                    value = _await_in_sync(target, value)
            except Exception as exc:
                outcomes.append(self._end(call, step, tool_id, started, error=exc))
                continue
            outcomes.append(self._end(call, step, tool_id, started, value))
        return outcomes

    async def run_async(self, calls: Sequence[ToolCall], step: int) -> list[ToolOutcome]:
        """Run the calls concurrently (async callables awaited, others in threads), in the order of the calls."""

        async def one(call: ToolCall) -> ToolOutcome:
            tool_id, target = self._begin(call, step)
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
                return self._end(call, step, tool_id, started, error=exc)
            return self._end(call, step, tool_id, started, value)

        return list(await asyncio.gather(*(one(c) for c in calls)))

    def _event(self, name: str, call: ToolCall, step: int, tool_id: int, **fields: Any) -> None:
        if telemetry.active():
            telemetry.emit(telemetry.TelemetryEvent(
                name=name, provider=self.model.provider, model=self.model.spec, operation="execute_tool",
                stream=self.stream, id=tool_id, parent_id=self.loop_id, step=step, tool=call.name,
                tool_call_id=call.id, **fields))

    def _check(self, call: ToolCall) -> Tool:
        tool = self.tools.get(call.name)
        if tool is None:
            known = ", ".join(sorted(self.tools)) or "(none)"
            raise _ArgumentsError(f"Error: there is no tool named {call.name!r}; the tools are: {known}")
        problem = schema_problem(call.arguments, tool.parameters)
        if problem is not None:
            raise _ArgumentsError(f"Error: invalid arguments for tool {call.name!r} at "
                                  f"{problem[0] or '<root>'}: {problem[1]}")
        return tool

    def _begin(self, call: ToolCall, step: int) -> tuple[int, Tool | ToolOutcome]:
        """Start one execution: the tool to run, or the error outcome of a call that cannot run."""
        tool_id = new_id()
        self._event("tool.start", call, step, tool_id, input=call.arguments)
        try:
            return tool_id, self._check(call)
        except _ArgumentsError as exc:
            self._event("tool.error", call, step, tool_id, error=exc)
            return tool_id, ToolOutcome(call, exc.message, error=exc)

    def _end(self, call: ToolCall, step: int, tool_id: int, started: float, value: Any = None,
             error: BaseException | None = None) -> ToolOutcome:
        """The outcome of a tool that ran (or raised); re-raises with ``tool_errors="raise"``."""
        duration = time.perf_counter() - started
        if error is not None:
            self._event("tool.error", call, step, tool_id, error=error, duration=duration)
            if self.errors == "raise":
                raise error
            return ToolOutcome(call, f"Error: tool {call.name!r} raised {type(error).__name__}: {error}", error=error)
        content = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
        self._event("tool.stop", call, step, tool_id, output=value, duration=duration)
        return ToolOutcome(call, content, value=value)


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
