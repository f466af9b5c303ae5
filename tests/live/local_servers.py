"""The repository's local LLM servers for live tests: ``scripts/local_llm.py`` loaded as a module."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
#: What each server's base URL gets appended for reqllm's ``local-llm*`` providers.
API_PATH = {"llama": "/v1", "python": "/v1", "tools": "/v1", "gemini": "/v1beta"}


@functools.cache
def script() -> ModuleType:
    """``scripts/local_llm.py``, imported once."""
    spec = importlib.util.spec_from_file_location("local_llm", ROOT / "scripts" / "local_llm.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def running(server: str, timeout: float = 300.0) -> Iterator[str]:
    """The base URL of ``server``: a running one is reused and left running; else started, then stopped."""
    local_llm = script()
    started = not local_llm.status(server=server)["running"]
    info = local_llm.start(server=server, timeout=timeout)
    try:
        yield info["base_url"] + API_PATH[server]
    finally:
        if started:
            local_llm.stop(server=server)
