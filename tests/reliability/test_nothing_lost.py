"""Nothing lost: a crash or a failing test while recording keeps the previous fixture, byte for byte,
and a stream that breaks keeps its partial chunks — for the caller, in the fixture, and on replay.

Crashes are real: a recording process is killed with SIGKILL (no ``finally``, no ``atexit``), in the
middle of a session or at random moments of a loop that writes a fixture again and again.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

import reqllm
import reqllm_testing
from reqllm import errors
from reqllm_testing import _unsaved, fixture_file
from reqllm_testing.recorder import stream_events

from .faultserver import FaultServer, cut, reply, sse, stall
from .payloads import CASES, OPENAI_CHAT, Case, encode
from .test_faults import BEFORE_END, HELLO, events, needs, opts, stream, texts

#: pytester (also enabled by tests/testing/conftest.py; a non-root conftest may not name plugins).
pytest_plugins = ["pytester"]

CHAT = OPENAI_CHAT.model
EVERY_PROTOCOL = pytest.mark.parametrize("case", CASES, ids=str)
SYNC_ASYNC = pytest.mark.parametrize("mode", ["sync", "async"])
QUIET = ("-p", "no:randomly", "-p", "no:hypothesispytest", "-p", "no:anyio", "-p", "no:respx",
         "-p", "no:cacheprovider", "-p", "no:xdist")


def _good_fixture(server: FaultServer, path: Path) -> bytes:
    """Record a two-call fixture at ``path``; its bytes."""
    server.script(reply(200, OPENAI_CHAT.body))
    with reqllm_testing.use_fixture(path, mode="record"):
        reqllm.generate_text(CHAT, "first", **opts(server))
        reqllm.generate_text(CHAT, "second", **opts(server))
    return path.read_bytes()


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# -- killed mid-session --------------------------------------------------------------------------
KILLED_SCRIPT = '''
import sys
import reqllm, reqllm_testing

url, path = sys.argv[1], sys.argv[2]
with reqllm_testing.use_fixture(path, mode="record"):
    reqllm.generate_text("openai:gpt-4o-mini", "first", base_url=url, api_key="test-key")
    reqllm.generate_text("openai:gpt-4o-mini", "second", base_url=url, api_key="test-key")
    print("two calls recorded", flush=True)
    reqllm.generate_text("openai:gpt-4o-mini", "third", base_url=url, api_key="test-key", timeout=60)
'''


def test_a_recording_killed_mid_session_leaves_the_previous_fixture_byte_identical(
        server: FaultServer, tmp_path: Path) -> None:
    path = tmp_path / "fixtures" / "kept.json"
    before = _good_fixture(server, path)
    listing = _listing(tmp_path / "fixtures")
    server.script(reply(200, OPENAI_CHAT.body), reply(200, OPENAI_CHAT.body), stall(30))
    proc = subprocess.Popen([sys.executable, "-c", KILLED_SCRIPT, server.url, str(path)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "two calls recorded"
        while server.attempts < 3:  # the third call is in flight, its answer stalled
            server.stopped.wait(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert path.read_bytes() == before
    assert _listing(tmp_path / "fixtures") == listing


KILLED_TESTS = '''
import os, signal
import reqllm

def test_recording_then_crash(reqllm_fixture):
    opts = {"base_url": os.environ["LOST_URL"], "api_key": "test-key", "max_retries": 0}
    reqllm.generate_text("openai:gpt-4o-mini", "own", **opts)
    with reqllm_fixture.use("shared/answers"):
        reqllm.generate_text("openai:gpt-4o-mini", "shared", **opts)
    if os.environ.get("LOST_CRASH"):
        os.kill(os.getpid(), signal.SIGKILL)
'''


def test_a_pytest_session_killed_mid_test_leaves_own_and_shared_fixtures_byte_identical(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, server: FaultServer) -> None:
    server.script(reply(200, OPENAI_CHAT.body))
    pytester.makepyfile(test_lost=KILLED_TESTS)
    monkeypatch.setenv("LOST_URL", server.url)
    monkeypatch.delenv("LOST_CRASH", raising=False)
    monkeypatch.delenv("REQLLM_FIXTURES", raising=False)
    pytester.runpytest_subprocess(*QUIET, "--reqllm-record").assert_outcomes(passed=1)
    root = pytester.path / "tests" / "fixtures" / "reqllm"
    files = {p: p.read_bytes() for p in root.rglob("*.json")}
    assert {p.name for p in files} == {"test_recording_then_crash.json", "answers.json"}

    monkeypatch.setenv("LOST_CRASH", "1")
    result = pytester.runpytest_subprocess(*QUIET, "--reqllm-record")
    assert result.ret == -signal.SIGKILL
    assert server.attempts == 4, "the crashed run did record two calls before it died"
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == files


# -- killed at random moments of a write loop ---------------------------------------------------
LOOP_SCRIPT = '''
import json, sys
import httpx, reqllm, reqllm_testing

path = sys.argv[1]
pad = "x" * 400_000
for n in range(1_000_000):
    body = {"id": f"chatcmpl-{n}", "object": "chat.completion", "model": "gpt-4o-mini", "choices": [
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": f"{n} {pad}"}}]}
    client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200, json=body)))
    with reqllm_testing.use_fixture(path, mode="record"):
        reqllm.generate_text("openai:gpt-4o-mini", "loop", api_key="test-key", http_client=client)
    if n == 0:
        print("written", flush=True)
'''


def _kill_while_rewriting(path: Path, kills: int, seed: int) -> dict[str, int]:
    """SIGKILL a process that records ``path`` over and over, ``kills`` times, at random moments; the
    fixture must load whole after every kill. Returns how many versions were seen and how many kills
    landed mid-write (they leave a temporary file behind, never a partial fixture)."""
    rng = random.Random(seed)
    versions, temporary = set(), set()
    for _ in range(kills):
        proc = subprocess.Popen([sys.executable, "-c", LOOP_SCRIPT, str(path)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "written"
        proc.stdout.close()
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        [interaction] = fixture_file.read(path).interactions  # loads: whole, never partial
        content = interaction["response"]["body"]["choices"][0]["message"]["content"]
        assert content.endswith("x" * 1000) and len(content) > 400_000
        versions.add(content.split(" ", 1)[0])
        others = [p.name for p in path.parent.iterdir() if p != path]
        assert all(name.startswith(f".{path.name}.") and name.endswith(".tmp") for name in others), others
        temporary.update(others)
    return {"versions": len(versions), "killed mid-write": len(temporary)}


def test_a_recorder_killed_while_it_rewrites_a_fixture_never_leaves_it_partial(tmp_path: Path) -> None:
    seen = _kill_while_rewriting(tmp_path / "loop.json", kills=3, seed=1)
    assert seen["versions"] >= 1


@pytest.mark.slow
def test_a_recorder_killed_many_times_while_it_rewrites_a_fixture_never_leaves_it_partial(
        tmp_path: Path) -> None:
    seen = _kill_while_rewriting(tmp_path / "loop.json", kills=40, seed=2)
    assert seen["versions"] >= 10


# -- a failing test or block ---------------------------------------------------------------------
def test_a_block_that_raises_after_recording_leaves_the_previous_fixture_byte_identical(
        server: FaultServer, tmp_path: Path) -> None:
    path = tmp_path / "fixtures" / "kept.json"
    before = _good_fixture(server, path)
    server.script(reply(200, OPENAI_CHAT.body))
    with pytest.raises(RuntimeError, match="the test failed"), reqllm_testing.use_fixture(path, mode="record"):
        reqllm.generate_text(CHAT, "new question", **opts(server))
        raise RuntimeError("the test failed")
    assert path.read_bytes() == before
    assert _listing(tmp_path / "fixtures") == ["kept.json"]


SHARED_TESTS = '''
import os
import pytest
import reqllm


@pytest.mark.parametrize("name", ["a", "b", "c"])
@pytest.mark.reqllm(fixture="shared")
def test_shared(name):
    opts = {"base_url": os.environ["LOST_URL"], "api_key": "test-key", "max_retries": 0}
    reqllm.generate_text("openai:gpt-4o-mini", f"question {name}", **opts)
    assert name != os.environ.get("LOST_FAIL"), "failing on purpose"
'''


def _owners(path: Path) -> list[str]:
    return [i["meta"]["test"].split("[")[1][0] + ":" + i["request"]["body"]["messages"][0]["content"][-1]
            for i in fixture_file.read(path).interactions]


def test_a_failing_test_keeps_its_interactions_in_a_shared_fixture(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, server: FaultServer) -> None:
    server.script(reply(200, OPENAI_CHAT.body))
    pytester.makepyfile(test_shared=SHARED_TESTS)
    monkeypatch.setenv("LOST_URL", server.url)
    monkeypatch.delenv("LOST_FAIL", raising=False)
    monkeypatch.delenv("REQLLM_FIXTURES", raising=False)
    path = pytester.path / "tests" / "fixtures" / "reqllm" / "shared.json"
    pytester.runpytest_subprocess(*QUIET, "--reqllm-record").assert_outcomes(passed=3)
    assert sorted(_owners(path)) == ["a:a", "b:b", "c:c"]

    # b fails while the others re-record: b's previous interaction stays in the shared file
    monkeypatch.setenv("LOST_FAIL", "b")
    pytester.runpytest_subprocess(*QUIET, "--reqllm-record").assert_outcomes(passed=2, failed=1)
    assert sorted(_owners(path)) == ["a:a", "b:b", "c:c"]
    # re-recording one test of the shared fixture leaves the others' interactions alone
    monkeypatch.delenv("LOST_FAIL")
    pytester.runpytest_subprocess(*QUIET, "--reqllm-record", "test_shared.py::test_shared[a]").assert_outcomes(
        passed=1)
    assert sorted(_owners(path)) == ["a:a", "b:b", "c:c"]

    server.close()
    monkeypatch.setenv("LOST_URL", "http://127.0.0.1:9/v1")
    pytester.runpytest_subprocess(*QUIET).assert_outcomes(passed=3)


# -- a FixtureTransport recording: saved only when its owner ends without an exception ------------
def _sdk_recording(server: FaultServer, path: Path) -> bytes:
    """Record one plain httpx call into ``path`` through a FixtureTransport; the file's bytes."""
    server.script(reply(200, OPENAI_CHAT.body))
    with httpx.Client(transport=reqllm_testing.FixtureTransport(path, mode="record")) as client:
        client.post(f"{server.url}/chat/completions", json={"q": "good"})
    return path.read_bytes()


@pytest.mark.parametrize("owner", ["transport", "client", "close-in-finally", "sdk-with"])
def test_a_fixture_transport_in_a_block_that_raises_keeps_the_previous_fixture(
        server: FaultServer, tmp_path: Path, owner: str) -> None:
    path = tmp_path / "fixtures" / "sdk.json"
    before = _sdk_recording(server, path)
    server.script(reply(200, OPENAI_CHAT.body))
    transport = reqllm_testing.FixtureTransport(path, mode="record")
    with pytest.raises(RuntimeError, match="the test failed") as info:
        if owner == "transport":
            with transport, httpx.Client(transport=transport) as client:
                client.post(f"{server.url}/chat/completions", json={"q": "bad"})
                raise RuntimeError("the test failed")
        elif owner == "client":
            with httpx.Client(transport=transport) as client:
                client.post(f"{server.url}/chat/completions", json={"q": "bad"})
                raise RuntimeError("the test failed")
        elif owner == "close-in-finally":
            client = httpx.Client(transport=transport)
            try:
                client.post(f"{server.url}/chat/completions", json={"q": "bad"})
                raise RuntimeError("the test failed")
            finally:
                client.close()
        else:
            with openai.OpenAI(base_url=server.url, api_key="test-key", max_retries=0,
                               http_client=httpx.Client(transport=transport)) as sdk:
                sdk.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "bad"}])
                raise RuntimeError("the test failed")
    assert path.read_bytes() == before
    assert _listing(tmp_path / "fixtures") == ["sdk.json"]
    assert any(f"recording of 1 interaction(s) into {path} was not saved" in n for n in info.value.__notes__)
    if owner in ("close-in-finally", "sdk-with"):  # close() while raising: not saved, still reported at the end
        assert [line.split(" (")[0] for line in _unsaved.take()] == [f"recording not saved: {path}"]
    assert _unsaved.take() == []


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_fixture_transport_saves_when_its_block_ends_without_an_exception(
        server: FaultServer, tmp_path: Path, mode: str) -> None:
    path = tmp_path / "sdk.json"
    server.script(reply(200, OPENAI_CHAT.body))
    if mode == "sync":
        with reqllm_testing.FixtureTransport(path, mode="record") as transport:
            httpx.Client(transport=transport).post(f"{server.url}/chat/completions", json={"q": 1})
    else:
        async def main() -> None:
            async with reqllm_testing.FixtureTransport(path, mode="record") as transport:
                await httpx.AsyncClient(transport=transport).post(f"{server.url}/chat/completions", json={"q": 1})

        asyncio.run(main())
    assert [i["request"]["body"] for i in fixture_file.read(path).interactions] == [{"q": 1}]
    assert _unsaved.take() == []


NEVER_CLOSED = '''
import os, sys
import httpx
import reqllm_testing

client = httpx.Client(transport=reqllm_testing.FixtureTransport(sys.argv[2], mode="record"))
client.post(sys.argv[1] + "/chat/completions", json={"q": 1})
print("recorded", flush=True)
'''

NEVER_CLOSED_TESTS = '''
import os
import httpx
import reqllm_testing

CLIENTS = []


def test_records_but_never_closes():
    transport = reqllm_testing.FixtureTransport(os.environ["LOST_PATH"], mode="record")
    CLIENTS.append(httpx.Client(transport=transport))
    CLIENTS[-1].post(os.environ["LOST_URL"] + "/chat/completions", json={"q": 1})
'''


def test_a_recording_whose_client_is_never_closed_is_reported_not_dropped(
        server: FaultServer, tmp_path: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "never.json"
    server.script(reply(200, OPENAI_CHAT.body))
    done = subprocess.run([sys.executable, "-W", "ignore::ResourceWarning", "-c", NEVER_CLOSED, server.url,
                           str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == "recorded\n"
    assert done.stderr == (f"reqllm_testing: recording not saved: {path} (1 interaction(s)): its transport (or "
                           "the client using it) was never closed; close the client (or use `with "
                           "FixtureTransport(...)`) when the code under it succeeds, then record again\n")
    assert not path.exists()

    pytester.makepyfile(test_never=NEVER_CLOSED_TESTS)
    monkeypatch.setenv("LOST_URL", server.url)
    monkeypatch.setenv("LOST_PATH", str(path))
    result = pytester.runpytest_subprocess(*QUIET, "-W", "ignore::ResourceWarning")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([f"reqllm: ERROR: recording not saved: {path} (1 interaction(s)): its transport "
                                 "(or the client using it) was never closed*"])
    assert "reqllm_testing: recording not saved" not in result.stderr.str()  # reported once, not twice
    assert not path.exists()


FIXTURE_TRANSPORT_TESTS = '''
import os
import httpx


def test_sdk_traffic(reqllm_fixture):
    with httpx.Client(transport=reqllm_fixture.transport()) as client:
        client.post(os.environ["LOST_URL"] + "/chat/completions", json={"q": os.environ["LOST_Q"]})
    assert not os.environ.get("LOST_FAIL"), "failing on purpose"
'''


def test_a_transport_of_the_pytest_fixture_follows_the_test_outcome_not_the_client(
        server: FaultServer, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    server.script(reply(200, OPENAI_CHAT.body))
    pytester.makepyfile(test_sdk=FIXTURE_TRANSPORT_TESTS)
    monkeypatch.setenv("LOST_URL", server.url)
    monkeypatch.setenv("LOST_Q", "good")
    monkeypatch.delenv("LOST_FAIL", raising=False)
    path = pytester.path / "tests" / "fixtures" / "reqllm" / "test_sdk" / "test_sdk_traffic.json"
    pytester.runpytest_subprocess(*QUIET, "--reqllm-record").assert_outcomes(passed=1)
    before = path.read_bytes()
    monkeypatch.setenv("LOST_Q", "bad")
    monkeypatch.setenv("LOST_FAIL", "1")  # the client closed cleanly, but the test fails after it
    pytester.runpytest_subprocess(*QUIET, "--reqllm-record").assert_outcomes(failed=1)
    assert path.read_bytes() == before


# -- errors after the call -----------------------------------------------------------------------
TEARDOWN_TESTS = '''
import os
import pytest
import reqllm


@pytest.fixture
def breaks_before():  # set up before reqllm_fixture, so torn down after it
    yield
    if os.environ.get("LOST_BREAK") == "before":
        raise RuntimeError("teardown broke after the fixture was finished")


@pytest.fixture
def breaks_after(reqllm_fixture):  # set up after reqllm_fixture, so torn down before it
    yield
    if os.environ.get("LOST_BREAK") == "after":
        raise RuntimeError("teardown broke before the fixture was finished")


@pytest.fixture
def breaks_setup():
    yield
    if os.environ.get("LOST_BREAK") == "setup":
        raise RuntimeError("setup broke")


def test_then_teardown(breaks_before, reqllm_fixture, breaks_after):
    opts = {"base_url": os.environ["LOST_URL"], "api_key": "test-key", "max_retries": 0}
    reqllm.generate_text("openai:gpt-4o-mini", os.environ["LOST_Q"], **opts)
'''


@pytest.mark.parametrize("where", ["before", "after"])
def test_a_test_that_passes_then_errors_in_teardown_keeps_the_previous_fixture(
        server: FaultServer, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    server.script(reply(200, OPENAI_CHAT.body))
    pytester.makepyfile(test_down=TEARDOWN_TESTS)
    monkeypatch.setenv("LOST_URL", server.url)
    monkeypatch.setenv("LOST_Q", "good")
    monkeypatch.delenv("LOST_BREAK", raising=False)
    path = pytester.path / "tests" / "fixtures" / "reqllm" / "test_down" / "test_then_teardown.json"
    pytester.runpytest_subprocess(*QUIET, "--reqllm-record").assert_outcomes(passed=1)
    before = path.read_bytes()

    monkeypatch.setenv("LOST_Q", "bad")
    monkeypatch.setenv("LOST_BREAK", where)
    result = pytester.runpytest_subprocess(*QUIET, "--reqllm-record")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["reqllm: not written: test failed: test_down.py::test_then_teardown*kept)",
                                 "reqllm: 0 replayed, 0 recorded, 0 missing, 1 kept"])
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["test_then_teardown.json"]


# -- a stream that breaks ------------------------------------------------------------------------
def _stream_fault(case: Case, fault: str) -> Any:
    if fault == "reset":
        return sse(events(case, HELLO[case.protocol]), delay=0.005, end="reset")
    return sse(events(case, BEFORE_END[case.protocol]))  # "truncated": a clean end, no terminal event


@EVERY_PROTOCOL
@SYNC_ASYNC
@pytest.mark.parametrize("fault", ["reset", "truncated"])
def test_a_broken_stream_keeps_its_chunks_for_the_caller_in_the_fixture_and_on_replay(
        server: FaultServer, tmp_path: Path, case: Case, mode: str, fault: str) -> None:
    needs(case)
    server.script(_stream_fault(case, fault))
    path = tmp_path / "broken.json"
    with reqllm_testing.use_fixture(path, mode="record"):
        chunks, error = stream(mode, case.model, **opts(server, **case.options))
    expected = errors.APIConnectionError if fault == "reset" else errors.StreamTruncatedError
    assert isinstance(error, expected), error
    assert texts(chunks) == "Hello" and error.chunks == chunks

    [interaction] = fixture_file.read(path).interactions
    response, decoded = interaction["response"], interaction["decoded"]
    assert response["chunks"] and stream_events(response)
    if fault == "reset":
        assert response["error"]["type"] in ("ReadError", "RemoteProtocolError"), response["error"]
    else:
        assert response["error"] is None  # the transport was fine; the stream was not
    assert decoded["chunks"] == [c.to_dict() for c in chunks]
    assert decoded["error"] == {"type": type(error).__name__, "message": str(error)}

    server.close()
    with reqllm_testing.use_fixture(path, mode="replay"):
        replayed, again = stream(mode, case.model, **opts(server.url, **case.options))
    assert type(again) is type(error) and str(again) == str(error)
    assert [c.to_dict() for c in replayed] == [c.to_dict() for c in chunks]
    assert again.chunks == replayed


def test_an_error_event_in_a_200_stream_is_recorded_with_its_chunks_and_replayed(server: FaultServer,
                                                                                  tmp_path: Path) -> None:
    failure = {"error": {"message": "The server had an error processing your request.", "type": "server_error",
                         "param": None, "code": None}}
    server.script(sse([*events(OPENAI_CHAT, 3), encode([(None, failure)])]))
    path = tmp_path / "error_event.json"
    with reqllm_testing.use_fixture(path, mode="record"):
        chunks, error = stream("sync", CHAT, **opts(server))
    assert isinstance(error, errors.ProviderUnavailableError) and texts(chunks) == "Hello"
    [interaction] = fixture_file.read(path).interactions
    assert stream_events(interaction["response"])[-1]["data"] == failure
    assert interaction["decoded"]["error"]["type"] == type(error).__name__
    server.close()
    with reqllm_testing.use_fixture(path, mode="replay"):
        replayed, again = stream("sync", CHAT, **opts(server.url))
    assert type(again) is type(error) and texts(replayed) == "Hello" and again.chunks == replayed


def test_a_body_cut_mid_way_is_recorded_attempt_by_attempt_and_replayed_the_same(server: FaultServer,
                                                                                  tmp_path: Path) -> None:
    server.script(cut(200, OPENAI_CHAT.body, keep=60), reply(200, OPENAI_CHAT.body))
    path = tmp_path / "cut.json"
    with reqllm_testing.use_fixture(path, mode="record"):
        assert reqllm.generate_text(CHAT, "hi", **opts(server)).text == "Hello there"
    first, second = fixture_file.read(path).interactions
    assert first["response"]["error"]["type"] in ("ReadError", "RemoteProtocolError")
    assert first["response"]["text"] == json.dumps(OPENAI_CHAT.body)[:60]  # what arrived, kept
    assert second["response"]["body"] == OPENAI_CHAT.body and second["response"]["error"] is None
    server.close()
    with reqllm_testing.use_fixture(path, mode="replay") as session:
        assert reqllm.generate_text(CHAT, "hi", **opts(server.url)).text == "Hello there"
    assert session.served == 2, "the retry after the cut was replayed too"
