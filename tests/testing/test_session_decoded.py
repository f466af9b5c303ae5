"""The replay drift check's fast comparison agrees with the full one (``decoded_of`` + ``same_decoded``)."""

from __future__ import annotations

from typing import Any

import pytest

from reqllm import StreamChunk
from reqllm._transport import CallInfo
from reqllm_testing.session import decoded_of, decoded_unchanged, same_decoded

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
