"""The replay drift check: its fast comparison agrees with the full one (``decoded_of`` + ``same_decoded``), and
identical calls in one fixture are checked once, an edited one still caught."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

import reqllm
import reqllm_testing
from reqllm import StreamChunk
from reqllm._transport import CallInfo
from reqllm_testing import session
from reqllm_testing.matching import parse_body
from reqllm_testing.session import decoded_of, decoded_unchanged, same_decoded

_KEY = "sk" + "-test-" + "0" * 24

STREAM = CallInfo(provider="openai", model="gpt-4o-mini", operation="chat", stream=True, protocol="openai_chat")
CHUNKS = [StreamChunk("meta", metadata={"id": "chatcmpl-1"}), StreamChunk("content", "Hel"),
          StreamChunk("content", "lo"), StreamChunk("meta", metadata={"finish_reason": "stop"})]
BROKEN = ConnectionResetError("reset by peer")


def _recorded(chunks: list[StreamChunk], error: BaseException | None = None) -> dict[str, Any]:
    return decoded_of(STREAM, chunks, error)


@pytest.mark.parametrize(("recorded", "now", "error"), [
    (_recorded(CHUNKS), CHUNKS, None),
    (_recorded(CHUNKS), CHUNKS[:-1], None),  # a chunk less
    (_recorded(CHUNKS[:-1]), CHUNKS, None),  # a chunk more
    (_recorded(CHUNKS), [*CHUNKS[:1], StreamChunk("content", "Help"), *CHUNKS[2:]], None),  # one chunk changed
    (_recorded(CHUNKS[:2], BROKEN), CHUNKS[:2], BROKEN),  # the same failure
    (_recorded(CHUNKS[:2], BROKEN), CHUNKS[:2], None),  # the failure is gone
    (_recorded(CHUNKS[:2]), CHUNKS[:2], BROKEN),  # a failure appeared
    (_recorded(CHUNKS[:2], BROKEN), CHUNKS[:2], ConnectionResetError("another message")),
    ({"chunks": "not a list"}, CHUNKS, None),  # a hand-edited decoded part
    ({**_recorded(CHUNKS), "response": {}}, CHUNKS, None),  # a key the stream part never has
], ids=["same", "fewer", "more", "changed", "same-error", "error-gone", "error-new", "error-changed",
        "edited", "extra-key"])
def test_the_fast_check_agrees_with_the_full_one(recorded: dict[str, Any], now: list[StreamChunk],
                                                 error: BaseException | None) -> None:
    assert decoded_unchanged(recorded, STREAM, now, error) == same_decoded(recorded, decoded_of(STREAM, now, error))


# -- identical calls in one fixture are checked once ---------------------------------------------
ANSWER = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
          "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello there"},
                       "finish_reason": "stop"}],
          "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}


def _record_identical_calls(path: Path, times: int) -> None:
    client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200, json=ANSWER)))
    with reqllm_testing.use_fixture(path, mode="record"):
        for _ in range(times):
            reqllm.generate_text("openai:gpt-4o-mini", "Hi", api_key=_KEY, http_client=client)


def test_identical_calls_are_checked_against_the_parser_once_they_repeat(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # A session's first call is checked (and not remembered: most sessions make one call); its first
    # twin is checked and remembered; the twins after it are not checked again.
    path = tmp_path / "four.json"
    _record_identical_calls(path, 4)
    checks: list[int] = []

    def counted(*args: Any) -> bool:
        checks.append(1)
        return decoded_unchanged(*args)

    monkeypatch.setattr(session, "decoded_unchanged", counted)
    with reqllm_testing.use_fixture(path, mode="replay"):
        for _ in range(4):
            assert reqllm.generate_text("openai:gpt-4o-mini", "Hi").text == "Hello there"
    assert len(checks) == 2


def test_an_edited_decoded_part_of_a_repeated_call_is_still_a_drift(tmp_path: Path) -> None:
    path = tmp_path / "three.json"
    _record_identical_calls(path, 3)
    document = json.loads(path.read_text())
    document["interactions"][2]["decoded"]["response"]["message"]["content"][0]["text"] = "Hello edited"
    path.write_text(json.dumps(document))
    with pytest.raises(reqllm_testing.DecodedMismatchError, match="Hello edited"), \
            reqllm_testing.use_fixture(path, mode="replay"):
        for _ in range(3):
            reqllm.generate_text("openai:gpt-4o-mini", "Hi")


def test_a_request_sent_again_is_matched_without_parsing_it_again(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "thrice.json"
    client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200, json=ANSWER)))
    with reqllm_testing.use_fixture(path, mode="record"):
        for _ in range(3):
            reqllm.generate_text("openai:gpt-4o-mini", "Hi", api_key=_KEY, http_client=client)
    parsed: list[bytes] = []

    def counted(content: bytes) -> Any:
        parsed.append(content)
        return parse_body(content)

    monkeypatch.setattr(session, "parse_body", counted)
    with reqllm_testing.use_fixture(path, mode="replay") as replay:
        for _ in range(3):
            assert reqllm.generate_text("openai:gpt-4o-mini", "Hi").text == "Hello there"
        # the first request makes the replay key known; the others reuse its parse
        assert len(parsed) < 3 and replay.served == 3
