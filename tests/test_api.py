"""The public calls end to end on a mock transport: input errors raise before any request, objects,
stream handling, keys and base URLs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

import reqllm
from reqllm import errors
from reqllm._transport import install_hook
from tests.openai_fakes import (
    API_KEY,
    MODEL,
    Recorder,
    completion,
    embeddings,
    registry_snapshot,
    reply,
    stream_reply,
    text_chunks,
    tool_call,
)

EMBED_MODEL = "openai:text-embedding-3-small"


@pytest.fixture(autouse=True)
def _no_openai_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


class Weather(BaseModel):
    city: str
    temp_c: float


# -- input errors raise before any HTTP request -----------------------------------------------------
Call = Callable[[str, dict[str, Any]], Any]

SYNC_CALLS: dict[str, Call] = {
    "generate_text": lambda model, opts: reqllm.generate_text(model, "Hi", **opts),
    "stream_text": lambda model, opts: reqllm.stream_text(model, "Hi", **opts).to_response(),
    "generate_object": lambda model, opts: reqllm.generate_object(model, "Hi", Weather, **opts),
    "embed": lambda model, opts: reqllm.embed(model, ["Hi"], **opts),
}


async def _async(name: str, model: str, opts: dict[str, Any]) -> Any:
    if name == "generate_text":
        return await reqllm.agenerate_text(model, "Hi", **opts)
    if name == "stream_text":
        return await reqllm.astream_text(model, "Hi", **opts).to_response()
    if name == "generate_object":
        return await reqllm.agenerate_object(model, "Hi", Weather, **opts)
    return await reqllm.aembed(model, ["Hi"], **opts)


INPUT_ERRORS: dict[str, tuple[str | None, dict[str, Any], type[errors.ReqLLMError], list[str]]] = {
    # name: (model or None for the call's default, options, error, words the message must hold)
    "unknown option": (None, {"temprature": 0.5}, errors.InvalidOptionError, ["temprature", "'temperature'"]),
    "temperature too high": (None, {"temperature": 3.0}, errors.InvalidOptionError, ["temperature=3.0"]),
    "temperature not a number": (None, {"temperature": "hot"}, errors.InvalidOptionError, ["temperature"]),
    "max_tokens zero": (None, {"max_tokens": 0}, errors.InvalidOptionError, ["max_tokens"]),
    "unknown provider": ("opnai:gpt-4o-mini", {}, errors.UnknownProviderError, ["'opnai'", "'openai'"]),
    "unknown model typo": ("openai:gpt-4o-minii", {}, errors.UnknownModelError,
                           ["'gpt-4o-minii'", "'gpt-4o-mini'", "allow_unknown"]),
    "no colon in spec": ("gpt-4o-mini", {}, errors.UnknownModelError, ["provider:model-id"]),
    "tool_choice names no tool": (None, {"tool_choice": "get_weather"}, errors.InvalidOptionError,
                                  ["get_weather"]),
    "bad reasoning effort": (None, {"reasoning": "extreme"}, errors.InvalidOptionError, ["extreme"]),
}


def _model_for(name: str) -> str:
    return EMBED_MODEL if name == "embed" else MODEL


@pytest.mark.parametrize("call", list(SYNC_CALLS))
@pytest.mark.parametrize("case", list(INPUT_ERRORS))
def test_input_errors_raise_before_any_request(case: str, call: str) -> None:
    model, opts, cls, words = INPUT_ERRORS[case]
    if call == "embed" and case == "tool_choice names no tool":
        pytest.skip("embed takes no tools")
    rec = Recorder()
    with pytest.raises(cls) as info:
        SYNC_CALLS[call](model or _model_for(call), rec.opts(**opts))
    for word in words:
        assert word in str(info.value)
    assert rec.requests == []


@pytest.mark.parametrize("call", list(SYNC_CALLS))
@pytest.mark.parametrize("case", ["unknown option", "unknown model typo", "tool_choice names no tool"])
def test_async_input_errors_raise_before_any_request(case: str, call: str) -> None:
    model, opts, cls, _ = INPUT_ERRORS[case]
    if call == "embed" and case == "tool_choice names no tool":
        pytest.skip("embed takes no tools")
    rec = Recorder()

    async def run() -> Any:
        return await _async(call, model or _model_for(call), rec.aopts(**opts))

    with pytest.raises(cls):
        asyncio.run(run())
    assert rec.requests == []


@pytest.mark.parametrize("call", list(SYNC_CALLS))
def test_missing_api_key_names_the_environment_variable(call: str) -> None:
    rec = Recorder()
    with pytest.raises(errors.MissingAPIKeyError) as info:
        SYNC_CALLS[call](_model_for(call), {"http_client": rec.client()})
    assert "OPENAI_API_KEY" in str(info.value) and "api_key=" in str(info.value)
    assert rec.requests == []


def test_stream_input_errors_raise_at_the_call_not_at_iteration() -> None:
    rec = Recorder()
    with pytest.raises(errors.InvalidOptionError):
        reqllm.stream_text(MODEL, "Hi", top_p=2, **rec.opts())
    with pytest.raises(errors.InvalidOptionError):
        reqllm.astream_text(MODEL, "Hi", top_p=2, **rec.aopts())
    assert rec.requests == []


@pytest.mark.parametrize("messages, words", [
    ([], ["no user turn"]),
    ([{"role": "system", "content": "Be brief."}], ["no user turn"]),
    (42, ["messages must be"]),
    ([{"role": "wizard", "content": "hi"}], ["messages[0]"]),
    ([{"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{not json"}}]}],
     ["messages[0]"]),
])
def test_bad_messages_raise_before_any_request(messages: Any, words: list[str]) -> None:
    rec = Recorder()
    with pytest.raises(errors.InvalidOptionError) as info:
        reqllm.generate_text(MODEL, messages, **rec.opts())
    assert all(w in str(info.value) for w in words)
    assert rec.requests == []


@pytest.mark.parametrize("inputs", [[], "", [1, 2], None, ["ok", None]])
def test_bad_embed_input_raises_before_any_request(inputs: Any) -> None:
    rec = Recorder()
    with pytest.raises(errors.InvalidOptionError):
        reqllm.embed(EMBED_MODEL, inputs, **rec.opts())
    assert rec.requests == []


def test_unsupported_operation_raises_before_any_request() -> None:
    rec = Recorder()
    with pytest.raises(errors.UnsupportedOperationError) as info:
        reqllm.embed("anthropic:claude-3-5-haiku-20241022", "Hi", **rec.opts())
    assert "embed" in str(info.value)
    assert rec.requests == []


def test_bad_schema_raises_before_any_request() -> None:
    rec = Recorder()
    with pytest.raises(errors.InvalidOptionError):
        reqllm.generate_object(MODEL, "Hi", "not a schema", **rec.opts())
    assert rec.requests == []


def test_wrong_kind_of_http_client_is_named() -> None:
    rec = Recorder()
    with pytest.raises(errors.InvalidOptionError, match="AsyncClient"):
        reqllm.generate_text(MODEL, "Hi", api_key=API_KEY, http_client=rec.async_client())

    async def run() -> None:
        await reqllm.agenerate_text(MODEL, "Hi", api_key=API_KEY, http_client=rec.client())

    with pytest.raises(errors.InvalidOptionError, match=r"httpx\.Client"):
        asyncio.run(run())
    assert rec.requests == []


# -- keys and URLs ------------------------------------------------------------------------------------
def test_api_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    rec = Recorder()
    reqllm.generate_text(MODEL, "Hi", http_client=rec.client())
    assert rec.requests[0].headers["authorization"] == "Bearer sk-from-env"


def test_base_url_option_overrides_the_provider() -> None:
    rec = Recorder()
    reqllm.generate_text(MODEL, "Hi", base_url="https://proxy.example.test/openai/v1/", **rec.opts())
    assert str(rec.requests[0].url) == "https://proxy.example.test/openai/v1/chat/completions"


def test_timeout_option_reaches_the_request() -> None:
    rec = Recorder()
    reqllm.generate_text(MODEL, "Hi", timeout=5, **rec.opts())
    assert rec.requests[0].extensions["timeout"] == {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}


# -- generate_object -------------------------------------------------------------------------------------
def test_generate_object_with_a_pydantic_class_gives_an_instance() -> None:
    rec = Recorder(reply(json_=completion('{"city": "Paris", "temp_c": 18.5}')))
    result = reqllm.generate_object(MODEL, "Weather in Paris?", Weather, **rec.opts())
    assert result.object == Weather(city="Paris", temp_c=18.5)
    assert isinstance(result, reqllm.ObjectResponse)
    assert result.text == '{"city": "Paris", "temp_c": 18.5}'
    assert result.usage.input_tokens == 19


def test_generate_object_with_a_dict_schema_gives_a_dict() -> None:
    schema = {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}}},
              "required": ["tags"]}
    rec = Recorder(reply(json_=completion('```json\n{"tags": ["a", "b"]}\n```')))
    result = reqllm.generate_object(MODEL, "Tags?", schema, **rec.opts())
    assert result.object == {"tags": ["a", "b"]}
    assert rec.bodies[0]["response_format"]["json_schema"]["name"] == "output"


def test_generate_object_invalid_output_names_the_field_and_shows_the_text() -> None:
    raw = '{"city": "Paris", "temp_c": "warm"}'
    rec = Recorder(reply(json_=completion(raw)))
    with pytest.raises(errors.ObjectValidationError) as info:
        reqllm.generate_object(MODEL, "Weather?", Weather, **rec.opts())
    assert info.value.field == "temp_c"
    assert info.value.raw_text == raw and raw in str(info.value)


def test_generate_object_dict_schema_missing_field() -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
              "required": ["name", "age"]}
    rec = Recorder(reply(json_=completion('{"name": "Ada"}')))
    with pytest.raises(errors.ObjectValidationError) as info:
        reqllm.generate_object(MODEL, "Who?", schema, **rec.opts())
    assert info.value.field == "age" and "Ada" in str(info.value)


def test_generate_object_output_that_is_not_json() -> None:
    rec = Recorder(reply(json_=completion("Sorry, I cannot do that.")))
    with pytest.raises(errors.ObjectValidationError) as info:
        reqllm.generate_object(MODEL, "Weather?", Weather, **rec.opts())
    assert info.value.field is None and "Sorry, I cannot do that." in str(info.value)


@registry_snapshot()
def test_generate_object_through_a_forced_tool() -> None:
    reqllm.register_provider("test-tool-objects", base_url="https://tools.example.test/v1",
                             quirks={"native_object": "tool"}, models=["tooler-1"])
    answer = completion(None, finish_reason="tool_calls",
                        tool_calls=[tool_call("call_o", "structured_output", {"city": "Rome", "temp_c": 24})])
    rec = Recorder(reply(json_=answer))
    result = reqllm.generate_object("test-tool-objects:tooler-1", "Weather in Rome?", Weather, **rec.opts())
    assert result.object == Weather(city="Rome", temp_c=24)
    body = rec.bodies[0]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "structured_output"}}
    assert body["tools"][0]["function"]["parameters"] == Weather.model_json_schema()


# -- streams ---------------------------------------------------------------------------------------------
def test_to_response_without_iterating() -> None:
    rec = Recorder(stream_reply(text_chunks("a", "b")))
    stream = reqllm.stream_text(MODEL, "Hi", **rec.opts())
    assert stream.model == MODEL
    assert stream.to_response().text == "ab"
    assert stream.to_response().text == "ab"  # idempotent
    assert len(rec.requests) == 1


def test_stream_sends_nothing_until_iterated() -> None:
    rec = Recorder(stream_reply(text_chunks("a")))
    stream = reqllm.stream_text(MODEL, "Hi", **rec.opts())
    assert rec.requests == []
    next(iter(stream))
    assert len(rec.requests) == 1


def test_stream_iterates_once() -> None:
    rec = Recorder(stream_reply(text_chunks("a")))
    stream = reqllm.stream_text(MODEL, "Hi", **rec.opts())
    list(stream)
    with pytest.raises(RuntimeError, match="only once"):
        iter(stream)


def test_partial_iteration_then_to_response_finishes_the_stream() -> None:
    rec = Recorder(stream_reply(text_chunks("a", "b", "c")))
    stream = reqllm.stream_text(MODEL, "Hi", **rec.opts())
    for piece in stream:
        if piece.type == "content" and piece.text == "a":
            break
    assert stream.to_response().text == "abc"


def test_closed_stream_has_no_response_but_a_clear_error() -> None:
    rec = Recorder(stream_reply(text_chunks("a", "b")))
    with reqllm.stream_text(MODEL, "Hi", **rec.opts()) as stream:
        next(iter(stream))
        next(iter(stream._iterator))  # type: ignore[arg-type]
    with pytest.raises(errors.StreamError, match="closed") as info:
        stream.to_response()
    assert info.value.chunks == stream.chunks and stream.chunks


def test_async_stream() -> None:
    rec = Recorder(stream_reply(text_chunks("x", "y")))

    async def run() -> tuple[list[str], str]:
        async with reqllm.astream_text(MODEL, "Hi", **rec.aopts()) as stream:
            texts = [t async for t in stream.text_stream()]
            return texts, (await stream.to_response()).text

    assert asyncio.run(run()) == (["x", "y"], "xy")


def test_async_stream_error_after_chunks() -> None:
    rec = Recorder(stream_reply([{"choices": [{"index": 0, "delta": {"content": "so far"}}]}], done=False))

    async def run() -> list[str]:
        seen = []
        async for piece in reqllm.astream_text(MODEL, "Hi", **rec.aopts()):
            seen.append(piece.text)
        return seen

    with pytest.raises(errors.StreamTruncatedError) as info:
        asyncio.run(run())
    assert [c.text for c in info.value.chunks] == ["so far"]


# -- embeddings --------------------------------------------------------------------------------------------
def test_embed_result() -> None:
    rec = Recorder(reply(json_=embeddings([[0.25, -0.5], [1.0, 0.0]], order=[1, 0])))
    result = reqllm.embed(EMBED_MODEL, ["first", "second"], **rec.opts())
    assert isinstance(result, reqllm.EmbedResponse)
    assert result.embeddings == [[0.25, -0.5], [1.0, 0.0]]
    assert result.raw["object"] == "list" and result.usage.input_tokens == 8


# -- the hook seam sees results ----------------------------------------------------------------------------
class _Hook:
    def __init__(self) -> None:
        self.results: list[tuple[str, Any, BaseException | None]] = []

    def wrap(self, transport: httpx.BaseTransport, call: Any) -> httpx.BaseTransport:
        return transport

    def wrap_async(self, transport: httpx.AsyncBaseTransport, call: Any) -> httpx.AsyncBaseTransport:
        return transport

    def placeholder_key(self, call: Any) -> str | None:
        return "placeholder"

    def on_result(self, call: Any, result: Any, error: BaseException | None) -> None:
        self.results.append((call.operation, result, error))


def test_hook_gets_results_and_supplies_a_placeholder_key() -> None:
    hook = _Hook()
    rec = Recorder(reply(json_=completion("hooked")), stream_reply(text_chunks("s")))
    with install_hook(hook):
        reqllm.generate_text(MODEL, "Hi", http_client=rec.client())
        reqllm.stream_text(MODEL, "Hi", http_client=rec.client()).to_response()
    assert rec.requests[0].headers["authorization"] == "Bearer placeholder"
    (op1, first, err1), (op2, second, err2) = hook.results
    assert op1 == op2 == "chat" and err1 is err2 is None
    assert first.text == "hooked"
    assert [c.text for c in second if c.type == "content"] == ["s"]
