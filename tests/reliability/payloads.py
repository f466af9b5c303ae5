"""Realistic, valid provider payloads (written from each API's documented format) to break on purpose.

Each protocol has a ``Case``: the model spec that selects it, a non-stream JSON body with text,
reasoning and a tool call, and a stream as a list of ``(event name or None, data)`` pairs that
ends with the protocol's terminal event. Fault and fuzz tests start from these and damage them.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

Event = tuple[str | None, Any]


@dataclasses.dataclass(frozen=True, repr=False)
class Case:
    """One wire protocol's valid traffic (and an error body it documents)."""

    protocol: str
    model: str
    body: dict[str, Any]
    events: list[Event]
    error: dict[str, Any]
    options: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __str__(self) -> str:
        return self.protocol

    def __repr__(self) -> str:
        return f"<{self.protocol} case>"


def encode(events: list[Event], *, newline: str = "\n") -> bytes:
    """SSE bytes for ``events`` (data JSON-encoded unless already a string)."""
    out = []
    for name, data in events:
        text = data if isinstance(data, str) else json.dumps(data)
        lines = ([f"event: {name}"] if name else []) + [f"data: {text}", "", ""]
        out.append(newline.join(lines))
    return "".join(out).encode("utf-8", "surrogatepass")  # hypothesis draws lone surrogates too


# -- OpenAI Chat Completions ---------------------------------------------------------------------
def _chat_chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": "chatcmpl-9zR", "object": "chat.completion.chunk", "created": 1727000000,
            "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_1",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}], **extra}


OPENAI_CHAT = Case(
    protocol="openai_chat",
    model="openai:gpt-4o-mini",
    error={"error": {"message": "Rate limit reached for gpt-4o-mini in organization org-x on requests "
                                "per min (RPM): Limit 3, Used 3, Requested 1.",
                     "type": "requests", "param": None, "code": "rate_limit_exceeded"}},
    body={
        "id": "chatcmpl-9zR", "object": "chat.completion", "created": 1727000000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "logprobs": None, "message": {
            "role": "assistant", "content": "Hello there", "refusal": None,
            "tool_calls": [{"id": "call_abc", "type": "function",
                            "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]}}],
        "usage": {"prompt_tokens": 19, "completion_tokens": 12, "total_tokens": 31,
                  "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                  "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0}},
        "system_fingerprint": "fp_1",
    },
    events=[
        (None, _chat_chunk({"role": "assistant", "content": "", "refusal": None})),
        (None, _chat_chunk({"content": "Hel"})),
        (None, _chat_chunk({"content": "lo"})),
        (None, _chat_chunk({"tool_calls": [{"index": 0, "id": "call_abc", "type": "function",
                                            "function": {"name": "get_weather", "arguments": ""}}]})),
        (None, _chat_chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\": "}}]})),
        (None, _chat_chunk({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]})),
        (None, _chat_chunk({}, "tool_calls")),
        (None, {"id": "chatcmpl-9zR", "object": "chat.completion.chunk", "created": 1727000000,
                "model": "gpt-4o-mini-2024-07-18", "choices": [],
                "usage": {"prompt_tokens": 19, "completion_tokens": 12, "total_tokens": 31,
                          "prompt_tokens_details": {"cached_tokens": 0},
                          "completion_tokens_details": {"reasoning_tokens": 0}}}),
        (None, "[DONE]"),
    ],
)

# -- Anthropic Messages --------------------------------------------------------------------------
ANTHROPIC = Case(
    protocol="anthropic",
    model="anthropic:claude-3-5-haiku-20241022",
    error={"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"},
           "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"},
    body={
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
        "model": "claude-3-5-haiku-20241022",
        "content": [
            {"type": "thinking", "thinking": "The user greets me.", "signature": "EqQBCgIYAhIM1gbc"},
            {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
            {"type": "text", "text": "Hello there"},
            {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather",
             "input": {"city": "Paris"}},
        ],
        "stop_reason": "tool_use", "stop_sequence": None,
        "usage": {"input_tokens": 25, "output_tokens": 40, "cache_creation_input_tokens": 0,
                  "cache_read_input_tokens": 0},
    },
    events=[
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant", "content": [],
            "model": "claude-3-5-haiku-20241022", "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 25, "output_tokens": 1, "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "thinking_delta", "thinking": "The user greets me."}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIM1gbc"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("content_block_start", {"type": "content_block_start", "index": 1,
                                 "content_block": {"type": "text", "text": ""}}),
        ("ping", {"type": "ping"}),
        ("content_block_delta", {"type": "content_block_delta", "index": 1,
                                 "delta": {"type": "text_delta", "text": "Hel"}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 1,
                                 "delta": {"type": "text_delta", "text": "lo"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        ("content_block_start", {"type": "content_block_start", "index": 2, "content_block": {
            "type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {}}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 2,
                                 "delta": {"type": "input_json_delta", "partial_json": "{\"city\": "}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 2,
                                 "delta": {"type": "input_json_delta", "partial_json": "\"Paris\"}"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 2}),
        ("message_delta", {"type": "message_delta", "usage": {"output_tokens": 40},
                           "delta": {"stop_reason": "tool_use", "stop_sequence": None}}),
        ("message_stop", {"type": "message_stop"}),
    ],
)

# -- OpenAI Responses ----------------------------------------------------------------------------
_RESPONSE = {
    "id": "resp_67ccd2bed1ec8190b14f964abc054267", "object": "response", "created_at": 1741476542,
    "status": "completed", "error": None, "incomplete_details": None, "model": "gpt-4o-2024-08-06",
    "output": [
        {"type": "reasoning", "id": "rs_1",
         "summary": [{"type": "summary_text", "text": "The user greets me."}]},
        {"type": "message", "id": "msg_67ccd2bf17f0819081ff3bb2cf6508e6", "status": "completed",
         "role": "assistant", "content": [{"type": "output_text", "text": "Hello there", "annotations": []}]},
        {"type": "function_call", "id": "fc_1", "call_id": "call_abc", "name": "get_weather",
         "arguments": "{\"city\": \"Paris\"}", "status": "completed"},
    ],
    "usage": {"input_tokens": 36, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 87,
              "output_tokens_details": {"reasoning_tokens": 10}, "total_tokens": 123},
}
_IN_PROGRESS = {**_RESPONSE, "status": "in_progress", "output": [], "usage": None}

OPENAI_RESPONSES = Case(
    protocol="openai_responses",
    model="openai:gpt-4o",
    error={"error": {"message": "The server had an error while processing your request.",
                     "type": "server_error", "param": None, "code": None}},
    options={"protocol": "openai_responses"},
    body=_RESPONSE,
    events=[
        ("response.created", {"type": "response.created", "sequence_number": 0, "response": _IN_PROGRESS}),
        ("response.in_progress", {"type": "response.in_progress", "sequence_number": 1,
                                  "response": _IN_PROGRESS}),
        ("response.output_item.added", {"type": "response.output_item.added", "sequence_number": 2,
                                        "output_index": 0, "item": {"type": "reasoning", "id": "rs_1",
                                                                    "summary": []}}),
        ("response.reasoning_summary_text.delta", {
            "type": "response.reasoning_summary_text.delta", "sequence_number": 3, "item_id": "rs_1",
            "output_index": 0, "summary_index": 0, "delta": "The user greets me."}),
        ("response.output_item.done", {"type": "response.output_item.done", "sequence_number": 4,
                                       "output_index": 0, "item": _RESPONSE["output"][0]}),
        ("response.output_item.added", {
            "type": "response.output_item.added", "sequence_number": 5, "output_index": 1,
            "item": {"type": "message", "id": "msg_1", "status": "in_progress", "role": "assistant",
                     "content": []}}),
        ("response.content_part.added", {
            "type": "response.content_part.added", "sequence_number": 6, "item_id": "msg_1",
            "output_index": 1, "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": []}}),
        ("response.output_text.delta", {"type": "response.output_text.delta", "sequence_number": 7,
                                        "item_id": "msg_1", "output_index": 1, "content_index": 0,
                                        "delta": "Hel"}),
        ("response.output_text.delta", {"type": "response.output_text.delta", "sequence_number": 8,
                                        "item_id": "msg_1", "output_index": 1, "content_index": 0,
                                        "delta": "lo"}),
        ("response.output_text.done", {"type": "response.output_text.done", "sequence_number": 9,
                                       "item_id": "msg_1", "output_index": 1, "content_index": 0,
                                       "text": "Hello"}),
        ("response.output_item.added", {
            "type": "response.output_item.added", "sequence_number": 10, "output_index": 2,
            "item": {"type": "function_call", "id": "fc_1", "call_id": "call_abc", "name": "get_weather",
                     "arguments": "", "status": "in_progress"}}),
        ("response.function_call_arguments.delta", {
            "type": "response.function_call_arguments.delta", "sequence_number": 11, "item_id": "fc_1",
            "output_index": 2, "delta": "{\"city\": "}),
        ("response.function_call_arguments.delta", {
            "type": "response.function_call_arguments.delta", "sequence_number": 12, "item_id": "fc_1",
            "output_index": 2, "delta": "\"Paris\"}"}),
        ("response.function_call_arguments.done", {
            "type": "response.function_call_arguments.done", "sequence_number": 13, "item_id": "fc_1",
            "output_index": 2, "arguments": "{\"city\": \"Paris\"}"}),
        ("response.output_item.done", {"type": "response.output_item.done", "sequence_number": 14,
                                       "output_index": 2, "item": _RESPONSE["output"][2]}),
        ("response.completed", {"type": "response.completed", "sequence_number": 15, "response": _RESPONSE}),
    ],
)

# -- Gemini --------------------------------------------------------------------------------------
_GEMINI_USAGE = {"promptTokenCount": 8, "candidatesTokenCount": 12, "totalTokenCount": 30,
                 "thoughtsTokenCount": 10, "cachedContentTokenCount": 0}

GEMINI = Case(
    protocol="gemini",
    model="google:gemini-2.0-flash",
    error={"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).",
                     "status": "RESOURCE_EXHAUSTED", "details": [
                         {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
                             {"quotaMetric": "generativelanguage.googleapis.com/"
                                             "generate_content_free_tier_requests",
                              "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
                         {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.01s"}]}},
    body={
        "candidates": [{"index": 0, "finishReason": "STOP", "content": {"role": "model", "parts": [
            {"text": "The user greets me.", "thought": True},
            {"text": "Hello there"},
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
             "thoughtSignature": "CiwBVKhc7nR"},
        ]}}],
        "usageMetadata": _GEMINI_USAGE, "modelVersion": "gemini-2.0-flash", "responseId": "mGZdaLuRMsWmz7IP",
    },
    events=[
        (None, {"candidates": [{"index": 0, "content": {"role": "model", "parts": [
            {"text": "The user greets me.", "thought": True}]}}],
                "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8},
                "modelVersion": "gemini-2.0-flash", "responseId": "mGZdaLuRMsWmz7IP"}),
        (None, {"candidates": [{"index": 0, "content": {"role": "model", "parts": [{"text": "Hel"}]}}],
                "modelVersion": "gemini-2.0-flash", "responseId": "mGZdaLuRMsWmz7IP"}),
        (None, {"candidates": [{"index": 0, "content": {"role": "model", "parts": [{"text": "lo"}]}}],
                "modelVersion": "gemini-2.0-flash", "responseId": "mGZdaLuRMsWmz7IP"}),
        (None, {"candidates": [{"index": 0, "finishReason": "STOP", "content": {"role": "model", "parts": [
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
             "thoughtSignature": "CiwBVKhc7nR"}]}}],
                "usageMetadata": _GEMINI_USAGE, "modelVersion": "gemini-2.0-flash",
                "responseId": "mGZdaLuRMsWmz7IP"}),
    ],
)

CASES = [OPENAI_CHAT, ANTHROPIC, OPENAI_RESPONSES, GEMINI]
