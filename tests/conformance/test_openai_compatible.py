"""OpenAI-compatible servers (``openai_compatible/`` llama.cpp, ``groq/``): what a correct client returns.

Expected values were read off the raw ``data:`` chunks; the wire format is OpenAI Chat's with each
server's additions. llama.cpp (a gpt-oss model) streams its reasoning as ``delta.reasoning_content``
and reports usage without ``prompt_tokens_details``: the cached prompt tokens are in the sibling
``timings.cache_n`` (llama.cpp's ``prompt_tokens`` = ``timings.prompt_n + timings.cache_n``; newer
servers send the same number as ``prompt_tokens_details.cached_tokens``). Groq streams reasoning as
``delta.reasoning``, repeats the usage in ``x_groq.usage`` (the provider's ``usage_in`` quirk), and
may end an HTTP 200 stream with ``event: error`` whose data is an OpenAI-style error object.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

import reqllm
from reqllm.errors import InvalidRequestError

from .conftest import (
    Call,
    Counts,
    Expected,
    Failure,
    Part,
    check,
    corpus_dir,
    manifest_entries,
    recorded_interactions,
    replay,
)

LLAMACPP = "openai_compatible/llamacpp_tool_stream.yaml"
#: Where the recording's server listened (the llamacpp provider's default is 127.0.0.1:8080).
LLAMACPP_URL = "http://localhost:8080/v1"
MODELS = {
    LLAMACPP: "llamacpp:openai/gpt-oss-20b",
    "groq/in_stream_error.yaml": "groq:openai/gpt-oss-120b",
    "groq/text_stream.yaml": "groq:llama-3.3-70b-versatile",
}

CASES = {
    # reasoning_content deltas, then one tool call (id and name on its first fragment); the usage
    # chunk: prompt 139, completion 41, total 180, timings.cache_n 138 (prompt_n 1).
    f"{LLAMACPP}#0": Expected(
        thinking="User wants weather in Florence, Italy. We can use the weather function.",
        calls=(Call("g2KOIWzn722hzEaZQmNVP4roUPEiYafL", "weather", {"location": "Florence, Italy"}),),
        finish_reason="tool_calls", id="chatcmpl-lz25qRqbjeLO8nbwF4DJYJQc7KjZrG2z",
        usage=Counts(input=139, output=41, total=180, cached=138), parts=(Part("thinking"),)),
    # Text only, with a narrow no-break space (U+202F) before the degree sign; cache_n 160 of 196.
    f"{LLAMACPP}#1": Expected(
        text="The current weather in Florence, Italy is **40\u202f\xb0C**.",
        id="chatcmpl-PRVO688pTstdVIzbBa8S5l5QzcgoxAWl",
        usage=Counts(input=196, output=18, total=214, cached=160), parts=(Part("text"),)),
    # Reasoning deltas, then `event: error` (HTTP status was 200): an in-stream error, raised as
    # the error its type/code say (invalid_request_error / tool_use_failed), after the thinking
    # chunks that came first. Its "status_code": 400 is Groq's label, not an HTTP status.
    "groq/in_stream_error.yaml#0": Expected(
        thinking=(
            'We need to call the tool with invalid parameters first, then second call with valid '
            'args. The user wants us to test error handling. So first call should have wrong '
            'parameters (e.g., missing required "name" or extra param). The tool expects only '
            '"name". If we send extra property, that might cause error. Or missing "name". We\'ll '
            'do a call with missing name: {}. Then second call with name: "test". Let\'s do that.'
        ),
        error=Failure(InvalidRequestError, "tool_use_failed",
                      "Tool call validation failed: tool call validation failed: parameters for tool "
                      "get_something_by_name did not match schema: errors: [missing properties: 'name', "
                      "additionalProperties 'invalid_param' not allowed]")),
    # One whole tool call in a single fragment; usage (in x_groq.usage and usage alike) rides on
    # the finish chunk: prompt 304, completion 49 of which reasoning 23.
    "groq/in_stream_error.yaml#1": Expected(
        thinking='We need to call the function with correct parameter "name". Provide a name, e.g., '
                 '"example".',
        calls=(Call("fc_bfb39741-3748-4def-9886-a93fc9c64a90", "get_something_by_name",
                    {"name": "example"}),),
        finish_reason="tool_calls", id="chatcmpl-e35442a8-12c0-4fb4-8be4-0e51727ce7b7",
        usage=Counts(input=304, output=49, total=353, reasoning=23), parts=(Part("thinking"),)),
    "groq/in_stream_error.yaml#2": Expected(
        thinking=(
            'The user wants to test error handling by calling tool with non-existent parameters '
            'first (we did) and then second try with valid args. We have succeeded. Now respond '
            'concisely.'
        ),
        text="The tool returned the expected result for the valid call.",
        id="chatcmpl-935610b8-ec6a-4b1d-8a58-84b34ab0590e",
        usage=Counts(input=339, output=58, total=397, reasoning=38), parts=(Part("thinking"), Part("text"))),
    # Usage twice (finish chunk with x_groq.usage, then a choices-less chunk): the same counts.
    "groq/text_stream.yaml#0": Expected(
        text="As the stars aligned in a sparkling greeting, hello twinkled into existence, just for you.",
        id="chatcmpl-5d222ecb-bf15-48a6-b245-809dbdc4c99c", usage=Counts(input=52, output=20, total=72),
        parts=(Part("text"),)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_recording_decodes_exactly(case: str, tmp_path: Path) -> None:
    path, _, position = case.partition("#")
    opts = {"base_url": LLAMACPP_URL} if path == LLAMACPP else {}
    check(replay(tmp_path, path, int(position), MODELS[path], **opts), CASES[case])


def test_every_recording_has_expectations() -> None:
    corpus_dir()
    assert set(CASES) == recorded_interactions("openai_compatible")
    prefix = {"llama.cpp server": "llamacpp", "groq": "groq"}
    entries = manifest_entries("openai_compatible")
    assert {e["path"]: f"{prefix[e['provider']]}:{e['model']}" for e in entries} == MODELS


def test_llamacpp_body_counts_cached_tokens_from_timings() -> None:
    # A non-stream answer of the same server carries the same sibling "timings" object.
    body = {"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-oss-20b",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "Hi."}}],
            "usage": {"completion_tokens": 18, "prompt_tokens": 196, "total_tokens": 214},
            "timings": {"cache_n": 160, "prompt_n": 36, "predicted_n": 18}}
    client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200, json=body)))
    response = reqllm.generate_text(MODELS[LLAMACPP], "Hello", base_url=LLAMACPP_URL, http_client=client)
    assert (response.usage.input_tokens, response.usage.cached_tokens, response.usage.total_tokens) == \
        (196, 160, 214)
