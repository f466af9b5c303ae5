"""vcrpy / pytest-recording cassettes -> reqllm fixtures, on the real cassettes of the shared corpus."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import pytest
import yaml

import reqllm
import reqllm_testing
from reqllm.cli import main
from reqllm_testing import fixture_file
from reqllm_testing.check import scan_paths
from reqllm_testing.recorder import stream_events
from reqllm_testing.vcr_import import convert_cassette, import_cassette, split_events

CORPUS = Path("/work/shared/corpus")
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the cassette corpus is not at {CORPUS}")
CASSETTES = sorted(CORPUS.glob("*/*.yaml")) if CORPUS.is_dir() else []


def test_split_events_keeps_every_byte_and_each_framing() -> None:
    text = "data: a\r\n\r\ndata: b\n\nevent: x\ndata: c\r\rtrailing"
    assert split_events(text) == ["data: a\r\n\r\n", "data: b\n\n", "event: x\ndata: c\r\r", "trailing"]
    assert "".join(split_events(text)) == text


@needs_corpus
@pytest.mark.parametrize("cassette", CASSETTES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_corpus_cassette_converts_losslessly(cassette: Path) -> None:
    raw = yaml.safe_load(cassette.read_text())["interactions"]
    doc = convert_cassette(cassette)
    assert doc["source"] == f"vcr-import:{cassette.name}"
    assert len(doc["interactions"]) == len(raw)
    for original, item in zip(raw, doc["interactions"], strict=True):
        response = item["response"]
        assert response["status"] == original["response"]["status"]["code"]
        assert "".join(response["chunks"]) == original["response"]["body"]["string"]
        assert stream_events(response) and "timing_ms" not in response  # no timing in a cassette
        assert set(response["headers"]) <= {"content-type", "retry-after", "retry-after-ms", "x-should-retry"}
        assert set(item["request"]["headers"]) <= {"content-type", "accept", "anthropic-version",
                                                   "anthropic-beta", "openai-beta"}
        assert item["meta"]["stream"] is True
    sidecar = cassette.with_name(cassette.stem + ".chunks.json")
    if sidecar.exists():
        assert doc["interactions"][0]["response"]["chunks"] == json.loads(sidecar.read_text())
    fixture_file.parse(fixture_file.dumps(doc), cassette)  # a valid fixture


@needs_corpus
def test_imported_fixtures_carry_no_secret_looking_strings(tmp_path: Path) -> None:
    for cassette in CASSETTES:
        import_cassette(cassette, tmp_path)
    text = "".join(p.read_text() for p in tmp_path.glob("*.json"))
    for banned in ("set-cookie", "openai-organization", "openai-project", "anthropic-organization-id",
                   "cf-ray", "request-id"):
        assert f'"{banned}"' not in text
    assert scan_paths([tmp_path]) == []


@needs_corpus
def test_an_imported_openai_stream_replays_through_reqllm(tmp_path: Path) -> None:
    path = import_cassette(CORPUS / "openai_chat" / "text_stream.yaml", tmp_path)
    # The cassette's request was sent by another client: match on the route only.
    with reqllm_testing.use_fixture(path, mode="replay", ignore_fields=["*"]):
        text = "".join(reqllm.stream_text("openai:gpt-4o-mini", "Say hello").text_stream())
    events = stream_events(json.loads(path.read_text())["interactions"][0]["response"])
    expected = "".join(e["data"]["choices"][0]["delta"].get("content") or "" for e in events
                       if isinstance(e["data"], dict) and e["data"]["choices"])
    assert text == expected and text.startswith("Hello")


def test_json_cassettes_parsed_bodies_and_gzip_bytes(tmp_path: Path) -> None:
    cassette = {"version": 1, "interactions": [
        {"request": {"method": "POST",
                     "uri": "https://api.openai.com/v1/chat/completions?api_key=sk" "-abc12345678",
                     "headers": {"Authorization": ["Bearer sk" "-proj-abcdefghijklmnopqrstuvwxyz"]},
                     "parsed_body": {"model": "gpt-4o-mini",
                                     "messages": [{"role": "user", "content": "Hi"}]}},
         "response": {"status": {"code": 429, "message": "Too Many Requests"},
                      "headers": {"Content-Type": ["application/json"], "Retry-After": ["2"],
                                  "Set-Cookie": ["x=y"]},
                      "parsed_body": {"error": {"message": "slow down", "type": "requests"}}}},
    ]}
    json_path = tmp_path / "limited.json"
    json_path.write_text(json.dumps(cassette))
    (item,) = convert_cassette(json_path)["interactions"]
    assert item["request"]["url"] == "https://api.openai.com/v1/chat/completions?api_key=REDACTED"
    assert item["request"]["headers"] == {}
    assert item["request"]["body"]["messages"][0]["content"] == "Hi"
    assert item["response"] == {"status": 429,
                                "headers": {"content-type": "application/json", "retry-after": "2"},
                                "body": {"error": {"message": "slow down", "type": "requests"}},
                                "error": None}
    assert item["meta"]["model"] == "openai:gpt-4o-mini"

    zipped = gzip.compress(b'{"id": "x", "note": "key sk' b'-proj-abcdefghijklmnopqrstuvwxyz"}')
    yaml_path = tmp_path / "zipped.yaml"
    yaml_path.write_text(
        "interactions:\n- request:\n    body: null\n    headers: {}\n    method: GET\n"
        "    uri: https://x/v1/models\n  response:\n    body:\n      string: !!binary |\n        "
        + base64.b64encode(zipped).decode() + "\n"
        "    headers:\n      Content-Encoding: [gzip]\n      Content-Type: [application/json]\n"
        "    status: {code: 200, message: OK}\nversion: 1\n")
    (item,) = convert_cassette(yaml_path)["interactions"]
    assert item["response"]["body"] == {"id": "x", "note": "key REDACTED"}


def test_the_cli_imports_cassettes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cassette = tmp_path / "c.yaml"
    cassette.write_text("interactions:\n"
                        "- request: {method: GET, uri: 'https://x/v1/ping', body: null, headers: {}}\n"
                        "  response: {status: {code: 200}, headers: {}, body: {string: pong}}\nversion: 1\n")
    assert main(["fixtures", "import-vcr", str(cassette), "--out", str(tmp_path / "out")]) == 0
    assert "c.yaml ->" in capsys.readouterr().out
    doc = json.loads((tmp_path / "out" / "c.json").read_text())
    assert doc["interactions"][0]["response"]["text"] == "pong"
    (tmp_path / "bad.yaml").write_text("not: [a cassette")
    assert main(["fixtures", "import-vcr", str(tmp_path / "bad.yaml"), "--out", str(tmp_path)]) == 1
