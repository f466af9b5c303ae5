"""How the core obtains the httpx transport for a call — THE seam reqllm_testing wraps.

Normally a call goes through the caller's ``http_client`` transport, or a shared pooled one.
When a ``CallHook`` is installed in the current context (``install_hook``), the hook wraps that
transport (to record or replay) and sees each call's decoded result. Nothing is patched.
"""

from __future__ import annotations

import contextvars
import dataclasses
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

import httpx

if TYPE_CHECKING:
    import asyncio

__all__ = ["CallHook", "CallInfo", "async_transport", "current_hook", "install_hook", "sync_transport"]


@dataclasses.dataclass(slots=True, eq=False)
class CallInfo:
    """What a hook knows about one reqllm call (one per call, shared by its retries)."""

    provider: str
    model: str
    operation: str
    stream: bool
    protocol: str
    #: Every API key value this call could send, so recorders can scrub it anywhere.
    secrets: tuple[str, ...] = ()
    #: Free slot for the hook (e.g. the interactions recorded for this call).
    hook_state: Any = None


class CallHook(Protocol):
    """What reqllm_testing (or any other tool) installs to see and steer reqllm's traffic."""

    def wrap(self, transport: httpx.BaseTransport, call: CallInfo) -> httpx.BaseTransport:
        """The transport this call should use instead of ``transport``."""
        ...

    def wrap_async(self, transport: httpx.AsyncBaseTransport, call: CallInfo) -> httpx.AsyncBaseTransport:
        """Async twin of ``wrap``."""
        ...

    def placeholder_key(self, call: CallInfo) -> str | None:
        """A stand-in API key when none is configured (replay needs no real key), or None."""
        ...

    def on_result(self, call: CallInfo, result: Any, error: BaseException | None) -> None:
        """The decoded result: a Response/EmbedResponse, or the list of StreamChunks of a stream."""
        ...


_hook: contextvars.ContextVar[CallHook | None] = contextvars.ContextVar("reqllm_hook", default=None)
_global_hook: list[CallHook | None] = [None]


def current_hook() -> CallHook | None:
    """The hook in force: the context's, else the process-wide one."""
    return _hook.get() or _global_hook[0]


@contextmanager
def install_hook(hook: CallHook | None, *, process_wide: bool = False) -> Iterator[None]:
    """Install ``hook`` for the current context (and tasks it starts), or for every thread."""
    if process_wide:
        previous = _global_hook[0]
        _global_hook[0] = hook
        try:
            yield
        finally:
            _global_hook[0] = previous
        return
    token = _hook.set(hook)
    try:
        yield
    finally:
        _hook.reset(token)


_sync_lock = threading.Lock()
_shared_sync: list[httpx.HTTPTransport] = []
_shared_async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncHTTPTransport] = (
    weakref.WeakKeyDictionary()
)


def _default_sync() -> httpx.HTTPTransport:
    if not _shared_sync:
        with _sync_lock:
            if not _shared_sync:
                _shared_sync.append(httpx.HTTPTransport(retries=0))
    return _shared_sync[0]


def _default_async() -> httpx.AsyncHTTPTransport:
    import asyncio  # here, not at the top: sync-only programs never import asyncio

    loop = asyncio.get_running_loop()
    transport = _shared_async.get(loop)
    if transport is None:
        transport = _shared_async[loop] = httpx.AsyncHTTPTransport(retries=0)
    return transport


def sync_transport(client: httpx.Client | httpx.AsyncClient | None, url: httpx.URL,
                   call: CallInfo) -> httpx.BaseTransport:
    """The transport a sync call sends through (the caller's client's, used as is, or the shared one)."""
    if isinstance(client, httpx.AsyncClient):
        from .errors import InvalidOptionError

        raise InvalidOptionError("http_client is an httpx.AsyncClient; sync calls need an httpx.Client")
    transport = client._transport_for_url(url) if client is not None else _default_sync()
    hook = current_hook()
    return hook.wrap(transport, call) if hook is not None else transport


def async_transport(client: httpx.Client | httpx.AsyncClient | None, url: httpx.URL,
                    call: CallInfo) -> httpx.AsyncBaseTransport:
    """Async twin of ``sync_transport``."""
    if isinstance(client, httpx.Client):
        from .errors import InvalidOptionError

        raise InvalidOptionError("http_client is an httpx.Client; async calls need an httpx.AsyncClient")
    transport = client._transport_for_url(url) if client is not None else _default_async()
    hook = current_hook()
    return hook.wrap_async(transport, call) if hook is not None else transport
