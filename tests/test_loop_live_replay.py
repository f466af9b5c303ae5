"""Tool loops recorded from the real llama.cpp tools server, replayed offline in every run.

``tests/data/live_loops/<protocol>.json`` were recorded by ``tests/live/test_live_orchestration.py``
(its module doc says how to record them again): each holds both real requests of a two-step loop.
Replaying them needs no server: the tool runs again with the arguments the real model gave.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import reqllm_testing
from tests.live.test_live_orchestration import MODEL_ID, RECORDED_URLS, SPECS, run_loop, server_of

DATA = Path(__file__).parent / "data" / "live_loops"


@pytest.mark.parametrize("protocol", list(SPECS))
def test_a_loop_recorded_from_the_real_server_replays_offline(protocol: str) -> None:
    spec, variant = SPECS[protocol]
    path = DATA / f"{protocol}.json"
    interactions = json.loads(path.read_text())["interactions"]
    log: list[dict[str, Any]] = []
    with reqllm_testing.use_fixture(path, mode="replay"):
        response = run_loop(spec, variant, RECORDED_URLS[server_of(protocol)], log)

    assert len(interactions) == len(response.steps) == 2
    call = response.steps[0].tool_calls[0]
    assert log == [{"city": call.arguments["city"]}], "the tool ran with the real model's arguments"
    assert [m.role for m in response.messages] == ["user", "assistant", "tool", "assistant"]
    assert "temp_c" in json.dumps(interactions[1]["request"]["body"]), "step 2 sent the tool result"
    assert response.usage.total_tokens == sum(s.usage.total_tokens for s in response.steps) > 0
    assert MODEL_ID in response.model
