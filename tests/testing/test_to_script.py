"""A recording becomes an editable script (``reqllm fixtures to-script``) that answers as the recording did."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

import reqllm
from reqllm import errors
from reqllm.cli import main
from reqllm_testing import Reply, Script, disconnect, faults, fixture_file, rate_limited, use_fixture
from reqllm_testing.to_script import script_from_fixture

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
RECORDED = REPO / "fixtures" / "local-llm-anthropic" / "gemma-3-270m-q4_k_m"
MODEL = "openai:gpt-4o-mini"


def replayed(path: Path, spec: str, *, stream: bool) -> reqllm.Response:
    """reqllm's answer from the recording itself."""
    with use_fixture(path, mode="replay", allow_unused=True):
        interaction = json.loads(path.read_text())["interactions"][0]
        body = interaction["request"]["body"]
        messages = [reqllm.Message(role=m["role"], content=[{"type": "text", "text": p["text"]}
                                                             for p in m["content"] if p.get("type") == "text"])
                    for m in body["messages"]]
        options = {k: body[k] for k in ("temperature",) if k in body} | {"max_tokens": body["max_tokens"]}
        if stream:
            return reqllm.stream_text(spec, messages, base_url="http://127.0.0.1:8080/v1", **options).to_response()
        return reqllm.generate_text(spec, messages, base_url="http://127.0.0.1:8080/v1", **options)


@pytest.mark.parametrize(("name", "stream"), [("generate_text", False), ("stream_text", True)])
def test_a_real_recording_becomes_a_script_that_answers_the_same(name: str, stream: bool, tmp_path: Path) -> None:
    path = RECORDED / f"{name}.json"
    spec = "local-llm-anthropic:gemma-3-270m-q4_k_m"
    recorded = replayed(path, spec, stream=stream)
    out = tmp_path / f"{name}.script.json"
    assert main(["fixtures", "to-script", str(path), "--out", str(out)]) == 0
    script = Script.load(out)
    client = httpx.Client(transport=script)
    call = reqllm.stream_text if stream else reqllm.generate_text
    result = call(spec, "anything", http_client=client, base_url="http://127.0.0.1:8080/v1")  # type: ignore[operator]
    scripted = result.to_response() if stream else result
    assert scripted.normalized() | {"usage": None} == recorded.normalized() | {"usage": None}
    assert scripted.usage.input_tokens == recorded.usage.input_tokens and scripted.id == recorded.id
    script.verify()


def test_faults_and_broken_streams_become_the_same_faults(tmp_path: Path) -> None:
    plain = faults.request_for(MODEL, "Hello")
    streamed = faults.request_for(MODEL, "Hello", stream=True)
    path = faults.write_fixture(tmp_path / "faults.json", [
        faults.rate_limit(plain, retry_after=3),
        faults.reply(streamed, Reply("one two three", cut_after=2)),
        faults.reply(streamed, Reply("one two three", error_after=3, error=rate_limited())),
        faults.timeout(plain, "RemoteProtocolError", "Server disconnected"),
        faults.reply(plain, Reply("fine")),
    ])
    script = script_from_fixture(path)
    assert script.items[0] == rate_limited(retry_after=3)
    cut = script.items[1]
    assert isinstance(cut, Reply) and cut.cut_after == 2 and cut.text == "one"
    broken = script.items[2]
    assert isinstance(broken, Reply) and broken.error_after == 3 and broken.error == rate_limited()
    assert broken.text == "one two"
    assert script.items[3] == disconnect()
    assert isinstance(script.items[4], Reply) and script.items[4].text == "fine"


def test_faults_reply_writes_a_fixture_that_replays_as_the_script_would(tmp_path: Path) -> None:
    request = faults.request_for("anthropic:claude-3-5-haiku-20241022", "Hi", stream=True, api_key="k" * 10)
    path = faults.write_fixture(tmp_path / "scripted.json", [
        faults.reply(request, Reply("Bonjour à tous: éééé", thinking="hmm"), chunking=3)])
    with use_fixture(path):
        answer = reqllm.stream_text("anthropic:claude-3-5-haiku-20241022", "Hi", api_key="k" * 10).to_response()
    assert (answer.text, answer.thinking) == ("Bonjour à tous: éééé", "hmm")
    assert any(isinstance(c, dict) for c in fixture_file.read(path).interactions[0]["response"]["chunks"])
    with pytest.raises(errors.RateLimitError):
        gemini = faults.request_for("google:gemini-2.5-flash", "Hi", api_key="k" * 10)
        limited = faults.write_fixture(tmp_path / "limited.json", [faults.rate_limit(gemini, retry_after=None)])
        with use_fixture(limited):
            reqllm.generate_text("google:gemini-2.5-flash", "Hi", api_key="k" * 10, max_retries=0)
    assert json.loads(limited.read_text())["interactions"][0]["response"]["body"]["error"]["status"] == \
        "RESOURCE_EXHAUSTED"


def test_a_fixture_of_other_traffic_is_a_named_error(tmp_path: Path) -> None:
    request = {"method": "GET", "url": "https://api.openai.com/v1/models", "headers": {}, "body": None}
    path = faults.write_fixture(tmp_path / "models.json", [faults.error_response(request, 200, {"data": []})])
    assert main(["fixtures", "to-script", str(path)]) == 1
    assert not path.with_suffix(".script.json").exists()
