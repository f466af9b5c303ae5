"""The pytest plugin end to end (pytester): record against a real loopback server, replay without it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reqllm_testing import fixture_file
from reqllm_testing.fixture_file import dumps
from reqllm_testing.recorder import stream_events
from reqllm_testing.session import response_digest

from .loopback import OpenAIServer

CANARY = "sk" "-canary-7f3a9c1e5b2d4f6a8c0e"

INNER = '''
import json, os
import pytest
import reqllm

MODEL = "openai:gpt-4o-mini"
PROMPT = os.environ.get("LOOPBACK_PROMPT", "hello there")


def opts():
    key = os.environ.get("LOOPBACK_KEY")
    return {"base_url": os.environ["LOOPBACK_URL"], "max_retries": 0, **({"api_key": key} if key else {})}


def test_generate(reqllm_fixture):
    response = reqllm.generate_text(MODEL, PROMPT, **opts())
    assert response.text == "Echo: " + PROMPT
    assert not os.environ.get("LOOPBACK_FAIL"), "failing on purpose"


def test_stream(reqllm_fixture):
    chunks = [c.to_dict() for c in reqllm.stream_text(MODEL, "stream me please", **opts())]
    with open(os.path.join(os.environ["LOOPBACK_OUT"], "stream_" + reqllm_fixture.mode + ".json"), "w") as f:
        json.dump(chunks, f)
    assert "".join(c.get("text", "") for c in chunks if c["type"] == "content") == "Echo: stream me please"
'''

ERRORS = '''
import os
import pytest
import reqllm
from reqllm import errors

MODEL = "openai:gpt-4o-mini"


def opts():
    key = os.environ.get("LOOPBACK_KEY")
    return {"base_url": os.environ["LOOPBACK_URL"], "max_retries": 0, **({"api_key": key} if key else {})}


def test_rate_limit(reqllm_fixture):
    with pytest.raises(errors.RateLimitError, match="Rate limit reached"):
        reqllm.generate_text(MODEL, "rate-limit", **opts())


def test_broken_stream(reqllm_fixture):
    seen = []
    with pytest.raises(errors.APIConnectionError) as info:
        for chunk in reqllm.stream_text(MODEL, "break", **opts()):
            seen.append(chunk.text)
    assert seen == ["Echo:"]
    assert [c.text for c in info.value.chunks] == ["Echo:"]
'''

SHARED = '''
import os
import pytest
import reqllm

MODEL = "openai:gpt-4o-mini"


def opts():
    key = os.environ.get("LOOPBACK_KEY")
    return {"base_url": os.environ["LOOPBACK_URL"], "max_retries": 0, **({"api_key": key} if key else {})}


@pytest.mark.parametrize("n", range(4))
@pytest.mark.reqllm(fixture="shared/answers")
def test_shared(n):
    assert reqllm.generate_text(MODEL, f"question {n}", **opts()).text == f"Echo: question {n}"
    text = "".join(reqllm.stream_text(MODEL, f"stream {n}", **opts()).text_stream())
    assert text == f"Echo: stream {n}"
'''


def _env(monkeypatch: pytest.MonkeyPatch, server: OpenAIServer | str, out: Path, key: str | None) -> None:
    monkeypatch.setenv("LOOPBACK_URL", server if isinstance(server, str) else server.base_url)
    monkeypatch.setenv("LOOPBACK_OUT", str(out))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("REQLLM_FIXTURES", raising=False)
    monkeypatch.delenv("LOOPBACK_PROMPT", raising=False)
    monkeypatch.delenv("LOOPBACK_FAIL", raising=False)
    if key is None:
        monkeypatch.delenv("LOOPBACK_KEY", raising=False)
    else:
        monkeypatch.setenv("LOOPBACK_KEY", key)


def _close_pool() -> None:
    """Close reqllm's shared connection pool (in-process runs share it; its sockets outlive the server)."""
    from reqllm import _transport

    for transport in _transport._shared_sync:
        transport.close()
    _transport._shared_sync.clear()


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    _close_pool()
    try:
        return pytester.runpytest("-p", "no:randomly", "-p", "no:cacheprovider", *args)
    finally:
        _close_pool()


def _run_xdist(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # Plugins this project does not need are left out: each xdist worker would import them again.
    quiet = ("-p", "no:randomly", "-p", "no:hypothesispytest", "-p", "no:anyio", "-p", "no:respx")
    return pytester.runpytest_subprocess(*quiet, "-n", "2", *args)


def _fixtures(pytester: pytest.Pytester) -> Path:
    return pytester.path / "tests" / "fixtures" / "reqllm"


def _record(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, server: OpenAIServer) -> Path:
    pytester.makepyfile(test_e2e=INNER)
    _env(monkeypatch, server, pytester.path, CANARY)
    result = _run(pytester, "--reqllm-record")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*reqllm: 0 replayed, 2 recorded, 0 missing*"])
    return _fixtures(pytester) / "test_e2e"


def test_record_then_replay_without_server_or_key(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                    openai_server: OpenAIServer) -> None:
    folder = _record(pytester, monkeypatch, openai_server)
    assert sorted(p.name for p in folder.iterdir()) == ["test_generate.json", "test_stream.json"]
    assert any({k.lower(): v for k, v in s["headers"].items()}.get("authorization") == f"Bearer {CANARY}"
               for s in openai_server.seen)

    # The canary key is nowhere on disk, and neither are cookies, org ids or request ids.
    for path in pytester.path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert CANARY.encode() not in data, path
            for secret in (b"session-cookie-value", b"org-loopback-secret", b"req_0123456789abcdef"):
                assert secret not in data or path.suffix != ".json", path

    stream = json.loads((folder / "test_stream.json").read_text())
    loaded = fixture_file.read(folder / "test_stream.json")  # as held in memory: chunks and timing_ms lists
    (interaction,) = stream["interactions"]
    response = interaction["response"]
    assert response["status"] == 200 and response["error"] is None
    assert set(response["headers"]) == {"content-type"}
    assert len(response["chunks"]) > 5 and all(isinstance(c[0], float) for c in response["chunks"])
    assert response["chunks"][-1][1] == "data: [DONE]\n\n"
    assert stream_events(response)[1]["data"]["choices"][0]["delta"]["content"] == "Echo:"
    assert interaction["meta"] == {"model": "openai:gpt-4o-mini", "operation": "chat", "stream": True,
                                   "protocol": "openai_chat", "provider": "openai",
                                   "test": "test_e2e.py::test_stream",
                                   "decoded_from": response_digest(loaded.interactions[0]["response"])}
    assert "authorization" not in interaction["request"]["headers"]
    assert interaction["request"]["body"]["stream"] is True
    text = (folder / "test_stream.json").read_text()
    assert text == dumps(stream) and "events" not in response

    openai_server.stop()
    _env(monkeypatch, "http://127.0.0.1:9/v1", pytester.path, "sk" "-another-key-0000000000")
    result = _run(pytester)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*reqllm: 2 replayed, 0 recorded, 0 missing*"])
    _env(monkeypatch, "http://127.0.0.1:9/v1", pytester.path, None)
    _run(pytester).assert_outcomes(passed=2)
    recorded = json.loads((pytester.path / "stream_record.json").read_text())
    assert json.loads((pytester.path / "stream_replay.json").read_text()) == recorded
    assert [c["text"] for c in recorded if c["type"] == "content"] == ["Echo:", " stream", " me", " please"]


def test_missing_mismatched_corrupt_and_unused(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                               openai_server: OpenAIServer) -> None:
    folder = _record(pytester, monkeypatch, openai_server)
    openai_server.stop()
    _env(monkeypatch, "http://127.0.0.1:9/v1", pytester.path, None)
    generate = folder / "test_generate.json"
    good = generate.read_bytes()

    monkeypatch.setenv("LOOPBACK_PROMPT", "goodbye")
    result = _run(pytester, "-k", "generate")
    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines(["*FixtureMismatchError*no recorded interaction in*test_generate.json*",
                                 "*hello there*goodbye*"])
    result.stdout.fnmatch_lines(["*reqllm: 0 replayed, 0 recorded, 0 missing, 1 mismatched*"])
    monkeypatch.delenv("LOOPBACK_PROMPT")

    generate.unlink()
    result = _run(pytester, "-k", "generate")
    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines([f"*FixtureNotFoundError: no fixture file {generate} to replay; "
                                 "record it with: pytest --reqllm-record=missing test_e2e.py::test_generate"])
    result.stdout.fnmatch_lines(["*reqllm: 0 replayed, 0 recorded, 1 missing*"])

    generate.write_bytes(good[: len(good) // 2])
    result = _run(pytester, "-k", "generate")
    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines([f"*FixtureCorruptError: fixture {generate} is not valid JSON*"])

    doc = json.loads(good)
    doc["format_version"] = 99
    generate.write_text(json.dumps(doc))
    _run(pytester, "-k", "generate").stdout.fnmatch_lines(["*FixtureCorruptError*unknown format_version 99*"])

    edited = json.loads(good)
    edited["interactions"][0]["response"]["headers"] = [["content-type", "application/json"]]
    generate.write_text(json.dumps(edited))
    result = _run(pytester, "-k", "generate")
    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines([f"*FixtureCorruptError: fixture {generate} is not a valid format-2 fixture: "
                                 "$.interactions?0?.response.headers: Input should be a valid dictionary*"
                                 "re-record the fixture with: pytest --reqllm-record test_e2e.py::test_generate"])

    extra = json.loads(json.dumps(doc["interactions"][0]))
    extra["request"]["body"]["messages"][0]["content"] = "never asked"
    doc["format_version"] = 2
    doc["interactions"].append(extra)
    generate.write_text(json.dumps(doc))
    result = _run(pytester, "-k", "generate")
    result.assert_outcomes(passed=1, errors=1, deselected=1)
    result.stdout.fnmatch_lines(["*UnusedInteractionsError: 1 recorded interaction(s) in*never requested*",
                                 "*#1 POST /v1/chat/completions (model gpt-4o-mini)*",
                                 "*reqllm: 0 replayed, 0 recorded, 0 missing, 1 unused*"])
    pytester.makepyfile(test_e2e=INNER.replace("def test_generate", "@pytest.mark.reqllm(allow_unused=True)\n"
                                               "def test_generate"))
    _run(pytester, "-k", "generate").assert_outcomes(passed=1, deselected=1)

    # A test that makes no call at all leaves its whole fixture unused.
    pytester.makepyfile(test_e2e_idle="def test_idle(reqllm_fixture):\n    pass\n")
    idle = _fixtures(pytester) / "test_e2e_idle" / "test_idle.json"
    idle.parent.mkdir()
    idle.write_bytes(good)
    result = _run(pytester, "test_e2e_idle.py")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*UnusedInteractionsError: 1 recorded interaction(s) in*test_idle.json*"])


def test_a_failing_test_never_replaces_a_good_fixture(pytester: pytest.Pytester,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      openai_server: OpenAIServer) -> None:
    folder = _record(pytester, monkeypatch, openai_server)
    before = (folder / "test_generate.json").read_bytes()
    stream_before = json.loads((folder / "test_stream.json").read_text())
    monkeypatch.setenv("LOOPBACK_FAIL", "1")
    result = _run(pytester, "--reqllm-record")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["reqllm: not written: test failed: test_e2e.py::test_generate "
                                 f"({folder / 'test_generate.json'}: the previous fixture is kept)",
                                 "reqllm: 0 replayed, 1 recorded, 0 missing, 1 kept"])
    assert (folder / "test_generate.json").read_bytes() == before
    result = _run(pytester, "--reqllm-record", "-k", "generate")  # only the failing test: the line stays
    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines(["reqllm: 0 replayed, 0 recorded, 0 missing, 1 kept"])
    assert (folder / "test_generate.json").read_bytes() == before
    stream_after = json.loads((folder / "test_stream.json").read_text())  # the passing test re-recorded
    assert [c[0] for c in stream_after["interactions"][0]["response"]["chunks"]] != \
        [c[0] for c in stream_before["interactions"][0]["response"]["chunks"]]
    assert not [p for p in folder.parent.rglob("*") if p.name.endswith(".tmp")]


def test_record_missing_only_records_what_is_absent(pytester: pytest.Pytester,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    openai_server: OpenAIServer) -> None:
    folder = _record(pytester, monkeypatch, openai_server)
    stream_before = (folder / "test_stream.json").read_bytes()
    (folder / "test_generate.json").unlink()
    result = _run(pytester, "--reqllm-record=missing")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*reqllm: 1 replayed, 1 recorded, 0 missing*"])
    assert (folder / "test_stream.json").read_bytes() == stream_before
    assert (folder / "test_generate.json").exists()
    # A bare --reqllm-record does not swallow the path after it.
    _run(pytester, "--reqllm-record", "test_e2e.py").assert_outcomes(passed=2)


def test_errors_are_recorded_and_replayed(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                          openai_server: OpenAIServer) -> None:
    pytester.makepyfile(test_e2e_errors=ERRORS)
    _env(monkeypatch, openai_server, pytester.path, CANARY)
    _run(pytester, "--reqllm-record").assert_outcomes(passed=2)
    folder = _fixtures(pytester) / "test_e2e_errors"
    limited = json.loads((folder / "test_rate_limit.json").read_text())["interactions"][0]
    assert limited["response"]["status"] == 429
    assert limited["response"]["headers"] == {"content-type": "application/json", "retry-after": "0"}
    assert limited["response"]["body"]["error"]["code"] == "rate_limit_exceeded"
    assert limited["decoded"]["error"]["type"] == "RateLimitError"
    broken = json.loads((folder / "test_broken_stream.json").read_text())["interactions"][0]
    assert broken["response"]["error"]["type"] == "RemoteProtocolError"
    assert len(broken["response"]["chunks"]) == 2
    assert broken["decoded"]["chunks"] == [{"type": "content", "text": "Echo:"}]
    assert broken["decoded"]["error"]["type"] == "APIConnectionError"

    openai_server.stop()
    _env(monkeypatch, "http://127.0.0.1:9/v1", pytester.path, None)
    _run(pytester).assert_outcomes(passed=2)


def test_parser_drift_fails_and_update_decoded_fixes_it(pytester: pytest.Pytester,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        openai_server: OpenAIServer) -> None:
    folder = _record(pytester, monkeypatch, openai_server)
    openai_server.stop()
    _env(monkeypatch, "http://127.0.0.1:9/v1", pytester.path, None)
    path = folder / "test_stream.json"
    doc = json.loads(path.read_text())
    doc["interactions"][0]["decoded"]["chunks"][0]["text"] = "Echo (old parser):"
    path.write_text(json.dumps(doc))
    result = _run(pytester, "-k", "stream")
    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines(["*DecodedMismatchError: the parser changed: the recorded response of interaction #0*",
                                 "*Echo (old parser):*Echo:*", "*--reqllm-update-decoded*"])
    _run(pytester, "-k", "stream", "--reqllm-update-decoded").assert_outcomes(passed=1, deselected=1)
    assert json.loads(path.read_text())["interactions"][0]["decoded"]["chunks"][0]["text"] == "Echo:"
    _run(pytester, "-k", "stream").assert_outcomes(passed=1, deselected=1)


def test_named_fixture_shared_by_tests_under_xdist(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                   openai_server: OpenAIServer) -> None:
    pytester.makepyfile(test_shared=SHARED)
    _env(monkeypatch, openai_server, pytester.path, CANARY)
    result = _run_xdist(pytester, "--reqllm-record")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*reqllm: 0 replayed, 4 recorded, 0 missing*"])
    shared = json.loads((_fixtures(pytester) / "shared" / "answers.json").read_text())
    owners = [i["meta"]["test"] for i in shared["interactions"]]
    assert len(owners) == 8 and len(set(owners)) == 4
    for owner in set(owners):  # each test's interactions are one contiguous block
        first = owners.index(owner)
        assert owners[first:first + 2] == [owner, owner]
    assert CANARY not in json.dumps(shared)

    openai_server.stop()
    _env(monkeypatch, "http://127.0.0.1:9/v1", pytester.path, None)
    result = _run_xdist(pytester)
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*reqllm: 4 replayed, 0 recorded, 0 missing*"])


def test_use_switches_to_a_named_fixture(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                         openai_server: OpenAIServer) -> None:
    pytester.makepyfile(test_e2e_use='''
import os, httpx, reqllm

def test_use(reqllm_fixture):
    opts = {"base_url": os.environ["LOOPBACK_URL"], "api_key": os.environ.get("LOOPBACK_KEY")}
    with reqllm_fixture.use("greetings") as session:
        assert reqllm.generate_text("openai:gpt-4o-mini", "hi", **opts).text == "Echo: hi"
    assert session.path.name == "greetings.json"
    assert reqllm.generate_text("openai:gpt-4o-mini", "own", **opts).text == "Echo: own"
    body = {"model": "m", "messages": [{"role": "user", "content": "sdk"}]}
    with httpx.Client(transport=reqllm_fixture.transport()) as client:  # e.g. an official SDK's client
        answer = client.post(opts["base_url"] + "/chat/completions", json=body).json()
    assert answer["choices"][0]["message"]["content"] == "Echo: sdk"
''')
    _env(monkeypatch, openai_server, pytester.path, CANARY)
    _run(pytester, "--reqllm-record").assert_outcomes(passed=1)
    assert (_fixtures(pytester) / "greetings.json").exists()
    own = json.loads((_fixtures(pytester) / "test_e2e_use" / "test_use.json").read_text())
    # the transport's interaction is a Chat Completions request: recognised, so it is decoded too
    assert [i["meta"].get("model") for i in own["interactions"]] == ["openai:gpt-4o-mini", "openai:m"]
    assert own["interactions"][1]["decoded"]["response"]["message"]["content"][0]["text"] == "Echo: sdk"
    openai_server.stop()
    _run(pytester).assert_outcomes(passed=1)


def test_block_network_and_untouched_tests(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                           openai_server: OpenAIServer) -> None:
    pytester.makepyfile(test_e2e_live='''
import os, reqllm

def test_live():
    opts = {"base_url": os.environ["LOOPBACK_URL"], "api_key": "sk" "-live-test-key"}
    assert reqllm.generate_text("openai:gpt-4o-mini", "live", **opts).text == "Echo: live"
''')
    _env(monkeypatch, openai_server, pytester.path, None)
    result = _run(pytester)
    result.assert_outcomes(passed=1)
    assert "reqllm:" not in result.stdout.str()
    assert not _fixtures(pytester).exists()
    result = _run(pytester, "--reqllm-block-network")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*NetworkBlockedError: reqllm call to openai:gpt-4o-mini (chat) outside a "
                                 "fixture*reqllm_fixture*"])


def test_the_redaction_hook_runs_before_writing(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                openai_server: OpenAIServer) -> None:
    pytester.makeconftest('''
def pytest_reqllm_redact(interaction):
    interaction["meta"]["redacted_by"] = "conftest"
    interaction["request"]["headers"].pop("accept", None)
''')
    folder = _record(pytester, monkeypatch, openai_server)
    for path in folder.iterdir():
        (item,) = json.loads(path.read_text())["interactions"]
        assert item["meta"]["redacted_by"] == "conftest" and "accept" not in item["request"]["headers"]


COLLIDING = '''
import os
import pytest
import reqllm

OPTS = {"base_url": os.environ["LOOPBACK_URL"], "max_retries": 0, "api_key": "test-key"}


@pytest.mark.parametrize("name", ["a/b", "a-b", "a b", "a?b"])
def test_named(reqllm_fixture, name):
    assert reqllm.generate_text("openai:gpt-4o-mini", "about " + name, **OPTS).text == "Echo: about " + name
'''


def test_ids_that_sanitize_alike_each_get_their_own_fixture(pytester: pytest.Pytester,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             openai_server: OpenAIServer) -> None:
    pytester.makepyfile(test_ids=COLLIDING)
    _env(monkeypatch, openai_server, pytester.path, None)
    _run(pytester, "--reqllm-record").assert_outcomes(passed=4)
    folder = _fixtures(pytester) / "test_ids"
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == 4 and "test_named-a-b.json" in files  # a clean id keeps its plain name
    prompts = {json.loads((folder / f).read_text())["interactions"][0]["request"]["body"]["messages"][0]["content"]
               for f in files}
    assert prompts == {"about a/b", "about a-b", "about a b", "about a?b"}

    openai_server.stop()
    _env(monkeypatch, "http://127.0.0.1:9/v1", pytester.path, None)
    _run(pytester).assert_outcomes(passed=4)
    before = {f: (folder / f).read_bytes() for f in files}
    again = OpenAIServer()  # re-recording one id leaves the files of the others alone
    try:
        _env(monkeypatch, again, pytester.path, None)
        _run(pytester, "--reqllm-record", "test_ids.py::test_named[a?b]").assert_outcomes(passed=1)
    finally:
        again.stop()
    assert sum(before[f] == (folder / f).read_bytes() for f in files) == 3
    _env(monkeypatch, "http://127.0.0.1:9/v1", pytester.path, None)
    _run(pytester).assert_outcomes(passed=4)


CASES_APART = COLLIDING.replace('["a/b", "a-b", "a b", "a?b"]', '["gpt", "GPT", "Gpt"]')


def test_ids_that_differ_only_in_case_get_files_apart_on_case_insensitive_file_systems(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, openai_server: OpenAIServer) -> None:
    """macOS and Windows see ``test-GPT.json`` and ``test-gpt.json`` as one file: a parameter id with
    capitals gets a hash of the raw id, so no two names are equal once case is ignored."""
    pytester.makepyfile(test_ids=CASES_APART)
    _env(monkeypatch, openai_server, pytester.path, None)
    _run(pytester, "--reqllm-record").assert_outcomes(passed=3)
    folder = _fixtures(pytester) / "test_ids"
    files = sorted(p.name for p in folder.iterdir())
    assert len({f.casefold() for f in files}) == 3, files
    assert "test_named-gpt.json" in files  # an id without capitals keeps its plain name
    prompts = {json.loads((folder / f).read_text())["interactions"][0]["request"]["body"]["messages"][0]["content"]
               for f in files}
    assert prompts == {"about gpt", "about GPT", "about Gpt"}

    openai_server.stop()
    _env(monkeypatch, "http://127.0.0.1:9/v1", pytester.path, None)
    _run(pytester).assert_outcomes(passed=3)
    # A fixture committed under the name such an id had before keeps replaying (exact case only).
    (hashed,) = [f for f in files if f.startswith("test_named-GPT-")]
    (folder / hashed).rename(folder / "test_named-GPT.json")
    _run(pytester).assert_outcomes(passed=3)


def test_default_names_apart_once_case_is_ignored() -> None:
    from reqllm_testing.pytest_fixture import default_fixture_name

    ids = ["t.py::test[gpt]", "t.py::test[GPT]", "t.py::test[Gpt]", "t.py::test[gpT]", "t.py::TestA::test[a]"]
    names = [default_fixture_name(i) for i in ids]
    assert len({n.casefold() for n in names}) == len(ids)
    assert names[0] == "t/test-gpt" and names[4] == "t/TestA.test-a"  # no capitals in the id: unchanged
    assert re.fullmatch(r"t/test-GPT-[0-9a-f]{8}", names[1])
    assert default_fixture_name("t.py::test[GPT]", capitals=False) == "t/test-GPT"


def test_names_equal_but_for_case_are_a_collection_error() -> None:
    from reqllm_testing.plugin import pytest_collection_modifyitems

    items: list[Any] = [_Item("test_t.py::TestA::test_x"), _Item("test_t.py::Testa::test_x")]
    with pytest.raises(pytest.UsageError, match=r"^test_t.py::TestA::test_x and test_t.py::Testa::test_x would "
                       r"share the fixture file test_t/Testa.test_x.json on a case-insensitive file system "
                       r"\(test_t/TestA.test_x.json\)"):
        pytest_collection_modifyitems(items)
    pytest_collection_modifyitems([_Item(f"test_t.py::test_x[{i}]") for i in ("gpt", "GPT", "Gpt")])


class _Item:
    """What the collection check reads of a collected test: its node id, markers and fixtures (and its
    stash, where the check leaves the fixture name it worked out)."""

    def __init__(self, nodeid: str, *marks: pytest.MarkDecorator) -> None:
        self.nodeid = nodeid
        self.fixturenames = ["reqllm_fixture"]
        self.marks = [m.mark for m in marks]
        self.stash = pytest.Stash()

    def iter_markers(self, name: str) -> list[pytest.Mark]:
        return [m for m in self.marks if m.name == name]


def test_two_tests_that_would_share_a_fixture_file_are_a_collection_error() -> None:
    from reqllm_testing.plugin import pytest_collection_modifyitems

    # ids from a collection plugin whose names meet once "../" is dropped (fixtures stay inside their root)
    items: list[Any] = [_Item("test_t.py::test_x"), _Item("../test_t.py::test_x")]
    with pytest.raises(pytest.UsageError, match=r"^test_t.py::test_x and ../test_t.py::test_x would share the "
                       r"fixture file test_t/test_x.json; rename one, or share it on purpose: "
                       r"@pytest.mark.reqllm\(fixture=...\)$"):
        pytest_collection_modifyitems(items)
    shared = pytest.mark.reqllm(fixture="shared")
    pytest_collection_modifyitems([_Item("test_t.py::test_x", shared), _Item("../test_t.py::test_x", shared)])
    pytest_collection_modifyitems([_Item(f"test_t.py::test_x[{i}]") for i in ("a/b", "a-b", "a b", "a?b")])


RELEASED = """
import gc, weakref

REFS = []


def test_uses_the_fixture(reqllm_fixture):
    REFS.append(weakref.ref(reqllm_fixture))


def test_runs_after_it():
    gc.collect()
    assert REFS and REFS[0]() is None, gc.get_referrers(REFS[0]())
"""


def test_a_finished_test_keeps_nothing_of_its_fixture_alive(pytester: pytest.Pytester) -> None:
    # A suite of a thousand tests must not hold a thousand loaded fixture files until it ends.
    pytester.makepyfile(test_released=RELEASED)
    _run(pytester, "-p", "no:xdist").assert_outcomes(passed=2)


SEEN_FILES = """
def pytest_collect_file(file_path, parent):
    print("SEEN", file_path.name)
"""


def test_collection_does_not_walk_the_fixtures_directory(pytester: pytest.Pytester) -> None:
    # pytest asks every plugin about every file it walks: a thousand fixture files cost a thousand questions.
    pytester.makeconftest(SEEN_FILES)
    pytester.makepyfile(test_plain="def test_x():\n    pass\n")
    folder = _fixtures(pytester) / "test_plain"
    folder.mkdir(parents=True)
    (folder / "test_x.json").write_text("{}")
    result = _run(pytester, "-s", "-p", "no:xdist", "-p", "no:reqllm_capabilities")
    result.assert_outcomes(passed=1)
    assert "SEEN test_plain.py" in result.stdout.str() and "SEEN test_x.json" not in result.stdout.str()

    # A test file placed in it is still collected (the directory is then walked as any other).
    (folder / "test_inside.py").write_text("def test_inside():\n    pass\n")
    result = _run(pytester, "-s", "-p", "no:xdist", "-p", "no:reqllm_capabilities")
    result.assert_outcomes(passed=2)
    assert "SEEN test_x.json" in result.stdout.str()


def test_a_wrong_marker_argument_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile('''
import pytest

@pytest.mark.reqllm(fixtures="x")
def test_x():
    pass
''')
    result = _run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_x: @pytest.mark.reqllm got an unknown argument 'fixtures'; "
                                 "it accepts: fixture, allow_unused, ignore_fields, timing*"])


def test_options_are_in_one_help_group(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "--help")
    result.stdout.fnmatch_lines(["reqllm fixtures: record and replay LLM provider traffic:",
                                 "*--reqllm-record*", "*--reqllm-fixtures-dir*", "*--reqllm-block-network*"])
    result = _run(pytester, "--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.reqllm(fixture=None, allow_unused=False, ignore_fields=(), "
                                 "timing=None, ignore_hosts=())*"])


def test_importing_the_plugin_is_light() -> None:
    code = ("import sys, reqllm_testing.plugin, reqllm_testing; "
            "heavy = [m for m in ('reqllm', 'deepdiff', 'yaml', 'httpx') if m in sys.modules]; "
            "print(heavy); sys.exit(1 if heavy else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


#: Tests that never touch reqllm, and a conftest that reports which per-test hooks ran for them.
UNTOUCHED = '''
import pytest

def test_plain(request):
    assert "reqllm_fixture" not in request.fixturenames

@pytest.mark.parametrize("n", [1, pytest.param(2, marks=pytest.mark.reqllm(allow_unused=True))])
def test_one_param_marked(request, n):
    assert ("reqllm_fixture" in request.fixturenames) == (n == 2)
'''

REPORT_HOOKS = '''
import pytest

@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    hooks = session.config.hook
    names = {"makereport": hooks.pytest_runtest_makereport, "teardown": hooks.pytest_runtest_teardown,
             "logreport": hooks.pytest_runtest_logreport, "setup": hooks.pytest_runtest_setup}
    ours = sorted(f"{name}:{impl.plugin_name}" for name, hook in names.items() for impl in hook.get_hookimpls()
                  if "reqllm" in impl.plugin_name)
    print("\\nREQLLM-HOOKS", ours)
    autouse = [n for n in session.items[0]._fixtureinfo.names_closure if "reqllm" in n]
    print("REQLLM-AUTOUSE", autouse)
'''


def test_a_test_that_does_not_use_reqllm_pays_nothing(pytester: pytest.Pytester) -> None:
    # No test uses the fixture or the marker: no per-test hook of reqllm is registered, no autouse fixture.
    pytester.makeconftest(REPORT_HOOKS)
    pytester.makepyfile(test_untouched="def test_plain(request):\n    assert 'reqllm_fixture' not in "
                                       "request.fixturenames\n")
    result = _run(pytester, "-s", "-p", "no:reqllm_capabilities")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["REQLLM-HOOKS []", "REQLLM-AUTOUSE []"])

    # One parameter marked: that test alone gets the fixture; the hooks come in, and act on it only.
    pytester.makepyfile(test_untouched=UNTOUCHED)
    result = _run(pytester, "-s", "-p", "no:reqllm_capabilities")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["REQLLM-HOOKS ['logreport:reqllm-per-test', 'makereport:reqllm-per-test', "
                                 "'teardown:reqllm-per-test']", "REQLLM-AUTOUSE []"])
