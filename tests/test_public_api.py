"""The public surface: ``reqllm.__all__`` is complete, sorted and importable; the documented names exist."""

from __future__ import annotations

import inspect

import reqllm
from reqllm import errors

DOCUMENTED = [
    "generate_text", "stream_text", "generate_object", "embed",
    "agenerate_text", "astream_text", "agenerate_object", "aembed",
    "Response", "StreamResponse", "AsyncStreamResponse", "StreamChunk", "Usage", "Message", "Tool",
    "ToolCall", "TextPart", "ThinkingPart", "ImagePart", "ObjectResponse", "EmbedResponse", "Model",
    "Provider",
    "ReqLLMError", "errors", "telemetry", "model", "models", "providers", "register_provider",
    "register_model", "reload", "SSEDecoder", "ServerSentEvent",
]


def test_all_is_sorted_and_every_name_exists() -> None:
    assert reqllm.__all__ == sorted(reqllm.__all__)
    assert len(set(reqllm.__all__)) == len(reqllm.__all__)
    for name in reqllm.__all__:
        assert hasattr(reqllm, name), name


def test_documented_names_are_exported() -> None:
    missing = [n for n in DOCUMENTED if n not in reqllm.__all__]
    assert missing == []


def test_every_public_module_attribute_is_in_all() -> None:
    public = {n for n, v in vars(reqllm).items() if not n.startswith("_") and not inspect.ismodule(v)}
    assert public - set(reqllm.__all__) == set()


def test_async_twins_are_coroutines_and_sync_calls_are_not() -> None:
    for name in ("agenerate_text", "agenerate_object", "aembed"):
        assert inspect.iscoroutinefunction(getattr(reqllm, name)), name
    for name in ("generate_text", "generate_object", "embed", "stream_text", "astream_text"):
        assert not inspect.iscoroutinefunction(getattr(reqllm, name)), name
    sync, async_ = inspect.signature(reqllm.generate_text), inspect.signature(reqllm.agenerate_text)
    assert sync.parameters.keys() == async_.parameters.keys()


def test_response_surface() -> None:
    for attr in ("text", "thinking", "tool_calls", "finish_reason", "usage", "message", "model", "raw", "id"):
        assert hasattr(reqllm.Response, attr) or attr in reqllm.Response.model_fields, attr
    assert hasattr(reqllm.StreamResponse, "to_response") and hasattr(reqllm.StreamResponse, "text_stream")
    assert hasattr(reqllm.AsyncStreamResponse, "to_response")
    assert set(reqllm.Usage.model_fields) == {
        "input_tokens", "output_tokens", "total_tokens", "reasoning_tokens", "cached_tokens",
        "cache_write_tokens", "cost"}
    for helper in ("user", "system", "assistant", "tool_result"):
        assert callable(getattr(reqllm.Message, helper)), helper
    chunk = reqllm.StreamChunk("tool_call", id="c1", name="f", arguments='{"a"', index=1)
    assert reqllm.StreamChunk.from_dict(chunk.to_dict()) == chunk
    assert reqllm.StreamChunk("content", text="x").to_dict() == {"type": "content", "text": "x"}


def test_errors_are_reachable_from_the_package() -> None:
    assert reqllm.errors is errors and reqllm.ReqLLMError is errors.ReqLLMError
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), reqllm.ReqLLMError)


def test_public_callables_are_documented() -> None:
    for name in reqllm.__all__:
        value = getattr(reqllm, name)
        if callable(value):
            assert inspect.getdoc(value), f"reqllm.{name} has no docstring"
