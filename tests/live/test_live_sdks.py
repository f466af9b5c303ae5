"""The official ``openai`` and ``anthropic`` SDKs against the real llama.cpp server (``pytest -m live``).

Each SDK builds its own client with an explicit ``base_url`` (nothing injected). ``use_fixture``
records its Chat, Responses and Messages calls (streamed and not, sync and async) from llama.cpp's
``llama-server``; the server is stopped (when this test started it) and the same calls replay under
``block_network``: the SDK objects (``model_dump()``) equal the recorded ones, and every interaction
stores reqllm's decoded part.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from reqllm_testing import use_fixture
from reqllm_testing.check import stale
from reqllm_testing.intercept import block_network
from tests.live.local_servers import script

pytestmark = pytest.mark.live

MODEL = "gemma-3-270m-q4_k_m"
ASK = [{"role": "user", "content": "Say hello in three words."}]


def _dump(obj: Any) -> Any:
    return obj.model_dump(mode="json", exclude={"sdk_http_response"})


def _calls(url: str, key: str) -> list[Any]:
    import anthropic
    import openai

    out: list[Any] = []
    with openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0) as client:
        out.append(_dump(client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=12)))  # type: ignore[arg-type]
        out.append([_dump(c) for c in client.chat.completions.create(model=MODEL, messages=ASK,  # type: ignore[arg-type]
                                                                     max_tokens=12, stream=True)])
        out.append(_dump(client.responses.create(model=MODEL, input="Say hello.", max_output_tokens=12)))
        out.append([_dump(e) for e in client.responses.create(model=MODEL, input="Say hi.", max_output_tokens=12,
                                                               stream=True)])
    with anthropic.Anthropic(base_url=url, api_key=key, max_retries=0) as claude:
        out.append(_dump(claude.messages.create(model=MODEL, max_tokens=12, messages=ASK)))  # type: ignore[arg-type]
        out.append([_dump(e) for e in claude.messages.create(model=MODEL, max_tokens=12, messages=ASK,  # type: ignore[arg-type]
                                                             stream=True)])

    async def asynchronous() -> list[Any]:
        async with openai.AsyncOpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0) as client:
            chat = await client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8)  # type: ignore[arg-type]
        async with anthropic.AsyncAnthropic(base_url=url, api_key=key, max_retries=0) as claude:
            stream = await claude.messages.create(model=MODEL, max_tokens=8, messages=ASK, stream=True)  # type: ignore[arg-type]
            events = [_dump(e) async for e in stream]
        return [_dump(chat), events]

    out.append(asyncio.run(asynchronous()))
    return out


def test_sdks_record_from_llama_cpp_then_replay_offline(tmp_path: Path) -> None:
    local_llm = script()
    started = not local_llm.status(server="llama")["running"]
    url = local_llm.start(server="llama", timeout=300.0)["base_url"]
    key = f"sk-live-{uuid.uuid4().hex}"
    path = tmp_path / "sdks.json"
    try:
        with use_fixture(path, mode="record"):
            recorded = json.loads(json.dumps(_calls(url, key)))
    finally:
        if started:
            local_llm.stop(server="llama")
    text = path.read_text()
    assert key not in text
    interactions = json.loads(text)["interactions"]
    assert len(interactions) == 8
    assert all(i.get("decoded") and "raw" not in i["meta"] for i in interactions), [i["meta"] for i in interactions]
    assert {i["meta"]["protocol"] for i in interactions} == {"openai_chat", "openai_responses", "anthropic"}
    assert list(stale(path)) == []

    with block_network(), use_fixture(path, mode="replay"):
        replayed = json.loads(json.dumps(_calls(url, key)))
    assert replayed == recorded
