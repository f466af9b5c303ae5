"""Section 11: an official SDK call (openai, over httpx2) replayed through the fixture interceptor, against
the same SDK call over an ``httpx2.MockTransport`` serving the same bytes (the floor).

The fixture is recorded from that same MockTransport (through ``FixtureTransport``, adapted to httpx2),
then replayed with no transport injected: the SDK's own default client, caught at httpx2's network
transport. One fixture holds one interaction per call, loaded and indexed before the clock starts.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from reqllm_testing import FixtureTransport, use_fixture

from ._recordings import copies
from ._sizes import Sizes
from ._timing import Result, Round, interleaved, loop

__all__ = ["run"]

SECTION = "11 sdk"
BASE = "http://127.0.0.1:9/v1"
KEY = "bench-" + "k" * 16


def _bodies(deltas: int) -> tuple[bytes, bytes]:
    answer = {"id": "c", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
              "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hi"}}],
              "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}
    events = [{**chunk, "choices": [{"index": 0, "delta": {"content": f" w{i}"}, "finish_reason": None}]}
              for i in range(deltas)]
    stream = b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in events) + b"data: [DONE]\n\n"
    return json.dumps(answer).encode(), stream


def _handler(plain: bytes, stream: bytes, module: Any) -> Callable[[Any], Any]:
    def handle(request: Any) -> Any:
        if json.loads(request.content).get("stream"):
            return module.Response(200, headers={"content-type": "text/event-stream"}, content=stream)
        return module.Response(200, headers={"content-type": "application/json"}, content=plain)
    return handle


def _call(client: Any, stream: bool) -> object:
    messages = [{"role": "user", "content": "hi"}]
    if stream:
        return [c for c in client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True)]
    return client.chat.completions.create(model="gpt-4o-mini", messages=messages)


def _replay(paths: Iterator[Path], client: Any, stream: bool) -> Round:
    def run(number: int) -> float:
        with use_fixture(next(paths), mode="replay") as session:
            session.index()
            started = time.perf_counter()
            for _ in range(number):
                _call(client, stream)
            return time.perf_counter() - started
    return run


def run(workdir: Path, sizes: Sizes) -> list[Result]:
    """Measure section 11 (skipped when the openai SDK is not installed)."""
    try:
        import httpx
        import httpx2
        import openai
    except ImportError:
        return []
    from reqllm_testing._httpx2 import as_httpx2

    n, rounds = sizes.number, sizes.repeat + 1
    plain, stream = _bodies(200 if not sizes.quick else 5)
    floor = openai.OpenAI(base_url=BASE, api_key=KEY, max_retries=0,
                          http_client=httpx2.Client(transport=httpx2.MockTransport(_handler(plain, stream, httpx2))))
    own = openai.OpenAI(base_url=BASE, api_key=KEY, max_retries=0)  # the SDK's default client, nothing injected
    results = []
    for is_stream in (False, True):
        calls = max(n // 10, 2) if is_stream else n  # a 200-delta stream costs ~40 plain calls
        path = workdir / f"sdk_{'stream' if is_stream else 'plain'}.json"
        recorder = FixtureTransport(path, mode="record", inner=httpx.MockTransport(_handler(plain, stream, httpx)))
        with openai.OpenAI(base_url=BASE, api_key=KEY, http_client=httpx2.Client(transport=as_httpx2(recorder))) \
                as client:
            for _ in range(calls):
                _call(client, is_stream)
        recorder.close()
        with use_fixture(path, mode="replay", allow_unused=True):
            assert json.dumps(_call(own, is_stream), default=repr) == json.dumps(_call(floor, is_stream),
                                                                                 default=repr)
        m = interleaved({"floor": loop(functools.partial(_call, floor, is_stream)),
                         "replay": _replay(copies(path, workdir / f"copies_{is_stream}", rounds), own, is_stream)},
                        calls, sizes.repeat)
        kind = "stream (200 deltas)" if is_stream else "chat"
        results += [Result(SECTION, f"openai SDK {kind} via httpx2.MockTransport", m.median("floor"), "s"),
                    Result(SECTION, f"openai SDK {kind} replayed by the fixture (intercepted)", m.median("replay"),
                           "s", m.ratio("replay", "floor"), "floor", 1.3)]
    return results
