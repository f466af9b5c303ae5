"""The public calls: generate_text, stream_text, generate_object, stream_object, embed, and async twins.

Each one: resolve and validate (raising before any request) -> build -> send (retries, timeout,
telemetry) -> decode -> Response. Tool loops, fallbacks (``model=[...]``) and usage limits are driven
from above one exchange, in ``reqllm._loop`` (streams: ``reqllm._loop_stream``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from . import _loop, _loop_stream
from ._attempt import Attempt, object_of
from ._http import Exchange, prepare
from ._object_stream import AsyncObjectStreamResponse, ObjectStreamResponse
from ._schema import ObjectSchema
from ._streaming import AsyncStreamResponse, StreamResponse
from ._types import EmbedResponse, ObjectResponse, Response
from ._usage import build_usage
from .errors import InvalidOptionError, ReqLLMError
from .providers.base import DecodedEmbeddings
from .registry import Model

__all__ = [
    "aembed",
    "agenerate_object",
    "agenerate_text",
    "astream_object",
    "astream_text",
    "embed",
    "generate_object",
    "generate_text",
    "stream_object",
    "stream_text",
]

#: A spec ("provider:model"), a Model, or a list of them tried in order (fallbacks).
ModelLike = str | Model | list[str | Model]


def generate_text(model: ModelLike, messages: Any, **opts: Any) -> Response:
    """Generate a complete answer for ``messages`` (a string, Messages or OpenAI-style dicts).

    With ``tools=[...]`` whose ``callable`` is set and ``max_steps=N``, runs the tool loop.
    """
    return _loop.run_sync(_loop.start("chat", model, opts, messages=messages))


async def agenerate_text(model: ModelLike, messages: Any, **opts: Any) -> Response:
    """Async twin of generate_text (the tool calls of one step run concurrently)."""
    return await _loop.run_async(_loop.start("chat", model, opts, messages=messages))


def stream_text(model: ModelLike, messages: Any, **opts: Any) -> StreamResponse:
    """Stream an answer: iterate the result for StreamChunks, then call ``.to_response()``."""
    return _loop_stream.LoopStream(_loop.start("chat", model, opts, messages=messages, stream=True))


def astream_text(model: ModelLike, messages: Any, **opts: Any) -> AsyncStreamResponse:
    """Async twin of stream_text: an async iterator of StreamChunks (input errors raise at once)."""
    return _loop_stream.AsyncLoopStream(_loop.start("chat", model, opts, messages=messages, stream=True))


# -- objects -----------------------------------------------------------------------------------
def _start_object(model: ModelLike, messages: Any, schema: Any, opts: dict[str, Any],
                  stream: bool = False) -> tuple[_loop.Run, ObjectSchema]:
    opts = dict(opts)
    target = ObjectSchema(schema, opts.pop("schema_name", None))
    run = _loop.start("object", model, opts, messages=messages, stream=stream, schema=target.json_schema,
                      schema_name=target.name)
    return run, target


def generate_object(model: ModelLike, messages: Any, schema: Any, **opts: Any) -> ObjectResponse:
    """Generate an object matching ``schema`` (a pydantic class gives an instance, a dict a dict)."""
    run, target = _start_object(model, messages, schema, opts)
    return object_of(_loop.run_sync(run), target)


async def agenerate_object(model: ModelLike, messages: Any, schema: Any, **opts: Any) -> ObjectResponse:
    """Async twin of generate_object."""
    run, target = _start_object(model, messages, schema, opts)
    return object_of(await _loop.run_async(run), target)


def stream_object(model: ModelLike, messages: Any, schema: Any, **opts: Any) -> ObjectStreamResponse:
    """Stream an object: iterate for partial dicts as the JSON arrives, then ``.to_response()``."""
    run, target = _start_object(model, messages, schema, opts, stream=True)
    return ObjectStreamResponse(_loop_stream.LoopStream(run), target)


def astream_object(model: ModelLike, messages: Any, schema: Any, **opts: Any) -> AsyncObjectStreamResponse:
    """Async twin of stream_object."""
    run, target = _start_object(model, messages, schema, opts, stream=True)
    return AsyncObjectStreamResponse(_loop_stream.AsyncLoopStream(run), target)


# -- embeddings ---------------------------------------------------------------------------------
def _prepare_embed(model: str | Model, input: Any, opts: dict[str, Any]) -> Exchange:
    inputs = [input] if isinstance(input, str) else input
    valid = isinstance(inputs, list | tuple) and inputs and all(isinstance(i, str) and i for i in inputs)
    if not valid:
        raise InvalidOptionError("embed input must be a non-empty string or a non-empty list of them")
    return prepare("embed", model, opts, inputs=list(inputs))


def _batches(exchange: Exchange) -> list[Any]:
    size = exchange.protocol.embed_batch_size
    inputs = exchange.call.input
    return [dataclasses.replace(exchange.call, input=inputs[i:i + size]) for i in range(0, len(inputs), size)]


def _embed_result(exchange: Exchange, parts: list[DecodedEmbeddings], bodies: list[Any]) -> EmbedResponse:
    vectors = [v for p in parts for v in p.embeddings]
    if len(vectors) != len(exchange.call.input):
        from .errors import ResponseDecodeError

        raise ResponseDecodeError(f"{len(vectors)} embeddings for {len(exchange.call.input)} inputs",
                                  provider=exchange.info.provider, field="embeddings")
    counts: dict[str, int] = {}
    for p in parts:
        for key, value in (p.usage or {}).items():
            counts[key] = counts.get(key, 0) + value
    return EmbedResponse(model=exchange.call.model.spec, embeddings=vectors,
                         usage=build_usage(counts, exchange.call.model),
                         raw=bodies[0] if len(bodies) == 1 else bodies)


def embed(model: str | Model, input: str | list[str], **opts: Any) -> EmbedResponse:
    """Embed a string or a list of strings; ``.embeddings`` is in input order."""
    exchange = Attempt.of(_prepare_embed(model, input, opts))
    exchange.event("request.start")
    try:
        parts, bodies = [], []
        for call in _batches(exchange):
            body = exchange.decode_json(exchange.send_sync(exchange.build(call), stream=False))
            parts.append(exchange.parse(body, call))
            bodies.append(body)
        result = _embed_result(exchange, parts, bodies)
    except ReqLLMError as exc:
        exchange.fail(exc)
        raise
    exchange.succeed(result)
    return result


async def aembed(model: str | Model, input: str | list[str], **opts: Any) -> EmbedResponse:
    """Async twin of embed."""
    exchange = Attempt.of(_prepare_embed(model, input, opts))
    exchange.event("request.start")
    try:
        parts, bodies = [], []
        for call in _batches(exchange):
            body = exchange.decode_json(await exchange.send_async(await exchange.abuild(call), stream=False))
            parts.append(exchange.parse(body, call))
            bodies.append(body)
        result = _embed_result(exchange, parts, bodies)
    except ReqLLMError as exc:
        exchange.fail(exc)
        raise
    exchange.succeed(result)
    return result
