"""Fixtures of the reliability tests: a misbehaving loopback server, a refused port, fast backoff."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

import reqllm._retry

from .faultserver import FaultServer


@pytest.fixture
def server() -> Iterator[FaultServer]:
    """A fresh FaultServer for one test."""
    srv = FaultServer()
    try:
        yield srv
    finally:
        srv.close()


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A base URL on a loopback port that is bound but never listens: connecting is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    finally:
        sock.close()


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exponential backoff starts at 10 ms here; tests about a provider's hint set the hint."""
    monkeypatch.setattr(reqllm._retry, "BASE_DELAY", 0.01)
