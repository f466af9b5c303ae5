"""A three-step tool loop, tested against every wire protocol with one script — and through each official SDK.

Run it: ``python -m pytest examples/test_tool_loop.py``. No key, no server, no recording: the
script's replies are encoded as the exact bytes OpenAI Chat, OpenAI Responses, Anthropic or Gemini
send, chosen per request from the URL it goes to, and decoded by the real client code.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import reqllm
from reqllm_testing import Reply, rate_limited

QUESTION = "What's the weather and the time in Paris?"
ANSWER = "It is 21°C in Paris, and 14:05."


def get_weather(city: str) -> dict[str, Any]:
    return {"city": city, "temp_c": 21}


def local_time(city: str) -> str:
    return "14:05"


TOOLS = {"get_weather": get_weather, "local_time": local_time}
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}

#: The scenario: call a tool, get rate limited once (the client retries), call another, answer.
SCRIPT = [
    Reply(tool_calls=[("get_weather", {"city": "Paris"})]),
    rate_limited(retry_after=0.01),
    Reply(tool_calls=[("local_time", {"city": "Paris"})]),
    Reply(ANSWER),
]


# -- the code under test, written with reqllm --------------------------------------------------------
def agent(model: str, question: str, **options: Any) -> str:
    """Ask, run the tools the model calls, send their results back, until it answers."""
    tools = [reqllm.Tool(name=name, description=f"{name} of a city", parameters=SCHEMA) for name in TOOLS]
    messages = [reqllm.Message.user(question)]
    for _ in range(5):
        response = reqllm.generate_text(model, messages, tools=tools, **options)
        if not response.tool_calls:
            return response.text
        messages.append(response.message)
        messages += [reqllm.Message.tool_result(call, TOOLS[call.name](**call.arguments))
                     for call in response.tool_calls]
    raise RuntimeError("no answer after 5 steps")


MODELS = {
    "openai_chat": ("openai:gpt-4o-mini", {}),
    "openai_responses": ("openai:gpt-4o-mini", {"protocol": "openai_responses"}),
    "anthropic": ("anthropic:claude-3-5-haiku-20241022", {}),
    "gemini": ("google:gemini-2.5-flash", {}),
}


@pytest.mark.parametrize("protocol", list(MODELS))
def test_the_agent_answers_after_two_tools(reqllm_fixture: Any, protocol: str) -> None:
    script = reqllm_fixture.script(*SCRIPT)
    model, options = MODELS[protocol]
    assert agent(model, QUESTION, max_retries=1, **options) == ANSWER
    last = script.requests[-1]  # what the model was sent at the last step, decoded from that protocol
    assert [m.role for m in last.messages] == ["user", "assistant", "tool", "assistant", "tool"]
    assert json.loads(last.messages[2].text) == {"city": "Paris", "temp_c": 21}
    assert last.messages[4].text == "14:05"
    assert last.messages[4].tool_call_id == last.messages[3].tool_calls[0].id


# -- the same loop, written with each official SDK ----------------------------------------------------
def openai_chat_agent(question: str) -> str:
    import openai

    client = openai.OpenAI(api_key="test-key", max_retries=1)
    tools: Any = [{"type": "function", "function": {"name": n, "parameters": SCHEMA}} for n in TOOLS]
    messages: list[Any] = [{"role": "user", "content": question}]
    while True:
        message = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools).choices[0].message
        if not message.tool_calls:
            return message.content or ""
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls:
            result = TOOLS[call.function.name](**json.loads(call.function.arguments))  # type: ignore[union-attr]
            messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})


def openai_responses_agent(question: str) -> str:
    import openai

    client = openai.OpenAI(api_key="test-key", max_retries=1)
    tools: Any = [{"type": "function", "name": n, "parameters": SCHEMA, "strict": False} for n in TOOLS]
    items: list[Any] = [{"role": "user", "content": question}]
    while True:
        response = client.responses.create(model="gpt-4o-mini", input=items, tools=tools)
        calls = [i for i in response.output if i.type == "function_call"]
        if not calls:
            return response.output_text
        items += [i.model_dump(exclude_none=True) for i in response.output]
        items += [{"type": "function_call_output", "call_id": c.call_id,
                   "output": json.dumps(TOOLS[c.name](**json.loads(c.arguments)))} for c in calls]


def anthropic_agent(question: str) -> str:
    import anthropic

    client = anthropic.Anthropic(api_key="test-key", max_retries=1)
    tools: Any = [{"name": n, "input_schema": SCHEMA} for n in TOOLS]
    messages: list[Any] = [{"role": "user", "content": question}]
    while True:
        message = client.messages.create(model="claude-3-5-haiku-latest", max_tokens=256, messages=messages,
                                          tools=tools)
        if message.stop_reason != "tool_use":
            return "".join(b.text for b in message.content if b.type == "text")
        messages.append({"role": "assistant", "content": [b.model_dump() for b in message.content]})
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": b.id, "content": json.dumps(TOOLS[b.name](**b.input))}
            for b in message.content if b.type == "tool_use"]})


def gemini_agent(question: str) -> str:
    from google import genai
    from google.genai import types

    retry = types.HttpRetryOptions(attempts=2, initial_delay=0.01, jitter=0)
    client = genai.Client(api_key="test-key", http_options=types.HttpOptions(retry_options=retry))
    config = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[
        types.FunctionDeclaration(name=n, parameters_json_schema=SCHEMA) for n in TOOLS])])
    contents: list[Any] = [types.Content(role="user", parts=[types.Part(text=question)])]
    while True:
        response = client.models.generate_content(model="gemini-2.5-flash", contents=contents, config=config)
        if not response.function_calls:
            return response.text or ""
        contents.append(response.candidates[0].content)  # type: ignore[index]
        results = [types.Part.from_function_response(name=c.name or "",
                                                     response={"result": TOOLS[c.name or ""](**c.args or {})})
                   for c in response.function_calls]
        contents.append(types.Content(role="user", parts=results))


SDK_AGENTS = {"openai_chat": openai_chat_agent, "openai_responses": openai_responses_agent,
              "anthropic": anthropic_agent, "gemini": gemini_agent}


@pytest.mark.parametrize("protocol", list(SDK_AGENTS))
def test_the_sdk_agent_answers_after_two_tools(reqllm_fixture: Any, protocol: str) -> None:
    script = reqllm_fixture.script(*SCRIPT)  # answers the SDK's own client: nothing to inject
    assert SDK_AGENTS[protocol](QUESTION) == ANSWER
    assert [r.protocol for r in script.requests] == [protocol] * 4
    last = script.requests[-1]
    assert [m.role for m in last.messages] == ["user", "assistant", "tool", "assistant", "tool"]
    assert [c.name for m in last.messages for c in m.tool_calls] == ["get_weather", "local_time"]
