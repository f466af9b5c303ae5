"""reqllm_testing.intercept: the network transports of httpx and httpx2 caught while a block is open."""

from __future__ import annotations

import asyncio
import socket
import urllib.request

import httpx
import httpx2
import pytest

import reqllm
import reqllm_testing
from reqllm_testing import NetworkBlockedError, intercept
from reqllm_testing._httpx2 import as_httpx2, from_httpx2

from .loopback import OpenAIServer


def _answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"path": request.url.path, "body": request.content.decode()})


def test_route_answers_httpx_and_httpx2_sync_and_async() -> None:
    mock = httpx.MockTransport(_answer)
    with intercept.route(mock):
        assert httpx.get("http://example.invalid/a").json()["path"] == "/a"
        assert httpx2.post("http://example.invalid/b", content=b"x").json() == {"path": "/b", "body": "x"}

        async def both() -> list[object]:
            async with httpx.AsyncClient() as one, httpx2.AsyncClient() as two:
                return [(await one.get("http://example.invalid/c")).json()["path"],
                        (await two.get("http://example.invalid/d")).json()["path"]]

        assert asyncio.run(both()) == ["/c", "/d"]
    assert httpx.HTTPTransport.handle_request is intercept._httpx_patches()[0][0].__dict__["handle_request"]
    assert not intercept.active() and not intercept._originals


def test_test_transports_and_ignored_hosts_pass_untouched(openai_server: OpenAIServer) -> None:
    own = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(299)))
    with intercept.route(httpx.MockTransport(lambda r: httpx.Response(200, text="routed")),
                         ignore_hosts=["localhost"]):
        assert own.get("http://example.invalid/").status_code == 299
        # 127.0.0.1 is loopback, covered by "localhost": the real server answers.
        response = httpx.post(f"{openai_server.base_url}/chat/completions",
                              json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
        assert response.json()["choices"][0]["message"]["content"] == "Echo: hi"
        assert httpx.get("http://example.invalid/").text == "routed"


def test_adapter_streams_and_renames_errors() -> None:
    def stream(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/broken":
            raise httpx.ConnectError("refused")
        return httpx.Response(200, content=iter([b"one ", b"two"]))

    with httpx2.Client(transport=as_httpx2(httpx.MockTransport(stream))) as client:
        with client.stream("GET", "http://x.invalid/") as response:
            assert list(response.iter_raw()) == [b"one ", b"two"]
        with pytest.raises(httpx2.ConnectError, match="refused"):
            client.get("http://x.invalid/broken")
    back = from_httpx2(httpx2.MockTransport(lambda r: httpx2.Response(201, text=r.method)))
    assert httpx.Client(transport=back).put("http://x.invalid/").text == "PUT"


def test_reqllm_calls_are_recorded_once_with_their_decoded_part(openai_server: OpenAIServer, tmp_path) -> None:
    path = tmp_path / "f.json"
    with reqllm_testing.use_fixture(path, mode="record") as session:
        reqllm.generate_text("openai:gpt-4o-mini", "hi", base_url=openai_server.base_url, api_key="k" * 12)
        httpx.post(f"{openai_server.base_url}/chat/completions",
                   json={"model": "m", "messages": [{"role": "user", "content": "raw"}]})
    assert [e["meta"].get("protocol") for e in session.entries] == ["openai_chat", None]
    assert len(openai_server.seen) == 2
    openai_server.stop()
    with reqllm_testing.use_fixture(path, mode="replay"):
        assert reqllm.generate_text("openai:gpt-4o-mini", "hi", base_url=openai_server.base_url).text == "Echo: hi"
        raw = httpx.post(f"{openai_server.base_url}/chat/completions",
                         json={"model": "m", "messages": [{"role": "user", "content": "raw"}]})
        assert raw.json()["choices"][0]["message"]["content"] == "Echo: raw"


def test_block_network_names_the_host_and_the_command() -> None:
    with intercept.block_network(["localhost"], lambda: "pytest --reqllm-record=missing t.py::x"):
        for attempt in (lambda: httpx.get("http://192.0.2.1:81/"),
                        lambda: urllib.request.urlopen("http://192.0.2.1:81/", timeout=1),
                        lambda: socket.create_connection(("192.0.2.1", 81), timeout=1)):
            with pytest.raises(NetworkBlockedError, match=r"192\.0\.2\.1:81.*--reqllm-record=missing t\.py::x"):
                attempt()
        with pytest.raises(ConnectionRefusedError):  # loopback, listed: a real connection attempt
            socket.create_connection(("127.0.0.1", 9), timeout=1)
        with intercept.route(httpx.MockTransport(lambda r: httpx.Response(204))), \
                socket.socket() as sock:  # inside a fixture nothing is blocked
            assert sock.connect_ex(("127.0.0.1", 9)) != 0
    assert socket.socket.connect is not None and httpx.get is not None
