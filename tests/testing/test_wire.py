"""``encode`` is the inverse of reqllm's decoders: any reply, encoded for any protocol, stream or not,
cut into any network reads, decodes back to itself."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reqllm
from reqllm_testing import Reply, ScriptError, encode, http_error, overloaded, rate_limited
from reqllm_testing.wire import FINISH_REASONS, PROTOCOLS, USAGE_FIELDS, fill

SPECS = {"openai_chat": ("openai:gpt-4o-mini", {}),
         "openai_responses": ("openai:gpt-4o-mini", {"protocol": "openai_responses"}),
         "anthropic": ("anthropic:claude-3-5-haiku-20241022", {}),
         "gemini": ("google:gemini-2.5-flash", {})}
KEY = "k" * 12


def decode(response: httpx.Response, protocol: str, *, stream: bool) -> reqllm.Response:
    """What reqllm makes of ``response`` when the provider of ``protocol`` sends it."""
    spec, options = SPECS[protocol]
    client = httpx.Client(transport=httpx.MockTransport(lambda request: response))
    if stream:
        return reqllm.stream_text(spec, "hi", http_client=client, api_key=KEY, max_retries=0,
                                  **options).to_response()
    return reqllm.generate_text(spec, "hi", http_client=client, api_key=KEY, max_retries=0, **options)


def expected(reply: Reply, protocol: str) -> dict[str, Any]:
    """The reply as reqllm reads it back: ids as filled in, usage as far as the protocol carries it."""
    filled = fill(reply, protocol)
    finish = filled.finish_reason
    if finish == "stop" and filled.tool_calls:
        finish = "tool_calls"  # the core's rule: calls with a plain stop are the answer
    carried = USAGE_FIELDS[protocol]
    usage = {k: v if k in carried else 0 for k, v in filled.usage.model_dump(exclude={"cost"}).items()}
    if "total_tokens" not in carried:
        usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
    return {"text": filled.text, "thinking": filled.thinking, "finish_reason": finish, "usage": usage,
            "id": filled.id, "tool_calls": [(c.id, c.name, c.arguments) for c in filled.tool_calls]}


def got(response: reqllm.Response) -> dict[str, Any]:
    return {"text": response.text, "thinking": response.thinking, "finish_reason": response.finish_reason,
            "usage": response.usage.model_dump(exclude={"cost"}), "id": response.id,
            "tool_calls": [(c.id, c.name, c.arguments) for c in response.tool_calls]}


# -- strategies ----------------------------------------------------------------------------------
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3), max_leaves=8)
arguments = st.dictionaries(texts, json_values, max_size=4)
names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,20}", fullmatch=True)
calls = st.lists(st.tuples(names, arguments, st.sampled_from(["", "call_given_1"])), max_size=3)


@st.composite
def usages(draw: Any) -> dict[str, int] | None:
    if draw(st.booleans()):
        return None
    cached, written, reasoning, answer = (draw(st.integers(0, 5000)) for _ in range(4))
    fresh = draw(st.integers(0, 5000))
    inputs, outputs = fresh + cached + written, reasoning + answer
    return {"input_tokens": inputs, "output_tokens": outputs, "total_tokens": inputs + outputs,
            "cached_tokens": cached, "cache_write_tokens": written, "reasoning_tokens": reasoning}


@st.composite
def replies(draw: Any, protocol: str) -> Reply:
    tool_calls = draw(calls)
    reasons = [r for r in FINISH_REASONS[protocol] if r != "tool_calls" or tool_calls]
    ids = {i for i, _ in enumerate(tool_calls)}
    return Reply(draw(texts), thinking=draw(texts),
                 tool_calls=[reqllm.ToolCall(id=f"{given}{i}" if given else "", name=name, arguments=args)
                             for (name, args, given), i in zip(tool_calls, sorted(ids), strict=True)],
                 finish_reason=draw(st.none() | st.sampled_from(reasons)), usage=draw(usages()),
                 id=draw(st.none() | st.just("resp-given")))


chunkings = st.sampled_from(["natural", "whole"]) | st.integers(1, 64)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_reply_decodes_back_to_itself(protocol: str, stream: bool, data: st.DataObject) -> None:
    reply = data.draw(replies(protocol))
    chunking = data.draw(chunkings)
    response = encode(reply, protocol, stream=stream, chunking=chunking)
    assert got(decode(response, protocol, stream=stream)) == expected(reply, protocol)


@pytest.mark.slow
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_reply_decodes_back_to_itself_deeply(protocol: str, stream: bool, data: st.DataObject) -> None:
    reply = data.draw(replies(protocol))
    chunking = data.draw(chunkings)
    response = encode(reply, protocol, stream=stream, chunking=chunking)
    assert got(decode(response, protocol, stream=stream)) == expected(reply, protocol)


# -- shapes ------------------------------------------------------------------------------------------
def test_a_plain_reply_gets_ids_in_each_providers_format_and_counted_usage() -> None:
    ids = {p: fill(Reply("hi", tool_calls=[("f", {})]), p) for p in PROTOCOLS}
    assert ids["openai_chat"].id.startswith("chatcmpl-") and ids["openai_chat"].tool_calls[0].id.startswith("call_")
    assert ids["openai_responses"].id.startswith("resp_")
    assert ids["anthropic"].id.startswith("msg_01") and ids["anthropic"].tool_calls[0].id.startswith("toolu_01")
    assert ids["gemini"].tool_calls[0].id == f"call_{ids['gemini'].id}_0"  # Gemini sends none: reqllm's own
    assert all(f.finish_reason == "tool_calls" and f.usage.output_tokens > 0 for f in ids.values())


def test_streams_carry_the_providers_headers_and_framing() -> None:
    chat = encode(Reply("hi"), "openai_chat", stream=True)
    assert chat.headers["content-type"].startswith("text/event-stream") and "x-request-id" in chat.headers
    assert chat.read().endswith(b"data: [DONE]\n\n")
    gemini = encode(Reply("hi"), "gemini", stream=True)
    assert gemini.read().endswith(b"\r\n\r\n") and b"[DONE]" not in gemini.content
    anthropic = encode(Reply("hi"), "anthropic", stream=True)
    assert anthropic.read().startswith(b"event: message_start\n") and "request-id" in anthropic.headers


def test_integer_chunking_splits_utf8_characters() -> None:
    response = encode(Reply("é" * 10), "openai_chat", stream=True, chunking=1)
    chunks = list(response.iter_raw())
    assert all(len(c) == 1 for c in chunks)
    assert b"\xc3" in chunks  # the first byte of an "é", alone in its read


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_finish_reason_the_protocol_cannot_say_is_a_named_error(protocol: str) -> None:
    missing = [r for r in ("stop", "length", "content_filter", "error", "other") if r not in FINISH_REASONS[protocol]]
    for reason in missing:
        with pytest.raises(ScriptError, match=f"{protocol} protocol has no finish reason for '{reason}'"):
            encode(Reply("x", finish_reason=reason), protocol)  # type: ignore[arg-type]


@pytest.mark.parametrize(("fault", "statuses"), [
    (rate_limited(retry_after=2), {"openai_chat": 429, "anthropic": 429, "gemini": 429}),
    (overloaded(), {"openai_chat": 503, "anthropic": 529, "gemini": 503}),
    (http_error(404, "no such model"), {"openai_chat": 404, "anthropic": 404, "gemini": 404}),
])
def test_faults_are_the_providers_error_answers(fault: Any, statuses: dict[str, int]) -> None:
    for protocol, status in statuses.items():
        response = encode(fault, protocol)
        assert response.status_code == status
        body = response.json()
        assert body["error"]["message"]
        if fault.retry_after:
            assert response.headers["retry-after"] == "2" or protocol == "gemini"
    assert encode(overloaded(), "anthropic").json()["error"]["type"] == "overloaded_error"
    assert json.loads(encode(rate_limited(3), "gemini").content)["error"]["details"][0]["retryDelay"] == "3s"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_reqllm_raises_its_typed_error_for_each_fault(protocol: str) -> None:
    with pytest.raises(reqllm.errors.RateLimitError) as caught:
        decode(encode(rate_limited(retry_after=7), protocol), protocol, stream=False)
    assert caught.value.retry_after == 7
    with pytest.raises(reqllm.errors.APIError) as error:
        decode(encode(http_error(400, "bad field"), protocol), protocol, stream=False)
    assert "bad field" in str(error.value)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_in_stream_errors_and_cut_streams_reach_reqllm_as_typed_errors(protocol: str) -> None:
    response = encode(Reply("one two three four", error_after=3, error=rate_limited()), protocol, stream=True)
    with pytest.raises(reqllm.errors.RateLimitError):
        decode(response, protocol, stream=True)
    with pytest.raises(reqllm.errors.ReqLLMError):
        decode(encode(Reply("one two three four", cut_after=2), protocol, stream=True), protocol, stream=True)


def test_a_reply_breaks_one_way_at_most_and_faults_validate() -> None:
    with pytest.raises(ValueError, match="one way at most"):
        Reply("x", cut_after=1, stall_after=2)
    with pytest.raises(ValueError, match="go together"):
        Reply("x", error_after=1)
    with pytest.raises(ValueError, match="needs tool_calls"):
        Reply("x", finish_reason="tool_calls")
    with pytest.raises(ValueError, match="400-599"):
        http_error(200)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_templates_serve_exactly_what_encoding_gives(protocol: str, stream: bool, data: st.DataObject) -> None:
    from reqllm_testing.wire import Templates, encode_filled

    reply, templates = data.draw(replies(protocol)), Templates()
    for seq in (0, 1, 0, 7):  # a miss, then hits at other positions
        made = templates.encode(reply, protocol, stream=stream, chunking="natural", include_usage=True, model="m",
                                prompt_tokens=9, seq=seq)
        direct = encode_filled(fill(reply, protocol, model="m", prompt_tokens=9, seq=seq), reply, stream=stream)
        assert made.chunks == direct.chunks and made.headers == direct.headers


def test_the_same_reply_twice_in_a_script_gets_fresh_ids() -> None:
    from reqllm_testing import Script

    reply = Reply(tool_calls=[("f", {})])
    client = httpx.Client(transport=Script([reply, reply]))
    first, second = (decode_with(client) for _ in range(2))
    assert first.tool_calls[0].id != second.tool_calls[0].id and first.id != second.id


def decode_with(client: httpx.Client) -> reqllm.Response:
    return reqllm.generate_text("openai:gpt-4o-mini", "hi", http_client=client, api_key=KEY)


@settings(max_examples=50, deadline=None)
@given(pieces=st.lists(texts, max_size=8), start=st.integers(0, 10**6))
def test_spliced_events_are_the_events_encoded_one_by_one(pieces: list[str], start: int) -> None:
    from reqllm_testing.wire import _dumps, _spliced

    def make(piece: str, n: int) -> str:
        return f"event: x\ndata: {_dumps({'type': 'x', 'sequence_number': n, 'delta': piece, 'n': [n]})}\n\n"

    assert _spliced(make, pieces, start) == [make(p, start + i) for i, p in enumerate(pieces)]
