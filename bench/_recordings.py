"""The calls under measurement, and the fixtures and cassettes recorded from them through the real APIs.

Fixtures are written by ``reqllm_testing.use_fixture(..., mode="record")`` and cassettes by
``vcr.use_cassette(..., record_mode="all")``, both around the same reqllm calls sent to an
``httpx.MockTransport`` that plays the Anthropic server, so each format is exactly what its tool writes.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

import reqllm
from reqllm_testing import use_fixture

from ._payloads import MODEL, message_bytes, mock_client, prompt, sse_chunks

__all__ = ["KEY", "copies", "generate", "record_cassette", "record_fixture", "server", "stream", "vcr_cassette"]

KEY = "test-key-0123456789"
_VARIANT = re.compile(rb"variant (\d+)")


def generate(i: int = 0, client: httpx.Client | None = None) -> reqllm.Response:
    """The non-streaming call under measurement (``client``: None means reqllm's own transport)."""
    return reqllm.generate_text(MODEL, prompt(i), api_key=KEY, http_client=client)


def stream(i: int = 0, client: httpx.Client | None = None) -> list[reqllm.StreamChunk]:
    """The streaming call under measurement, consumed as StreamChunks."""
    return list(reqllm.stream_text(MODEL, prompt(i), api_key=KEY, http_client=client))


def server(deltas: int | None = None, *, one_read: bool = False, variant: int | None = None) -> httpx.Client:
    """A client whose MockTransport answers each prompt: a Messages body, or a stream of ``deltas`` deltas.

    A stream arrives one event per read, or (``one_read``) as a single read, as vcrpy replays it.
    With ``variant``, the answer to ``prompt(variant)`` is served, built once: the floor does no work.
    """
    chunks = sse_chunks(deltas) if deltas is not None else None
    if chunks is not None and one_read:
        chunks = [b"".join(chunks)]
    fixed = message_bytes(variant) if variant is not None else None

    def respond(request: httpx.Request) -> bytes | list[bytes]:
        if chunks is not None:
            return chunks
        if fixed is not None:
            return fixed
        found = _VARIANT.search(request.content)
        return message_bytes(int(found.group(1)) if found else 0)

    return mock_client(respond)


def _calls(indices: Sequence[int], deltas: int | None) -> None:
    client = server(deltas)
    for i in indices:
        if deltas is None:
            generate(i, client)
        else:
            stream(i, client)


def record_fixture(path: Path, indices: Sequence[int], deltas: int | None = None) -> Path:
    """Record the calls for ``indices`` (streams of ``deltas`` deltas when given) into a reqllm fixture."""
    path.unlink(missing_ok=True)
    with use_fixture(path, mode="record"):
        _calls(indices, deltas)
    return path


def record_cassette(path: Path, indices: Sequence[int], deltas: int | None = None) -> Path:
    """Record the same calls into a vcrpy cassette (vcrpy intercepts MockTransport too)."""
    import vcr

    path.unlink(missing_ok=True)
    with vcr.use_cassette(str(path), record_mode="all"):
        _calls(indices, deltas)
    return path


@contextlib.contextmanager
def vcr_cassette(path: Path, *, body: bool = False, repeats: bool = True) -> Iterator[Any]:
    """vcrpy replaying ``path`` (never recording); ``body``: match on the request body too."""
    import vcr

    match_on = ("method", "scheme", "host", "port", "path", "query") + (("body",) if body else ())
    with vcr.use_cassette(str(path), record_mode="none", match_on=match_on,
                          allow_playback_repeats=repeats) as cassette:
        yield cassette


def copies(source: Path, directory: Path, count: int) -> Iterator[Path]:
    """``count`` copies of a recorded file (one file per test), handed out in turn."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = directory / f"test_{i}{source.suffix}"
        shutil.copyfile(source, path)
        paths.append(path)
    return iter(paths)
