"""``reqllm fixtures list | check | scan``: unloadable, stale and orphaned files, secret-looking strings."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

import reqllm
import reqllm_testing
from reqllm.cli import main

TESTS = '''
import pytest

def test_own(reqllm_fixture):
    pass

@pytest.mark.reqllm(fixture="shared/named")
def test_marked():
    pass

def test_used_block(reqllm_fixture):
    with reqllm_fixture.use("used-in-block"):
        pass

def test_plain():
    pass
'''


def _handler(request: httpx.Request) -> httpx.Response:
    if json.loads(request.content).get("stream"):
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=(
            b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'
            b'data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
            b"data: [DONE]\n\n"))
    return httpx.Response(200, json={"id": "x", "choices": [{"index": 0, "finish_reason": "stop", "message": {
        "role": "assistant", "content": "Hello"}}], "usage": {"prompt_tokens": 2, "completion_tokens": 1}})


def _record(path: Path) -> Path:
    client = httpx.Client(transport=httpx.MockTransport(_handler))
    with reqllm_testing.use_fixture(path, mode="record"):
        reqllm.generate_text("openai:gpt-4o-mini", "Hi", api_key="sk" "-test-key-123456", http_client=client)
        list(reqllm.stream_text("openai:gpt-4o-mini", "Hi", api_key="sk" "-test-key-123456", http_client=client))
    return path


def test_check_reports_unloadable_stale_and_orphaned(pytester: pytest.Pytester,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    pytester.makepyfile(test_things=TESTS)
    root = pytester.path / "tests" / "fixtures" / "reqllm"
    for name in ("test_things/test_own", "shared/named", "used-in-block"):
        _record(root / f"{name}.json")
    assert main(["fixtures", "check", str(root), "--pytest-args", str(pytester.path)]) == 0
    assert "3 fixture file(s) checked" in capsys.readouterr().out

    _record(root / "nobody.json")
    (root / "broken.json").write_text('{"format_version": 1, "interac')
    stale = root / "shared" / "named.json"
    doc = json.loads(stale.read_text())
    doc["interactions"][1]["decoded"]["chunks"][0]["text"] = "Hi (old parser)"
    stale.write_text(json.dumps(doc))
    assert main(["fixtures", "check", str(root), "--pytest-args", str(pytester.path)]) == 1
    out = capsys.readouterr().out
    assert f"unloadable: {root / 'broken.json'}" in out and "is not valid JSON" in out
    assert f"stale: {stale} — interaction #1 decodes differently now" in out and "Hi (old parser)" in out
    assert f"orphaned: {root / 'nobody.json'}" in out
    assert "orphaned: " + str(root / "used-in-block.json") not in out
    assert "5 fixture file(s) checked" in out and "1 unloadable, 1 stale, 1 orphaned" in out
    assert main(["fixtures", "check", str(root), "--no-orphans"]) == 1
    assert "orphaned: " not in capsys.readouterr().out


def test_list_shows_each_fixture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _record(tmp_path / "a.json")
    (tmp_path / "b.json").write_text("")
    assert main(["fixtures", "list", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "2 interaction(s), 1 stream(s)  openai:gpt-4o-mini  reqllm_testing" in lines[0]
    assert "b.json  UNLOADABLE:" in lines[1] and "is empty" in lines[1]


def test_scan_finds_secret_looking_strings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean = _record(tmp_path / "clean" / "ok.json")
    assert main(["fixtures", "scan", str(clean.parent)]) == 0
    leaky = tmp_path / "leaky"
    leaky.mkdir()
    (leaky / "a.json").write_text(json.dumps({"interactions": [{"request": {"headers": {
        "authorization": "Bearer sk" "-proj-abcdefghijklmnopqrstuvwx", "x-session": "0123456789abcdef0123"}},
        "response": {"headers": {"x-trace": "a" * 48}, "body": {"note": "AIza" + "B" * 35}}}]}))
    (leaky / "b.yaml").write_text("request:\n  headers:\n"
                                  "    x-api-key: [sk" "-ant-api03-abcdefghijklmnopqrstu]\n"
                                  "    cookie: [REDACTED]\n")
    assert main(["fixtures", "scan", str(leaky)]) == 1
    out = capsys.readouterr().out
    assert "openai-style key: " in out and "google api key: " in out and "anthropic key: " in out
    assert "bearer token: " in out
    assert "secret-looking header: " in out and "x-session: 012345…" in out and "x-trace: aaaaaa…" in out
    assert "cookie" not in out
    assert "sk" "-proj-abcdefghijklmnopqrstuvwx" not in out  # findings are masked


def test_upgrade_rewrites_version_1_fixtures_and_names_the_ones_it_cannot_read(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    current = _record(tmp_path / "current.json")
    stream = {"status": 200, "headers": {"content-type": "text/event-stream"}, "error": None,
              "chunks": ['data: {"a": 1}\n\n', "data: [DONE]\n\n"], "timing_ms": [1.5, 2.0],
              "events": [{"event": "message", "data": {"a": 1}}, {"event": "message", "data": "[DONE]"}]}
    old = tmp_path / "old" / "v1.json"
    old.parent.mkdir()
    old.write_text(json.dumps({"format_version": 1, "interactions": [
        {"request": {"method": "POST", "url": "https://x/v1/chat/completions"}, "response": stream}]}))
    (tmp_path / "broken.json").write_text('{"format_version": 1, "interactions": [{}]}')
    before = current.read_bytes()

    assert main(["fixtures", "upgrade", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert f"{old}: upgraded to format_version 2" in captured.out
    assert f"1 of 3 fixture(s) under {tmp_path} rewritten" in captured.out
    assert f"{tmp_path / 'broken.json'}: fixture " in captured.err and "$.interactions[0].request" in captured.err
    assert current.read_bytes() == before  # already format 2: untouched
    doc = json.loads(old.read_text())
    assert doc["format_version"] == 2
    assert doc["interactions"][0]["response"]["chunks"] == [[1.5, 'data: {"a": 1}\n\n'], [2.0, "data: [DONE]\n\n"]]
    assert main(["fixtures", "upgrade", str(old.parent)]) == 0
    assert "0 of 1 fixture(s)" in capsys.readouterr().out
