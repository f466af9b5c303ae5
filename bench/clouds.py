"""Item 7: the clouds' costs per call — decoding a Bedrock event stream and signing a request with SigV4,
each beside botocore doing the same work (and the SSE decoder on the same events, for scale)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.eventstream import EventStreamBuffer

from reqllm._auth import AWSCredentials, SigV4
from reqllm._eventstream import EventStreamDecoder, encode_message
from reqllm._sse import SSEDecoder

from ._sizes import Sizes
from ._timing import Result, Round, interleaved, loop

__all__ = ["run"]

SECTION = "7 clouds"
_HEADERS = {":event-type": "contentBlockDelta", ":content-type": "application/json", ":message-type": "event"}


def _payloads(deltas: int) -> list[bytes]:
    return [json.dumps({"contentBlockIndex": 0, "delta": {"text": f"word{i} "}, "p": "abcdefgh"}).encode()
            for i in range(deltas)]


def _ours(frames: list[bytes]) -> Round:
    def call() -> object:
        decoder = EventStreamDecoder()
        out = [json.loads(m.payload) for frame in frames for m in decoder.feed(frame)]
        decoder.close()
        return out

    return loop(call)


def _botocore(frames: list[bytes]) -> Round:
    def call() -> object:
        buffer = EventStreamBuffer()
        out = []
        for frame in frames:
            buffer.add_data(frame)
            out.extend(json.loads(m.payload) for m in buffer)
        return out

    return loop(call)


def _sse(reads: list[bytes]) -> Round:
    def call() -> object:
        decoder = SSEDecoder()
        return [json.loads(e.data) for read in reads for e in decoder.feed(read)]

    return loop(call)


def _request() -> tuple[str, bytes, dict[str, str]]:
    body = json.dumps({"messages": [{"role": "user", "content": [{"text": "Hello " * 200}]}],
                       "inferenceConfig": {"maxTokens": 512}}).encode()
    url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse"
    return url, body, {"content-type": "application/json", "accept": "application/json"}


def _sign_ours() -> Round:
    url, body, headers = _request()
    signer = SigV4(AWSCredentials("AKIDEXAMPLE", "bench-secret-key", "bench-session-token"), "us-east-1",
                   clock=lambda: datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))

    def call() -> object:
        request = httpx.Request("POST", url, content=body, headers=headers)
        signer.apply(request)
        return request.headers["authorization"]

    return loop(call)


def _sign_botocore() -> Round:
    url, body, headers = _request()
    signer = SigV4Auth(Credentials("AKIDEXAMPLE", "bench-secret-key", "bench-session-token"), "bedrock", "us-east-1")

    def call() -> object:
        request = AWSRequest(method="POST", url=url, data=body, headers=headers)
        signer.add_auth(request)
        return request.headers["Authorization"]

    return loop(call)


def run(workdir: Path, sizes: Sizes) -> list[Result]:
    """Decode a ConverseStream of N deltas (one frame per read) three ways; sign one request two ways."""
    deltas = sizes.stream_deltas[0]
    payloads = _payloads(deltas)
    frames = [encode_message(_HEADERS, p) for p in payloads]
    reads = [f"event: contentBlockDelta\ndata: {p.decode()}\n\n".encode() for p in payloads]
    decoded = [json.loads(p) for p in payloads]
    assert _check(frames) == decoded, "the event-stream decoder disagrees with the payloads"
    samples = interleaved({"ours": _ours(frames), "botocore": _botocore(frames), "sse": _sse(reads)},
                          number=max(1, sizes.number // 20), repeat=sizes.stream_repeat)
    signing = interleaved({"ours": _sign_ours(), "botocore": _sign_botocore()}, number=sizes.number,
                          repeat=sizes.repeat)
    note = f"{deltas} deltas, one frame per read"
    return [
        Result(SECTION, "event stream: reqllm decoder", samples.median("ours"), "s", note=note),
        Result(SECTION, "event stream: botocore EventStreamBuffer", samples.median("botocore"), "s",
               samples.ratio("botocore", "ours"), "reqllm decoder", note=note),
        Result(SECTION, "same events as SSE: reqllm SSE decoder", samples.median("sse"), "s",
               samples.ratio("sse", "ours"), "reqllm decoder", note=note),
        Result(SECTION, "SigV4 sign a Bedrock request: reqllm", signing.median("ours"), "s"),
        Result(SECTION, "SigV4 sign a Bedrock request: botocore", signing.median("botocore"), "s",
               signing.ratio("botocore", "ours"), "reqllm"),
    ]


def _check(frames: list[bytes]) -> list[object]:
    decoder = EventStreamDecoder()
    return [json.loads(m.payload) for frame in frames for m in decoder.feed(frame)]
