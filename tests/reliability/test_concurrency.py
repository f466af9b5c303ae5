"""Concurrency: recording and replaying under ``pytest -n 4``, and many streams through one client.

A real loopback server (the ``FaultServer`` with an echoing action) answers every prompt with text
that names the prompt, so a response that reached the wrong caller — or was written under the wrong
request in a fixture — is caught by comparing the two. While a recording session runs, a watcher
(its own process, so its busy loop does not slow the server) reads every ``*.json`` in the fixtures
directory as fast as it can: none may ever be partial.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

import reqllm
import reqllm_testing
from reqllm_testing import fixture_file
from reqllm_testing.recorder import stream_events

from .faultserver import Action, Conn, FaultServer, Seen, reply, sse, sse_event

#: pytester (also enabled by tests/testing/conftest.py; a non-root conftest may not name plugins).
pytest_plugins = ["pytester"]

MODEL = "openai:gpt-4o-mini"
KEY = "sk" "-test-concurrency-0123456789"
#: Content chunks streamed per prompt.
PARTS = 5
#: Tests sharing one named fixture, and tests with a fixture each, in the inner pytest session.
TESTS = 12
WORKERS = "4"
QUIET = ("-p", "no:randomly", "-p", "no:hypothesispytest", "-p", "no:anyio", "-p", "no:respx",
         "-p", "no:cacheprovider")


def expected(prompt: str) -> str:
    """The streamed text the echo server sends for ``prompt``."""
    return "".join(f"[{prompt} {i}]" for i in range(PARTS))


class Gauge:
    """How many requests the server is answering at once (and the most it ever was)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.peak = 0

    @contextlib.contextmanager
    def inside(self) -> Iterator[None]:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            yield
        finally:
            with self._lock:
                self.now -= 1


def _chunk(rid: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": rid, "object": "chat.completion.chunk", "created": 1727000000, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}


def echo(delay: float = 0.0, gauge: Gauge | None = None) -> Action:
    """OpenAI Chat Completions answering each prompt with its own id: ``echo <prompt>``, or a stream
    of ``[<prompt> i]`` chunks ``delay`` seconds apart (so concurrent streams interleave on the wire)."""

    def act(conn: Conn, seen: Seen) -> None:
        body = seen.json()
        prompt = body["messages"][-1]["content"]
        rid = f"chatcmpl-{prompt}"
        with gauge.inside() if gauge else contextlib.nullcontext():
            if not body.get("stream"):
                reply(200, {"id": rid, "object": "chat.completion", "created": 1727000000, "model": body["model"],
                            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                                         "message": {"role": "assistant", "content": f"echo {prompt}"}}],
                            "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}})(conn, seen)
                return
            events = [sse_event(_chunk(rid, {"role": "assistant", "content": ""}))]
            events += [sse_event(_chunk(rid, {"content": f"[{prompt} {i}]"})) for i in range(PARTS)]
            events += [sse_event(_chunk(rid, {}, "stop")), sse_event("[DONE]")]
            sse(events, delay=delay)(conn, seen)

    return act


@pytest.fixture
def echo_server(server: FaultServer) -> FaultServer:
    """The fault server answering with ``echo``; its listen backlog raised for 50 simultaneous connects."""
    server._server.socket.listen(128)  # socketserver's default backlog of 5 drops SYNs under a burst
    return server.script(echo(delay=0.002))


# -- the watcher --------------------------------------------------------------------------------
#: Runs in its own process (so its busy loop does not starve the server threads of the GIL): reads
#: every ``*.json`` under argv[1] in a tight loop until stdin closes, then prints what it saw.
WATCH = r"""
import hashlib, json, os, sys, threading
from reqllm_testing import FixtureCorruptError, fixture_file

halt = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), halt.set()), daemon=True).start()
reads, versions, problems = 0, set(), []
print("watching", flush=True)
while not halt.is_set():
    for folder, _, names in os.walk(sys.argv[1]):
        for name in names:
            if not name.endswith(".json"):
                continue
            path = os.path.join(folder, name)
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except OSError as exc:  # os.replace never leaves the name missing
                problems.append(f"{path}: {exc}")
                continue
            reads += 1
            try:
                fixture_file.parse(data, path)
            except FixtureCorruptError as exc:
                problems.append(str(exc)[:200])
            versions.add(name + hashlib.sha1(data).hexdigest())
print(json.dumps({"reads": reads, "versions": len(versions), "problems": problems[:20]}), flush=True)
"""


class Watcher:
    """``with Watcher(root) as w:`` — afterwards ``w.reads``, ``w.versions`` and ``w.problems``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.reads = 0
        self.versions = 0
        self.problems: list[str] = []
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> Watcher:
        self._proc = subprocess.Popen([sys.executable, "-c", WATCH, str(self.root)], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)
        assert self._proc.stdout is not None
        assert self._proc.stdout.readline().strip() == "watching"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._proc is not None
        out, _ = self._proc.communicate(timeout=30)
        seen = json.loads(out.strip().splitlines()[-1])
        self.reads, self.versions, self.problems = seen["reads"], seen["versions"], seen["problems"]


def test_the_watcher_catches_a_file_written_in_place(tmp_path: Path) -> None:
    """The watcher can fail: a fixture written in two steps, without a rename, is seen half-written."""
    good = fixture_file.dumps(fixture_file.new_document([
        {"request": {"method": "POST", "url": "http://x/v1", "body": {"pad": "x" * 20000}},
         "response": {"status": 200, "headers": {}, "body": {}, "error": None}}])).encode()
    path = tmp_path / "naive.json"
    with Watcher(tmp_path) as watcher:
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            with open(path, "wb") as handle:
                handle.write(good[: len(good) // 2])
                handle.flush()
                time.sleep(0.002)
                handle.write(good[len(good) // 2:])
    assert watcher.problems, "a partial write went unnoticed: the watcher proves nothing"


# -- pytest -n 4: shared and per-test fixtures --------------------------------------------------
INNER = '''
import os
import pytest
import reqllm

MODEL = "openai:gpt-4o-mini"
PARTS = __PARTS__


def opts():
    key = os.environ.get("CONC_KEY")
    return {"base_url": os.environ["CONC_URL"], "max_retries": 0, **({"api_key": key} if key else {})}


def calls(tag):
    assert reqllm.generate_text(MODEL, tag + "-text", **opts()).text == "echo " + tag + "-text"
    text = "".join(reqllm.stream_text(MODEL, tag + "-stream", **opts()).text_stream())
    assert text == "".join(f"[{tag}-stream {i}]" for i in range(PARTS))


@pytest.mark.parametrize("n", range(__TESTS__))
@pytest.mark.reqllm(fixture="test_conc/shared")
def test_shared(n):
    calls(f"shared-{n}")


@pytest.mark.parametrize("n", range(__TESTS__))
def test_own(n, reqllm_fixture):
    calls(f"own-{n}")
'''


def _prompt(interaction: dict[str, Any]) -> str:
    return str(interaction["request"]["body"]["messages"][-1]["content"])


def _answer(interaction: dict[str, Any]) -> str:
    """The text a recorded response carries: the message, or the streamed deltas joined."""
    response = interaction["response"]
    if "chunks" not in response:
        return str(response["body"]["choices"][0]["message"]["content"])
    return "".join(e["data"]["choices"][0]["delta"].get("content") or "" for e in stream_events(response)
                   if isinstance(e["data"], dict) and e["data"]["choices"])


def _check_interaction(interaction: dict[str, Any]) -> None:
    """Request, recorded response, raw chunks and decoded part all belong to the same prompt."""
    prompt = _prompt(interaction)
    stream = prompt.endswith("-stream")
    assert _answer(interaction) == (expected(prompt) if stream else f"echo {prompt}"), prompt
    decoded = interaction["decoded"]
    if stream:
        raw = "".join(interaction["response"]["chunks"])
        assert set(re.findall(r'"(chatcmpl-[^"]*)"', raw)) == {f"chatcmpl-{prompt}"}, prompt
        assert "".join(c.get("text", "") for c in decoded["chunks"] if c["type"] == "content") == expected(prompt)
    else:
        assert decoded["response"]["message"]["content"][0]["text"] == f"echo {prompt}"
        assert decoded["response"]["id"] == f"chatcmpl-{prompt}"
    assert "error" not in decoded


def _check_recording(folder: Path) -> None:
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(["shared.json", *(f"test_own-{n}.json" for n in range(TESTS))]), names
    shared = fixture_file.read(folder / "shared.json").interactions
    prompts = [_prompt(i) for i in shared]
    wanted = [f"shared-{n}-{kind}" for n in range(TESTS) for kind in ("text", "stream")]
    assert sorted(prompts) == sorted(wanted), "an interaction was lost or written twice"
    for interaction in shared:
        _check_interaction(interaction)
        number = _prompt(interaction).split("-")[1]
        assert interaction["meta"]["test"] == f"test_conc.py::test_shared[{number}]"
    for n in range(TESTS):
        own = fixture_file.read(folder / f"test_own-{n}.json").interactions
        assert [_prompt(i) for i in own] == [f"own-{n}-text", f"own-{n}-stream"]
        for interaction in own:
            _check_interaction(interaction)


def _inner_session(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, server: FaultServer) -> Path:
    pytester.makepyfile(test_conc=INNER.replace("__PARTS__", str(PARTS)).replace("__TESTS__", str(TESTS)))
    root = pytester.path / "tests" / "fixtures" / "reqllm"
    root.mkdir(parents=True)
    monkeypatch.setenv("CONC_URL", server.url)
    monkeypatch.setenv("CONC_KEY", KEY)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("REQLLM_FIXTURES", raising=False)
    return root


def _record(pytester: pytest.Pytester, root: Path) -> None:
    """One ``pytest -n 4 --reqllm-record`` run, watched; everything it wrote checked."""
    with Watcher(root) as watcher:
        result = pytester.runpytest_subprocess(*QUIET, "-n", WORKERS, "--reqllm-record")
    result.assert_outcomes(passed=2 * TESTS)
    result.stdout.fnmatch_lines([f"*reqllm: 0 replayed, {2 * TESTS} recorded, 0 missing*"])
    assert not watcher.problems, watcher.problems[:3]
    # the watcher really read while the files changed: the shared one alone has TESTS versions
    assert watcher.reads > 0 and watcher.versions > TESTS, (watcher.reads, watcher.versions)
    _check_recording(root / "test_conc")


def _replay(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, server: FaultServer) -> None:
    """No server, no key, four workers: every test is served its own interactions."""
    server.close()
    monkeypatch.setenv("CONC_URL", "http://127.0.0.1:9/v1")
    monkeypatch.delenv("CONC_KEY", raising=False)
    result = pytester.runpytest_subprocess(*QUIET, "-n", WORKERS)
    result.assert_outcomes(passed=2 * TESTS)
    result.stdout.fnmatch_lines([f"*reqllm: {2 * TESTS} replayed, 0 recorded, 0 missing*"])


def test_recording_and_replaying_under_xdist_loses_nothing_and_never_shows_a_partial_file(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, echo_server: FaultServer) -> None:
    root = _inner_session(pytester, monkeypatch, echo_server)
    _record(pytester, root)
    assert echo_server.attempts == 4 * TESTS
    _replay(pytester, monkeypatch, echo_server)


@pytest.mark.slow
def test_recording_again_and_again_under_xdist_never_duplicates(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, echo_server: FaultServer) -> None:
    root = _inner_session(pytester, monkeypatch, echo_server)
    for _ in range(3):  # each new run replaces the shared fixture: still one copy of every interaction
        _record(pytester, root)
    assert echo_server.attempts == 3 * 4 * TESTS
    _replay(pytester, monkeypatch, echo_server)


# -- many streams through one client ------------------------------------------------------------
STREAMS = 50


async def _gather_streams(client: httpx.AsyncClient, **options: Any) -> dict[str, list[reqllm.StreamChunk]]:
    async def one(i: int) -> tuple[str, list[reqllm.StreamChunk]]:
        prompt = f"stream-{i:02d}"
        return prompt, [c async for c in reqllm.astream_text(MODEL, prompt, http_client=client, **options)]

    return dict(await asyncio.gather(*(one(i) for i in range(STREAMS))))


def _assert_own_chunks(results: dict[str, list[reqllm.StreamChunk]]) -> None:
    assert sorted(results) == [f"stream-{i:02d}" for i in range(STREAMS)]
    for prompt, chunks in results.items():
        content = [c.text for c in chunks if c.type == "content"]
        assert content == [f"[{prompt} {i}]" for i in range(PARTS)], (prompt, content)
        ids = {(c.metadata or {}).get("id") for c in chunks if c.type == "meta"}
        assert ids == {f"chatcmpl-{prompt}"}, (prompt, ids)


def test_fifty_concurrent_async_streams_through_one_client_each_get_their_own_chunks(
        echo_server: FaultServer, tmp_path: Path) -> None:
    gauge = Gauge()
    echo_server.script(echo(delay=0.01, gauge=gauge))
    live = {"base_url": echo_server.url, "api_key": KEY}
    path = tmp_path / "fifty.json"

    async def run(mode: str | None, **options: Any) -> dict[str, list[reqllm.StreamChunk]]:
        async with httpx.AsyncClient() as client:
            if mode is None:
                return await _gather_streams(client, **options)
            async with reqllm_testing.use_fixture(path, mode=mode):
                return await _gather_streams(client, **options)

    plain = asyncio.run(run(None, **live))
    _assert_own_chunks(plain)
    assert gauge.peak >= 10, f"the streams did not overlap (at most {gauge.peak} at once)"

    recorded = asyncio.run(run("record", **live))
    _assert_own_chunks(recorded)
    interactions = fixture_file.read(path).interactions
    assert sorted(_prompt(i) for i in interactions) == sorted(recorded)
    for interaction in interactions:
        prompt = _prompt(interaction)
        assert _answer(interaction) == expected(prompt)
        assert interaction["decoded"]["chunks"] == [c.to_dict() for c in recorded[prompt]]

    echo_server.close()
    replayed = asyncio.run(run("replay", base_url=echo_server.url))
    _assert_own_chunks(replayed)
    assert {p: [c.to_dict() for c in cs] for p, cs in replayed.items()} == \
        {p: [c.to_dict() for c in cs] for p, cs in recorded.items()}


def test_many_threads_streaming_through_one_process_wide_fixture(echo_server: FaultServer,
                                                                 tmp_path: Path) -> None:
    path = tmp_path / "threads.json"
    echo_server.script(echo(delay=0.005))

    def one(i: int, **options: Any) -> tuple[str, list[reqllm.StreamChunk]]:
        prompt = f"thread-{i:02d}"
        return prompt, list(reqllm.stream_text(MODEL, prompt, **options))

    def run(mode: str, **options: Any) -> dict[str, list[reqllm.StreamChunk]]:
        with reqllm_testing.use_fixture(path, mode=mode, process_wide=True), ThreadPoolExecutor(16) as pool:
            return dict(pool.map(lambda i: one(i, **options), range(32)))

    recorded = run("record", base_url=echo_server.url, api_key=KEY)
    echo_server.close()
    replayed = run("replay", base_url=echo_server.url)
    for results in (recorded, replayed):
        assert sorted(results) == [f"thread-{i:02d}" for i in range(32)]
        for prompt, chunks in results.items():
            assert "".join(c.text for c in chunks if c.type == "content") == expected(prompt)
    assert len(fixture_file.read(path).interactions) == 32
    assert json.dumps({p: [c.to_dict() for c in cs] for p, cs in replayed.items()}, sort_keys=True) == \
        json.dumps({p: [c.to_dict() for c in cs] for p, cs in recorded.items()}, sort_keys=True)
