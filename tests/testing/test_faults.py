"""Hand-written fault fixtures drive reqllm's error paths: rate limit, overload, broken stream, timeout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import reqllm
import reqllm_testing
from reqllm import errors
from reqllm_testing import faults

MODEL = "openai:gpt-4o-mini"
CHUNK = {"id": "c1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "Hi"}}]}


def test_request_for_matches_what_reqllm_sends(tmp_path: Path) -> None:
    request = faults.request_for(MODEL, "Hello", temperature=0.2)
    assert request["method"] == "POST" and request["url"] == "https://api.openai.com/v1/chat/completions"
    assert request["body"]["temperature"] == 0.2 and "authorization" not in request["headers"]
    path = faults.write_fixture(tmp_path / "ok.json", [faults.stream(faults.request_for(MODEL, "Hello",
                                                                                        stream=True), [
        CHUNK, {"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}, "[DONE]"])])
    with reqllm_testing.use_fixture(path):
        assert reqllm.stream_text(MODEL, "Hello").to_response().text == "Hi"


def test_rate_limit_then_success_replays_the_retry(tmp_path: Path) -> None:
    request = faults.request_for(MODEL, "Hello")
    answer = {"id": "x", "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": "Done"}}]}
    success = faults.error_response(request, 200, answer)
    path = faults.write_fixture(tmp_path / "retry.json", [faults.rate_limit(request, retry_after=0), success])
    with reqllm_testing.use_fixture(path):
        assert reqllm.generate_text(MODEL, "Hello", max_retries=1).text == "Done"
    with reqllm_testing.use_fixture(path, allow_unused=True), pytest.raises(errors.RateLimitError) as info:
        reqllm.generate_text(MODEL, "Hello", max_retries=0)
    assert info.value.status == 429 and info.value.retry_after == 0


def test_overload_truncation_and_timeout(tmp_path: Path) -> None:
    plain, streamed = faults.request_for(MODEL, "Hello"), faults.request_for(MODEL, "Hello", stream=True)
    path = faults.write_fixture(tmp_path / "faults.json", [faults.overloaded(plain)])
    with reqllm_testing.use_fixture(path), pytest.raises(errors.OverloadedError, match="Overloaded"):
        reqllm.generate_text(MODEL, "Hello", max_retries=0)

    path = faults.write_fixture(tmp_path / "cut.json", [faults.truncated_stream(streamed, [CHUNK])])
    with reqllm_testing.use_fixture(path), pytest.raises(errors.APIConnectionError) as info:
        list(reqllm.stream_text(MODEL, "Hello", max_retries=0))
    assert [c.text for c in info.value.chunks] == ["Hi"]

    ended = faults.truncated_stream(streamed, [CHUNK], error=None)
    path = faults.write_fixture(tmp_path / "ended.json", [ended])
    with reqllm_testing.use_fixture(path), pytest.raises(errors.StreamTruncatedError):
        list(reqllm.stream_text(MODEL, "Hello"))

    path = faults.write_fixture(tmp_path / "slow.json", [faults.timeout(plain)])
    with reqllm_testing.use_fixture(path), pytest.raises(errors.APITimeoutError, match="ReadTimeout"):
        reqllm.generate_text(MODEL, "Hello", max_retries=0)
    assert json.loads(path.read_text())["source"] == "reqllm_testing.faults"
