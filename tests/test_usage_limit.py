"""Usage limits: ``usage_limit=reqllm.UsageLimit(...)`` stops a call before a request that would
start past it, and after a response that went past it — on every protocol, in the middle of a loop."""

from __future__ import annotations

import json

import pytest

import reqllm
from reqllm import UsageLimit, UsageLimitExceeded
from reqllm._loop import estimate_input_tokens
from reqllm.errors import InvalidOptionError, ReqLLMError
from tests.test_fallback import ANTHROPIC, CHAT, failure, target
from tests.test_loop import FINAL, VARIANTS, Run, mode, sync_tools
from tests.test_protocol_table import PARALLEL, PLAIN, Case, Server, cost, each, model_of, reply


def test_usage_limit_exceeded_is_a_reqllm_error() -> None:
    assert issubclass(UsageLimitExceeded, ReqLLMError)


@each(*VARIANTS)
def test_a_limit_passed_by_step_two_raises_with_the_result_so_far(case: Case, variant: str) -> None:
    server = Server(reply(case, PARALLEL, mode(variant)), reply(case, FINAL, mode(variant)))
    run = Run(case, server, variant)
    # Step 1 uses 40 output tokens (under 45, so step 2 may start); step 2 adds 20.
    with pytest.raises(UsageLimitExceeded) as caught:
        run(tools=sync_tools(), max_steps=5, usage_limit=UsageLimit(output_tokens=45))
    error = caught.value
    assert error.field == "output_tokens" and "passed by step 2" in str(error)
    assert error.usage.output_tokens == 60 and error.limit == UsageLimit(output_tokens=45)
    assert len(server.requests) == 2
    assert error.response is not None and len(error.response.steps) == 2
    assert error.response.text == FINAL.text and error.response.usage == error.usage
    if mode(variant) == "stream":  # step 2's chunks were delivered before the error
        assert "".join(c.text for c in error.chunks if c.type == "content").endswith(FINAL.text)


@each("body", "stream")
def test_a_step_that_would_start_past_the_input_limit_is_not_sent(case: Case, variant: str) -> None:
    # Learn what step 2 sends, then set the limit one token under step 1's count plus that estimate.
    learn = Server(reply(case, PARALLEL, variant), reply(case, FINAL, variant))
    messages = Run(case, learn, variant)(tools=sync_tools(), max_steps=2).messages[:4]
    estimate = estimate_input_tokens(messages, sync_tools())
    limit = UsageLimit(input_tokens=PARALLEL.usage.input + estimate - 1)

    server = Server(reply(case, PARALLEL, variant), reply(case, FINAL, variant))
    with pytest.raises(UsageLimitExceeded) as caught:
        Run(case, server, variant)(tools=sync_tools(), max_steps=2, usage_limit=limit)
    assert len(server.requests) == 1, "step 2 was never sent"
    error = caught.value
    assert error.field == "input_tokens" and error.response is None
    assert f"{PARALLEL.usage.input} used + ~{estimate} estimated input tokens" in str(error)


@each("body", "stream")
def test_a_request_limit_counts_the_steps(case: Case, variant: str) -> None:
    server = Server(reply(case, PARALLEL, variant), reply(case, FINAL, variant))
    with pytest.raises(UsageLimitExceeded, match="requests=1 reached before request 2") as caught:
        Run(case, server, variant)(tools=sync_tools(), max_steps=3, usage_limit={"requests": 1})
    assert caught.value.field == "requests" and len(server.requests) == 1


@each("body")
def test_a_cost_limit_passed_by_step_two(case: Case, variant: str) -> None:
    server = Server(reply(case, PARALLEL, variant), reply(case, FINAL, variant))
    ceiling = cost(PARALLEL.usage) * 1.5
    with pytest.raises(UsageLimitExceeded) as caught:
        Run(case, server, variant)(tools=sync_tools(), max_steps=3, usage_limit=UsageLimit(cost=ceiling))
    assert caught.value.field == "cost" and len(server.requests) == 2
    assert caught.value.usage.cost == pytest.approx(cost(PARALLEL.usage) + cost(FINAL.usage))


def test_a_prompt_too_long_for_the_limit_is_refused_before_any_request() -> None:
    server = Server(reply(CHAT, PLAIN, "body"))
    prompt = "Un petit-déjeuner à Paris ? " * 40  # ~1,120 characters: ~280 tokens
    with pytest.raises(UsageLimitExceeded, match="input_tokens=100 would be passed before request 1"):
        reqllm.generate_text(model_of(CHAT), prompt, api_key="k", http_client=server.client(),
                             usage_limit=UsageLimit(input_tokens=100))
    assert server.requests == []


def test_a_total_limit_within_reach_lets_the_call_through() -> None:
    server = Server(reply(CHAT, PLAIN, "body"))
    response = reqllm.generate_text(model_of(CHAT), "Bonjour", api_key="k", http_client=server.client(),
                                    usage_limit=UsageLimit(total_tokens=20, requests=1))
    assert response.usage.total_tokens == 20  # 12 in + 8 out: at the limit, not past it


def test_a_cost_limit_needs_prices() -> None:
    with pytest.raises(InvalidOptionError, match="no price is known for openai:gpt-4o-mini"):
        reqllm.generate_text(model_of(CHAT, cost=None), "hi", api_key="k", usage_limit=UsageLimit(cost=0.01))


def test_fallback_attempts_count_as_requests() -> None:
    server = Server(failure(ANTHROPIC, "overloaded"), reply(CHAT, PLAIN, "body"))
    with pytest.raises(UsageLimitExceeded, match="requests=1 reached before request 2"):
        reqllm.generate_text([target(ANTHROPIC), target(CHAT)], "hi", api_key="k", max_retries=0,
                             http_client=server.client(), usage_limit=UsageLimit(requests=1))
    assert len(server.requests) == 1


def test_objects_and_object_streams_keep_limits() -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}}
    with pytest.raises(UsageLimitExceeded):
        reqllm.stream_object(model_of(CHAT), "x" * 400, schema, api_key="k", usage_limit=UsageLimit(input_tokens=10))


def test_the_estimate_counts_text_tool_calls_and_tools() -> None:
    messages = [reqllm.Message.user("a" * 40), reqllm.Message.assistant("", tool_calls=[
        reqllm.ToolCall(id="c1", name="get_time", arguments={"zone": "UTC"})])]
    tools = sync_tools()
    chars = 40 + len("get_time") + len('{"zone": "UTC"}')
    chars += sum(len(t.name) + len(t.description) + len(json.dumps(t.parameters)) for t in tools)
    assert estimate_input_tokens(messages, tools) == -(-chars // 4) + 8
