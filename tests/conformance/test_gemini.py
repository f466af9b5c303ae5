"""Google Gemini recordings (``gemini/``, CRLF-framed SSE): what a correct client returns for each.

Expected values were read off the raw ``data:`` GenerateContentResponse chunks. Usage: every
chunk repeats ``usageMetadata`` and the numbers are neither cumulative deltas nor monotonic (a
``promptTokenCount`` of 15 then 13, or 55 then 257): the last chunk's metadata is the response's.
Gemini's ``candidatesTokenCount`` excludes thinking and ``thoughtsTokenCount`` counts it
(``totalTokenCount`` = prompt + candidates + thoughts); reqllm's output includes reasoning, so
output = candidates + thoughts and reasoning = thoughts. A stream has no ``[DONE]``: it ends with
the chunk carrying ``finishReason``. ``functionCall`` parts have no id: reqllm makes the stable id
``call_{responseId}_{n}`` (n counts the calls of the response). A function call answer reports
``STOP``; with calls present reqllm reports "tool_calls". A ``thoughtSignature`` stays on the part
it came with (``ToolCall.metadata`` / ``TextPart.metadata["thought_signature"]``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import reqllm

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
    "gemini/text_stream.yaml": "google:gemini-2.0-flash-exp",
    "gemini/function_call_thought_signature_stream.yaml": "google:gemini-3-pro-preview",
    "gemini/parallel_function_calls_stream.yaml": "google:gemini-2.5-flash",
    "gemini/thought_parts_stream.yaml": "google:gemini-2.5-pro",
    "gemini/thinking_tokens_text_stream.yaml": "google:gemini-2.5-flash",
}

# sha256 of the thoughtSignature of: the gemini-3 functionCall part (1408 characters), the first
# parallel functionCall part (304), the first text part after the thoughts (6152).
SIGNATURE_GEMINI3_CALL = "sha256:5d9ba8d754fc1f7dfcc0c08f3e3f89c6f9f3e7c6dba55d7c387cc5d367ea67ce"
SIGNATURE_PARALLEL_CALL = "sha256:ade840a7b8da1501c75d53276725e6e3cb1b1163a95c03440d2cfa1efbe8c307"
SIGNATURE_TEXT = "sha256:e99c40ab9d8666d57555075f273dd5a101220c44e4a76d338564d2799d934766"

# The four thought:true parts joined, then the 19 text parts joined.
THOUGHTS = (
    '**Clarifying User Goals**\n\n'
    "I'm currently focused on defining the user's ultimate goal: ensuring their safety while "
    "crossing the street. I've pinpointed that this is a real-world scenario with significant "
    "safety considerations. However, I'm also mindful of my limitations as an AI and my inability "
    'to physically assist or visually assess the situation.\n\n\n'
    '**Developing a Safety Protocol**\n\n'
    "I'm now formulating a comprehensive safety procedure. I've pinpointed the essential first "
    'step: finding a safe crossing location, such as marked crosswalks or intersections. Stopping '
    'at the curb, and looking and listening for traffic are vital too. The rationale behind "look '
    'left, right, then left again" now needs further exploration. I\'m focusing on crafting '
    'universally applicable and secure steps.\n\n\n'
    '**Prioritizing Safe Crossing**\n\n'
    "I've revised the procedure's initial step, emphasizing safe crossing zones (crosswalks, "
    'intersections). Next, I\'m integrating the "look left, right, then left" sequence, '
    "considering why it's repeated. I'm focusing on crafting universal, safety-focused "
    'instructions that suit diverse situations and address my inherent limitations.\n\n\n'
    '**Crafting Safe Instructions**\n\n'
    "I've identified the core user intent: to learn safe street-crossing. Now, I'm focusing on "
    'crafting universally applicable steps. Finding safe crossing locations and looking-listening '
    "for traffic remain paramount. I'm prioritizing direct, clear language, addressing my "
    "limitations as an AI. I'm crafting advice that works generally, regardless of specific "
    'circumstances or locations.\n\n\n'
)
GUIDE = (
    'This is a great question! Safely crossing the street is all about being aware and '
    'predictable. Here is a step-by-step guide that is widely taught for safety:\n\n'
    '### 1. Find a Safe Place to Cross\n'
    'The best place is always at a designated **crosswalk** or a **street corner/intersection**. '
    'These are places where drivers expect to see pedestrians. Avoid crossing in the middle of the '
    'block or from between parked cars.\n\n'
    '### 2. Stop at the Edge of the Curb\n'
    'Stand on the sidewalk, a safe distance from the edge of the street. This gives you a clear '
    'view of the traffic without putting you in danger.\n\n'
    '### 3. Look and Listen for Traffic\n'
    'Follow the "Left-Right-Left" rule:\n'
    '*   **Look left** for the traffic that will be closest to you first.\n'
    '*   **Look right** for oncoming traffic in the other lane.\n'
    '*   **Look left again** to make sure nothing has changed.\n'
    '*   **Listen** for the sound of approaching vehicles that you might not be able to see.\n\n'
    '### 4. Wait for a Safe Gap\n'
    "Wait until there is a large enough gap in traffic for you to walk all the way across. Don't "
    'assume a driver will stop for you. If you can, try to **make eye contact** with drivers to '
    'ensure they have seen you.\n\n'
    "### 5. Walk, Don't Run\n"
    "Once it's safe:\n"
    '*   Walk straight across the street.\n'
    '*   **Keep looking and listening** for traffic as you cross. The situation can change '
    'quickly.\n'
    "*   **Don't use your phone** or wear headphones that block out the sound of traffic.\n\n"
    '---\n\n'
    '### Special Situations:\n\n'
    '*   **At a Traffic Light:** Wait for the pedestrian signal to show the "Walk" sign (often a '
    'symbol of a person walking). Even when the sign says to walk, you should still look left and '
    'right before crossing.\n'
    '*   **At a Stop Sign:** Wait for the car to come to a complete stop. Make eye contact with '
    'the driver before you step into the street to be sure they see you.\n\n'
    'The most important rule is to **stay alert and be predictable**. Always assume a driver might '
    'not see you.'
)

CASES = {
    # Three chunks; the first two report promptTokenCount 15 and no candidates count, the last
    # (with finishReason STOP) prompt 13, candidates 8, total 21.
    "gemini/text_stream.yaml#0": Expected(
        text="The capital of France is Paris.\n", id="w1peaMz6INOvnvgPgYfPiQY",
        usage=Counts(input=13, output=8, total=21), parts=(Part("text"),)),
    # A functionCall with empty args and a thoughtSignature, then a chunk with an empty text part
    # and finishReason STOP. Usage: prompt 29, candidates 10, thoughts 202, total 241.
    "gemini/function_call_thought_signature_stream.yaml#0": Expected(
        calls=(Call("call_QUVVadTSNJ6_qtsPvN7J8Q0_0", "get_country", {},
                    {"thought_signature": SIGNATURE_GEMINI3_CALL}),),
        finish_reason="tool_calls", id="QUVVadTSNJ6_qtsPvN7J8Q0",
        usage=Counts(input=29, output=212, total=241, reasoning=202)),
    # Text in two chunks, an empty text part with STOP; the last usageMetadata says prompt 257.
    "gemini/function_call_thought_signature_stream.yaml#1": Expected(
        text="The capital of Mexico is Mexico City.", id="REVVabaiCdq4qtsPnZu96Qo",
        usage=Counts(input=257, output=8, total=265), parts=(Part("text"),)),
    # One chunk, two functionCall parts (only the first signed) and STOP.
    # Usage: prompt 121, candidates 36, thoughts 38, total 195.
    "gemini/parallel_function_calls_stream.yaml#0": Expected(
        calls=(Call("call_XQCzaYWvIqfRz7IPupTlyAk_0", "add", {"a": 2, "b": 3},
                    {"thought_signature": SIGNATURE_PARALLEL_CALL}),
               Call("call_XQCzaYWvIqfRz7IPupTlyAk_1", "multiply", {"a": 2, "b": 3})),
        finish_reason="tool_calls", id="XQCzaYWvIqfRz7IPupTlyAk",
        usage=Counts(input=121, output=74, total=195, reasoning=38)),
    "gemini/parallel_function_calls_stream.yaml#1": Expected(
        text="The sum of 2 and 3 is 5. The product of 2 and 3 is 6.", id="XgCzaazDItHRz7IPmsmB4Qk",
        usage=Counts(input=218, output=22, total=240), parts=(Part("text"),)),
    # Four thought parts (one thinking part, unsigned), then text whose first part carries the
    # signature. Last usage: prompt 34, candidates 469, thoughts 787, total 1290.
    "gemini/thought_parts_stream.yaml#0": Expected(
        thinking=THOUGHTS, text=GUIDE, id="beHBaJfEMIi-qtsP3769-Q8",
        usage=Counts(input=34, output=1256, total=1290, reasoning=787),
        parts=(Part("thinking"), Part("text", metadata={"thought_signature": SIGNATURE_TEXT}))),
    # Two network chunks, one event each (URL recorded without ?alt=sse). candidatesTokenCount is
    # 49 then 73 (a running count, not a delta): last wins. Prompt 32, thoughts 23, total 128.
    "gemini/thinking_tokens_text_stream.yaml#0": Expected(
        text="To calculate 15 * 3, you can think of it as:\n1.  10 * 3 = 30\n2.  5 * 3 = 15\n"
             "3.  Add the results: 30 + 15 = 45\n\nSo, 15 * 3 = 45.",
        id="m4ztaP_KCqHRjMcP5uWm-AI", usage=Counts(input=32, output=96, total=128, reasoning=23),
        parts=(Part("text"),)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_recording_decodes_exactly(case: str, tmp_path: Path) -> None:
    path, _, position = case.partition("#")
    # gemini-2.0-flash-exp was an experimental model, no longer in the catalogue.
    model = reqllm.model(MODELS[path], allow_unknown=True)
    check(replay(tmp_path, path, int(position), model), CASES[case])


def test_every_recording_has_expectations() -> None:
    corpus_dir()
    assert set(CASES) == recorded_interactions("gemini")
    assert {e["path"]: f"google:{e['model']}" for e in manifest_entries("gemini")} == MODELS
