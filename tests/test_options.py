"""Call options and messages: every option validated, every mistake named."""

from __future__ import annotations

import datetime
from typing import Any

import httpx
import pytest

import reqllm
from reqllm import Message, TextPart, Tool, ToolCall
from reqllm._options import Options, normalize_messages, parse_options
from reqllm.errors import InvalidOptionError

WEATHER = Tool(name="get_weather", parameters={"type": "object", "properties": {"city": {"type": "string"}}})


def test_no_options_is_all_defaults() -> None:
    o = parse_options({})
    assert o == Options()
    assert o.max_retries == 2 and o.temperature is None and o.tools is None


def test_valid_options() -> None:
    client = httpx.Client()
    o = parse_options({
        "temperature": 0, "max_tokens": 256, "top_p": 1, "stop": "END", "seed": -1, "max_retries": 0,
        "dimensions": 256, "tools": [WEATHER], "tool_choice": "get_weather", "api_key": "k",
        "base_url": "http://localhost:1234/v1", "http_client": client, "system": "Be brief.",
        "provider_options": {"user": "u1"}, "headers": {"x-trace": "1"}, "timeout": 30,
        "protocol": "openai_chat",
    })
    assert o.temperature == 0.0 and isinstance(o.temperature, float)
    assert o.max_tokens == 256 and o.top_p == 1.0 and o.stop == ["END"] and o.seed == -1
    assert o.max_retries == 0 and o.dimensions == 256
    assert o.tools == [WEATHER] and o.tool_choice == "get_weather"
    assert o.http_client is client and o.system == "Be brief."
    assert o.provider_options == {"user": "u1"} and o.headers == {"x-trace": "1"}
    assert o.timeout == httpx.Timeout(30.0, connect=10.0)
    client.close()


def test_none_means_not_given() -> None:
    assert parse_options({"temperature": None, "max_tokens": None, "tool_choice": None}) == Options()


@pytest.mark.parametrize("opts, words", [
    ({"temprature": 0.5}, ["'temprature'", "did you mean 'temperature'"]),
    ({"max_token": 5}, ["did you mean 'max_tokens'"]),
    ({"reasoning_effort": "low"}, ["'reasoning_effort'", "did you mean 'reasoning'"]),
    ({"zzz": 1}, ["'zzz'", "known options"]),
    ({"temperature": 2.5}, ["temperature=2.5", "between 0.0 and 2.0"]),
    ({"temperature": -0.1}, ["temperature"]),
    ({"temperature": True}, ["temperature=True"]),
    ({"temperature": "0.5"}, ["temperature='0.5'"]),
    ({"top_p": 1.5}, ["top_p"]),
    ({"max_tokens": 0}, ["max_tokens=0", ">= 1"]),
    ({"max_tokens": 10.5}, ["max_tokens"]),
    ({"max_retries": -1}, ["max_retries"]),
    ({"stop": ["a", 1]}, ["stop"]),
    ({"tools": WEATHER}, ["tools must be a list"]),
    ({"tools": [42]}, ["tools[0]"]),
    ({"tools": [{"description": "no name"}]}, ["tools[0]"]),
    ({"tools": [{"type": "function", "function": "oops"}]}, ["tools[0]"]),
    ({"tool_choice": "get_weather"}, ["get_weather", "names no tool"]),
    ({"tools": [WEATHER], "tool_choice": "get_time"}, ["'get_time'", "get_weather"]),
    ({"tool_choice": 3}, ["tool_choice=3"]),
    ({"reasoning": "extreme"}, ["extreme"]),
    ({"reasoning": True}, ["reasoning"]),
    ({"reasoning": -5}, ["reasoning budget"]),
    ({"http_client": "client"}, ["http_client"]),
    ({"headers": [("a", "b")]}, ["headers must be a dict"]),
    ({"api_key": 123}, ["api_key must be a string"]),
    ({"timeout": -1}, ["timeout"]),
])
def test_invalid_options_are_named(opts: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(InvalidOptionError) as info:
        parse_options(opts)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("value, effort, budget", [
    ("low", "low", None), ("xhigh", "xhigh", None), (4096, None, 4096), (0, None, 0),
    ({"effort": "medium"}, "medium", None), ({"budget_tokens": 1024}, None, 1024),
])
def test_reasoning(value: Any, effort: str | None, budget: int | None) -> None:
    o = parse_options({"reasoning": value})
    assert (o.reasoning_effort, o.reasoning_budget) == (effort, budget)


def test_tool_choice_forms() -> None:
    assert parse_options({"tools": [WEATHER], "tool_choice": "auto"}).tool_choice == "auto"
    assert parse_options({"tool_choice": "none"}).tool_choice == "none"
    named = {"type": "function", "function": {"name": "get_weather"}}
    assert parse_options({"tools": [WEATHER], "tool_choice": named}).tool_choice == "get_weather"
    bare = {"name": "get_weather"}
    assert parse_options({"tools": [WEATHER], "tool_choice": bare}).tool_choice == "get_weather"


def test_openai_tool_dict_becomes_a_tool() -> None:
    params = {"type": "object"}
    spec = {"type": "function", "function": {"name": "f", "description": "d", "parameters": params}}
    assert parse_options({"tools": [spec]}).tools == [Tool(name="f", description="d", parameters=params)]


def test_tool_call() -> None:
    tool = Tool(name="add", callable=lambda a, b: a + b)
    assert tool(a=2, b=3) == 5
    with pytest.raises(TypeError):
        WEATHER(city="Paris")


# -- messages ---------------------------------------------------------------------------------------------
def test_a_string_is_one_user_turn_and_system_goes_first() -> None:
    msgs = normalize_messages("Hi", "Be brief.")
    assert [(m.role, m.text) for m in msgs] == [("system", "Be brief."), ("user", "Hi")]


def test_openai_style_dicts() -> None:
    msgs = normalize_messages([
        {"role": "developer", "content": "Follow the rules."},
        {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                     {"type": "image_url",
                                      "image_url": {"url": "data:image/png;base64,iVBOR"}}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "look", "arguments": '{"zoom": 2}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
    ], None)
    assert [m.role for m in msgs] == ["system", "user", "assistant", "tool"]
    assert msgs[1].content[1].type == "image" and msgs[1].content[1].url == "data:image/png;base64,iVBOR"
    assert msgs[2].tool_calls == [ToolCall(id="call_1", name="look", arguments={"zoom": 2})]
    assert msgs[3].tool_call_id == "call_1" and msgs[3].text == "a cat"


def test_message_helpers() -> None:
    call = ToolCall(id="call_9", name="get_weather", arguments={"city": "Oslo"})
    result = Message.tool_result(call, {"temp_c": -3})
    assert (result.role, result.tool_call_id, result.name, result.text) == ("tool", "call_9", "get_weather",
                                                                            '{"temp_c": -3}')
    assert Message.tool_result("call_1", "done").text == "done"
    when = datetime.date(2024, 7, 18)
    assert Message.tool_result("call_2", {"date": when}).text == '{"date": "2024-07-18"}'
    assert Message.user("hi").content == [TextPart(text="hi")]
    assert Message.system("s").role == "system"
    assistant = Message.assistant("ok", tool_calls=[call])
    assert assistant.text == "ok" and assistant.tool_calls == [call]
    assert Message(role="assistant", content=None).content == []


def test_a_message_rejects_unknown_fields() -> None:
    with pytest.raises(InvalidOptionError, match=r"messages\[0\]"):
        normalize_messages([{"role": "user", "content": "hi", "colour": "blue"}], None)


def test_text_that_is_not_valid_unicode_is_an_input_error_before_any_request() -> None:
    sent: list[httpx.Request] = []
    client = httpx.Client(transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(500)))
    with pytest.raises(reqllm.errors.InvalidOptionError, match="not valid Unicode"):
        reqllm.generate_text("openai:gpt-4o-mini", "broken \ud800 text", api_key="k", http_client=client)
    with pytest.raises(reqllm.errors.InvalidOptionError, match="not JSON"):
        reqllm.generate_text("openai:gpt-4o-mini", "hi", api_key="k", http_client=client,
                             provider_options={"when": object()})
    assert sent == []


def test_an_httpx2_client_is_refused_with_a_typed_error() -> None:
    import httpx2

    with httpx2.Client() as client, pytest.raises(reqllm.errors.InvalidOptionError, match=r"httpx2\.Client.*httpx"):
        reqllm.generate_text("openai:gpt-4o-mini", "hi", http_client=client, api_key="k" * 12)


# -- every bad input is a typed error (never UnicodeEncodeError, httpx.InvalidURL, ValidationError) ----
BAD_INPUTS: dict[str, dict[str, Any]] = {
    "non-ASCII api_key": {"api_key": "sk-clé-" + "x" * 12},
    "api_key with CR/LF": {"api_key": "sk-" + "x" * 12 + "\r\nx-injected: 1"},
    "non-ASCII header value": {"headers": {"x-trace": "café"}},
    "header value None": {"headers": {"x": None}},
    "header value 5": {"headers": {"x": 5}},
    "header name 1": {"headers": {1: "a"}},
    "header name with a space": {"headers": {"x y": "a"}},
    "tool_choice function as a string": {"tool_choice": {"function": "name"}, "tools": [WEATHER]},
    "base_url unclosed IPv6": {"base_url": "http://[::1"},
    "base_url without a scheme": {"base_url": "localhost:8080/v1"},
    "schema_name 5": {"schema_name": 5},
    "NaN in provider_options": {"provider_options": {"generationConfig": {"temperature": float("nan")}}},
    "Infinity in a tool's parameters": {"tools": [Tool(name="f", parameters={
        "type": "object", "properties": {"x": {"type": "number", "maximum": float("inf")}}})]},
}


@pytest.mark.parametrize("options", list(BAD_INPUTS.values()), ids=list(BAD_INPUTS))
def test_every_bad_input_is_an_invalid_option_error_raised_before_sending(options: dict[str, Any]) -> None:
    sent: list[httpx.Request] = []
    client = httpx.Client(transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(500)))
    with pytest.raises(InvalidOptionError) as info:
        reqllm.generate_object("openai:gpt-4o-mini", "hi", {"type": "object"}, http_client=client,
                               **{"api_key": "sk-" + "k" * 20, **options})
    assert sent == []
    for value in ("sk-clé", "\r\n", "café", "x" * 12, "k" * 20):  # the bad value and the key: maybe secrets
        assert value not in str(info.value) and value not in repr(info.value), "a secret value is never shown"


def test_nan_and_infinity_are_named_by_their_path() -> None:
    with pytest.raises(InvalidOptionError, match=r"provider_options\.generationConfig\.stop\[1\] is nan"):
        parse_options({"provider_options": {"generationConfig": {"stop": [1.0, float("nan")]}}})
    with pytest.raises(InvalidOptionError, match=r"tools\[0\]\.parameters\.properties\.x\.default is -inf"):
        parse_options({"tools": [{"name": "f", "parameters": {"properties": {"x": {"default": float("-inf")}}}}]})


def test_a_non_ascii_key_from_the_environment_is_named_not_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-ключ-" + "x" * 16)
    with pytest.raises(InvalidOptionError, match="OPENAI_API_KEY holds a non-ASCII character") as info:
        reqllm.generate_text("openai:gpt-4o-mini", "hi")
    assert "ключ" not in str(info.value)


def test_options_repr_never_shows_the_key_or_headers() -> None:
    key = "sk-" + "r" * 24
    options = parse_options({"api_key": key, "headers": {"x-acme-key": "acme-" + "s" * 16}})
    assert key not in repr(options) and "acme-" not in repr(options)


def test_deadline_and_max_response_bytes_are_validated() -> None:
    assert parse_options({"deadline": 2, "max_response_bytes": 1024}).deadline == 2.0
    assert parse_options({}).max_response_bytes == 64 * 1024 * 1024
    for bad in ({"deadline": -1}, {"deadline": "soon"}, {"max_response_bytes": 0}, {"max_response_bytes": 1.5}):
        with pytest.raises(InvalidOptionError):
            parse_options(bad)
