"""Calls of the official SDKs (and one framework) as an application writes them: its own client,
an explicit ``base_url``, nothing about fixtures. Each case returns the SDK objects as ``model_dump()``
data, so a recording and its replay can be compared. ``test_sdk_capture.py`` runs them under pytester.

Every client gets ``key`` as its API key and as a custom header (``x-canary``), to prove neither is
written anywhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

__all__ = ["CASES"]

Case = Callable[[str, str], Any]


def _dump(obj: Any) -> Any:
    return obj.model_dump(mode="json", exclude={"sdk_http_response"})


def _openai(url: str, key: str, asynchronous: bool = False) -> Any:
    import openai

    cls = openai.AsyncOpenAI if asynchronous else openai.OpenAI
    return cls(base_url=f"{url}/v1", api_key=key, default_headers={"x-canary": key}, max_retries=0)


def openai_chat(url: str, key: str) -> Any:
    with _openai(url, key) as client:
        return _dump(client.chat.completions.create(model="gpt-4o-mini",
                                                    messages=[{"role": "user", "content": "hi chat"}]))


def openai_chat_stream(url: str, key: str) -> Any:
    with _openai(url, key) as client:
        stream = client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                messages=[{"role": "user", "content": "hi stream"}])
        return [_dump(chunk) for chunk in stream]


def openai_responses(url: str, key: str) -> Any:
    with _openai(url, key) as client:
        return _dump(client.responses.create(model="gpt-4o-mini", input="hi responses"))


def openai_responses_stream(url: str, key: str) -> Any:
    with _openai(url, key) as client:
        return [_dump(event) for event in client.responses.create(model="gpt-4o-mini", input="hi rs",
                                                                   stream=True)]


def openai_embeddings(url: str, key: str) -> Any:
    with _openai(url, key) as client:
        return _dump(client.embeddings.create(model="text-embedding-3-small", input=["one", "three"]))


async def _openai_async(url: str, key: str) -> Any:
    async with _openai(url, key, asynchronous=True) as client:
        chat = await client.chat.completions.create(model="gpt-4o-mini",
                                                    messages=[{"role": "user", "content": "hi async"}])
        stream = await client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                      messages=[{"role": "user", "content": "hi astream"}])
        chunks = [_dump(chunk) async for chunk in stream]
        response = await client.responses.create(model="gpt-4o-mini", input="hi aresponses")
        events = await client.responses.create(model="gpt-4o-mini", input="hi ars", stream=True)
        streamed = [_dump(event) async for event in events]
        embedded = await client.embeddings.create(model="text-embedding-3-small", input="async")
        return [_dump(chat), chunks, _dump(response), streamed, _dump(embedded)]


def openai_async(url: str, key: str) -> Any:
    return asyncio.run(_openai_async(url, key))


def _anthropic(url: str, key: str, asynchronous: bool = False) -> Any:
    import anthropic

    cls = anthropic.AsyncAnthropic if asynchronous else anthropic.Anthropic
    return cls(base_url=url, api_key=key, default_headers={"x-canary": key}, max_retries=0)


def anthropic_messages(url: str, key: str) -> Any:
    with _anthropic(url, key) as client:
        return _dump(client.messages.create(model="claude-3-5-haiku-latest", max_tokens=64,
                                            messages=[{"role": "user", "content": "hi claude"}]))


def anthropic_messages_stream(url: str, key: str) -> Any:
    with _anthropic(url, key) as client:
        stream = client.messages.create(model="claude-3-5-haiku-latest", max_tokens=64, stream=True,
                                        messages=[{"role": "user", "content": "hi cstream"}])
        return [_dump(event) for event in stream]


async def _anthropic_async(url: str, key: str) -> Any:
    async with _anthropic(url, key, asynchronous=True) as client:
        message = await client.messages.create(model="claude-3-5-haiku-latest", max_tokens=64,
                                               messages=[{"role": "user", "content": "hi aclaude"}])
        stream = await client.messages.create(model="claude-3-5-haiku-latest", max_tokens=64, stream=True,
                                              messages=[{"role": "user", "content": "hi acstream"}])
        return [_dump(message), [_dump(event) async for event in stream]]


def anthropic_async(url: str, key: str) -> Any:
    return asyncio.run(_anthropic_async(url, key))


def _genai(url: str, key: str) -> Any:
    from google import genai
    from google.genai import types

    return genai.Client(api_key=key, http_options=types.HttpOptions(base_url=url, headers={"x-canary": key}))


def gemini_generate(url: str, key: str) -> Any:
    with _genai(url, key) as client:
        return _dump(client.models.generate_content(model="gemini-2.0-flash", contents="hi gemini"))


def gemini_generate_stream(url: str, key: str) -> Any:
    with _genai(url, key) as client:
        return [_dump(r) for r in client.models.generate_content_stream(model="gemini-2.0-flash",
                                                                         contents="hi gstream")]


async def _gemini_async(url: str, key: str) -> Any:
    client = _genai(url, key)
    try:
        response = await client.aio.models.generate_content(model="gemini-2.0-flash", contents="hi agemini")
        stream = await client.aio.models.generate_content_stream(model="gemini-2.0-flash", contents="hi ags")
        return [_dump(response), [_dump(r) async for r in stream]]
    finally:
        await client.aio.aclose()
        client.close()


def gemini_async(url: str, key: str) -> Any:
    return asyncio.run(_gemini_async(url, key))


def langchain_openai(url: str, key: str) -> Any:
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(model="gpt-4o-mini", base_url=f"{url}/v1", api_key=key,  # type: ignore[arg-type]
                       default_headers={"x-canary": key}, max_retries=0)
    message = model.invoke("hi langchain")
    streamed = "".join(str(chunk.content) for chunk in model.stream("hi lstream"))
    return {"content": message.content, "metadata": message.response_metadata,  # its id is a run id
            "usage": message.usage_metadata, "streamed": streamed}


CASES: dict[str, Case] = {f.__name__: f for f in (
    openai_chat, openai_chat_stream, openai_responses, openai_responses_stream, openai_embeddings, openai_async,
    anthropic_messages, anthropic_messages_stream, anthropic_async,
    gemini_generate, gemini_generate_stream, gemini_async, langchain_openai)}
