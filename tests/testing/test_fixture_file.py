"""The fixture file format: named load errors, stable text, atomic writes, the per-process cache."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import reqllm_testing
from reqllm_testing import FixtureCorruptError, fixture_file

INTERACTION = {
    "request": {"method": "POST", "url": "https://api.openai.com/v1/chat/completions", "headers": {},
                "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}},
    "response": {"status": 200, "headers": {"content-type": "application/json"}, "error": None,
                 "body": {"id": "chatcmpl-1", "choices": [{
                     "index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "Hello"}}]}},
    "meta": {"model": "openai:gpt-4o-mini"},
}


def _write(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document))
    return path


def test_a_saved_document_is_sorted_indented_and_ends_with_a_newline(tmp_path: Path) -> None:
    path = fixture_file.save(tmp_path / "deep" / "dir" / "x.json", fixture_file.new_document([INTERACTION]))
    text = path.read_text()
    assert text.startswith('{\n  "format_version": 2,\n  "interactions": [\n')
    assert text.endswith("}\n") and not text.endswith("\n\n")
    doc = json.loads(text)
    assert doc["source"].startswith("reqllm_testing ") and doc["recorded_at"].endswith("Z")
    assert fixture_file.dumps(doc) == text
    assert os.listdir(path.parent) == ["x.json"]  # no temporary file left behind


def test_save_scrubs_secrets_left_in_the_text_as_a_last_resort(tmp_path: Path) -> None:
    leaky = json.loads(json.dumps(INTERACTION))
    leaky["response"]["body"]["choices"][0]["message"]["content"] = 'key "sk-secret-value-123"'
    path = fixture_file.save(tmp_path / "x.json", fixture_file.new_document([leaky]),
                             secrets=['sk-secret-value-123'])
    assert "sk-secret-value-123" not in path.read_text()
    assert "REDACTED" in path.read_text()


def test_a_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    path = fixture_file.save(tmp_path / "x.json", fixture_file.new_document([INTERACTION]))
    before = path.read_bytes()
    with pytest.raises(TypeError):
        fixture_file.save(path, {"format_version": 1, "interactions": [object()]})
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["x.json"]


@pytest.mark.parametrize(("content", "message"), [
    ("", "is empty"),
    ('{"format_version": 1, "interactions": [{"request"', "is not valid JSON (truncated or hand-edited?)"),
    ("[1, 2]", "is not a JSON object but a list"),
    ('{"interactions": []}', "has no format_version"),
    ('{"format_version": 3, "interactions": []}', "has unknown format_version 3"),
    ('{"format_version": 1}', "$.interactions: Field required"),
    ('{"format_version": 1, "interactions": [{"request": {"method": "GET"}, "response": {"status": 200}}]}',
     "$.interactions[0].request.url: Field required"),
    ('{"format_version": 1, "interactions": [{"request": {"method": "GET", "url": "/"}, "response": {}}]}',
     "$.interactions[0].response: a response needs a 'status'"),
    ('{"format_version": 1, "interactions": [{"request": {"method": "GET", "url": "/"}, '
     '"response": {"status": 200, "chunks": "x"}}]}', "$.interactions[0].response.chunks: Input should be a "
     "valid list (got string 'x')"),
])
def test_load_errors_name_the_file_and_the_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(content)
    with pytest.raises(FixtureCorruptError) as info:
        fixture_file.load(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)
    assert info.value.path == path
    assert "pytest --reqllm-record " in str(info.value) and "=missing" not in str(info.value)


def _edit(where: str, value: object, version: int = 1) -> dict[str, object]:
    """A valid format-``version`` document with the field at ``where`` (dotted, in interaction #0) set to ``value``."""
    document = fixture_file.new_document([json.loads(json.dumps(STREAMED))])
    if version == 1:
        document["format_version"] = 1
    else:  # as written: each network chunk an [offset_ms, chunk] pair
        document = json.loads(fixture_file.dumps(document))
    target: Any = document["interactions"][0]
    *parents, last = where.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[int(last) if last.isdigit() else last] = value
    return document


#: A recorded stream with every optional field present, as the hand-edits below start from.
STREAMED: dict[str, Any] = {
    "request": {"method": "POST", "url": "https://api.openai.com/v1/chat/completions",
                "headers": {"content-type": "application/json"}, "body": {"stream": True}},
    "response": {"status": 200, "headers": {"content-type": "text/event-stream"}, "error": None,
                 "events": [{"event": "message", "data": {"x": 1}}, {"event": "message", "data": "[DONE]"}],
                 "chunks": ['data: {"x": 1}\n\n', {"b64": "ZGF0YTogW0RPTkVdCgo="}], "timing_ms": [1.5, 2]},
    "decoded": {"chunks": [{"type": "content", "text": "x"}], "error": {"type": "E", "message": "m"}},
    "meta": {"provider": "openai", "model": "gpt-4o-mini", "operation": "stream_text", "stream": True,
             "protocol": "openai_chat", "test": "tests/test_x.py::test_y"},
}


def test_every_field_of_a_recorded_stream_passes_the_schema(tmp_path: Path) -> None:
    v1 = {**fixture_file.new_document([STREAMED]), "format_version": 1}
    assert fixture_file.load(_write(tmp_path / "v1.json", v1)).interactions == [STREAMED]
    v2 = fixture_file.save(tmp_path / "v2.json", fixture_file.new_document([STREAMED]))
    without_events = {k: v for k, v in STREAMED["response"].items() if k != "events"}
    assert fixture_file.load(v2).interactions == [{**STREAMED, "response": without_events}]


@pytest.mark.parametrize(("where", "value", "path", "message"), [
    ("response.headers", [["content-type", "text/event-stream"]], "$.interactions[0].response.headers",
     "Input should be a valid dictionary (got list"),
    ("response.headers", {"content-length": 12}, "$.interactions[0].response.headers[\"content-length\"]",
     "Input should be a valid string (got number 12)"),
    ("request.headers", {"x-a": 1}, "$.interactions[0].request.headers[\"x-a\"]", "valid string"),
    ("response.chunks.1", {"b64": "not base64!"}, "$.interactions[0].response.chunks[1]", "not valid base64"),
    ("response.b64", "AB=C", "$.interactions[0].response.b64", "not valid base64"),
    ("response.chunks.1", {"text": "data: [DONE]"}, "$.interactions[0].response.chunks[1]",
     "a chunk object needs its body as a string under 'b64'"),
    ("response.chunks.0", 7, "$.interactions[0].response.chunks[0]", "a chunk is a string or an object"),
    ("response.events", [1, 2], "$.interactions[0].response.events[0]", "valid dictionary (got number 1)"),
    ("response.events.0.event", 5, "$.interactions[0].response.events[0].event", "valid string"),
    ("response.timing_ms.0", "fast", "$.interactions[0].response.timing_ms[0]", "valid number"),
    ("meta", "openai", "$.interactions[0].meta", "valid dictionary (got string 'openai')"),
    ("meta.stream", "yes", "$.interactions[0].meta.stream", "valid boolean"),
    ("decoded", [], "$.interactions[0].decoded", "valid dictionary (got list [])"),
    ("decoded.chunks.0", "x", "$.interactions[0].decoded.chunks[0]", "valid dictionary"),
    ("response.error", "boom", "$.interactions[0].response.error", "valid dictionary (got string 'boom')"),
    ("decoded.error", {"type": "E"}, "$.interactions[0].decoded.error.message", "Field required"),
    ("response.status", "200", "$.interactions[0].response.status", "valid integer (got string '200')"),
    ("response.status", True, "$.interactions[0].response.status", "valid integer"),
    ("request.method", None, "$.interactions[0].request.method", "valid string"),
])
def test_a_hand_edited_field_is_one_error_naming_file_json_path_and_command(
        tmp_path: Path, where: str, value: object, path: str, message: str) -> None:
    fixture = _write(tmp_path / "edited.json", _edit(where, value))
    with pytest.raises(FixtureCorruptError) as info:
        fixture_file.load(fixture)
    error = info.value
    assert error.path == fixture and error.json_path == path
    assert str(error).startswith(f"fixture {fixture} is not a valid format-1 fixture: {path}: ")
    assert message in str(error)
    assert error.command is not None and error.command.startswith("pytest --reqllm-record <")
    assert str(error).endswith(f"re-record the fixture with: {error.command}")


@pytest.mark.parametrize(("where", "value", "path", "message"), [
    ("response.chunks.1.1", {"b64": "not base64!"}, "$.interactions[0].response.chunks[1]", "not valid base64"),
    ("response.chunks.0", 'data: {"x": 1}\n\n', "$.interactions[0].response.chunks[0]",
     "a chunk is a pair [offset_ms, chunk], not a string"),
    ("response.chunks.0", [1.5], "$.interactions[0].response.chunks[0]", "a chunk is a pair [offset_ms, chunk]"),
    ("response.chunks.0.0", "fast", "$.interactions[0].response.chunks[0]",
     "a chunk's offset_ms is a number or null, not a string"),
    ("response.chunks.1.1", 7, "$.interactions[0].response.chunks[1]", "a chunk is a string or an object"),
    ("response.chunks", "x", "$.interactions[0].response.chunks", "valid list (got string 'x')"),
    ("response.headers", [["content-type", "text/event-stream"]], "$.interactions[0].response.headers",
     "Input should be a valid dictionary (got list"),
    ("decoded.chunks.0", "x", "$.interactions[0].decoded.chunks[0]", "valid dictionary"),
    ("response.status", "200", "$.interactions[0].response.status", "valid integer (got string '200')"),
    ("meta.stream", "yes", "$.interactions[0].meta.stream", "valid boolean"),
])
def test_a_hand_edited_format_2_field_is_one_error_naming_file_json_path_and_command(
        tmp_path: Path, where: str, value: object, path: str, message: str) -> None:
    fixture = _write(tmp_path / "edited.json", _edit(where, value, version=2))
    with pytest.raises(FixtureCorruptError) as info:
        fixture_file.load(fixture)
    error = info.value
    assert error.path == fixture and error.json_path == path
    assert str(error).startswith(f"fixture {fixture} is not a valid format-2 fixture: {path}: ")
    assert message in str(error)
    assert error.command is not None and error.command.startswith("pytest --reqllm-record <")
    assert str(error).endswith(f"re-record the fixture with: {error.command}")


def test_a_hand_edited_fixture_replayed_outside_pytest_is_the_same_error(tmp_path: Path) -> None:
    fixture = _write(tmp_path / "edited.json", _edit("response.error", "boom"))
    with pytest.raises(FixtureCorruptError, match=r"\$\.interactions\[0\]\.response\.error"), \
            httpx.Client(transport=reqllm_testing.FixtureTransport(fixture, mode="replay")) as client:
        client.post("https://api.openai.com/v1/chat/completions", json={"stream": True})


ROOT = Path(__file__).resolve().parents[2]


def _exactly(value: Any) -> str:
    return json.dumps(value, sort_keys=True)  # 1 and 1.0 differ here, not under ==


def test_the_fast_json_parser_reads_every_committed_fixture_as_the_standard_one_does() -> None:
    files = [p for p in sorted(ROOT.rglob("*.json")) if "fixtures" in p.parts and ".venv" not in p.parts]
    assert len(files) > 50
    for path in files:
        data = path.read_bytes()
        assert _exactly(fixture_file._loads(data)) == _exactly(json.loads(data)), path


@pytest.mark.parametrize("text", [
    '{"text": "\\ud800 alone"}',  # a lone surrogate escape: pydantic-core refuses it, the json module reads it
    "[" * 300 + "]" * 300,  # nesting deeper than pydantic-core's limit
    '{"n": 12345678901234567890123, "f": 1.0, "g": 5e-324, "big": 1e400}',
])
def test_what_the_fast_parser_refuses_the_standard_one_reads(text: str) -> None:
    assert _exactly(fixture_file._loads(text.encode())) == _exactly(json.loads(text))


def test_load_is_cached_until_the_file_changes(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.json", fixture_file.new_document([INTERACTION]))
    first = fixture_file.load(path)
    assert fixture_file.load(path) is first
    assert first.derived("k", lambda f: object()) is first.derived("k", lambda f: object())
    _write(path, fixture_file.new_document([INTERACTION, INTERACTION]))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))
    second = fixture_file.load(path)
    assert second is not first and len(second.interactions) == 2


def test_a_transport_error_interaction_needs_no_status(tmp_path: Path) -> None:
    error = {"type": "ReadTimeout", "message": "timed out"}
    timeout = {"request": INTERACTION["request"], "response": {"status": None, "headers": {}, "error": error}}
    loaded = fixture_file.load(_write(tmp_path / "t.json", fixture_file.new_document([timeout])))
    assert loaded.interactions[0]["response"]["error"]["type"] == "ReadTimeout"


def test_the_write_lock_and_run_marker(tmp_path: Path) -> None:
    path = tmp_path / "shared.json"
    with fixture_file.file_lock(path):
        fixture_file.save(path, fixture_file.new_document([INTERACTION]))
        fixture_file.mark_written(path, "run-1")
    assert fixture_file.written_by_run(path, "run-1")
    assert not fixture_file.written_by_run(path, "run-2")
    assert not fixture_file.written_by_run(path, None)
    assert os.listdir(tmp_path) == ["shared.json"]  # locks and markers never litter the fixtures dir
    marker = fixture_file.marker(path, "run-1", "run")
    assert marker.parent == fixture_file.run_dir("run-1") and marker.parent.stat().st_mode & 0o777 == 0o700
    fixture_file.remove_run("run-1")
    assert not marker.parent.exists() and not fixture_file.written_by_run(path, "run-1")


# -- several OS users on one machine ------------------------------------------------------------
OTHER_USER = "reqllm-second-user"

#: Record one interaction into argv[1] through a FixtureTransport under umask argv[2] (as some OS user).
RECORD = """
import os, sys, httpx, reqllm_testing
os.umask(int(sys.argv[2], 8))
handler = lambda request: httpx.Response(200, json={"user": os.getuid()})
with httpx.Client(transport=reqllm_testing.FixtureTransport(sys.argv[1], mode="record",
                                                            inner=httpx.MockTransport(handler))) as client:
    client.get("https://api.example.com/v1/who")
"""

#: Replay argv[1]; print what happened (the error's type and message, or the answer).
REPLAY = """
import sys, httpx, reqllm_testing
try:
    with httpx.Client(transport=reqllm_testing.FixtureTransport(sys.argv[1], mode="replay")) as client:
        print("ok", client.get("https://api.example.com/v1/who").json())
except reqllm_testing.ReqLLMTestingError as exc:
    print(type(exc).__name__, exc)
"""


#: Run as root, then become the second user (the interpreter may live where that user cannot read it).
BECOME = """
import os, pwd, sys, httpx, reqllm_testing, reqllm_testing.recorder, reqllm_testing.session
import reqllm_testing.fixture_file, reqllm_testing.intercept, reqllm._transport, encodings.ascii, encodings.idna
user = pwd.getpwnam(os.environ["REQLLM_TEST_USER"])
os.setgroups([]); os.setgid(user.pw_gid); os.setuid(user.pw_uid)
"""


def _second_user() -> str | None:
    """A real second OS user to record as (created once when the tests run as root); None otherwise."""
    if getattr(os, "geteuid", lambda: -1)() != 0 or not shutil.which("useradd"):
        return None
    if subprocess.run(["id", "-u", OTHER_USER], capture_output=True, check=False).returncode != 0:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OTHER_USER],
                       check=True, capture_output=True)
    return OTHER_USER


def _as(user: str | None, code: str, *args: str, tmpdir: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` as ``user`` (None: this user), with ``tmpdir`` as its temporary directory."""
    env = {**os.environ, "TMPDIR": str(tmpdir), "PYTHONPATH": str(Path(__file__).parents[2])}
    if user:
        env["REQLLM_TEST_USER"] = user
    return subprocess.run([sys.executable, "-c", (BECOME if user else "") + code, *args], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory every user may write (as a team's checkout on a shared machine), with its own TMPDIR."""
    folder = Path(tempfile.mkdtemp(prefix="reqllm-users-", dir="/tmp" if os.path.isdir("/tmp") else None))
    try:
        folder.chmod(0o1777)
        (folder / "tmp").mkdir()
        (folder / "tmp").chmod(0o1777)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_two_os_users_record_into_one_directory_and_leave_nothing_behind(shared_dir: Path) -> None:
    # With a real second user when the suite runs as root (useradd + runuser), else simulated by
    # chmod: the lock directory a first user left behind is made unwritable.
    other = _second_user()
    tmpdir = shared_dir / "tmp"
    if other is None:
        (tmpdir / "reqllm-fixture-locks").mkdir(mode=0o555)  # what an earlier user's run left, 0755 theirs
    first = _as(None, RECORD, str(shared_dir / "first.json"), "022", tmpdir=tmpdir)
    assert first.returncode == 0, first.stderr
    second = _as(other, RECORD, str(shared_dir / "second.json"), "027", tmpdir=tmpdir)
    assert second.returncode == 0, second.stderr
    assert (shared_dir / "first.json").stat().st_mode & 0o777 == 0o644  # what umask 022 says, not 0600
    assert (shared_dir / "second.json").stat().st_mode & 0o777 == 0o640  # umask 027
    if other is not None:
        assert (shared_dir / "second.json").stat().st_uid != os.getuid()
    # the other user replays the first user's fixture: readable, not "corrupt"
    assert _as(other, REPLAY, str(shared_dir / "first.json"), tmpdir=tmpdir).stdout.startswith("ok {'user': ")
    assert sorted(p.name for p in shared_dir.iterdir()) == ["first.json", "second.json", "tmp"]
    assert [p.name for p in tmpdir.iterdir()] == ([] if other else ["reqllm-fixture-locks"])


def test_a_permission_problem_is_reported_as_one_naming_the_path(shared_dir: Path) -> None:
    other = _second_user()
    tmpdir = shared_dir / "tmp"
    private = shared_dir / "private.json"
    assert _as(None, RECORD, str(private), "077", tmpdir=tmpdir).returncode == 0
    if other is None:  # simulated: this user loses the right to read it
        private.chmod(0o000)
    replayed = _as(other, REPLAY, str(private), tmpdir=tmpdir).stdout
    assert replayed.startswith(f"FixturePermissionError fixture {private} cannot be read: permission denied on "
                               f"{private} (owner uid {os.getuid()}, mode 0")
    assert "corrupt" not in replayed.lower()

    closed = shared_dir / "closed"
    closed.mkdir(mode=0o755 if other else 0o555)  # another user's directory (simulated: read-only)
    recorded = _as(other, RECORD, str(closed / "x.json"), "022", tmpdir=tmpdir)
    assert recorded.returncode == 1
    assert (f"FixturePermissionError: fixture {closed / 'x.json'} cannot be written: permission denied on "
            f"{closed} (owner uid {os.getuid()}, mode 0") in recorded.stderr, recorded.stderr
    assert list(closed.iterdir()) == []
def test_format_2_keeps_each_stream_chunk_once_on_its_own_line_and_version_1_upgrades(tmp_path: Path) -> None:
    v1 = {"format_version": 1, "interactions": [{
        "request": {"method": "POST", "url": "https://x/v1/chat/completions", "body": {"stream": True}},
        "response": {"status": 200, "headers": {"content-type": "text/event-stream"}, "error": None,
                     "chunks": ["data: {\"a\": 1}\n\n", {"b64": "/w=="}], "timing_ms": [1.5, 3.0],
                     "events": [{"event": "message", "data": {"a": 1}}]},
        "decoded": {"chunks": [{"type": "content", "text": "a"}, {"type": "finish", "reason": "stop"}]}}]}
    stamp = fixture_file.response_digest(v1["interactions"][0]["response"])  # as format 1 held it
    v1["interactions"][0]["meta"] = {"decoded_from": stamp}
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(v1, indent=2))
    assert fixture_file.read(path).interactions[0]["response"]["timing_ms"] == [1.5, 3.0]  # v1 still loads
    assert fixture_file.upgrade(path) and not fixture_file.upgrade(path)
    text = path.read_text()
    assert '"format_version": 2' in text and '"events"' not in text and '"timing_ms"' not in text
    assert '          [1.5,"data: {\\"a\\": 1}\\n\\n"],\n          [3.0,{"b64":"/w=="}]\n' in text
    assert '          {"text":"a","type":"content"},\n' in text
    (interaction,) = fixture_file.read(path).interactions
    response = interaction["response"]
    assert response["chunks"] == ["data: {\"a\": 1}\n\n", {"b64": "/w=="}] and response["timing_ms"] == [1.5, 3.0]
    # the stamp still says "made from this response" (it was true before), so no false "edited" verdict
    assert interaction["meta"]["decoded_from"] == fixture_file.response_digest(response) != stamp
