"""Fixtures of the reqllm_testing tests: pytester, a real OpenAI-speaking server on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .loopback import OpenAIServer

pytest_plugins = ["pytester"]


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A fresh loopback server for one test (stopped at the end, if the test did not stop it)."""
    server = OpenAIServer()
    try:
        yield server
    finally:
        server.stop()
