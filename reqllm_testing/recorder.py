"""Record and replay at the httpx transport level, and the ``CallHook`` that plugs them into reqllm.

Recording tees the response stream: each chunk is stored (with its offset in ms) as the caller
reads it, so a stream is delivered incrementally and one that breaks midway keeps what arrived
plus the error. Replay serves the recorded chunks with their original boundaries, one at a time
(optionally at the recorded pace), through the caller's real decoding — it never opens a socket.

``FixtureTransport`` makes any httpx client (official SDKs via ``http_client=``) record or replay.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from . import _unsaved
from .decoding import decode_raw
from .errors import NetworkBlockedError
from .intercept import SEAM
from .matching import Matcher
from .redaction import RESPONSE_HEADERS, chunk_to_json, filter_headers
from .served import Compiled, prepared
from .session import REPLAY_KEY, FixtureSession, error_record, resolve_mode

__all__ = [
    "BlockingHook",
    "Compiled",
    "FixtureHook",
    "FixtureInterceptor",
    "FixtureTransport",
    "RecordingTransport",
    "ReplayStream",
    "ReplayTransport",
    "ServeRecorded",
    "response_record",
    "stream_events",
    "transport_error",
]

_STREAM_TYPES = ("text/event-stream", "ndjson", "jsonl")
#: ``json.dumps(..., ensure_ascii=False)``, with the encoder made once.
_JSON = json.JSONEncoder(ensure_ascii=False)


# -- recording ----------------------------------------------------------------------------------
def _sse_events(data: bytes) -> list[dict[str, Any]]:
    from reqllm._sse import SSEDecoder

    decoder = SSEDecoder()
    events = decoder.feed(data) + decoder.close()
    out = []
    for event in events:
        item: dict[str, Any] = {"event": event.event}
        try:
            item["data"] = json.loads(event.data)
        except ValueError:
            item["data"] = event.data
        if event.id is not None:
            item["id"] = event.id
        out.append(item)
    return out


def stream_events(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The SSE events of a stored stream response, parsed from its chunks (either format), for reading."""
    chunks = [c[1] if isinstance(c, list) else c for c in response.get("chunks") or ()]
    data = b"".join(base64.b64decode(c["b64"]) if isinstance(c, dict) else str(c).encode("utf-8") for c in chunks)
    return _sse_events(data)


def response_record(status: int, headers: httpx.Headers, chunks: Sequence[bytes], timing: Sequence[float],
                    error: BaseException | None, *, stream: bool) -> dict[str, Any]:
    """How a response is stored: allow-listed headers, and its parsed body, or its raw chunks with offsets."""
    content_type = headers.get("content-type", "").lower()
    record: dict[str, Any] = {"status": status,
                              "headers": filter_headers(headers.multi_items(), RESPONSE_HEADERS)}
    data = b"".join(chunks)
    if any(t in content_type for t in _STREAM_TYPES) or (stream and status < 400):
        record["chunks"] = [chunk_to_json(c) for c in chunks]
        record["timing_ms"] = [round(t, 1) for t in timing]
    elif data:
        try:
            record["body"] = json.loads(data)
        except ValueError:
            stored = chunk_to_json(data)
            record["text" if isinstance(stored, str) else "b64"] = stored if isinstance(stored, str) else \
                stored["b64"]
    record["error"] = error_record(error) if error is not None else None
    return record


class _Capture:
    """Collects one response's chunks as they are read and writes the record once, at the end."""

    __slots__ = ("chunks", "done", "entry", "response", "started", "stream", "timing")

    def __init__(self, entry: dict[str, Any], response: httpx.Response, started: float, stream: bool) -> None:
        self.entry = entry
        self.response = response
        self.started = started
        self.stream = stream
        self.chunks: list[bytes] = []
        self.timing: list[float] = []
        self.done = False

    def add(self, chunk: bytes) -> None:
        self.chunks.append(chunk)
        self.timing.append((time.perf_counter() - self.started) * 1000.0)

    def finish(self, error: BaseException | None = None) -> None:
        if not self.done:
            self.done = True
            self.entry["response"] = response_record(self.response.status_code, self.response.headers,
                                                     self.chunks, self.timing, error, stream=self.stream)

    def _encoded(self) -> bool:
        return self.response.headers.get("content-encoding", "identity").lower() not in ("", "identity")

    def source(self) -> Iterator[bytes]:
        """The body as it arrives: raw transport chunks, or decoded ones when content-encoded."""
        response = self.response
        if not self._encoded():
            assert isinstance(response.stream, httpx.SyncByteStream)
            yield from response.stream
        elif getattr(response, "_content", None) is not None:
            yield response.content
        else:
            yield from response.iter_bytes()

    async def asource(self) -> AsyncIterator[bytes]:
        """Async twin of ``source``."""
        response = self.response
        if not self._encoded():
            assert isinstance(response.stream, httpx.AsyncByteStream)
            async for chunk in response.stream:
                yield chunk
        elif getattr(response, "_content", None) is not None:
            yield response.content
        else:
            async for chunk in response.aiter_bytes():
                yield chunk


class _SyncTee(httpx.SyncByteStream):
    def __init__(self, capture: _Capture) -> None:
        self.capture = capture

    def __iter__(self) -> Iterator[bytes]:
        capture = self.capture
        try:
            for chunk in capture.source():
                if chunk:
                    capture.add(chunk)
                yield chunk
        except Exception as exc:
            capture.finish(exc)
            raise
        capture.finish()

    def close(self) -> None:
        self.capture.finish()
        self.capture.response.close()


class _AsyncTee(httpx.AsyncByteStream):
    def __init__(self, capture: _Capture) -> None:
        self.capture = capture

    async def __aiter__(self) -> AsyncIterator[bytes]:
        capture = self.capture
        try:
            async for chunk in capture.asource():
                if chunk:
                    capture.add(chunk)
                yield chunk
        except Exception as exc:
            capture.finish(exc)
            raise
        capture.finish()

    async def aclose(self) -> None:
        self.capture.finish()
        await self.capture.response.aclose()


def _teed(capture: _Capture, request: httpx.Request, stream: httpx.SyncByteStream | httpx.AsyncByteStream
          ) -> httpx.Response:
    source = capture.response
    headers = source.headers
    if capture._encoded():  # the caller gets (and the fixture keeps) the decoded body
        headers = httpx.Headers([(k, v) for k, v in headers.multi_items()
                                 if k.lower() not in ("content-encoding", "content-length")])
    return httpx.Response(source.status_code, headers=headers, stream=stream, request=request,
                          extensions=source.extensions)


class RecordingTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Sends through ``inner`` (the caller's transport) and records each exchange into ``session``."""

    def __init__(self, session: FixtureSession,
                 inner: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
                 call: Any = None, *, owns_inner: bool = False) -> None:
        self.session = session
        self.inner = inner
        self.call = call
        self._owns_inner = owns_inner or inner is None
        self._stream = bool(getattr(call, "stream", False))
        session.decode_raw = _decode_raw  # other clients' traffic gets its decoded part at save time

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and return a response whose body is recorded as it is read."""
        if self.inner is None:
            self.inner = httpx.HTTPTransport()
        assert isinstance(self.inner, httpx.BaseTransport)
        request.read()
        request.extensions[SEAM] = True  # recorded here: the network interceptor lets it pass
        started = time.perf_counter()
        entry = self.session.begin(request, self.call)
        try:
            response = self.inner.handle_request(request)
        except Exception as exc:
            entry["response"] = {"status": None, "headers": {}, "error": error_record(exc)}
            raise
        capture = _Capture(entry, response, started, self._stream)
        return _teed(capture, request, _SyncTee(capture))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Async twin of ``handle_request``."""
        if self.inner is None:
            self.inner = httpx.AsyncHTTPTransport()
        assert isinstance(self.inner, httpx.AsyncBaseTransport)
        await request.aread()
        request.extensions[SEAM] = True
        started = time.perf_counter()
        entry = self.session.begin(request, self.call)
        try:
            response = await self.inner.handle_async_request(request)
        except Exception as exc:
            entry["response"] = {"status": None, "headers": {}, "error": error_record(exc)}
            raise
        capture = _Capture(entry, response, started, self._stream)
        return _teed(capture, request, _AsyncTee(capture))

    def close(self) -> None:
        """Close the inner transport if this transport created it."""
        if self._owns_inner and isinstance(self.inner, httpx.BaseTransport):
            self.inner.close()

    async def aclose(self) -> None:
        """Async twin of ``close``."""
        if self._owns_inner and isinstance(self.inner, httpx.AsyncBaseTransport):
            await self.inner.aclose()


# -- replay -------------------------------------------------------------------------------------
def transport_error(error: dict[str, Any], request: httpx.Request | None) -> Exception:
    """The httpx exception a recorded ``{"type", "message"}`` stands for (ReadError when unknown)."""
    name, message = str(error.get("type") or "ReadError"), str(error.get("message") or "")
    cls = getattr(httpx, name, None)
    if isinstance(cls, type) and issubclass(cls, httpx.TransportError):
        return cls(message, request=request)
    return httpx.ReadError(f"{name}: {message}" if message else name, request=request)


class ReplayStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Recorded chunks served one by one (at ``timing_ms * scale`` when a scale is given), then the error."""

    def __init__(self, chunks: Sequence[bytes], timing: Sequence[float] | None = None,
                 scale: float | None = None, error: dict[str, Any] | None = None,
                 request: httpx.Request | None = None) -> None:
        self.chunks = chunks
        self.timing = timing if scale and timing and len(timing) == len(chunks) else None
        self.scale = scale or 0.0
        self.error = error
        self.request = request

    def _delay(self, start: float, i: int) -> float:
        assert self.timing is not None
        return start + self.timing[i] * self.scale / 1000.0 - time.perf_counter()

    def __iter__(self) -> Iterator[bytes]:
        start = time.perf_counter()
        for i, chunk in enumerate(self.chunks):
            if self.timing is not None:
                wait = self._delay(start, i)
                if wait > 0:
                    time.sleep(wait)
            yield chunk
        if self.error:
            raise transport_error(self.error, self.request)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        start = time.perf_counter()
        for i, chunk in enumerate(self.chunks):
            if self.timing is not None:
                wait = self._delay(start, i)
                if wait > 0:
                    await asyncio.sleep(wait)
            yield chunk
        if self.error:
            raise transport_error(self.error, self.request)


def _compiled(session: FixtureSession, position: int) -> Compiled:
    return prepared(session.fixture())[position]


class ServeRecorded(httpx.BaseTransport):
    """Answers any request with one recorded response (re-decoding it does not depend on the request)."""

    def __init__(self, response: dict[str, Any]) -> None:
        self.compiled = Compiled(response)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """The recorded response, streamed chunk by chunk as recorded."""
        compiled = self.compiled
        if compiled.status is None:
            raise transport_error(compiled.error or {}, request)
        return httpx.Response(compiled.status, headers=compiled.headers, request=request,
                              stream=ReplayStream(compiled.chunks, error=compiled.error, request=request))


def _decode_raw(item: dict[str, Any]) -> dict[str, Any]:
    return decode_raw(item, ServeRecorded)


class ReplayTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Serves recorded responses from ``session``; never sends anything."""

    def __init__(self, session: FixtureSession, call: Any = None) -> None:
        self.session = session
        self.call = call

    def _respond(self, request: httpx.Request) -> httpx.Response:
        __tracebackhide__ = True
        session = self.session
        position = session.lookup(request, self.call)
        compiled = _compiled(session, position)
        if compiled.status is None:
            raise transport_error(compiled.error or {}, request)
        if (self.call is not None and not self.call.stream and len(compiled.chunks) == 1 and not compiled.error
                and not session.timing):
            # a reqllm call's whole answer in one piece, served at once: handed over read, as a mock transport's is
            return httpx.Response(compiled.status, headers=compiled.headers, content=compiled.chunks[0],
                                  request=request)
        stream = ReplayStream(compiled.chunks, compiled.timing, session.timing, compiled.error, request)
        return httpx.Response(compiled.status, headers=compiled.headers, stream=stream, request=request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """The recorded response for ``request`` (FixtureMismatchError when none matches)."""
        __tracebackhide__ = True
        request.read()
        return self._respond(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Async twin of ``handle_request``."""
        __tracebackhide__ = True
        await request.aread()
        return self._respond(request)


class FixtureTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Record or replay any httpx client's traffic: ``httpx.Client(transport=FixtureTransport("x.json"))``.

    ``mode``: ``replay``, ``record`` or ``missing``; by default the session's switch (``--reqllm-record``,
    else ``REQLLM_FIXTURES``, else replay); ``inner`` is the transport recording
    sends through (a new ``HTTPTransport``/``AsyncHTTPTransport`` by default). A request of a recognised
    protocol gets its decoded part at save time (``reqllm_testing.decoding``).

    A recording is written only when its owner ends without an exception: the transport's own
    ``with`` block, the client's ``with`` block (httpx hands its exception to the transport), or
    ``close()`` / ``aclose()`` called while no exception is being raised. A block that raises discards
    it (a note on the exception says so); a recording never saved — a client never closed, or closed
    while an exception was raised — is reported at the end of the pytest session (which then fails)
    or on stderr at exit. Made by ``reqllm_fixture.transport()``, it follows the test's outcome instead.
    """

    def __init__(self, path: str | Path, mode: str | None = None, inner: httpx.BaseTransport |
                 httpx.AsyncBaseTransport | None = None, *, ignore_fields: Sequence[str] = (),
                 timing: float | None = None, session: FixtureSession | None = None) -> None:
        path = Path(path)
        self.session = session or FixtureSession(path, resolve_mode(mode, path), timing=timing,
                                                 matcher=Matcher(tuple(ignore_fields)), allow_unused=True)
        self._own_session = session is None
        self._ended = False
        self._delegate: RecordingTransport | ReplayTransport
        if self.session.mode == "record":
            self._delegate = RecordingTransport(self.session, inner, owns_inner=inner is None)
            if self._own_session:
                _unsaved.hold(self.session)
        else:
            self._delegate = ReplayTransport(self.session)

    @property
    def mode(self) -> str:
        """``record`` or ``replay``."""
        return self.session.mode

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Record or replay one request."""
        return self._delegate.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Async twin of ``handle_request``."""
        return await self._delegate.handle_async_request(request)

    def save(self) -> Path | None:
        """Write what was recorded (nothing in replay, nor when the test's fixture owns the recording)."""
        if not self._own_session or self.session.mode != "record":
            return None
        self._ended = True
        try:
            return self.session.save()
        finally:  # written, or an error says why not: either way no longer silently unsaved
            _unsaved.release(self.session)

    def _end(self, error: BaseException | None, *, closing: bool = False) -> None:
        """The owner ended: save without an exception; with one, discard (``closing``: keep it reported)."""
        if self._ended or not self._own_session or self.session.mode != "record":
            return
        if error is None:
            self.save()
            return
        count = len(self.session.entries)
        if closing:  # close() while an exception is raised: not saved, and reported at the end
            _unsaved.hold(self.session, f"the transport was closed while {type(error).__name__} was raised")
            note = "reported at the end of the session"
        else:
            self._ended = True
            _unsaved.release(self.session)
            note = "the previous fixture is kept"
        if count:
            error.add_note(f"reqllm_testing: the recording of {count} interaction(s) into {self.session.path} "
                           f"was not saved because of this exception ({note})")

    def unused(self) -> list[int]:
        """Positions of recorded interactions not served yet (replay)."""
        return self.session.unused()

    def __enter__(self) -> FixtureTransport:
        return self

    def __exit__(self, exc_type: type[BaseException] | None = None, exc: BaseException | None = None,
                 tb: TracebackType | None = None) -> None:
        self._end(exc)
        self._close_inner()

    async def __aenter__(self) -> FixtureTransport:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None = None, exc: BaseException | None = None,
                        tb: TracebackType | None = None) -> None:
        self._end(exc)
        await self._aclose_inner()

    def close(self) -> None:
        """Save a recording (unless an exception is being raised) and close the inner transport."""
        self._end(sys.exception(), closing=True)
        self._close_inner()

    async def aclose(self) -> None:
        """Async twin of ``close``."""
        self._end(sys.exception(), closing=True)
        await self._aclose_inner()

    def _close_inner(self) -> None:
        if isinstance(self._delegate, RecordingTransport):
            self._delegate.close()

    async def _aclose_inner(self) -> None:
        if isinstance(self._delegate, RecordingTransport):
            await self._delegate.aclose()


# -- the reqllm hooks ---------------------------------------------------------------------------
class FixtureHook:
    """The ``reqllm`` CallHook of one session: wraps each call's transport to record or replay it."""

    def __init__(self, session: FixtureSession) -> None:
        self.session = session

    def wrap(self, transport: httpx.BaseTransport, call: Any) -> httpx.BaseTransport:
        """Record through ``transport``, or replay (``transport`` is then never used)."""
        if self.session.mode == "record":
            return RecordingTransport(self.session, transport, call)
        return ReplayTransport(self.session, call)

    def wrap_async(self, transport: httpx.AsyncBaseTransport, call: Any) -> httpx.AsyncBaseTransport:
        """Async twin of ``wrap``."""
        if self.session.mode == "record":
            return RecordingTransport(self.session, transport, call)
        return ReplayTransport(self.session, call)

    def placeholder_key(self, call: Any) -> str | None:
        """In replay no real key is needed: a placeholder stands in."""
        return REPLAY_KEY if self.session.mode == "replay" else None

    def on_result(self, call: Any, result: Any, error: BaseException | None) -> None:
        """Store (record) or check (replay) the call's decoded result."""
        __tracebackhide__ = True
        self.session.on_result(call, result, error)


class FixtureInterceptor:
    """The ``intercept`` handler of one session: other clients' network traffic, recorded or replayed."""

    def __init__(self, session: FixtureSession) -> None:
        self.session = session

    def handle(self, request: httpx.Request, network: httpx.BaseTransport) -> httpx.Response:
        """Record through ``network``, or replay (the network is then never used)."""
        __tracebackhide__ = True
        if self.session.mode == "record":
            return RecordingTransport(self.session, network).handle_request(request)
        return ReplayTransport(self.session).handle_request(request)

    async def ahandle(self, request: httpx.Request, network: httpx.AsyncBaseTransport) -> httpx.Response:
        """Async twin of ``handle``."""
        __tracebackhide__ = True
        if self.session.mode == "record":
            return await RecordingTransport(self.session, network).handle_async_request(request)
        return await ReplayTransport(self.session).handle_async_request(request)


class BlockingHook:
    """Installed process-wide by ``--reqllm-block-network``: any reqllm call outside a fixture fails."""

    def _blocked(self, call: Any) -> NetworkBlockedError:
        return NetworkBlockedError(
            f"reqllm call to {call.model} ({call.operation}) outside a fixture, and --reqllm-block-network "
            f"forbids live calls: request the `reqllm_fixture` fixture in this test (or use "
            f"reqllm_testing.use_fixture)")

    def wrap(self, transport: httpx.BaseTransport, call: Any) -> httpx.BaseTransport:
        """Refuse."""
        __tracebackhide__ = True
        raise self._blocked(call)

    def wrap_async(self, transport: httpx.AsyncBaseTransport, call: Any) -> httpx.AsyncBaseTransport:
        """Refuse."""
        raise self._blocked(call)

    def placeholder_key(self, call: Any) -> str | None:
        """No stand-in key: the call fails in ``wrap`` anyway."""
        return None

    def on_result(self, call: Any, result: Any, error: BaseException | None) -> None:
        """Nothing to do."""
