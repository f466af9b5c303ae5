"""OpenAI Chat Completions recordings (``openai_chat/``): what a correct client returns for each.

Expected values were read off the raw ``data:`` chunks. Usage comes from the last chunk (empty
``choices``, sent because the requests set ``stream_options.include_usage``): ``prompt_tokens``
(cached ones included), ``completion_tokens`` (reasoning included), ``total_tokens``,
``prompt_tokens_details.cached_tokens`` and ``completion_tokens_details.reasoning_tokens``.
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
    "openai_chat/tool_call_then_answer_stream.yaml": "openai:gpt-4o-mini",
    "openai_chat/parallel_tools_stream.yaml": "openai:gpt-4o",
    "openai_chat/json_schema_stream.yaml": "openai:gpt-4o-mini",
    "openai_chat/forced_tool_choice_stream.yaml": "openai:gpt-4o",
    "openai_chat/text_stream.yaml": "openai:gpt-4o-mini",
}

CASES = {
    # Turn 1: one tool call; its id and name ride on the first delta, the arguments come in five
    # fragments ('{"', 'country', '":"', 'UK', '"}'); finish_reason "tool_calls".
    "openai_chat/tool_call_then_answer_stream.yaml#0": Expected(
        calls=(Call("call_ZR5UUuTt3pf61kjwAJIYdVMj", "get_capital", {"country": "UK"}),),
        finish_reason="tool_calls", id="chatcmpl-Dx0XpqH8w09uBXwq1zFGYdETjtnEl",
        usage=Counts(input=53, output=15, total=68, reasoning=0, cached=0)),
    # Turn 2: the first delta's content is "" (no text), then eight text deltas; "stop".
    "openai_chat/tool_call_then_answer_stream.yaml#1": Expected(
        text="The capital of the UK is London.", id="chatcmpl-Dx0Xq5Xx9rHB2ehcHZCRDsnuymUXc",
        usage=Counts(input=78, output=9, total=87), parts=(Part("text"),)),
    # Two parallel calls, told apart by tool_calls[].index (0: add, 1: multiply); each call's
    # arguments arrive as '{"a"', ': 2, ', '"b": 3', '}'.
    "openai_chat/parallel_tools_stream.yaml#0": Expected(
        calls=(Call("call_ehIWdjL1abZk1h8FWGLQ0Hie", "add", {"a": 2, "b": 3}),
               Call("call_fBSgA47J5VeONggizTIvl7AH", "multiply", {"a": 2, "b": 3})),
        finish_reason="tool_calls", id="chatcmpl-DuLdMEdkw5VsZSxKY3i9G934hT7LM",
        usage=Counts(input=106, output=50, total=156)),
    "openai_chat/parallel_tools_stream.yaml#1": Expected(
        text="The sum of 2 and 3 is 5, and the product is 6.", id="chatcmpl-DuLdNvsdmTNPbya2tqjr8GbYubTqm",
        usage=Counts(input=172, output=20, total=192), parts=(Part("text"),)),
    # response_format json_schema: the object arrives as ordinary content deltas.
    "openai_chat/json_schema_stream.yaml#0": Expected(
        text='{"age":28,"name":"Alex Johnson","occupation":"Software Engineer"}',
        id="chatcmpl-CXWVUIY4GbBxGRYCFQNk1UokFghdR", usage=Counts(input=79, output=15, total=94),
        parts=(Part("text"),)),
    # A forced tool_choice: OpenAI reports finish_reason "stop" although the answer is a tool call;
    # reqllm normalizes a "stop" with tool calls present to "tool_calls" (the call is the answer).
    "openai_chat/forced_tool_choice_stream.yaml#0": Expected(
        calls=(Call("call_cJcS6nmHpkGCO4rCeXpokrDd", "structured_output",
                    {"age": 30, "name": "Alex Johnson", "occupation": "Software Engineer"}),),
        finish_reason="tool_calls", id="chatcmpl-CXWVTWwo6NgJGHVB4ucvxZt94xI5X",
        usage=Counts(input=93, output=15, total=108)),
    "openai_chat/text_stream.yaml#0": Expected(
        text="Hello, bright star in the tapestry of the universe, shining your light upon my day!",
        id="chatcmpl-CXWVXj6Jz6JbR1dEoBje3KRq5zLz0", usage=Counts(input=28, output=18, total=46),
        parts=(Part("text"),)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_recording_decodes_exactly(case: str, tmp_path: Path) -> None:
    path, _, position = case.partition("#")
    check(replay(tmp_path, path, int(position), MODELS[path]), CASES[case])


def test_every_recording_has_expectations() -> None:
    corpus_dir()
    assert set(CASES) == recorded_interactions("openai_chat")
    assert {e["path"]: f"openai:{e['model']}" for e in manifest_entries("openai_chat")} == MODELS
