"""One request to one model, as the orchestrator sees it: an Exchange that knows its place in a call.

An ``Attempt`` is an ``Exchange`` whose telemetry events carry an ``id``, the ``parent_id`` of the
tool loop it belongs to and its ``step``, so that spans can be nested. ``complete_sync`` /
``complete_async`` send one non-stream request and decode it into a Response.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from typing import Any

from . import telemetry
from ._auth import AuthStep
from ._http import Exchange
from ._schema import ObjectSchema
from ._stream import finish_response
from ._transport import CallInfo
from ._types import ObjectResponse, Response
from .errors import ReqLLMError
from .providers.base import OBJECT_TOOL_NAME, Call, Decoded

__all__ = ["Attempt", "complete_async", "complete_sync", "new_id", "object_of"]

_ids = itertools.count(1)


def new_id() -> int:
    """A process-unique id for a call, a loop or a tool execution (pairs telemetry events)."""
    return next(_ids)


class Attempt(Exchange):
    """One request of a call: an Exchange that tags its telemetry with its id, loop and step."""

    __slots__ = ("_answer", "id", "parent_id", "step")

    def __init__(self, call: Call, protocol: Any, info: CallInfo, auth: AuthStep | None = None, *,
                 parent_id: int | None = None, step: int | None = None) -> None:
        super().__init__(call, protocol, info, auth)
        self.id = new_id()
        self.parent_id = parent_id
        self.step = step
        self._answer: Response | None = None

    @classmethod
    def of(cls, exchange: Exchange, call: Call | None = None, *, parent_id: int | None = None,
           step: int | None = None) -> Attempt:
        """A fresh attempt like ``exchange`` (its own CallInfo, so hooks see one call per request)."""
        info = dataclasses.replace(exchange.info, hook_state=None)
        return cls(call or exchange.call, exchange.protocol, info, exchange.auth, parent_id=parent_id, step=step)

    def event(self, name: str, **fields: Any) -> None:
        """Emit a telemetry event tagged with this attempt's id, loop and step."""
        if telemetry.active():
            if name == "request.start":
                fields.setdefault("input", self.call.messages)
            elif name == "request.stop" and self._answer is not None:
                answer = self._answer
                fields.update(finish_reason=answer.finish_reason, response_id=answer.id, output=answer.message)
            super().event(name, id=self.id, parent_id=self.parent_id, step=self.step, **fields)

    def succeed(self, result: Any, usage: Any = None) -> None:
        """Report success; telemetry also gets the finish reason, response id and answer."""
        if not telemetry.active():
            super().succeed(result, usage)
            return
        from ._stream import ResponseBuilder

        response: Response | None = None
        if isinstance(result, Response):
            response = result
        elif isinstance(result, list):  # a stream's chunks: fold them again, only for whoever listens
            builder = ResponseBuilder(self.call)
            for chunk in result:
                builder.add(chunk)
            try:
                response = builder.build()
            except ReqLLMError:
                response = None
        self._answer = response
        super().succeed(result, usage)


def _response(exchange: Exchange, body: Any) -> Response:
    decoded = exchange.parse(body)
    if not isinstance(decoded, Decoded):
        raise TypeError(f"{exchange.protocol.id}.parse_response returned {type(decoded).__name__}")
    return finish_response(exchange.call, decoded.message, decoded.finish_reason, decoded.usage, decoded.id,
                           body)


def complete_sync(exchange: Exchange) -> Response:
    """Send one non-stream request (with the core's retries) and decode the answer."""
    exchange.event("request.start")
    try:
        response = exchange.send_sync(exchange.build(), stream=False)
        result = _response(exchange, exchange.decode_json(response))
    except ReqLLMError as exc:
        exchange.fail(exc)
        raise
    exchange.succeed(result)
    return result


async def complete_async(exchange: Exchange) -> Response:
    """Async twin of complete_sync."""
    exchange.event("request.start")
    try:
        response = await exchange.send_async(await exchange.abuild(), stream=False)
        result = _response(exchange, exchange.decode_json(response))
    except ReqLLMError as exc:
        exchange.fail(exc)
        raise
    exchange.succeed(result)
    return result


def object_of(response: Response, target: ObjectSchema) -> ObjectResponse:
    """The ObjectResponse for an object call's answer, validated against ``target``."""
    call = next((c for c in response.tool_calls if c.name == OBJECT_TOOL_NAME), None)
    if call is not None:
        value: Any = target.validate(call.arguments, json.dumps(call.arguments))
    else:
        value = target.validate(response.text, response.text)
    fields = {f: getattr(response, f) for f in type(response).model_fields}
    return ObjectResponse(**fields, object=value)
