"""The loop's fast path gives what its plan gives: same results, chunks, telemetry and errors.

A call with one model, one step and no usage limit skips the orchestration objects
(``reqllm._loop.Run.single``). Each case below runs twice through the same answers: once on the fast
path, once through the plan (an empty ``UsageLimit()``, which limits nothing but needs the plan),
on every protocol and in every variant (``body``, ``stream``, ``abody``, ``astream``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import reqllm
from reqllm import _loop, telemetry
from tests.test_loop import VARIANTS, Run, mode, sync_tools
from tests.test_protocol_table import CASES, PARALLEL, PLAIN, Case, Server, json_reply, model_of, reply

#: A key built at run time (no literal secret in the repository); the error below echoes it.
KEY = "fast-" + "0123456789abcdef" * 2


def _echoing_error(status: int) -> Callable[[Case, str], httpx.Response]:
    def answer(case: Case, variant: str) -> httpx.Response:
        return json_reply({"error": {"type": "invalid_request_error", "message": f"bad key {KEY}"}}, status)

    return answer


def _cut_stream(case: Case, variant: str) -> httpx.Response:
    whole = reply(case, PLAIN, "stream").content
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=whole[: len(whole) // 2])


#: name -> (the server's answer, extra options of the call, whether the call fails)
SCENARIOS: dict[str, tuple[Callable[[Case, str], httpx.Response], dict[str, Any], bool]] = {
    "text": (lambda case, variant: reply(case, PLAIN, mode(variant)), {}, False),
    "tool calls left to the caller (max_steps=1)": (
        lambda case, variant: reply(case, PARALLEL, mode(variant)), {"tools": sync_tools()}, False),
    "a 400 echoing the key": (_echoing_error(400), {}, True),
    "a 503 (a fallback error, with no model to fall back to)": (_echoing_error(503), {}, True),
    "a body over max_response_bytes": (lambda case, variant: reply(case, PLAIN, mode(variant)),
                                       {"max_response_bytes": 40}, True),
    "a stream cut short": (_cut_stream, {}, True),
}


def _event(event: telemetry.TelemetryEvent) -> dict[str, Any]:
    fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
    for name in ("id", "duration"):  # a process-wide counter and a clock
        fields.pop(name)
    error = fields.pop("error")
    fields["error"] = None if error is None else (type(error), str(error))
    return fields


def _outcome(case: Case, variant: str, scenario: str, **extra: Any) -> dict[str, Any]:
    answer, opts, _fails = SCENARIOS[scenario]
    events: list[telemetry.TelemetryEvent] = []
    unsubscribe = telemetry.subscribe(events.append)
    run = Run(case, Server(answer(case, variant)), variant)
    outcome: dict[str, Any] = {}
    try:
        response = run(api_key=KEY, **opts, **extra)
    except reqllm.ReqLLMError as exc:
        outcome["error"] = (type(exc), str(exc), exc.args, getattr(exc, "status", None),
                            getattr(exc, "body", None), exc.fallback_errors, exc.chunks)
    else:
        outcome["response"] = (type(response), response.model_dump(), [s.model_dump() for s in response.steps],
                               response.messages, response.fallback_errors)
    finally:
        unsubscribe()
    outcome["chunks"] = run.chunks
    outcome["events"] = [_event(e) for e in events]
    return outcome


@pytest.mark.parametrize(("case", "variant", "scenario"), [
    pytest.param(case, variant, scenario, id=f"{scenario}-{case.protocol}-{variant}")
    for scenario in SCENARIOS for case in CASES for variant in VARIANTS
    if mode(variant) == "stream" or scenario != "a stream cut short"])  # a body cannot be cut into chunks
def test_the_fast_path_gives_what_the_plan_gives(case: Case, variant: str, scenario: str) -> None:
    fast = _outcome(case, variant, scenario)
    planned = _outcome(case, variant, scenario, usage_limit=reqllm.UsageLimit())

    assert fast == planned
    assert ("error" in fast) == SCENARIOS[scenario][2]
    assert KEY not in repr(fast.get("error"))  # the echoed key is scrubbed on both paths


def test_an_empty_usage_limit_takes_the_plan_and_no_limit_the_fast_path() -> None:
    """What the comparison above relies on: it really compares two paths."""
    case = CASES[0]
    opts = {"api_key": KEY, "http_client": Server().client()}
    assert _loop.start("chat", model_of(case), opts, messages="Bonjour").single() is not None
    planned = _loop.start("chat", model_of(case), {**opts, "usage_limit": reqllm.UsageLimit()}, messages="Bonjour")
    assert planned.single() is None
    for multi in ({"max_steps": 2}, {"model": [case.spec, case.spec]}):
        model = multi.pop("model", model_of(case))
        assert _loop.start("chat", model, {**opts, **multi}, messages="Bonjour").single() is None
