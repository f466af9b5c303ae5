"""``use_fixture``: record or replay every call of a ``with`` block, outside pytest.

It joins a ``FixtureSession`` (``session``) to the hook and interceptor that feed it (``recorder``);
being its own module keeps ``session`` from importing ``recorder``, which imports ``session``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from .matching import Matcher
from .session import FixtureSession, resolve_mode

__all__ = ["use_fixture"]


class use_fixture:  # used like a function: ``with use_fixture(path): ...``
    """Record or replay every reqllm call in a ``with`` / ``async with`` block, outside pytest.

    ``mode``: ``replay``, ``missing`` (record only if the file does not exist) or ``record``
    (aliases ``none``, ``all``); default: the session's switch, else ``REQLLM_FIXTURES``, else replay.
    The recording is written when the block exits without an exception. Yields the ``FixtureSession``.
    Besides reqllm's calls, the network traffic of every httpx / httpx2 client (official SDKs included)
    is recorded or replayed, except ``ignore_hosts``.
    """

    def __init__(self, path: str | Path, mode: str | None = None, *, ignore_fields: Iterable[str] = (),
                 timing: float | None = None, allow_unused: bool = False, update_decoded: bool = False,
                 process_wide: bool = False, rules: Iterable[Callable[[dict[str, Any]], Any]] = (),
                 ignore_hosts: Iterable[str] = ()) -> None:
        path = Path(path)
        self.session = FixtureSession(path, resolve_mode(mode, path), matcher=Matcher(tuple(ignore_fields)),
                                      timing=timing, allow_unused=allow_unused, update_decoded=update_decoded,
                                      rules=rules)
        self._process_wide = process_wide
        self._ignore_hosts = tuple(ignore_hosts)
        self._contexts: list[contextlib.ExitStack] = []

    def __enter__(self) -> FixtureSession:
        from reqllm._transport import install_hook

        from .intercept import intercept
        from .recorder import FixtureHook, FixtureInterceptor

        with contextlib.ExitStack() as stack:
            stack.enter_context(install_hook(FixtureHook(self.session), process_wide=self._process_wide))
            stack.enter_context(intercept(FixtureInterceptor(self.session), ignore_hosts=self._ignore_hosts))
            self._contexts.append(stack.pop_all())
        return self.session

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._contexts.pop().__exit__(exc_type, exc, tb)
        self.session.finish(ok=exc_type is None)

    async def __aenter__(self) -> FixtureSession:
        return self.__enter__()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.__exit__(exc_type, exc, tb)
