"""OpenAI Responses recordings (``openai_responses/``): what a correct client returns for each.

Expected values were read off the raw named events. Usage comes from ``response.completed``:
``input_tokens`` (cached included), ``output_tokens`` (reasoning included), ``total_tokens``,
``input_tokens_details.cached_tokens``, ``output_tokens_details.reasoning_tokens``. The finish
reason follows the response ``status`` ("completed" -> "stop"; a completed response whose answer
is function calls reports "tool_calls", as reqllm does for every protocol). A function call's id is
its ``call_id`` (what a ``function_call_output`` must quote); its item id ``fc_...`` is kept in
``metadata["item_id"]``. Both event formats are covered: 2025-03 (no ``sequence_number``) and the
newer one (``sequence_number``, ``obfuscation``).
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
    "openai_responses/function_call_then_answer_stream_old_format.yaml": "openai:gpt-4o",
    "openai_responses/reasoning_summary_stream.yaml": "openai:o3-mini",
    "openai_responses/parallel_function_calls_stream.yaml": "openai:gpt-4o-mini",
}

# The four reasoning_summary_text.delta runs (summary_index 0..3), each joined.
SUMMARY_0 = (
    '**Providing street crossing instructions**\n\n'
    'The user is asking how to cross the street, which seems to be a request for safety '
    'instructions. I think it\u2019s important to interpret this as a request for guidance on safe '
    "behaviors like checking for traffic and using crosswalks. So, I'll explain how to cross "
    'safely. Since this is general advice on pedestrian safety, it definitely fits within '
    'providing helpful, non-harmful guidance for safely crossing the street.'
)
SUMMARY_1 = (
    '**Explaining street crossing safety**\n\n'
    'I see that the user is asking how to cross the street, which seems to call for standard '
    'safety instructions. I should emphasize that they need to wait for a traffic light and only '
    "cross at designated crosswalks. I don't think their question poses any risk of harm, but I "
    'must ensure I provide clear guidance. I\u2019ll outline steps like looking both ways and '
    'checking for traffic and remind them that I\u2019m not a safety professional\u2014just '
    'sharing general tips for safe street crossing.'
)
SUMMARY_2 = (
    '**Sharing street crossing safety tips**\n\n'
    "When crossing the street, I'll provide clear and straightforward guidelines. It's essential "
    'to identify a safe crossing location, ideally at a crosswalk. I should remind the user to '
    'stop at the curb, look both ways, listen for traffic, and be vigilant for any vehicles. '
    "Following traffic signals is crucial. I have to include disclaimers, like mentioning I'm not "
    'a road safety expert. Lastly, I\u2019ll list key steps, ensuring it\u2019s plain language and '
    'easily understandable for anyone needing assistance.'
)
SUMMARY_3 = (
    '**Providing safe crossing advice**\n\n'
    'I\u2019m going to share some straightforward advice for crossing the street safely. I think '
    'it\u2019s important to note that rules can vary by location. I\u2019ll present this '
    "information in a bullet list for clarity. I\u2019ll remind the user that I'm not a road "
    'safety expert, but here are some general guidelines to follow. Main tips will include things '
    'like always looking left-right-left before crossing and using crosswalks whenever possible. '
    'It will be clear and easy to understand!'
)
ANSWER = (
    "I'm not a road safety professional, but here are some generally accepted guidelines that "
    'might help you cross the street safely:\n\n'
    '1. Before approaching the curb, look around and prepare to stop\u2014don\u2019t assume '
    'vehicles will see you.\n'
    '2. If there\u2019s a crosswalk or pedestrian crossing signal, use it. Wait for the '
    '\u201cwalk\u201d signal or the gap in traffic before starting to cross.\n'
    '3. At the curb, stop and look left, right, then left again. This helps ensure you see '
    'vehicles coming from both directions.\n'
    '4. Even if the signal is in your favor, remain alert. Some drivers may not stop in time, so '
    'keep an eye on the traffic.\n'
    '5. If there isn\u2019t a designated crossing area, choose the safest location '
    'available\u2014ideally where drivers can see you from a distance.\n'
    '6. Avoid distractions (like using your phone) while you\u2019re checking for traffic and '
    'crossing.\n'
    '7. Cross at a steady pace. Once you\u2019re in the middle of the road, continue looking both '
    'ways and be ready to adjust if necessary.\n'
    '8. Once you\u2019ve safely reached the other side, take a moment to ensure you\u2019re '
    'completely past the area of moving vehicles.\n\n'
    'Keep in mind that local traffic laws and conditions might vary, so it\u2019s a good idea to '
    'familiarize yourself with the rules specific to your area. Stay safe!'
)

CASES = {
    # 2025-03 format: output_item.added carries call_id and name, five argument deltas follow,
    # then .done events repeating them (not counted twice).
    "openai_responses/function_call_then_answer_stream_old_format.yaml#0": Expected(
        calls=(Call("call_kL0PCQV7M2WMoVX8V8OtYSAL", "get_capital", {"country": "France"},
                    {"item_id": "fc_67e554a1de488191af0831d35cbe082e0794405d35281ae2"}),),
        finish_reason="tool_calls", id="resp_67e554a155508191900ee113293c4c830794405d35281ae2",
        usage=Counts(input=255, output=16, total=271)),
    # A message item: seven output_text.delta events; the text part keeps the message item id.
    "openai_responses/function_call_then_answer_stream_old_format.yaml#1": Expected(
        text="The capital of France is Paris.", id="resp_67e554a21aa88191b65876ac5e5bbe0406c52f0e511c76ed",
        usage=Counts(input=278, output=9, total=287),
        parts=(Part("text", metadata={"id": "msg_67e554a28bec8191b56d3e2331eff88006c52f0e511c76ed"}),)),
    # A reasoning item (output_index 0) with four summary parts, then a message (output_index 1).
    # Summaries are separate paragraphs: reqllm joins them with a blank line. The reasoning part
    # keeps the item id and the encrypted_content of response.output_item.done (the item as
    # finished; output_item.added carried an earlier blob), needed to send it back next turn.
    "openai_responses/reasoning_summary_stream.yaml#0": Expected(
        text=ANSWER, thinking="\n\n".join((SUMMARY_0, SUMMARY_1, SUMMARY_2, SUMMARY_3)),
        id="resp_68c42d0fb418819dbfa579f69406b49508fbf9b1584184ff",
        usage=Counts(input=13, output=1680, total=1693, reasoning=1408, cached=0),
        parts=(Part("thinking", metadata={
                   "id": "rs_68c42d1d0878819d8266007cd3d1402c08fbf9b1584184ff",
                   "encrypted_content":
                       "sha256:d041f5501f5b1d201861090a6ef6640ed3e8e7b4cb58a511b338b230a1f7352e"}),
               Part("text", metadata={"id": "msg_68c42d26866c819da8d5c606621c911608fbf9b1584184ff"}))),
    # New format: two function_call items (output_index 0 and 1), each with one argument delta.
    "openai_responses/parallel_function_calls_stream.yaml#0": Expected(
        calls=(Call("call_ZckkKeJQwcJPC27VXT61xFLf", "add", {"a": 2, "b": 3},
                    {"item_id": "fc_00483e9118f52e4c016a3c12160b80819db632c047c5399c42"}),
               Call("call_M9h2AZgoLEv6q5gkex1QMtm2", "multiply", {"a": 2, "b": 3},
                    {"item_id": "fc_00483e9118f52e4c016a3c12160ba0819d83931caa31f0a841"})),
        finish_reason="tool_calls", id="resp_00483e9118f52e4c016a3c1214d5d8819da2ca22014dbd1961",
        usage=Counts(input=104, output=51, total=155)),
    "openai_responses/parallel_function_calls_stream.yaml#1": Expected(
        text="The sum of 2 and 3 is **5**, and the product of 2 and 3 is **6**.",
        id="resp_0ff54135c0daf028016a3c12165ba8819c8c4a4e07fe1d964b",
        usage=Counts(input=150, output=28, total=178),
        parts=(Part("text", metadata={"id": "msg_0ff54135c0daf028016a3c1216e744819ca39541260ced3e0d"}),)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_recording_decodes_exactly(case: str, tmp_path: Path) -> None:
    path, _, position = case.partition("#")
    check(replay(tmp_path, path, int(position), MODELS[path], protocol="openai_responses"), CASES[case])



def test_every_recording_has_expectations() -> None:
    corpus_dir()
    assert set(CASES) == recorded_interactions("openai_responses")
    assert {e["path"]: f"openai:{e['model']}" for e in manifest_entries("openai_responses")} == MODELS
