"""Conformance against real recorded provider traffic: the shared replay machinery.

The recordings live in ``../shared/corpus/`` beside the repository (never copied into it). Each one
is imported with reqllm_testing's vcrpy importer into the test's ``tmp_path``, and each
interaction's recorded response is served to reqllm's public ``stream_text`` through an
``httpx.MockTransport``: once with the imported chunks (the original network chunks where the
corpus kept them in ``NAME.chunks.json``, one SSE event per chunk otherwise), and once per
adversarial split (every 1, 2, 3 and 7 bytes, inside every multi-byte UTF-8 character, between
every ``\\r`` and ``\\n``). Every delivery must decode to the identical chunk sequence and result.
The requests were sent by other client libraries, so only the method and the URL (without its
query string) are matched.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import reqllm
from reqllm import ReqLLMError, Response, StreamChunk, TextPart, ThinkingPart
from reqllm_testing import fixture_file
from reqllm_testing.vcr_import import import_cassette

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
CORPUS = REPO.parent / "shared" / "corpus"
API_KEY = "test-key"


# -- the corpus ----------------------------------------------------------------------------------
def corpus_dir() -> Path:
    """The corpus directory; skips the test (with the reason) when it is not beside the repository."""
    if not (CORPUS / "MANIFEST.json").is_file():
        pytest.skip(f"the recorded-traffic corpus is not present at {CORPUS} (../shared/corpus beside the "
                    f"repository: the conformance tests replay it)")
    return CORPUS


@functools.cache
def _manifest() -> tuple[dict[str, Any], ...]:
    return tuple(json.loads((CORPUS / "MANIFEST.json").read_text(encoding="utf-8"))["files"])


def manifest_entries(protocol: str, provider: str | None = None) -> list[dict[str, Any]]:
    """MANIFEST entries of one protocol (and provider); empty when the corpus is absent."""
    if not (CORPUS / "MANIFEST.json").is_file():
        return []
    return [e for e in _manifest() if e["protocol"] == protocol and provider in (None, e["provider"])]


def recorded_interactions(protocol: str, provider: str | None = None) -> set[str]:
    """``path#position`` of every interaction the MANIFEST lists for a protocol (and provider)."""
    entries = manifest_entries(protocol, provider)
    return {f"{e['path']}#{i}" for e in entries for i in range(e["interactions"])}


# -- what a correct client returns ---------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Counts:
    """Usage as reqllm reports it (see reqllm._usage): input includes cached, output includes reasoning."""

    input: int
    output: int
    total: int
    reasoning: int = 0
    cached: int = 0
    cache_write: int = 0


@dataclasses.dataclass(frozen=True)
class Call:
    """One expected tool call; ``metadata`` values may be ``sha256(...)`` digests of long blobs."""

    id: str
    name: str
    arguments: dict[str, Any]
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Part:
    """One expected content part: its kind, its signature (thinking) and its metadata."""

    kind: str
    signature: str | None = None
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Failure:
    """An expected in-stream error: its class, code, the provider's message and HTTP status."""

    cls: type[ReqLLMError]
    code: str | None
    message: str
    status: int | None = None


@dataclasses.dataclass(frozen=True)
class Expected:
    """Everything asserted about one replayed interaction."""

    usage: Counts | None = None
    text: str = ""
    thinking: str = ""
    calls: tuple[Call, ...] = ()
    finish_reason: str = "stop"
    id: str | None = None
    parts: tuple[Part, ...] = ()
    error: Failure | None = None


def sha256(value: str) -> str:
    """How a long opaque blob (a signature, encrypted reasoning) is written in an expectation."""
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


def _blob(value: Any, expected: Any) -> Any:
    """``value`` in the form ``expected`` uses (its digest when the expectation is a digest)."""
    if isinstance(expected, str) and expected.startswith("sha256:") and isinstance(value, str):
        return sha256(value)
    return value


def _blobs(values: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    return {k: _blob(v, expected.get(k)) for k, v in values.items()}


# -- delivering the bytes ------------------------------------------------------------------------
class Pieces(httpx.SyncByteStream):
    """A response body delivered as exactly these reads."""

    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        yield from self._pieces


def _every(size: int) -> Callable[[bytes], list[bytes]]:
    return lambda data: [data[i:i + size] for i in range(0, len(data), size)]


def _cut(data: bytes, positions: list[int]) -> list[bytes]:
    edges = [0, *positions, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges) if b > a]


def _inside_utf8(data: bytes) -> list[bytes]:
    """Cut before every continuation byte: every multi-byte character arrives split."""
    return _cut(data, [i for i, b in enumerate(data) if 0x80 <= b < 0xC0])


def _inside_crlf(data: bytes) -> list[bytes]:
    """Cut between every ``\\r`` and the ``\\n`` after it."""
    return _cut(data, [i + 1 for i in range(len(data) - 1) if data[i:i + 2] == b"\r\n"])


SPLITS: dict[str, Callable[[bytes], list[bytes]]] = {
    "every-1": _every(1), "every-2": _every(2), "every-3": _every(3), "every-7": _every(7),
    "inside-utf8": _inside_utf8, "inside-crlf": _inside_crlf,
}


def _chunk_bytes(chunk: Any) -> bytes:
    if isinstance(chunk, dict):
        return base64.b64decode(chunk["b64"])
    return str(chunk).encode("utf-8")


def _endpoint(url: str | httpx.URL) -> tuple[str, str, int | None, str]:
    parsed = httpx.URL(str(url))
    return parsed.scheme, parsed.host, parsed.port, parsed.path


# -- replay --------------------------------------------------------------------------------------
@dataclasses.dataclass
class Outcome:
    """What reqllm made of one delivery: the chunks, and the Response or the error."""

    chunks: list[StreamChunk]
    response: Response | None
    error: ReqLLMError | None

    def key(self) -> tuple[Any, ...]:
        """What must be identical whatever the read boundaries were."""
        error = None
        if self.error is not None:
            error = (type(self.error), str(self.error), list(self.error.chunks))
        return self.chunks, self.response, error


def _deliver(interaction: dict[str, Any], pieces: list[bytes], model: Any, opts: dict[str, Any]) -> Outcome:
    recorded, answer = interaction["request"], interaction["response"]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        assert request.method == recorded["method"]
        assert _endpoint(request.url) == _endpoint(recorded["url"]), (str(request.url), recorded["url"])
        return httpx.Response(answer["status"], headers=answer["headers"], stream=Pieces(pieces))

    chunks: list[StreamChunk] = []
    response: Response | None = None
    error: ReqLLMError | None = None
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        stream = reqllm.stream_text(model, "Hello", api_key=API_KEY, http_client=client, max_retries=0,
                                    **opts)
        try:
            for chunk in stream:
                chunks.append(chunk)
            response = stream.to_response()
        except ReqLLMError as exc:
            error = exc
    assert len(seen) == 1
    return Outcome(chunks, response, error)


def _imported(path: str, directory: Path) -> fixture_file.FixtureFile:
    target = import_cassette(CORPUS / path, directory)
    return fixture_file.read(target)


def replay(tmp_path: Path, path: str, position: int, model: Any, **opts: Any) -> Outcome:
    """Import ``path`` into ``tmp_path``, then decode interaction ``position`` under every split.

    Asserts that the importer kept the original network chunks where the corpus has them, and that
    every delivery gives the same chunks and the same result; returns that result.
    """
    corpus = corpus_dir()
    fixture = _imported(path, tmp_path)
    interaction = fixture.interactions[position]
    recorded = [_chunk_bytes(c) for c in interaction["response"]["chunks"]]
    entry = next(e for e in _manifest() if e["path"] == path)
    if entry["chunks_path"]:
        original = json.loads((corpus / entry["chunks_path"]).read_text(encoding="utf-8"))
        assert recorded == [c.encode("utf-8") for c in original], "the importer lost the network chunks"
    body = b"".join(recorded)
    baseline = _deliver(interaction, recorded, model, opts)
    for name, split in SPLITS.items():
        pieces = split(body)
        assert b"".join(pieces) == body
        outcome = _deliver(interaction, pieces, model, opts)
        assert outcome.key() == baseline.key(), f"split {name!r} decoded differently"
    return baseline


def check(outcome: Outcome, expected: Expected) -> None:
    """Assert the decoded result is exactly ``expected``."""
    if expected.error is not None:
        error = outcome.error
        assert outcome.response is None
        assert type(error) is expected.error.cls, repr(error)
        assert getattr(error, "code", None) == expected.error.code
        assert getattr(error, "provider_message", None) == expected.error.message
        assert getattr(error, "status", None) == expected.error.status
        assert error is not None and error.chunks == outcome.chunks
        thinking = "".join(c.text for c in outcome.chunks if c.type == "thinking")
        text = "".join(c.text for c in outcome.chunks if c.type == "content")
        assert (text, thinking) == (expected.text, expected.thinking)
        assert not any(c.type == "tool_call" for c in outcome.chunks)
        return
    assert outcome.error is None, repr(outcome.error)
    response = outcome.response
    assert response is not None
    assert response.text == expected.text
    assert response.thinking == expected.thinking
    calls = [(c.id, c.name, c.arguments, _blobs(c.metadata, e.metadata))
             for c, e in zip(response.tool_calls, expected.calls, strict=False)]
    assert len(response.tool_calls) == len(expected.calls)
    assert calls == [(e.id, e.name, e.arguments, e.metadata) for e in expected.calls]
    assert response.finish_reason == expected.finish_reason
    usage = response.usage
    assert expected.usage is not None
    assert Counts(usage.input_tokens, usage.output_tokens, usage.total_tokens, usage.reasoning_tokens,
                  usage.cached_tokens, usage.cache_write_tokens) == expected.usage
    assert response.id == expected.id
    parts = []
    for part, want in zip(response.message.content, expected.parts, strict=False):
        signature = part.signature if isinstance(part, ThinkingPart) else None
        assert isinstance(part, TextPart | ThinkingPart)
        parts.append(Part(part.type, _blob(signature, want.signature), _blobs(part.metadata, want.metadata)))
    assert len(response.message.content) == len(expected.parts)
    assert parts == list(expected.parts)
