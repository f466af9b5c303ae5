"""The official SDKs as oracles: given a ``Script`` as their transport, ``openai`` (chat completions and
responses), ``anthropic`` (messages, with its stream accumulation) and ``google-genai``
(generate_content) read the same answer reqllm reads — text, thinking, tool calls, usage, finish
reason — and raise their own exception, with their own retries, for every fault."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

import reqllm
from reqllm_testing import Reply, Script, disconnect, http_error, overloaded, rate_limited
from reqllm_testing.wire import FINISH_REASONS, USAGE_FIELDS, fill

KEY = "k" * 12
USER = [{"role": "user", "content": "What is 2 + [1]?"}]
TOOL = {"name": "add", "description": "Add", "parameters": {"type": "object", "properties": {}}}
REPLY = Reply("The answer is — très bien 🎉", thinking="Let me add the numbers.",
              tool_calls=[("add", {"a": 2, "b": [1, {"c": "é"}]}), ("lookup", {"q": "x y"})],
              usage={"input_tokens": 120, "output_tokens": 40, "reasoning_tokens": 12, "cached_tokens": 20})
TEXT_ONLY = Reply("Just text, stopped by length.", finish_reason="length",
                  usage={"input_tokens": 7, "output_tokens": 9})
SPECS = {"openai_chat": ("openai:gpt-4o-mini", {}),
         "openai_responses": ("openai:gpt-4o-mini", {"protocol": "openai_responses"}),
         "anthropic": ("anthropic:claude-3-5-haiku-20241022", {}),
         "gemini": ("google:gemini-2.5-flash", {})}


def usage_of(counts: dict[str, int], protocol: str) -> dict[str, int]:
    return {k: v for k, v in counts.items() if k in USAGE_FIELDS[protocol]}


def through_reqllm(reply: Reply, protocol: str, stream: bool) -> dict[str, Any]:
    """reqllm's reading of the same item, served at the same script position."""
    spec, options = SPECS[protocol]
    client = httpx.Client(transport=Script([reply]))
    call = reqllm.stream_text if stream else reqllm.generate_text
    result = call(spec, "What is 2 + [1]?", http_client=client, api_key=KEY, **options)  # type: ignore[operator]
    response = result.to_response() if stream else result
    finish = FINISH_REASONS[protocol][fill(reply, protocol).finish_reason]
    return {"text": response.text, "thinking": response.thinking, "finish": finish,
            "tool_calls": [(c.id, c.name, c.arguments) for c in response.tool_calls],
            "usage": usage_of(response.usage.model_dump(), protocol)}


# -- openai -----------------------------------------------------------------------------------------
def _openai(script: Script, **options: Any) -> openai.OpenAI:
    options.setdefault("max_retries", 0)
    return openai.OpenAI(api_key=KEY, http_client=httpx2.Client(transport=script), **options)  # type: ignore[arg-type]


def openai_chat(reply: Reply, stream: bool) -> dict[str, Any]:
    client = _openai(Script([reply]))
    tools: Any = [{"type": "function", "function": TOOL}]
    if stream and reply.finish_reason == "length":  # the SDK's stream helper raises on length: fold by hand
        return _fold_chat(list(client.chat.completions.create(
            model="gpt-4o-mini", messages=USER, tools=tools, stream=True,  # type: ignore[arg-type]
            stream_options={"include_usage": True})))
    if stream:
        with client.chat.completions.stream(model="gpt-4o-mini", messages=USER, tools=tools,  # type: ignore[arg-type]
                                            stream_options={"include_usage": True}) as events:
            completion: Any = events.get_final_completion()
    else:
        completion = client.chat.completions.create(model="gpt-4o-mini", messages=USER, tools=tools)  # type: ignore[arg-type]
    choice, usage = completion.choices[0], completion.usage
    return {"text": choice.message.content or "", "thinking": getattr(choice.message, "reasoning_content", "") or "",
            "finish": choice.finish_reason,
            "tool_calls": [(c.id, c.function.name, json.loads(c.function.arguments))
                           for c in choice.message.tool_calls or ()],
            "usage": {"input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens,
                      "total_tokens": usage.total_tokens, "cached_tokens": usage.prompt_tokens_details.cached_tokens,
                      "reasoning_tokens": usage.completion_tokens_details.reasoning_tokens}}


def _fold_chat(chunks: list[Any]) -> dict[str, Any]:
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    thinking = "".join(getattr(c.choices[0].delta, "reasoning_content", "") or "" for c in chunks if c.choices)
    finish = next(c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason)
    usage = chunks[-1].usage
    return {"text": text, "thinking": thinking, "finish": finish, "tool_calls": [],
            "usage": {"input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens,
                      "total_tokens": usage.total_tokens, "cached_tokens": usage.prompt_tokens_details.cached_tokens,
                      "reasoning_tokens": usage.completion_tokens_details.reasoning_tokens}}


def openai_responses(reply: Reply, stream: bool) -> dict[str, Any]:
    client = _openai(Script([reply]))
    tools: Any = [{"type": "function", "strict": False, **TOOL}]
    if stream and reply.finish_reason == "length":  # the stream helper wants response.completed: raw events
        events = list(client.responses.create(model="gpt-4o-mini", input="What is 2 + [1]?", tools=tools, stream=True))
        assert events[-1].type == "response.incomplete"
        response: Any = events[-1].response
    elif stream:
        with client.responses.stream(model="gpt-4o-mini", input="What is 2 + [1]?", tools=tools) as events:
            response = events.get_final_response()
    else:
        response = client.responses.create(model="gpt-4o-mini", input="What is 2 + [1]?", tools=tools)
    items = response.output
    finish = response.status if response.status == "completed" else response.incomplete_details.reason
    return {"text": response.output_text,
            "thinking": "".join(s.text for i in items if i.type == "reasoning" for s in i.summary),
            "finish": finish,
            "tool_calls": [(i.call_id, i.name, json.loads(i.arguments)) for i in items if i.type == "function_call"],
            "usage": {"input_tokens": response.usage.input_tokens, "output_tokens": response.usage.output_tokens,
                      "total_tokens": response.usage.total_tokens,
                      "cached_tokens": response.usage.input_tokens_details.cached_tokens,
                      "reasoning_tokens": response.usage.output_tokens_details.reasoning_tokens}}


# -- anthropic -------------------------------------------------------------------------------------------
def _anthropic(script: Script, **options: Any) -> anthropic.Anthropic:
    options.setdefault("max_retries", 0)
    return anthropic.Anthropic(api_key=KEY, http_client=httpx2.Client(transport=script), **options)  # type: ignore[arg-type]


def anthropic_messages(reply: Reply, stream: bool) -> dict[str, Any]:
    client = _anthropic(Script([reply]))
    tools: Any = [{"name": TOOL["name"], "description": TOOL["description"], "input_schema": TOOL["parameters"]}]
    if stream:  # the SDK's own accumulation of the events into a Message
        with client.messages.stream(model="claude-3-5-haiku-latest", max_tokens=64, messages=USER,  # type: ignore[arg-type]
                                    tools=tools) as events:
            message: Any = events.get_final_message()
    else:
        message = client.messages.create(model="claude-3-5-haiku-latest", max_tokens=64, messages=USER,  # type: ignore[arg-type]
                                         tools=tools)
    usage = message.usage
    read, written = usage.cache_read_input_tokens or 0, usage.cache_creation_input_tokens or 0
    return {"text": "".join(b.text for b in message.content if b.type == "text"),
            "thinking": "".join(b.thinking for b in message.content if b.type == "thinking"),
            "finish": message.stop_reason,
            "tool_calls": [(b.id, b.name, b.input) for b in message.content if b.type == "tool_use"],
            "usage": {"input_tokens": usage.input_tokens + read + written, "output_tokens": usage.output_tokens,
                      "cached_tokens": read, "cache_write_tokens": written}}


# -- google-genai -------------------------------------------------------------------------------------------
def _genai(script: Script, retry: genai_types.HttpRetryOptions | None = None) -> genai.Client:
    options = genai_types.HttpOptions(httpx_client=httpx2.Client(transport=script),  # type: ignore[arg-type]
                                      retry_options=retry)
    return genai.Client(api_key=KEY, http_options=options)


def gemini_generate(reply: Reply, stream: bool) -> dict[str, Any]:
    client = _genai(Script([reply]))
    config = genai_types.GenerateContentConfig(
        tools=[genai_types.Tool(function_declarations=[genai_types.FunctionDeclaration(name="add")])])
    if stream:
        chunks = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="What is 2 + [1]?",
                                                            config=config))
    else:
        chunks = [client.models.generate_content(model="gemini-2.5-flash", contents="What is 2 + [1]?",
                                                 config=config)]
    parts = [p for c in chunks for p in (c.candidates[0].content.parts or ())]  # type: ignore[index,union-attr]
    last = chunks[-1]
    calls = [p.function_call for p in parts if p.function_call is not None]
    meta = last.usage_metadata
    assert meta is not None and last.candidates
    thoughts = meta.thoughts_token_count or 0
    return {"text": "".join(p.text or "" for p in parts if not p.thought and p.text),
            "thinking": "".join(p.text or "" for p in parts if p.thought),
            "finish": last.candidates[0].finish_reason.value,  # type: ignore[union-attr]
            # Gemini sends no call ids; reqllm names them after the response id, as here.
            "tool_calls": [(c.id or f"call_{last.response_id}_{i}", c.name, c.args) for i, c in enumerate(calls)],
            "usage": {"input_tokens": meta.prompt_token_count, "output_tokens": (meta.candidates_token_count or 0)
                      + thoughts, "total_tokens": meta.total_token_count,
                      "cached_tokens": meta.cached_content_token_count or 0, "reasoning_tokens": thoughts}}


READERS: dict[str, Callable[[Reply, bool], dict[str, Any]]] = {
    "openai_chat": openai_chat, "openai_responses": openai_responses, "anthropic": anthropic_messages,
    "gemini": gemini_generate}


@pytest.mark.parametrize("protocol", list(READERS))
@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
@pytest.mark.parametrize("reply", [REPLY, TEXT_ONLY], ids=["tools+thinking", "text+length"])
def test_the_official_sdk_reads_what_reqllm_reads(protocol: str, stream: bool, reply: Reply) -> None:
    sdk = READERS[protocol](reply, stream)
    assert sdk == through_reqllm(reply, protocol, stream)
    assert sdk["text"] == reply.text and sdk["thinking"] == reply.thinking
    assert [(name, args) for _, name, args in sdk["tool_calls"]] == [(c.name, c.arguments) for c in reply.tool_calls]


# -- faults: each SDK's own exception, and its own retries -----------------------------------------------
@pytest.fixture(autouse=True)
def _fast_sdk_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDKs wait 0.5 s and more before retrying a fault without a retry hint; tests need not."""
    monkeypatch.setattr("openai._base_client.INITIAL_RETRY_DELAY", 0.001)
    monkeypatch.setattr("anthropic._base_client.INITIAL_RETRY_DELAY", 0.001)


def _openai_chat_call(client: openai.OpenAI, stream: bool = False) -> Any:
    if stream:
        return list(client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True))  # type: ignore[arg-type]
    return client.chat.completions.create(model="gpt-4o-mini", messages=USER)  # type: ignore[arg-type]


def _anthropic_call(client: anthropic.Anthropic, stream: bool = False) -> Any:
    if stream:
        with client.messages.stream(model="claude-3-5-haiku-latest", max_tokens=64, messages=USER) as events:  # type: ignore[arg-type]
            return events.get_final_message()
    return client.messages.create(model="claude-3-5-haiku-latest", max_tokens=64, messages=USER)  # type: ignore[arg-type]


@pytest.mark.parametrize(("fault", "error"), [
    (rate_limited(), openai.RateLimitError), (overloaded(), openai.InternalServerError),
    (http_error(401), openai.AuthenticationError), (http_error(404, "no such model"), openai.NotFoundError),
    (http_error(400), openai.BadRequestError), (disconnect(), openai.APIConnectionError)])
def test_openai_raises_its_own_error_for_each_fault(fault: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        _openai_chat_call(_openai(Script([fault])))
    with pytest.raises(error):
        _openai(Script([fault])).responses.create(model="gpt-4o-mini", input="hi")


@pytest.mark.parametrize(("fault", "error"), [
    (rate_limited(), anthropic.RateLimitError), (overloaded(), anthropic.OverloadedError),
    (http_error(401), anthropic.AuthenticationError), (http_error(404), anthropic.NotFoundError),
    (http_error(500), anthropic.InternalServerError), (disconnect(), anthropic.APIConnectionError)])
def test_anthropic_raises_its_own_error_for_each_fault(fault: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        _anthropic_call(_anthropic(Script([fault])))


@pytest.mark.parametrize(("fault", "error", "code"), [
    (rate_limited(retry_after=3), genai_errors.ClientError, 429), (overloaded(), genai_errors.ServerError, 503),
    (http_error(404), genai_errors.ClientError, 404), (http_error(500), genai_errors.ServerError, 500)])
def test_genai_raises_its_own_error_for_each_fault(fault: Any, error: type[genai_errors.APIError], code: int) -> None:
    with pytest.raises(error) as caught:
        _genai(Script([fault])).models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert caught.value.code == code and caught.value.status


def test_the_sdks_retry_faults_as_they_retry_the_real_ones() -> None:
    script = Script([rate_limited(retry_after=0.001), overloaded(), "third time lucky"])
    assert _openai_chat_call(_openai(script, max_retries=2)).choices[0].message.content == "third time lucky"
    script = Script([overloaded(), rate_limited(), "claude again"])
    assert _anthropic_call(_anthropic(script, max_retries=2)).content[0].text == "claude again"
    retry = genai_types.HttpRetryOptions(attempts=3, initial_delay=0.001, jitter=0)
    script = Script([rate_limited(retry_after=0), overloaded(), "gemini again"])
    assert _genai(script, retry).models.generate_content(model="gemini-2.5-flash", contents="hi").text == "gemini again"
    # Not retried by any of them: a 400; and retries stop at the SDK's limit.
    script = Script([http_error(400), "never served"])
    with pytest.raises(openai.BadRequestError):
        _openai_chat_call(_openai(script, max_retries=2))
    assert len(script.requests) == 1
    script = Script([overloaded(), overloaded(), "never served"])
    with pytest.raises(anthropic.OverloadedError):
        _anthropic_call(_anthropic(script, max_retries=1))
    assert len(script.requests) == 2


def test_in_stream_errors_and_broken_streams_reach_the_sdks() -> None:
    with pytest.raises(openai.APIError, match="Rate limit"):
        _openai_chat_call(_openai(Script([Reply("one two three", error_after=2, error=rate_limited())])), stream=True)
    with pytest.raises(openai.APIConnectionError):
        _openai_chat_call(_openai(Script([Reply("one two three", cut_after=2)])), stream=True)
    with pytest.raises(anthropic.APIStatusError, match="overloaded_error"):
        _anthropic_call(_anthropic(Script([Reply("one two three", error_after=3, error=overloaded())])), stream=True)
    with pytest.raises(anthropic.APIConnectionError):
        _anthropic_call(_anthropic(Script([Reply("one two three", cut_after=3)])), stream=True)
