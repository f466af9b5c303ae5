"""The stream drivers of a Run's plan: every step's chunks in order, a ``meta`` chunk per tool result.

A step falls back to the next model only before its first chunk: an error after it ends the stream.
The first attempt is taken (vetted against the usage limit and announced) when the stream is made,
so that an input error raises at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from ._attempt import Attempt
from ._loop import Run, Steps
from ._streaming import AsyncStreamResponse, StreamResponse
from ._tool_run import ToolOutcome
from ._types import Response, StreamChunk
from .errors import ReqLLMError

__all__ = ["AsyncLoopStream", "LoopStream"]


class _Driver:
    """What both stream drivers keep: the Run, its Steps and the model that answered.

    A call with nothing to orchestrate (``Run.single``) has no Steps: its one attempt is the stream.
    """

    __slots__ = ("answered_by", "run", "single", "steps")

    def __init__(self, run: Run) -> None:
        self.run = run
        self.single = run.single()
        self.answered_by = run.chain.first.call.model.spec
        if self.single is None:
            with run.reported():
                self.steps = Steps(run)

    def started(self, attempt: Attempt) -> None:
        """The attempt's first chunk arrived: its model answers this step."""
        self.answered_by = attempt.call.model.spec

    def metas(self, outcomes: list[ToolOutcome], chunks: list[StreamChunk]) -> list[StreamChunk]:
        """The ``meta`` chunks of a step's tool results, added to ``chunks``."""
        metas = [outcome.chunk() for outcome in outcomes]
        chunks.extend(metas)
        return metas

    def failed(self, error: BaseException, chunks: list[StreamChunk]) -> ReqLLMError | None:
        """Report the loop's error; a ReqLLMError carries the chunks so far and is the stream's error."""
        mine = error if isinstance(error, ReqLLMError) else None
        if mine is not None:
            mine.chunks = list(chunks)
        self.run.loop_event("loop.error", error=error)
        return mine


class _AnsweredBy:
    """The ``model`` of both loop streams: the model that answered so far."""

    __slots__ = ()
    _loop: _Driver

    @property
    def model(self) -> str:
        """The model that answered (the first of the chain until a step started)."""
        return self._loop.answered_by

    def _completed(self, response: Response) -> Response:
        """On the fast path, the call's result from its one response (the plan gives it otherwise)."""
        return response if self._loop.single is None else self._loop.run.answered(response)


class LoopStream(_AnsweredBy, StreamResponse):
    """A stream over every step of a call: each step's chunks in order, a ``meta`` chunk per tool result.

    Falls back to the next model only before a step's first chunk.
    """

    __slots__ = ("_loop",)

    def __init__(self, run: Run) -> None:
        self._loop = _Driver(run)
        super().__init__(self._loop.single or run.chain.first)

    def _run(self) -> Iterator[StreamChunk]:
        if self._loop.single is not None:  # the fast path: this stream is the call's one request
            return super()._run()
        return self._steps()

    def _steps(self) -> Iterator[StreamChunk]:
        run, steps = self._loop.run, self._loop.steps
        try:
            while not steps.done:
                todo = steps.todo
                if isinstance(todo, Attempt):
                    yield from self._step(todo)
                else:
                    outcomes = run.tools.run_sync(todo, len(run.steps))
                    yield from self._loop.metas(outcomes, self.chunks)
                    steps.answer(outcomes)
            self._response = steps.response()
        except BaseException as exc:
            self._error = self._loop.failed(exc, self.chunks)
            raise

    def _step(self, attempt: Attempt) -> Iterator[StreamChunk]:
        stream = StreamResponse(attempt)
        chunks = iter(stream)
        try:
            try:
                first = next(chunks, None)
            except ReqLLMError as exc:
                self._loop.steps.fail(exc)
                return
            self._loop.started(attempt)
            if first is not None:
                self.chunks.append(first)
                yield first
                for chunk in chunks:
                    self.chunks.append(chunk)
                    yield chunk
        finally:
            chunks.close()  # type: ignore[attr-defined]
        self._loop.steps.answer(stream.to_response())


class AsyncLoopStream(_AnsweredBy, AsyncStreamResponse):
    """Async twin of LoopStream (the tool calls of a step run concurrently)."""

    __slots__ = ("_loop",)

    def __init__(self, run: Run) -> None:
        self._loop = _Driver(run)
        super().__init__(self._loop.single or run.chain.first)

    def _run(self) -> AsyncIterator[StreamChunk]:
        if self._loop.single is not None:  # the fast path: this stream is the call's one request
            return super()._run()
        return self._steps()

    async def _steps(self) -> AsyncIterator[StreamChunk]:
        run, steps = self._loop.run, self._loop.steps
        try:
            while not steps.done:
                todo = steps.todo
                if isinstance(todo, Attempt):
                    async for chunk in self._step(todo):
                        yield chunk
                else:
                    outcomes = await run.tools.run_async(todo, len(run.steps))
                    for meta in self._loop.metas(outcomes, self.chunks):
                        yield meta
                    steps.answer(outcomes)
            self._response = steps.response()
        except BaseException as exc:
            self._error = self._loop.failed(exc, self.chunks)
            raise

    async def _step(self, attempt: Attempt) -> AsyncIterator[StreamChunk]:
        stream = AsyncStreamResponse(attempt)
        chunks = stream.__aiter__()
        try:
            try:
                first = await anext(chunks, None)
            except ReqLLMError as exc:
                self._loop.steps.fail(exc)
                return
            self._loop.started(attempt)
            if first is not None:
                self.chunks.append(first)
                yield first
                async for chunk in chunks:
                    self.chunks.append(chunk)
                    yield chunk
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]
        self._loop.steps.answer(await stream.to_response())
