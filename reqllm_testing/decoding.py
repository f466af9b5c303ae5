"""The decoded part of traffic reqllm did not send itself (official SDKs, frameworks, ``FixtureTransport``).

At save time, an interaction whose request a protocol plugin recognises (``reqllm.providers.recognise``:
method, path, host) gets the decoded part reqllm's own calls store — the ``StreamChunk`` sequence of
a stream, the decoded ``Response`` otherwise — made by the same core path ``reqllm fixtures check``
re-decodes with, so SDK streams are readable in the file and the drift check covers them. Anything
else is stored raw, with ``meta.raw`` saying why. A decoding failure never loses the recording.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from .session import decoded_of

__all__ = ["Serve", "decode_raw", "redecode"]

#: Makes a transport that answers any request with one recorded response (``recorder.ServeRecorded``).
Serve = Callable[[dict[str, Any]], httpx.BaseTransport]


class _Capture:
    def __init__(self) -> None:
        self.decoded: dict[str, Any] | None = None

    def wrap(self, transport: httpx.BaseTransport, call: Any) -> httpx.BaseTransport:
        return transport

    def wrap_async(self, transport: httpx.AsyncBaseTransport, call: Any) -> httpx.AsyncBaseTransport:
        return transport

    def placeholder_key(self, call: Any) -> str | None:
        return "reqllm-check-key"

    def on_result(self, call: Any, result: Any, error: BaseException | None) -> None:
        self.decoded = decoded_of(call, result, error)


def redecode(interaction: dict[str, Any], serve: Serve) -> dict[str, Any]:
    """The decoded part the current reqllm gives the interaction's response (ValueError if it cannot)."""
    from reqllm import ReqLLMError
    from reqllm._attempt import complete_sync as _complete_sync
    from reqllm._http import prepare
    from reqllm._streaming import StreamResponse
    from reqllm._transport import install_hook

    meta = interaction.get("meta") or {}
    model, operation, stream = meta.get("model"), meta.get("operation", "chat"), bool(meta.get("stream"))
    if not model:
        raise ValueError("no meta.model to re-decode with")
    import reqllm

    try:  # an SDK's model may be missing from the catalogue: its protocol is what decodes it
        resolved = reqllm.model(model, allow_unknown=True)
    except ReqLLMError as exc:
        raise ValueError(f"cannot re-decode: {exc}") from None
    client = httpx.Client(transport=serve(interaction["response"]))
    opts: dict[str, Any] = {"api_key": "reqllm-check-key", "base_url": "http://reqllm-check.invalid/v1",
                            "max_retries": 0, "http_client": client}
    if meta.get("protocol"):
        opts["protocol"] = meta["protocol"]
    body = interaction["request"].get("body")
    capture = _Capture()
    try:
        with install_hook(capture):
            if operation == "embed":
                inputs = body.get("input") if isinstance(body, dict) else None
                inputs = [inputs] if isinstance(inputs, str) else inputs
                if not isinstance(inputs, list) or not inputs:
                    raise ValueError("no embedding input in the recorded request")
                reqllm.embed(resolved, [str(i) for i in inputs], **opts)
            else:
                schema = {"type": "object"} if operation == "object" else None
                exchange = prepare(operation, resolved, opts, messages="check", stream=stream, schema=schema)
                if stream:
                    for _ in StreamResponse(exchange):
                        pass
                else:
                    _complete_sync(exchange)
    except ReqLLMError as exc:
        if capture.decoded is None:  # raised before any request: the model or options are unknown here
            raise ValueError(f"cannot re-decode: {exc}") from None
    finally:
        client.close()
    if capture.decoded is None:
        raise ValueError("re-decoding produced no result")
    return capture.decoded




def decode_raw(item: dict[str, Any], serve: Serve) -> dict[str, Any]:
    """``item`` (a recorded interaction, as written) with its decoded part, or ``meta.raw`` naming why not."""
    from reqllm.providers.recognise import recognise

    request = item.get("request") or {}
    found = recognise(str(request.get("method", "")), str(request.get("url", "")), request.get("body"))
    meta = dict(item.get("meta") or {})
    if found is None:
        meta["raw"] = "no protocol plugin recognises this request (method, path, host)"
        return {**item, "meta": meta}
    meta.update(provider=found.provider, model=f"{found.provider}:{found.model}", operation=found.operation,
                stream=found.stream, protocol=found.protocol)
    try:
        decoded = redecode({**item, "meta": meta}, serve)
    except Exception as exc:  # never lose a recording over its decoded part
        meta["raw"] = f"{found.protocol} response could not be decoded: {type(exc).__name__}: {exc}"
        return {**item, "meta": meta}
    return {**item, "decoded": json.loads(json.dumps(decoded, default=str)), "meta": meta}
