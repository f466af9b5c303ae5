"""A short offline tour of reqllm: text, a stream, a tool call and an object, against a local fake.

Nothing leaves the machine: the "provider" is an httpx.MockTransport that answers in OpenAI's
Chat Completions wire format, handed to reqllm through ``http_client=`` like any httpx client.
"""

from __future__ import annotations

import json

import httpx
from pydantic import BaseModel

import reqllm


def fake_openai(request: httpx.Request) -> httpx.Response:
    """Answer like api.openai.com would, for the four calls below."""
    body = json.loads(request.content)
    usage = {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
    if body.get("stream"):
        deltas = ["Hello", ", ", "world", "!"]
        events = [{"choices": [{"index": 0, "delta": {"content": d}, "finish_reason": None}]} for d in deltas]
        events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        events.append({"choices": [], "usage": usage})
        sse = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        return httpx.Response(200, text=sse, headers={"content-type": "text/event-stream"})
    if body.get("tools"):
        call = {"id": "call_1", "type": "function",
                "function": {"name": "get_weather", "arguments": json.dumps({"city": "Paris"})}}
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        return httpx.Response(200, json={"id": "c1", "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls"}], "usage": usage})
    if body.get("response_format"):
        content = json.dumps({"name": "Ada Lovelace", "born": 1815})
    else:
        content = "Paris is the capital of France."
    return httpx.Response(200, json={"id": "c2", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": usage})


class Person(BaseModel):
    name: str
    born: int


def main() -> None:
    client = httpx.Client(transport=httpx.MockTransport(fake_openai))
    opts = {"api_key": "offline-demo", "http_client": client}
    model = "openai:gpt-4o-mini"

    response = reqllm.generate_text(model, "What is the capital of France?", **opts)
    print("text:   ", response.text, f"({response.usage.total_tokens} tokens, ${response.usage.cost:.7f})")

    stream = reqllm.stream_text(model, "Say hello", **opts)
    print("stream: ", "".join(stream.text_stream()), "->", stream.to_response().finish_reason)

    weather = reqllm.Tool(name="get_weather", description="Weather for a city",
                          parameters={"type": "object", "properties": {"city": {"type": "string"}}})
    answer = reqllm.generate_text(model, "Weather in Paris?", tools=[weather], **opts)
    print("tools:  ", [(c.name, c.arguments) for c in answer.tool_calls], answer.finish_reason)

    person = reqllm.generate_object(model, "Who wrote the first program?", Person, **opts)
    print("object: ", repr(person.object))

    try:
        reqllm.generate_text(model, "hi", temprature=0.2, **opts)
    except reqllm.ReqLLMError as error:
        print("error:  ", error)


if __name__ == "__main__":
    main()
