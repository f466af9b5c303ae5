"""StreamResponse and AsyncStreamResponse: iterate once for StreamChunks, then ``to_response()``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from ._body import iter_async, iter_sync
from ._http import Exchange
from ._stream import ResponseBuilder, StreamDecoder
from ._types import Response, StreamChunk
from .errors import ReqLLMError, StreamError

__all__ = ["AsyncStreamResponse", "StreamResponse"]


class _StreamBase:
    __slots__ = ("_builder", "_decoder", "_error", "_exchange", "_response", "_started", "chunks")

    def __init__(self, exchange: Exchange) -> None:
        self._exchange = exchange
        self._builder = ResponseBuilder(exchange.call)
        self._decoder = StreamDecoder(exchange.protocol, exchange.call)
        self._response: Response | None = None
        self._error: ReqLLMError | None = None
        self._started = False
        #: Every chunk that arrived so far (kept when the stream fails).
        self.chunks: list[StreamChunk] = []

    @property
    def model(self) -> str:
        """The model spec this stream comes from."""
        return self._exchange.call.model.spec

    def _take(self, chunks: list[StreamChunk]) -> list[StreamChunk]:
        if chunks:
            if not self.chunks:
                self._exchange.event("stream.first_chunk", duration=self._exchange.elapsed())
            add = self._builder.add
            for chunk in chunks:
                add(chunk)
            self.chunks.extend(chunks)
        return chunks

    def _fail(self, error: ReqLLMError) -> ReqLLMError:
        error.chunks = list(self.chunks)
        self._error = error
        self._exchange.fail(error, self.chunks)
        return error

    def _finish(self) -> None:
        try:
            response = self._builder.build()
        except ReqLLMError as exc:
            raise self._fail(exc) from None
        self._exchange.succeed(self.chunks, usage=response.usage)
        self._response = self._completed(response)

    def _completed(self, response: Response) -> Response:
        """The stream's result, from the Response its chunks built (a loop stream adds its steps)."""
        return response

    def _result(self) -> Response:
        if self._error is not None:
            raise self._error
        if self._response is None:
            error = StreamError("the stream was closed before it finished; the chunks so far are in .chunks")
            error.chunks = list(self.chunks)
            raise error
        return self._response

    def _check_once(self) -> None:
        if self._started:
            raise RuntimeError("a StreamResponse can be iterated only once; use .chunks or .to_response()")
        self._started = True


class StreamResponse(_StreamBase):
    """A streaming answer. Iterate it once for StreamChunks; errors raise after the chunks before them."""

    __slots__ = ("_iterator",)

    def __init__(self, exchange: Exchange) -> None:
        super().__init__(exchange)
        self._iterator: Iterator[StreamChunk] | None = None

    def __iter__(self) -> Iterator[StreamChunk]:
        self._check_once()
        self._iterator = self._run()
        return self._iterator

    def __enter__(self) -> StreamResponse:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading and release the connection."""
        if self._iterator is not None and hasattr(self._iterator, "close"):
            self._iterator.close()

    def text_stream(self) -> Iterator[str]:
        """Only the answer's text, as it arrives."""
        for chunk in self:
            if chunk.type == "content" and chunk.text:
                yield chunk.text

    def to_response(self) -> Response:
        """Consume what is left and return the final Response (raises the stream's error, if any)."""
        if not self._started:
            iter(self)
        if self._iterator is not None:
            for _ in self._iterator:
                pass
        return self._result()

    def _run(self) -> Iterator[StreamChunk]:
        exchange = self._exchange
        decoder = self._decoder
        try:
            response = exchange.send_sync(exchange.build(), stream=True)
        except ReqLLMError as exc:
            raise self._fail(exc) from None
        options = exchange.call.options
        body = iter_sync(response, options.max_response_bytes, exchange.info.provider, exchange.read_check())
        try:
            while True:
                try:
                    data = next(body, None)
                except httpx.HTTPError as exc:
                    raise self._fail(exchange.timeout_or(exc)) from None
                except ReqLLMError as exc:  # too large, or past the deadline
                    raise self._fail(exc) from None
                if data is None:
                    break
                yield from self._take(decoder.feed(data))
                if decoder.error is not None:
                    raise self._fail(decoder.error)
            yield from self._take(decoder.close())
            if decoder.error is not None:
                raise self._fail(decoder.error)
        finally:
            body.close()
            response.close()
        self._finish()


class AsyncStreamResponse(_StreamBase):
    """Async twin of StreamResponse: ``async for chunk in stream``, then ``await stream.to_response()``."""

    __slots__ = ("_iterator",)

    def __init__(self, exchange: Exchange) -> None:
        super().__init__(exchange)
        self._iterator: AsyncIterator[StreamChunk] | None = None

    def __aiter__(self) -> AsyncIterator[StreamChunk]:
        self._check_once()
        self._iterator = self._run()
        return self._iterator

    async def __aenter__(self) -> AsyncStreamResponse:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop reading and release the connection."""
        if self._iterator is not None and hasattr(self._iterator, "aclose"):
            await self._iterator.aclose()

    async def text_stream(self) -> AsyncIterator[str]:
        """Only the answer's text, as it arrives."""
        async for chunk in self:
            if chunk.type == "content" and chunk.text:
                yield chunk.text

    async def to_response(self) -> Response:
        """Consume what is left and return the final Response (raises the stream's error, if any)."""
        if not self._started:
            self.__aiter__()
        if self._iterator is not None:
            async for _ in self._iterator:
                pass
        return self._result()

    async def _run(self) -> AsyncIterator[StreamChunk]:
        exchange = self._exchange
        decoder = self._decoder
        try:
            response = await exchange.send_async(await exchange.abuild(), stream=True)
        except ReqLLMError as exc:
            raise self._fail(exc) from None
        options = exchange.call.options
        body = iter_async(response, options.max_response_bytes, exchange.info.provider, exchange.read_check())
        try:
            while True:
                try:
                    data = await anext(body, None)
                except httpx.HTTPError as exc:
                    raise self._fail(exchange.timeout_or(exc)) from None
                except ReqLLMError as exc:  # too large, or past the deadline
                    raise self._fail(exc) from None
                if data is None:
                    break
                for chunk in self._take(decoder.feed(data)):
                    yield chunk
                if decoder.error is not None:
                    raise self._fail(decoder.error)
            for chunk in self._take(decoder.close()):
                yield chunk
            if decoder.error is not None:
                raise self._fail(decoder.error)
        finally:
            await body.aclose()
            await response.aclose()
        self._finish()
