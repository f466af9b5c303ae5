"""Anthropic Messages recordings (``anthropic/``): what a correct client returns for each.

Expected values were read off the raw named events. Usage: ``message_start`` gives the input and
cache counts and a provisional ``output_tokens``; the final ``message_delta`` gives the output count
that counts (it is cumulative: the last one wins). reqllm's ``input_tokens`` is Anthropic's
``input_tokens + cache_read_input_tokens + cache_creation_input_tokens`` (all prompt tokens),
``cached`` the cache reads, ``cache_write`` the cache writes. Anthropic reports no separate
thinking count (thinking is billed inside ``output_tokens``), so ``reasoning`` is 0. Finish
reasons: ``end_turn`` -> "stop", ``tool_use`` -> "tool_calls". ``ping`` events carry nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import (
    Call,
    Counts,
    Expected,
    Part,
    check,
    corpus_dir,
    manifest_entries,
    recorded_interactions,
    replay,
)

MODELS = {
    "anthropic/thinking_stream.yaml": "anthropic:claude-sonnet-4-0",
    "anthropic/forced_tool_use_pings_stream.yaml": "anthropic:claude-haiku-4-5-20251001",
    "anthropic/text_and_parallel_tools_stream.yaml": "anthropic:claude-sonnet-4-20250514",
    "anthropic/thinking_interleaved_beta_stream.yaml": "anthropic:claude-sonnet-4-5-20250929",
}

# sha256 of the signature_delta of block 0 (504 and 416 base64 characters): the thinking part must
# keep it whole, to be sent back unchanged on the next turn.
SIGNATURE_THINKING = "sha256:e2385f7486c5cf36abe909081fa9588d8a62e43339f699537f99e9b8a60e57a2"
SIGNATURE_INTERLEAVED = "sha256:8d3079b8aa8e9a00dc3c4be835bc444b19d6d35c67461b253d36ba43f84443c6"

CROSSING = (
    'Here are the basic steps for safely crossing the street:\n\n'
    '**At intersections with traffic lights:**\n'
    '- Wait for the pedestrian "Walk" signal\n'
    '- Look both ways before stepping into the street\n'
    '- Make eye contact with drivers when possible\n'
    '- Stay alert for turning vehicles\n\n'
    '**At intersections without signals:**\n'
    '- Use crosswalks when available\n'
    '- Stop at the curb and look left, right, then left again\n'
    '- Wait for a clear gap in traffic\n'
    "- Walk briskly but don't run\n"
    '- Keep looking for traffic as you cross\n\n'
    '**General safety tips:**\n'
    '- Put away phones and remove headphones\n'
    '- Wear bright or reflective clothing in low light\n'
    '- Never assume drivers see you\n'
    '- Avoid crossing between parked cars\n'
    "- Walk facing traffic when there's no sidewalk\n\n"
    '**In busy urban areas:**\n'
    '- Follow pedestrian signals strictly\n'
    '- Be extra cautious of cyclists in bike lanes\n'
    '- Watch for buses and large vehicles with blind spots\n\n'
    'The key is to be visible, alert, and predictable in your movements. Always prioritize safety '
    'over speed when crossing streets.'
)

CASES = {
    # Block 0: thinking (thinking_delta events, then one signature_delta); block 1: text.
    # message_start says output_tokens 1, the final message_delta 282.
    "anthropic/thinking_stream.yaml#0": Expected(
        thinking=(
            'This is a straightforward question about pedestrian safety. I should provide clear, helpful '
            'advice about how to safely cross a street. This is basic safety information that could help '
            'prevent accidents.'
        ),
        text=CROSSING, id="msg_01ALwQ87pTS7hH1PjSdC9wJD",
        usage=Counts(input=43, output=282, total=325, cached=0, cache_write=0),
        parts=(Part("thinking", signature=SIGNATURE_THINKING), Part("text"))),
    # Forced tool_use: the block starts with input {} and an empty partial_json, then eleven
    # fragments, five of them with a ping event between; message_start's output_tokens 20 is
    # superseded by message_delta's 69.
    "anthropic/forced_tool_use_pings_stream.yaml#0": Expected(
        calls=(Call("toolu_01KUGVjCcSsLgVkmvQeDZdWE", "structured_output",
                    {"name": "Alex Johnson", "age": 28, "occupation": "Software Engineer"}),),
        finish_reason="tool_calls", id="msg_01BrL6XpUDDEWnsXYR9uqDXQ",
        usage=Counts(input=725, output=69, total=794)),
    # A text block (index 0), then two tool_use blocks (index 1 and 2, each with a "caller" field).
    "anthropic/text_and_parallel_tools_stream.yaml#0": Expected(
        text="I'll add and multiply the numbers 2 and 3 for you.",
        calls=(Call("toolu_01UYxUYC2zRPY8wiutnF48eP", "add", {"a": 2, "b": 3}),
               Call("toolu_01VaRx1jpWCvPhi7L4kywAcd", "multiply", {"a": 2, "b": 3})),
        finish_reason="tool_calls", id="msg_01PSvJdjd5keNSD63VHjYzex",
        usage=Counts(input=502, output=137, total=639), parts=(Part("text"),)),
    "anthropic/text_and_parallel_tools_stream.yaml#1": Expected(
        text='The results are:\n- 2 + 3 = 5\n- 2 \xd7 3 = 6', id="msg_015WPQbJC4ysDAi7LuCD43Fp",
        usage=Counts(input=700, output=31, total=731), parts=(Part("text"),)),
    # The interleaved-thinking beta: a thinking block with its signature, then a text block.
    "anthropic/thinking_interleaved_beta_stream.yaml#0": Expected(
        thinking=(
            'This is a simple multiplication problem: 15 \xd7 3\n\n'
            'I can solve this by:\n'
            '- 15 \xd7 3 = (10 + 5) \xd7 3 = 30 + 15 = 45\n\n'
            'Or simply: 15 \xd7 3 = 45'
        ),
        text='**Approach:** Simple multiplication of 15 by 3.\n\n**Answer:** 15 \xd7 3 = **45**',
        id="msg_01HCi91jRDD664LTeKeCm5Zd", usage=Counts(input=66, output=107, total=173),
        parts=(Part("thinking", signature=SIGNATURE_INTERLEAVED), Part("text"))),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_recording_decodes_exactly(case: str, tmp_path: Path) -> None:
    path, _, position = case.partition("#")
    check(replay(tmp_path, path, int(position), MODELS[path]), CASES[case])


def test_every_recording_has_expectations() -> None:
    corpus_dir()
    assert set(CASES) == recorded_interactions("anthropic_messages")
    assert {e["path"]: f"anthropic:{e['model']}" for e in manifest_entries("anthropic_messages")} == MODELS
