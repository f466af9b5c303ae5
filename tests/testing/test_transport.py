"""The recording and replaying transports: tee'd streams, chunk boundaries, timing, failures, async."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import reqllm
import reqllm_testing
from reqllm_testing import FixtureMismatchError, FixtureNotFoundError, FixtureTransport, fixture_file
from reqllm_testing.recorder import stream_events
from reqllm_testing.session import FixtureSession

from .loopback import OpenAIServer, answer_events

SSE = [b'data: {"choices": [{"index": 0, "delta": {"content": "Hel"}}]}\n\n',
       b'data: {"choices": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": "stop"}]}\n\ndata: [DO',
       b"NE]\n\n"]


class _Chunked(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Any:
        yield from self.chunks

    async def __aiter__(self) -> Any:
        for chunk in self.chunks:
            yield chunk


def _handler(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/stream"):
        return httpx.Response(200, headers={"content-type": "text/event-stream", "set-cookie": "s=1"},
                              stream=_Chunked(SSE))
    if request.url.path.endswith("/gzip"):
        data = gzip.compress(json.dumps({"zipped": True}).encode())
        return httpx.Response(200, headers={"content-type": "application/json", "content-encoding": "gzip"},
                              content=data)
    if request.url.path.endswith("/down"):
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
    return httpx.Response(200, json={"echo": json.loads(request.content)})


def _recorder(path: Path) -> FixtureTransport:
    return FixtureTransport(path, mode="record", inner=httpx.MockTransport(_handler))


def test_any_httpx_client_records_and_replays_chunks_exactly(tmp_path: Path) -> None:
    path = tmp_path / "sdk.json"
    with httpx.Client(transport=_recorder(path)) as c:
        assert c.post("https://api.example.com/v1/echo", json={"q": 1}).json() == {"echo": {"q": 1}}
        with c.stream("POST", "https://api.example.com/v1/stream", json={"stream": True}) as response:
            assert list(response.iter_raw()) == SSE
    doc = fixture_file.read(path).document()
    stream = doc["interactions"][1]["response"]
    assert stream["chunks"] == [c.decode() for c in SSE]
    assert [e["data"] for e in stream_events(stream)][-1] == "[DONE]"
    assert stream["headers"] == {"content-type": "text/event-stream"}
    assert "decoded" not in doc["interactions"][1]

    replay = FixtureTransport(path)
    with httpx.Client(transport=replay) as c:
        assert c.post("http://elsewhere/v1/echo", json={"q": 1}).json() == {"echo": {"q": 1}}
        with c.stream("POST", "http://elsewhere/v1/stream", json={"stream": True}) as response:
            assert list(response.iter_raw()) == SSE
        assert replay.unused() == []
        with pytest.raises(FixtureMismatchError, match=r"q.*changed from 1 to 2"):
            c.post("http://elsewhere/v1/echo", json={"q": 2})


def test_replay_delivers_chunks_one_at_a_time_at_the_recorded_pace(tmp_path: Path) -> None:
    path = tmp_path / "paced.json"
    interaction = {"request": {"method": "GET", "url": "https://x/v1/s", "body": None},
                   "response": {"status": 200, "headers": {"content-type": "text/event-stream"},
                                "chunks": ["data: 1\n\n", "data: 2\n\n", "data: 3\n\n"],
                                "timing_ms": [0.0, 80.0, 160.0], "error": None}}
    fixture_file.save(path, fixture_file.new_document([interaction]))
    with httpx.Client(transport=FixtureTransport(path, timing=1.0)) as client, \
            client.stream("GET", "https://x/v1/s") as response:
        started = time.perf_counter()
        arrivals = [(chunk, time.perf_counter() - started) for chunk in response.iter_raw()]
    assert [c for c, _ in arrivals] == [b"data: 1\n\n", b"data: 2\n\n", b"data: 3\n\n"]
    assert arrivals[0][1] < 0.07 <= arrivals[1][1] and arrivals[2][1] >= 0.15
    with httpx.Client(transport=FixtureTransport(path)) as client:  # no scale: as fast as possible
        started = time.perf_counter()
        client.get("https://x/v1/s").read()
        assert time.perf_counter() - started < 0.07


def test_a_reqllm_answer_in_one_piece_keeps_its_recorded_pace(tmp_path: Path) -> None:
    """Served whole (read already) only when no pace is asked for: ``timing=`` still delays it."""
    path = tmp_path / "one_piece.json"
    body = {"id": "c1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}]}
    client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200, json=body)))
    options: dict[str, Any] = {"base_url": "https://x/v1", "api_key": "sk-test-key-123456", "http_client": client}
    with reqllm_testing.use_fixture(path, mode="record"):
        reqllm.generate_text("openai:gpt-4o-mini", "hi", **options)
    (interaction,) = fixture_file.read(path).interactions
    response = interaction["response"]
    response["chunks"], response["timing_ms"] = [json.dumps(response.pop("body"))], [150.0]
    fixture_file.save(path, fixture_file.new_document([interaction]))
    for timing, slow in ((1.0, True), (None, False)):
        with reqllm_testing.use_fixture(path, mode="replay", timing=timing):
            started = time.perf_counter()
            assert reqllm.generate_text("openai:gpt-4o-mini", "hi", **options).text == "Hi"
            assert (time.perf_counter() - started >= 0.14) is slow


def test_recording_tees_the_stream_instead_of_buffering_it(tmp_path: Path,
                                                           openai_server: OpenAIServer) -> None:
    path = tmp_path / "tee.json"
    with reqllm_testing.use_fixture(path, mode="record"):
        stream = reqllm.stream_text("openai:gpt-4o-mini", "wait", base_url=openai_server.base_url,
                                    api_key="sk-test-key-123456")
        iterator = iter(stream)
        started = time.perf_counter()
        first = next(c for c in iterator if c.type == "content")
        assert time.perf_counter() - started < 2  # the server still holds the rest of the stream
        openai_server.release.set()
        rest = [c.text for c in iterator if c.type == "content"]
    assert first.text == "Echo:" and rest == [" wait"]
    response = fixture_file.read(path).document()["interactions"][0]["response"]
    timing = response["timing_ms"]
    assert len(timing) == len(response["chunks"]) == len(answer_events("wait")) + 1
    assert timing == sorted(timing)


def test_a_stream_that_breaks_midway_keeps_what_arrived(tmp_path: Path, openai_server: OpenAIServer) -> None:
    path = tmp_path / "broken.json"
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "break"}]}
    url = openai_server.base_url + "/chat/completions"
    got: list[bytes] = []
    with httpx.Client(transport=FixtureTransport(path, mode="record")) as client, \
            pytest.raises(httpx.RemoteProtocolError), client.stream("POST", url, json=body) as response:
        for chunk in response.iter_raw():
            got.append(chunk)
    response_record = fixture_file.read(path).document()["interactions"][0]["response"]
    assert response_record["error"]["type"] == "RemoteProtocolError"
    assert [c.encode() for c in response_record["chunks"]] == got and len(got) == 2

    openai_server.stop()
    replayed: list[bytes] = []
    with httpx.Client(transport=FixtureTransport(path)) as client, \
            pytest.raises(httpx.RemoteProtocolError, match="peer closed"), \
            client.stream("POST", url, json=body) as response:
        for chunk in response.iter_raw():
            replayed.append(chunk)
    assert replayed == got


def test_encoded_bodies_are_stored_decoded_and_connect_errors_replay(tmp_path: Path) -> None:
    path = tmp_path / "misc.json"
    with httpx.Client(transport=_recorder(path)) as c:
        response = c.get("https://x/v1/gzip")
        assert response.json() == {"zipped": True} and "content-encoding" not in response.headers
        with pytest.raises(httpx.ConnectError):
            c.get("https://x/v1/down")
    first, second = json.loads(path.read_text())["interactions"]
    assert first["response"]["body"] == {"zipped": True} and first["response"]["headers"] == {
        "content-type": "application/json"}
    assert second["response"] == {"status": None, "headers": {}, "error": {
        "type": "ConnectError", "message": "[Errno 111] Connection refused"}}
    with httpx.Client(transport=FixtureTransport(path)) as c:
        assert c.get("https://x/v1/gzip").json() == {"zipped": True}
        with pytest.raises(httpx.ConnectError, match="Connection refused"):
            c.get("https://x/v1/down")


def test_async_clients_record_and_replay(tmp_path: Path) -> None:
    path = tmp_path / "async.json"

    async def run(mode: str) -> list[bytes]:
        inner = httpx.MockTransport(_handler) if mode == "record" else None
        async with httpx.AsyncClient(transport=FixtureTransport(path, mode=mode, inner=inner)) as client, \
                client.stream("POST", "https://x/v1/stream", json={"a": 1}) as response:
            return [chunk async for chunk in response.aiter_raw()]

    assert asyncio.run(run("record")) == SSE
    assert asyncio.run(run("replay")) == SSE


def test_use_fixture_works_with_async_with_and_reqllm_async_calls(tmp_path: Path,
                                                                  openai_server: OpenAIServer) -> None:
    path = tmp_path / "areqllm.json"

    async def run(**opts: Any) -> list[str]:
        async with reqllm_testing.use_fixture(path, mode=opts.pop("mode")):
            response = await reqllm.agenerate_text("openai:gpt-4o-mini", "async hi", **opts)
            chunks = [c.text async for c in reqllm.astream_text("openai:gpt-4o-mini", "async stream", **opts)]
        return [response.text, "".join(chunks)]

    recorded = asyncio.run(run(mode="record", base_url=openai_server.base_url, api_key="sk-test-key-123456"))
    assert recorded == ["Echo: async hi", "Echo: async stream"]
    openai_server.stop()
    assert asyncio.run(run(mode="replay", base_url=openai_server.base_url)) == recorded


def test_missing_fixture_outside_pytest_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(FixtureNotFoundError, match=f"no fixture file {path}.*REQLLM_FIXTURES=missing"), \
            reqllm_testing.use_fixture(path, mode="replay"):
        reqllm.generate_text("openai:gpt-4o-mini", "Hi")


def test_replay_cost_does_not_grow_with_the_fixture(tmp_path: Path) -> None:
    def build(n: int) -> Path:
        items = [{"request": {"method": "POST", "url": "https://x/v1/chat/completions",
                              "body": {"model": "m", "messages": [{"role": "user", "content": f"q{i}"}]}},
                  "response": {"status": 200, "headers": {"content-type": "application/json"},
                               "body": {"answer": i}, "error": None}} for i in range(n)]
        return fixture_file.save(tmp_path / f"f{n}.json", fixture_file.new_document(items))

    def replay(path: Path, calls: int) -> float:
        session = FixtureSession(path, "replay")
        session.index()  # load and index once, outside the timing
        transport = reqllm_testing.ReplayTransport(session)
        requests = [httpx.Request("POST", "https://x/v1/chat/completions", json={
            "model": "m", "messages": [{"role": "user", "content": f"q{i}"}]}) for i in range(calls)]
        started = time.perf_counter()
        for request in requests:
            transport.handle_request(request).read()
        return time.perf_counter() - started

    small, large = build(10), build(3000)
    assert FixtureSession(large, "replay").index() is FixtureSession(large, "replay").index()
    best_small = min(replay(small, 10) / 10 for _ in range(3))
    best_large = min(replay(large, 300) / 300 for _ in range(3))
    assert best_large < best_small * 4 + 0.0005


def test_other_clients_traffic_is_decoded_or_says_why_not(tmp_path: Path) -> None:
    """A recognised request stores reqllm's decoded part (a response reqllm cannot read: the error it
    raises, as for its own calls); an unknown one is stored raw with ``meta.raw`` naming why."""
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/chat/completions":
            body = {"id": "c", "object": "chat.completion", "created": 1, "model": "m",
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": "Hi there"}}],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}
            return httpx.Response(200, json=body)
        if request.url.path == "/v1/messages":
            return httpx.Response(200, json={"unexpected": True})
        return httpx.Response(200, json={"ok": True})

    path = tmp_path / "other.json"
    with FixtureTransport(path, mode="record", inner=httpx.MockTransport(answer)) as transport, \
            httpx.Client(transport=transport, base_url="http://127.0.0.1:9") as client:
        client.post("/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "x"}]})
        client.post("/v1/messages", json={"model": "m", "max_tokens": 5, "messages": []})
        client.post("/v1/other", json={"a": 1})
    chat, messages, other = json.loads(path.read_text())["interactions"]
    assert chat["decoded"]["response"]["message"]["content"][0]["text"] == "Hi there"
    assert chat["decoded"]["response"]["usage"]["input_tokens"] == 3
    assert chat["meta"]["protocol"] == "openai_chat" and "raw" not in chat["meta"]
    assert messages["decoded"]["error"]["type"] == "ResponseDecodeError"
    assert "message.content" in messages["decoded"]["error"]["message"]
    assert messages["response"]["body"] == {"unexpected": True}
    assert "decoded" not in other and "no protocol plugin recognises" in other["meta"]["raw"]
    assert other["response"]["body"] == {"ok": True}
