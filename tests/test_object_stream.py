"""stream_object on every protocol: partial objects as the JSON arrives, then the validated object.

Native protocols stream the object as text (response format, responseJsonSchema); Anthropic streams
it as the forced tool call's arguments. Either way each partial is a prefix of the final object.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import pytest

import reqllm
from reqllm.errors import ObjectValidationError
from reqllm.providers.base import OBJECT_TOOL_NAME
from tests.test_loop import row
from tests.test_protocol_table import (
    CITY_SCHEMA,
    ZURICH,
    Answer,
    Case,
    City,
    Counts,
    Fn,
    Server,
    each,
    expected,
    model_of,
    stream_reply,
)


def object_answer(case: Case, value: Any) -> Answer:
    usage = Counts(60, 25)
    if case.object_mode == "native":
        return Answer(text=json.dumps(value, ensure_ascii=False), usage=usage)
    return Answer(calls=(Fn("Ob7", OBJECT_TOOL_NAME, value),), finish="tool_calls", usage=usage, forced=True)


def grows_into(partial: Any, final: Any) -> bool:
    """True when ``final`` can only extend ``partial``: strings grow, containers gain members."""
    if isinstance(partial, dict):
        return isinstance(final, dict) and all(k in final and grows_into(v, final[k]) for k, v in partial.items())
    if isinstance(partial, list):
        return isinstance(final, list) and len(partial) <= len(final) and all(
            grows_into(p, f) for p, f in zip(partial, final, strict=False))
    if isinstance(partial, str):
        return isinstance(final, str) and final.startswith(partial)
    return bool(partial == final)


def open_stream(case: Case, server: Server, schema: Any, asynchronous: bool = False) -> Any:
    import httpx

    client: Any = (httpx.AsyncClient if asynchronous else httpx.Client)(transport=httpx.MockTransport(server))
    call = reqllm.astream_object if asynchronous else reqllm.stream_object
    return call(model_of(case), "Décris Zürich.", schema, api_key="test-key", max_retries=0, http_client=client,
                **case.options)


@each("sync-pydantic", "sync-dict", "async-dict")
def test_partial_objects_grow_into_the_validated_object(case: Case, variant: str) -> None:
    answer = object_answer(case, ZURICH)
    server = Server(stream_reply(case.wire.head(answer) + case.wire.tail(answer)))
    schema: Any = City if variant.endswith("pydantic") else CITY_SCHEMA

    if variant.startswith("async"):
        async def consume() -> tuple[list[Any], reqllm.ObjectResponse]:
            stream = open_stream(case, server, schema, asynchronous=True)
            partials = [p async for p in stream]
            return partials, await stream.to_response()

        partials, result = asyncio.run(consume())
    else:
        stream = open_stream(case, server, schema)
        partials = list(stream)
        result = stream.to_response()

    assert len(partials) >= 2, "the object arrived in pieces"
    assert all(isinstance(p, dict) for p in partials)
    assert all(grows_into(p, ZURICH) for p in partials)
    assert all(grows_into(a, b) for a, b in itertools.pairwise(partials))
    assert partials[-1] == ZURICH
    assert result.object == (City(**ZURICH) if variant.endswith("pydantic") else ZURICH)
    assert result.usage.model_dump() == expected(case, answer)["usage"]
    assert case.wire.structured(server.body())[0] == case.object_mode


@each("stream")
def test_an_object_that_breaks_the_schema_fails_at_to_response(case: Case, variant: str) -> None:
    wrong = {"name": "Zürich", "population": "beaucoup", "landmarks": []}
    answer = object_answer(case, wrong)
    stream = open_stream(case, Server(stream_reply(case.wire.head(answer) + case.wire.tail(answer))), CITY_SCHEMA)
    partials = list(stream)
    assert partials[-1] == wrong
    with pytest.raises(ObjectValidationError) as caught:
        stream.to_response()
    assert caught.value.field == "population"


def test_text_that_is_not_json_yields_no_partials_and_fails_at_to_response() -> None:
    case = row("openai_chat")
    answer = Answer(text="Désolé, je ne sais pas.", usage=Counts(10, 5))
    stream = open_stream(case, Server(stream_reply(case.wire.head(answer) + case.wire.tail(answer))), CITY_SCHEMA)
    assert list(stream) == []
    with pytest.raises(ObjectValidationError, match="not valid JSON"):
        stream.to_response()
    assert stream.chunks, "the chunks are kept"


def test_an_object_stream_is_iterated_once() -> None:
    case = row("gemini")
    answer = object_answer(case, ZURICH)
    stream = open_stream(case, Server(stream_reply(case.wire.head(answer) + case.wire.tail(answer))), CITY_SCHEMA)
    list(stream)
    with pytest.raises(RuntimeError, match="only once"):
        list(stream)
    assert stream.to_response().object == ZURICH
