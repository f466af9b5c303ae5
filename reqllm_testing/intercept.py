"""The one place that patches: httpx's and httpx2's network transports, and sockets when blocking.

reqllm's own calls go through the core's transport seam (a context variable), never a patch. The
traffic of every other client — the official SDKs, frameworks on httpx, a client built with its own
``base_url`` and ``httpx.Client`` — is caught where it leaves for the network:
``httpx.HTTPTransport.handle_request``, ``httpx.AsyncHTTPTransport.handle_async_request`` and the same
two methods of ``httpx2`` (when installed). The patch is in place only while at least one
``intercept`` / ``route`` block is open (a fixture in use), and removed after the last one closes.

Left alone: transports that are not network transports (``MockTransport``, ``ASGITransport``,
``WSGITransport``, any custom one), requests to hosts in ``ignore_hosts``, and requests marked with
the ``SEAM`` extension — reqllm's recorder marks what it sends itself, so nothing is recorded twice.

    with route(httpx.MockTransport(answer)):          # every SDK request answered by ``answer``
        OpenAI(base_url="http://127.0.0.1:9/v1", api_key="k").models.list()

``block_network`` makes every outgoing socket connection outside an intercept block fail with
``NetworkBlockedError`` (httpx, requests, urllib, aiohttp and raw sockets all connect through
``socket.socket.connect``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

import httpx

from .errors import NetworkBlockedError

__all__ = ["SEAM", "Handler", "active", "block_network", "intercept", "route"]

#: Request extension set on traffic that must reach the network untouched (reqllm's own, already recorded).
SEAM = "reqllm_seam"


class Handler(Protocol):
    """What an ``intercept`` block does with each caught request (always an ``httpx.Request``, body read).

    ``network`` sends a request on to the real network through the transport that was intercepted
    (converted back to httpx2 when it was an httpx2 one); a recorder sends through it, a replayer never.
    """

    def handle(self, request: httpx.Request, network: httpx.BaseTransport) -> httpx.Response:
        """The response to ``request`` (a sync client sent it)."""
        ...

    async def ahandle(self, request: httpx.Request, network: httpx.AsyncBaseTransport) -> httpx.Response:
        """Async twin of ``handle``."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class _Block:
    handler: Handler
    ignore_hosts: frozenset[str]


_lock = threading.RLock()
_blocks: list[_Block] = []
#: (class, method name) -> the original function, while patched.
_originals: dict[tuple[type, str], Any] = {}


def active() -> bool:
    """True while some ``intercept`` / ``route`` block is open (a fixture is in use)."""
    return bool(_blocks)


def _block_for(request: Any) -> _Block | None:
    if not _blocks or request.extensions.get(SEAM):
        return None
    block = _blocks[-1]
    if block.ignore_hosts and _ignored(request.url.host, block.ignore_hosts):
        return None
    return block


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _ignored(host: str, hosts: frozenset[str]) -> bool:
    """``host`` is listed, or is a loopback address while ``localhost`` (or any loopback address) is."""
    host = host.lower().strip("[]")
    if host in hosts:
        return True
    return _is_loopback(host) and any(_is_loopback(h) for h in hosts)


class _Network(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Sends on through the intercepted transport, marked so that the patch lets it pass."""

    def __init__(self, transport: Any) -> None:
        self.transport = transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.extensions[SEAM] = True
        return self.transport.handle_request(request)  # type: ignore[no-any-return]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.extensions[SEAM] = True
        return await self.transport.handle_async_request(request)  # type: ignore[no-any-return]


def _httpx_patches() -> list[tuple[type, str, Callable[[Any], Any]]]:
    def sync(original: Any) -> Any:
        def handle_request(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
            block = _block_for(request)
            if block is None:
                return original(self, request)  # type: ignore[no-any-return]
            request.read()
            return block.handler.handle(request, _Network(self))
        return handle_request

    def asynchronous(original: Any) -> Any:
        async def handle_async_request(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
            block = _block_for(request)
            if block is None:
                return await original(self, request)  # type: ignore[no-any-return]
            await request.aread()
            return await block.handler.ahandle(request, _Network(self))
        return handle_async_request

    return [(httpx.HTTPTransport, "handle_request", sync),
            (httpx.AsyncHTTPTransport, "handle_async_request", asynchronous)]


def _httpx2_patches() -> list[tuple[type, str, Callable[[Any], Any]]]:
    from . import _httpx2

    if not _httpx2.available():
        return []
    import httpx2

    from ._httpx2 import from_httpx2, to_httpx2_error, to_httpx2_response, to_httpx_request

    def sync(original: Any) -> Any:
        def handle_request(self: httpx2.HTTPTransport, request: httpx2.Request) -> httpx2.Response:
            block = _block_for(request)
            if block is None:
                return original(self, request)  # type: ignore[no-any-return]
            request.read()
            try:
                response = block.handler.handle(to_httpx_request(request), _Network(from_httpx2(self)))
            except httpx.HTTPError as exc:
                raise to_httpx2_error(exc) from exc
            return to_httpx2_response(response, request)
        return handle_request

    def asynchronous(original: Any) -> Any:
        async def handle_async_request(self: httpx2.AsyncHTTPTransport, request: httpx2.Request
                                       ) -> httpx2.Response:
            block = _block_for(request)
            if block is None:
                return await original(self, request)  # type: ignore[no-any-return]
            await request.aread()
            try:
                response = await block.handler.ahandle(to_httpx_request(request), _Network(from_httpx2(self)))
            except httpx.HTTPError as exc:
                raise to_httpx2_error(exc) from exc
            return to_httpx2_response(response, request)
        return handle_async_request

    return [(httpx2.HTTPTransport, "handle_request", sync),
            (httpx2.AsyncHTTPTransport, "handle_async_request", asynchronous)]


#: (class, method name) -> (the method found there, its patched version): made once per process, and again
#: only when another library replaced the method since (the patch always wraps what is there now).
_made: dict[tuple[type, str], tuple[Any, Any]] = {}
_makers: list[tuple[type, str, Callable[[Any], Any]]] = []


def _patch() -> None:
    if not _makers:
        _makers.extend((*_httpx_patches(), *_httpx2_patches()))
    for cls, name, make in _makers:
        original = cls.__dict__[name]
        made = _made.get((cls, name))
        if made is None or made[0] is not original:
            made = _made[(cls, name)] = (original, make(original))
        _originals[(cls, name)] = original
        setattr(cls, name, made[1])


def _unpatch() -> None:
    for (cls, name), original in _originals.items():
        setattr(cls, name, original)
    _originals.clear()


@contextlib.contextmanager
def intercept(handler: Handler, *, ignore_hosts: Iterable[str] = ()) -> Iterator[None]:
    """Send every network request of httpx / httpx2 clients (any thread) to ``handler`` in this block.

    Blocks nest: the innermost open one handles. Requests to ``ignore_hosts`` (``localhost`` also
    covers loopback addresses) reach the network untouched.
    """
    block = _Block(handler, frozenset(h.lower().strip("[]") for h in ignore_hosts))
    with _lock:
        if not _blocks:
            _patch()
        _blocks.append(block)
    try:
        yield
    finally:
        with _lock:
            _blocks.remove(block)
            if not _blocks:
                _unpatch()


class _Fixed:
    """A handler that answers from a given httpx transport pair and never touches the network."""

    def __init__(self, sync: httpx.BaseTransport | None, asynchronous: httpx.AsyncBaseTransport | None) -> None:
        self.sync = sync
        self.asynchronous = asynchronous

    def handle(self, request: httpx.Request, network: httpx.BaseTransport) -> httpx.Response:
        if self.sync is None:
            raise TypeError("route(): a sync client sent a request, and no sync transport was given")
        return self.sync.handle_request(request)

    async def ahandle(self, request: httpx.Request, network: httpx.AsyncBaseTransport) -> httpx.Response:
        if self.asynchronous is None:
            raise TypeError("route(): an async client sent a request, and no async transport was given")
        return await self.asynchronous.handle_async_request(request)


@contextlib.contextmanager
def route(transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
          async_transport: httpx.AsyncBaseTransport | None = None, *,
          ignore_hosts: Iterable[str] = ()) -> Iterator[None]:
    """Answer every network request of every httpx / httpx2 client, sync and async, from httpx transports.

    ``transport`` answers sync clients (and async ones too when it is also an ``AsyncBaseTransport``,
    like ``httpx.MockTransport``); ``async_transport``, when given, answers async clients. The
    transports receive ``httpx.Request`` objects with the body read and return ``httpx.Response`` s
    (streamed or not); httpx2 clients get them converted, transport errors renamed. Nothing reaches
    the network except requests to ``ignore_hosts``; reqllm's own calls keep going through the core's
    seam (use its hook to answer those).
    """
    sync = transport if isinstance(transport, httpx.BaseTransport) else None
    if async_transport is None and isinstance(transport, httpx.AsyncBaseTransport):
        async_transport = transport
    with intercept(_Fixed(sync, async_transport), ignore_hosts=ignore_hosts):
        yield


# -- blocking ------------------------------------------------------------------------------------
def _address_host(address: Any) -> str | None:
    if isinstance(address, tuple) and address and isinstance(address[0], str):
        return address[0]
    return None


@contextlib.contextmanager
def block_network(allow_hosts: Iterable[str] = (), command: Callable[[], str] | None = None) -> Iterator[None]:
    """Every socket connection outside an ``intercept`` block fails with ``NetworkBlockedError``.

    Loopback connections are allowed when ``allow_hosts`` lists ``localhost`` or a loopback address;
    other listed hosts are allowed by name or address. ``command`` returns the command that records
    the current test (named in the error). Unix sockets always connect.
    """
    allowed = frozenset(h.lower().strip("[]") for h in allow_hosts)
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex

    def check(sock: socket.socket, address: Any) -> None:
        host = _address_host(address)
        if host is None or sock.family not in (socket.AF_INET, socket.AF_INET6) or _blocks:
            return
        if _ignored(host, allowed):
            return
        port = address[1] if len(address) > 1 else "?"
        how = command() if command is not None else "pytest --reqllm-record=missing <test>"
        sock.close()  # callers close a socket on OSError only; this error is not one
        raise NetworkBlockedError(
            f"connection to {host}:{port} outside a reqllm fixture, and --reqllm-block-network forbids it: "
            f"use `reqllm_fixture` (or @pytest.mark.reqllm) in the test and record it with: {how}; or list "
            f"a loopback host in the ini option reqllm_ignore_hosts")

    def connect(self: socket.socket, address: Any) -> None:
        __tracebackhide__ = True
        check(self, address)
        original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        __tracebackhide__ = True
        check(self, address)
        return original_connect_ex(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        socket.socket.connect = original_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = original_connect_ex  # type: ignore[method-assign]
