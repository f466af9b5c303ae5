"""``Script``: one scenario served to any client in the protocol each request speaks."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest

import reqllm
from reqllm_testing import (
    Embeddings,
    Reply,
    Script,
    ScriptError,
    ScriptExhaustedError,
    ScriptRequest,
    UnusedScriptItemsError,
    disconnect,
    http_error,
    overloaded,
    rate_limited,
)
from reqllm_testing.wire import PROTOCOLS

SPECS = {"openai_chat": ("openai:gpt-4o-mini", {}),
         "openai_responses": ("openai:gpt-4o-mini", {"protocol": "openai_responses"}),
         "anthropic": ("anthropic:claude-3-5-haiku-20241022", {}),
         "gemini": ("google:gemini-2.5-flash", {})}
KEY = "k" * 12
WEATHER = reqllm.Tool(name="get_weather", description="Weather for a city",
                      parameters={"type": "object", "properties": {"city": {"type": "string"}}})


def call(protocol: str, script: Script, messages: Any = "hi", **options: Any) -> reqllm.Response:
    spec, extra = SPECS[protocol]
    options.setdefault("max_retries", 0)
    return reqllm.generate_text(spec, messages, http_client=httpx.Client(transport=script), api_key=KEY,
                                **extra, **options)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_one_script_answers_each_request_in_the_protocol_it_speaks(protocol: str) -> None:
    script = Script([Reply(tool_calls=[("get_weather", {"city": "Paris"})]), "It is 21°C in Paris."])
    first = call(protocol, script, "Weather in Paris?", tools=[WEATHER])
    assert [(c.name, c.arguments) for c in first.tool_calls] == [("get_weather", {"city": "Paris"})]
    messages = [reqllm.Message.user("Weather in Paris?"), first.message,
                reqllm.Message.tool_result(first.tool_calls[0], {"temp_c": 21})]
    second = call(protocol, script, messages, tools=[WEATHER])
    assert second.text == "It is 21°C in Paris." and second.finish_reason == "stop"
    script.verify()
    asked = script.requests[1]
    assert asked.protocol == protocol and not asked.stream
    assert [t.name for t in asked.tools] == ["get_weather"]
    assert [m.role for m in asked.messages] == ["user", "assistant", "tool"]
    assert asked.messages[1].tool_calls[0].name == "get_weather"
    assert asked.messages[1].tool_calls[0].arguments == {"city": "Paris"}
    assert asked.messages[2].text == '{"temp_c": 21}'


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_callable_item_sees_the_decoded_request(protocol: str) -> None:
    seen: list[ScriptRequest] = []

    def echo(request: ScriptRequest) -> Reply:
        seen.append(request)
        return Reply(f"you said {request.last_user_text}")

    spec, extra = SPECS[protocol]
    stream = reqllm.stream_text(spec, "ping", system="Be brief.", http_client=httpx.Client(transport=Script([echo])),
                                api_key=KEY, **extra)
    assert stream.to_response().text == "you said ping"
    request = seen[0]
    assert request.stream and request.protocol == protocol and request.model
    assert [(m.role, m.text) for m in request.messages] == [("system", "Be brief."), ("user", "ping")]
    assert request.http.method == "POST"


def test_running_past_the_end_shows_the_request_and_leftovers_fail_verify() -> None:
    script = Script(["only one"])
    call("anthropic", script, "first")
    with pytest.raises(ScriptExhaustedError, match=r"1 item\(s\), all used.*/messages.*'second'"):
        call("anthropic", script, "second")
    leftover = Script(["a", rate_limited()])
    call("gemini", leftover, "hello")
    with pytest.raises(UnusedScriptItemsError, match=r"1 script item\(s\) never requested: Fault\(kind='rate_limited'"):
        leftover.verify()


def test_an_unknown_endpoint_is_a_named_error() -> None:
    client = httpx.Client(transport=Script(["x"]))
    with pytest.raises(ScriptError, match=r"GET https://example\.test/v1/models"):
        client.get("https://example.test/v1/models")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_faults_become_reqllm_typed_errors_and_retries_see_the_next_item(protocol: str,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("reqllm._retry.BASE_DELAY", 0.001)  # overloaded() carries no retry hint
    script = Script([rate_limited(retry_after=0), overloaded(), "recovered"])
    assert call(protocol, script, "hi", max_retries=2).text == "recovered"
    with pytest.raises(reqllm.errors.APIError) as caught:
        call(protocol, Script([http_error(401, "bad key")]), "hi")
    assert caught.value.status == 401 and "bad key" in str(caught.value)
    with pytest.raises(reqllm.errors.ReqLLMError):
        call(protocol, Script([disconnect()]), "hi")


def test_a_stall_ends_in_the_clients_read_timeout() -> None:
    script = Script([Reply("one two three", stall_after=2)])
    stream = reqllm.stream_text("openai:gpt-4o-mini", "hi", http_client=httpx.Client(transport=script),
                                api_key=KEY, max_retries=0, timeout=0.05)
    with pytest.raises(reqllm.errors.ReqLLMError, match=r"(?i)time"):
        stream.to_response()


def test_embeddings_items_answer_embedding_requests() -> None:
    script = Script([Embeddings([[0.1, 0.2], [0.3, 0.4]]), Embeddings([[1.0]])])
    client = httpx.Client(transport=script)
    result = reqllm.embed("openai:text-embedding-3-small", ["a", "b"], http_client=client, api_key=KEY)
    assert result.embeddings == [[0.1, 0.2], [0.3, 0.4]]
    gemini = reqllm.embed("google:gemini-embedding-001", "c", http_client=client, api_key=KEY)
    assert gemini.embeddings == [[1.0]]
    assert script.requests[0].input == ["a", "b"] and script.requests[1].input == ["c"]
    with pytest.raises(ScriptError, match="asks for embeddings"):
        reqllm.embed("openai:text-embedding-3-small", "x", http_client=httpx.Client(transport=Script(["no"])),
                     api_key=KEY)


def test_async_clients_and_async_callables() -> None:
    async def answer(request: ScriptRequest) -> Reply:
        await asyncio.sleep(0)
        return Reply(request.last_user_text.upper())

    async def main() -> str:
        async with httpx.AsyncClient(transport=Script([answer])) as client:
            response = await reqllm.agenerate_text("anthropic:claude-3-5-haiku-20241022", "quiet", http_client=client,
                                                   api_key=KEY)
            return response.text

    assert asyncio.run(main()) == "QUIET"


@pytest.mark.parametrize("stream", [False, True])
def test_httpx2_clients_get_httpx2_responses_and_errors(stream: bool) -> None:
    script = Script([Reply("hello there"), disconnect()])
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    with httpx2.Client(transport=script) as client:  # type: ignore[arg-type]
        response = client.post("https://api.openai.com/v1/chat/completions", json=body)
        assert isinstance(response, httpx2.Response) and response.status_code == 200
        assert b"hello" in response.read() and b"there" in response.content
        with pytest.raises(httpx2.RemoteProtocolError):
            client.post("https://api.openai.com/v1/chat/completions", json=body)
    assert isinstance(script.requests[0].http, httpx.Request)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    script = Script([Reply("a", tool_calls=[("f", {"x": [1, 2]})], usage={"input_tokens": 3}),
                     rate_limited(retry_after=1.5), Embeddings([[0.5]]), Reply("b", cut_after=2)])
    path = script.save(tmp_path / "scripts" / "demo.json")
    again = Script.load(path)
    assert again.items == [i if not isinstance(i, str) else Reply(i) for i in script.items]
    assert '"reply"' in path.read_text() and path.read_text().endswith("\n")
    with pytest.raises(ScriptError, match="only replies, faults and embeddings"):
        Script([lambda r: Reply("x")]).save(tmp_path / "x.json")
    (tmp_path / "bad.json").write_text('{"items": [{"reply": {"text": 1}}]}')
    with pytest.raises(ScriptError, match=r"bad.json: items\[0\].reply"):
        Script.load(tmp_path / "bad.json")
    with pytest.raises(ScriptError, match="no script file"):
        Script.load(tmp_path / "missing.json")
