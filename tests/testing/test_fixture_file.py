"""The fixture file format: named load errors, stable text, atomic writes, the per-process cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

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
    assert text.startswith('{\n  "format_version": 1,\n  "interactions": [\n')
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
    ('{"format_version": 2, "interactions": []}', "has unknown format_version 2"),
    ('{"format_version": 1}', "'interactions' is missing or not a list"),
    ('{"format_version": 1, "interactions": [{"request": {"method": "GET"}, "response": {"status": 200}}]}',
     "interaction #0: request needs string 'method' and 'url'"),
    ('{"format_version": 1, "interactions": [{"request": {"method": "GET", "url": "/"}, "response": {}}]}',
     "interaction #0: response has neither a 'status' nor an 'error'"),
    ('{"format_version": 1, "interactions": [{"request": {"method": "GET", "url": "/"}, '
     '"response": {"status": 200, "chunks": "x"}}]}', "interaction #0: response 'chunks' is not a list"),
])
def test_load_errors_name_the_file_and_the_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(content)
    with pytest.raises(FixtureCorruptError) as info:
        fixture_file.load(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)
    assert info.value.path == path


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
    assert tmp_path not in fixture_file.lock_stem(path).parents  # locks never litter the fixtures dir
