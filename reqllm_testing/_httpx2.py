"""httpx <-> httpx2: one httpx transport serves clients of both packages.

``httpx2`` is pydantic's continuation of httpx: the same API under its own classes (an
``httpx2.Request`` is not an ``httpx.Request``). The current official SDKs build their clients on it.
reqllm_testing's transports speak httpx; this module converts requests, responses (streamed, chunk by
chunk), transport errors and whole transports between the two. Import it only when httpx2 is
installed (``available()`` says so without importing either).

    client = httpx2.Client(transport=as_httpx2(FixtureTransport("demo.json")))   # an httpx transport
    inner = from_httpx2(httpx2.HTTPTransport())                                   # the other way
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import httpx2

__all__ = [
    "Httpx2Adapter",
    "HttpxAdapter",
    "as_httpx2",
    "available",
    "from_httpx2",
    "to_httpx2_error",
    "to_httpx2_request",
    "to_httpx2_response",
    "to_httpx_error",
    "to_httpx_request",
    "to_httpx_response",
]

#: Response extensions that mean the same in both packages (others hold httpcore objects).
_EXTENSIONS = ("http_version", "reason_phrase")


def available() -> bool:
    """True when the ``httpx2`` package is installed (checked without importing it)."""
    return importlib.util.find_spec("httpx2") is not None


def _same_error(exc: BaseException, module: Any, fallback: type[Exception]) -> Exception:
    cls = getattr(module, type(exc).__name__, None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        cls = fallback
    try:
        return cls(str(exc))
    except TypeError:  # an exception class with another signature
        return fallback(str(exc))


def to_httpx_error(exc: BaseException) -> Exception:
    """The httpx exception of the same name as an httpx2 one (``httpx.TransportError`` otherwise)."""
    return _same_error(exc, httpx, httpx.TransportError)


def to_httpx2_error(exc: BaseException) -> Exception:
    """The httpx2 exception of the same name as an httpx one (``httpx2.TransportError`` otherwise)."""
    return _same_error(exc, httpx2, httpx2.TransportError)


def _extensions(extensions: dict[str, Any]) -> dict[str, Any]:
    return {k: extensions[k] for k in _EXTENSIONS if k in extensions}


def to_httpx_request(request: httpx2.Request) -> httpx.Request:
    """An httpx copy of an httpx2 request whose body was read (``read()`` / ``aread()``)."""
    out = httpx.Request(request.method, str(request.url), headers=request.headers.raw,
                        stream=httpx.ByteStream(request.content), extensions=dict(request.extensions))
    out.read()
    return out


def to_httpx2_request(request: httpx.Request) -> httpx2.Request:
    """An httpx2 copy of an httpx request whose body was read."""
    out = httpx2.Request(request.method, str(request.url), headers=request.headers.raw,
                         stream=httpx2.ByteStream(request.content), extensions=dict(request.extensions))
    out.read()
    return out


class _ToHttpx2Stream(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """An httpx response body read through httpx2: chunks as they come, errors renamed."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response

    def __iter__(self) -> Iterator[bytes]:
        stream = self.response.stream
        assert isinstance(stream, httpx.SyncByteStream)
        try:
            yield from stream
        except httpx.HTTPError as exc:
            raise to_httpx2_error(exc) from exc

    async def __aiter__(self) -> AsyncIterator[bytes]:
        stream = self.response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        try:
            async for chunk in stream:
                yield chunk
        except httpx.HTTPError as exc:
            raise to_httpx2_error(exc) from exc

    def close(self) -> None:
        stream = self.response.stream
        if isinstance(stream, httpx.SyncByteStream):
            stream.close()

    async def aclose(self) -> None:
        stream = self.response.stream
        if isinstance(stream, httpx.AsyncByteStream):
            await stream.aclose()


class _ToHttpxStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """An httpx2 response body read through httpx: chunks as they come, errors renamed."""

    def __init__(self, response: httpx2.Response) -> None:
        self.response = response

    def __iter__(self) -> Iterator[bytes]:
        stream = self.response.stream
        assert isinstance(stream, httpx2.SyncByteStream)
        try:
            yield from stream
        except httpx2.HTTPError as exc:
            raise to_httpx_error(exc) from exc

    async def __aiter__(self) -> AsyncIterator[bytes]:
        stream = self.response.stream
        assert isinstance(stream, httpx2.AsyncByteStream)
        try:
            async for chunk in stream:
                yield chunk
        except httpx2.HTTPError as exc:
            raise to_httpx_error(exc) from exc

    def close(self) -> None:
        stream = self.response.stream
        if isinstance(stream, httpx2.SyncByteStream):
            stream.close()

    async def aclose(self) -> None:
        stream = self.response.stream
        if isinstance(stream, httpx2.AsyncByteStream):
            await stream.aclose()


def to_httpx2_response(response: httpx.Response, request: httpx2.Request) -> httpx2.Response:
    """An httpx2 view of an httpx response returned by a transport (its body still streaming)."""
    return httpx2.Response(response.status_code, headers=response.headers.raw, stream=_ToHttpx2Stream(response),
                           request=request, extensions=_extensions(response.extensions))


def to_httpx_response(response: httpx2.Response, request: httpx.Request) -> httpx.Response:
    """An httpx view of an httpx2 response returned by a transport (its body still streaming)."""
    return httpx.Response(response.status_code, headers=response.headers.raw, stream=_ToHttpxStream(response),
                          request=request, extensions=_extensions(response.extensions))


class Httpx2Adapter(httpx2.BaseTransport, httpx2.AsyncBaseTransport):
    """An httpx2 transport that sends through an httpx one (``httpx2.Client(transport=as_httpx2(t))``)."""

    def __init__(self, transport: httpx.BaseTransport | httpx.AsyncBaseTransport) -> None:
        self.transport = transport

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send ``request`` through the wrapped httpx transport."""
        if not isinstance(self.transport, httpx.BaseTransport):
            raise TypeError(f"{type(self.transport).__name__} is an async transport; use httpx2.AsyncClient")
        request.read()
        try:
            response = self.transport.handle_request(to_httpx_request(request))
        except httpx.HTTPError as exc:
            raise to_httpx2_error(exc) from exc
        return to_httpx2_response(response, request)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Async twin of ``handle_request``."""
        if not isinstance(self.transport, httpx.AsyncBaseTransport):
            raise TypeError(f"{type(self.transport).__name__} is a sync transport; use httpx2.Client")
        await request.aread()
        try:
            response = await self.transport.handle_async_request(to_httpx_request(request))
        except httpx.HTTPError as exc:
            raise to_httpx2_error(exc) from exc
        return to_httpx2_response(response, request)

    def close(self) -> None:
        """Close the wrapped transport."""
        if isinstance(self.transport, httpx.BaseTransport):
            self.transport.close()

    async def aclose(self) -> None:
        """Async twin of ``close``."""
        if isinstance(self.transport, httpx.AsyncBaseTransport):
            await self.transport.aclose()


class HttpxAdapter(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """An httpx transport that sends through an httpx2 one (e.g. the network transport of an SDK client)."""

    def __init__(self, transport: httpx2.BaseTransport | httpx2.AsyncBaseTransport) -> None:
        self.transport = transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the wrapped httpx2 transport."""
        assert isinstance(self.transport, httpx2.BaseTransport)
        request.read()
        try:
            response = self.transport.handle_request(to_httpx2_request(request))
        except httpx2.HTTPError as exc:
            raise to_httpx_error(exc) from exc
        return to_httpx_response(response, request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Async twin of ``handle_request``."""
        assert isinstance(self.transport, httpx2.AsyncBaseTransport)
        await request.aread()
        try:
            response = await self.transport.handle_async_request(to_httpx2_request(request))
        except httpx2.HTTPError as exc:
            raise to_httpx_error(exc) from exc
        return to_httpx_response(response, request)

    def close(self) -> None:
        """Close the wrapped transport."""
        if isinstance(self.transport, httpx2.BaseTransport):
            self.transport.close()

    async def aclose(self) -> None:
        """Async twin of ``close``."""
        if isinstance(self.transport, httpx2.AsyncBaseTransport):
            await self.transport.aclose()


def as_httpx2(transport: httpx.BaseTransport | httpx.AsyncBaseTransport) -> Httpx2Adapter:
    """``transport`` (an httpx one: FixtureTransport, MockTransport, a Script) usable by httpx2 clients."""
    return Httpx2Adapter(transport)


def from_httpx2(transport: httpx2.BaseTransport | httpx2.AsyncBaseTransport) -> HttpxAdapter:
    """An httpx2 transport usable wherever an httpx one is expected."""
    return HttpxAdapter(transport)
