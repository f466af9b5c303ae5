"""Messages that say what happened and what to type: a stale decoded part, a replayed 429 with retries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

import reqllm
import reqllm_testing
from reqllm_testing import faults
from reqllm_testing.session import response_digest

KEY = "sk" "-test-key-123456"
MODEL = "openai:gpt-4o-mini"


def _answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"id": "x", "choices": [{"index": 0, "finish_reason": "stop", "message": {
        "role": "assistant", "content": "Hello"}}], "usage": {"prompt_tokens": 2, "completion_tokens": 1}})


def _record(path: Path) -> dict[str, Any]:
    client = httpx.Client(transport=httpx.MockTransport(_answer))
    with reqllm_testing.use_fixture(path, mode="record"):
        reqllm.generate_text(MODEL, "Hi", api_key=KEY, http_client=client)
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def _replay(path: Path) -> reqllm_testing.DecodedMismatchError:
    with pytest.raises(reqllm_testing.DecodedMismatchError) as info, reqllm_testing.use_fixture(path, mode="replay"):
        reqllm.generate_text(MODEL, "Hi")
    return info.value


def test_the_decoded_part_remembers_the_response_it_was_made_from(tmp_path: Path) -> None:
    document = _record(tmp_path / "f.json")
    (item,) = document["interactions"]
    assert item["meta"]["decoded_from"] == response_digest(item["response"])
    assert item["meta"]["decoded_from"].startswith("sha256:") and len(item["meta"]["decoded_from"]) == 23


def test_an_edited_recorded_response_is_named_with_both_commands(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    document = _record(path)
    document["interactions"][0]["response"]["body"]["choices"][0]["message"]["content"] = "Hello, edited"
    path.write_text(json.dumps(document))
    error = _replay(path)
    assert error.cause == "edited"
    message = str(error)
    assert message.startswith(f"the recorded response of interaction #0 of {path} was edited after its decoded "
                              "part was written (it no longer matches meta.decoded_from), so the decoded part is "
                              "stale; the parser did not change (recorded vs now):\n")
    assert "Hello, edited" in message
    assert message.endswith(
        f"If the edit is deliberate, re-generate the decoded part: use_fixture('{path}', update_decoded=True) "
        f"around the same code\nIf not, restore the file (git checkout -- {path}) or re-record it: "
        f"use_fixture('{path}', mode='record')")


def test_a_parser_change_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    document = _record(path)  # the response stays as recorded; what it decoded to then was different
    document["interactions"][0]["decoded"]["response"]["text"] = "Hello (old parser)"
    path.write_text(json.dumps(document))
    error = _replay(path)
    assert error.cause == "parser"
    assert str(error).startswith(f"the parser changed: the recorded response of interaction #0 of {path} is "
                                 "unchanged since its decoded part was written, but reqllm now decodes it "
                                 "differently (recorded vs now):\n")
    assert str(error).endswith("If not, the diff shows what the parser now gets wrong")
    with reqllm_testing.use_fixture(path, mode="replay", update_decoded=True):  # the command it names
        reqllm.generate_text(MODEL, "Hi")
    with reqllm_testing.use_fixture(path, mode="replay"):
        assert reqllm.generate_text(MODEL, "Hi").text == "Hello"


def test_an_old_fixture_without_the_fingerprint_gives_both_remedies(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    document = _record(path)
    del document["interactions"][0]["meta"]["decoded_from"]
    document["interactions"][0]["decoded"]["response"]["text"] = "Bonjour"
    path.write_text(json.dumps(document))
    error = _replay(path)
    assert error.cause == "unknown"
    assert "cannot tell whether the recorded response was edited or the parser changed" in str(error)


def test_pytest_names_the_test_in_the_commands(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=f'''
import httpx, reqllm

def answer(request):
    return httpx.Response(200, json={{"id": "x", "choices": [{{"index": 0, "finish_reason": "stop", "message": {{
        "role": "assistant", "content": "Hello"}}}}], "usage": {{"prompt_tokens": 2, "completion_tokens": 1}}}})

def test_capital(reqllm_fixture):
    client = httpx.Client(transport=httpx.MockTransport(answer))
    assert reqllm.generate_text("{MODEL}", "Hi", api_key="{KEY}", http_client=client).text
''')
    assert pytester.runpytest_subprocess("-p", "no:xdist", "--reqllm-record").ret == 0
    path = pytester.path / "tests" / "fixtures" / "reqllm" / "test_app" / "test_capital.json"
    document = json.loads(path.read_text())
    document["interactions"][0]["response"]["body"]["choices"][0]["message"]["content"] = "Hi there"
    path.write_text(json.dumps(document))
    result = pytester.runpytest_subprocess("-p", "no:xdist")
    assert result.ret == 1
    result.stdout.fnmatch_lines([
        "*DecodedMismatchError: the recorded response of interaction #0 of *test_capital.json was edited after*",
        "*If the edit is deliberate, re-generate the decoded part: pytest --reqllm-update-decoded "
        "test_app.py::test_capital",
        "*If not, restore the file (git checkout -- *test_capital.json) or re-record it: pytest --reqllm-record "
        "test_app.py::test_capital"])


def test_a_replayed_429_with_retries_names_the_cause_and_both_remedies(tmp_path: Path) -> None:
    path = tmp_path / "limited.json"
    faults.write_fixture(path, [faults.rate_limit(faults.request_for(MODEL, "Hi"))])
    # max_retries=0: the 429 reaches the code
    with reqllm_testing.use_fixture(path, mode="replay"), pytest.raises(reqllm.errors.RateLimitError):
        reqllm.generate_text(MODEL, "Hi", max_retries=0)
    with pytest.raises(reqllm_testing.FixtureMismatchError) as info, \
            reqllm_testing.use_fixture(path, mode="replay"):
        reqllm.generate_text(MODEL, "Hi")  # the default retries ask again
    assert str(info.value) == (
        f"POST /v1/chat/completions (model gpt-4o-mini): all 1 recorded interaction(s) with this request in {path} "
        "were already used — the code makes more calls than were recorded. Likely cause: the recorded response "
        "is HTTP 429, which reqllm retries (max_retries, default 2), and the retry has no recording. Either pass "
        "max_retries=0 to the call in this test, so that the 429 reaches your code at once, or record every "
        "attempt: one 429 per attempt (reqllm_testing.faults) or a re-recording with the same max_retries")
