"""The public calls: generate_text, stream_text, generate_object, embed, and their async twins.

Each one: resolve and validate (raising before any request) -> build -> send (retries, timeout,
telemetry) -> decode -> Response.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ._http import Exchange, prepare
from ._schema import ObjectSchema
from ._stream import finish_response
from ._streaming import AsyncStreamResponse, StreamResponse
from ._types import EmbedResponse, ObjectResponse, Response
from ._usage import build_usage
from .errors import InvalidOptionError, ReqLLMError
from .providers.base import OBJECT_TOOL_NAME, Decoded, DecodedEmbeddings
from .registry import Model

__all__ = [
    "aembed",
    "agenerate_object",
    "agenerate_text",
    "astream_text",
    "embed",
    "generate_object",
    "generate_text",
    "stream_text",
]

ModelLike = str | Model


def _response(exchange: Exchange, body: Any) -> Response:
    decoded = exchange.parse(body)
    if not isinstance(decoded, Decoded):
        raise TypeError(f"{exchange.protocol.id}.parse_response returned {type(decoded).__name__}")
    return finish_response(exchange.call, decoded.message, decoded.finish_reason, decoded.usage, decoded.id,
                           body)


def _complete_sync(exchange: Exchange) -> Response:
    exchange.event("request.start")
    try:
        response = exchange.send_sync(exchange.build(), stream=False)
        result = _response(exchange, exchange.decode_json(response))
    except ReqLLMError as exc:
        exchange.fail(exc)
        raise
    exchange.succeed(result)
    return result


async def _complete_async(exchange: Exchange) -> Response:
    exchange.event("request.start")
    try:
        response = await exchange.send_async(await exchange.abuild(), stream=False)
        result = _response(exchange, exchange.decode_json(response))
    except ReqLLMError as exc:
        exchange.fail(exc)
        raise
    exchange.succeed(result)
    return result


def generate_text(model: ModelLike, messages: Any, **opts: Any) -> Response:
    """Generate a complete answer for ``messages`` (a string, Messages or OpenAI-style dicts)."""
    return _complete_sync(prepare("chat", model, opts, messages=messages))


async def agenerate_text(model: ModelLike, messages: Any, **opts: Any) -> Response:
    """Async twin of generate_text."""
    return await _complete_async(prepare("chat", model, opts, messages=messages))


def stream_text(model: ModelLike, messages: Any, **opts: Any) -> StreamResponse:
    """Stream an answer: iterate the result for StreamChunks, then call ``.to_response()``."""
    exchange = prepare("chat", model, opts, messages=messages, stream=True)
    exchange.event("request.start")
    return StreamResponse(exchange)


def astream_text(model: ModelLike, messages: Any, **opts: Any) -> AsyncStreamResponse:
    """Async twin of stream_text: an async iterator of StreamChunks (input errors raise at once)."""
    exchange = prepare("chat", model, opts, messages=messages, stream=True)
    exchange.event("request.start")
    return AsyncStreamResponse(exchange)


# -- objects -----------------------------------------------------------------------------------
def _prepare_object(model: ModelLike, messages: Any, schema: Any, opts: dict[str, Any]) -> tuple[Exchange,
                                                                                                 ObjectSchema]:
    target = ObjectSchema(schema, opts.pop("schema_name", None))
    exchange = prepare("object", model, opts, messages=messages, schema=target.json_schema,
                       schema_name=target.name)
    return exchange, target


def _object(response: Response, target: ObjectSchema) -> ObjectResponse:
    call = next((c for c in response.tool_calls if c.name == OBJECT_TOOL_NAME), None)
    if call is not None:
        import json

        raw_text = json.dumps(call.arguments)
        value: Any = target.validate(call.arguments, raw_text)
    else:
        value = target.validate(response.text, response.text)
    fields = {f: getattr(response, f) for f in type(response).model_fields}
    return ObjectResponse(**fields, object=value)


def generate_object(model: ModelLike, messages: Any, schema: Any, **opts: Any) -> ObjectResponse:
    """Generate an object matching ``schema`` (a pydantic class gives an instance, a dict a dict)."""
    exchange, target = _prepare_object(model, messages, schema, opts)
    return _object(_complete_sync(exchange), target)


async def agenerate_object(model: ModelLike, messages: Any, schema: Any, **opts: Any) -> ObjectResponse:
    """Async twin of generate_object."""
    exchange, target = _prepare_object(model, messages, schema, opts)
    return _object(await _complete_async(exchange), target)


# -- embeddings ---------------------------------------------------------------------------------
def _prepare_embed(model: ModelLike, input: Any, opts: dict[str, Any]) -> Exchange:
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


def embed(model: ModelLike, input: str | list[str], **opts: Any) -> EmbedResponse:
    """Embed a string or a list of strings; ``.embeddings`` is in input order."""
    exchange = _prepare_embed(model, input, opts)
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


async def aembed(model: ModelLike, input: str | list[str], **opts: Any) -> EmbedResponse:
    """Async twin of embed."""
    exchange = _prepare_embed(model, input, opts)
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
