"""The live tier (``pytest -m live``): record against a real LLM server on loopback, then replay.

Starts llama.cpp's ``llama-server``, llama.cpp's server again from the ``xllamacpp`` wheel with
``scripts/local_llm_tools.jinja`` (tool calls and reasoning), LiteLLM's proxy speaking Gemini's
``generateContent`` in front of it, and llama-cpp-python's server (each built or installed once into a
cache by ``scripts/local_llm.py``), records a sample of
the capability suite into a temporary directory with ``pytest --reqllm-record``, stops the servers,
replays that directory with the network unreachable, and checks that the replay decodes exactly what
was recorded.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live.local_servers import script as _script

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = [
    "local-llm:gemma-3-270m-q4_k_m/generate_text",
    "local-llm:gemma-3-270m-q4_k_m/stream_text",
    "local-llm:gemma-3-270m-q4_k_m/generate_object",
    "local-llm:gemma-3-270m-embedding/embed",
    "local-llm-anthropic:gemma-3-270m-q4_k_m/stream_text",
    "local-llm-anthropic:gemma-3-270m-q4_k_m/multi_turn",
    "local-llm-responses:gemma-3-270m-q4_k_m/stream_text",
    "local-llm-tools:gemma-3-270m-q4_k_m/tool_calling",
    "local-llm-tools:gemma-3-270m-q4_k_m/stream_tool_calling",
    "local-llm-think:gemma-3-270m-q4_k_m/tool_calling",
    "local-llm-think-anthropic:gemma-3-270m-q4_k_m/stream_tool_calling",
    "local-llm-think-responses:gemma-3-270m-q4_k_m/tool_calling",
    "local-llm-gemini:gemma-3-270m-q4_k_m/stream_tool_calling",
    "local-llm-gemini:gemma-3-270m-q4_k_m/generate_object",
]
SERVERS = {"llama": "REQLLM_LOCAL_BASE_URL", "python": "REQLLM_LOCAL_PYTHON_BASE_URL",
           "tools": "REQLLM_LOCAL_TOOLS_BASE_URL", "gemini": "REQLLM_LOCAL_GEMINI_BASE_URL"}
API_PATH = {"llama": "/v1", "python": "/v1", "tools": "/v1", "gemini": "/v1beta"}


def _stop_all() -> None:
    local_llm = _script()
    for server in ("gemini", "tools", "python", "llama"):  # the proxy first: it forwards to the tools server
        local_llm.stop(server=server)


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    """Every local server, started (and built on first use), stopped at the end."""
    local_llm = _script()
    env: dict[str, str] = {}
    try:
        for server, variable in SERVERS.items():
            env[variable] = local_llm.start(server=server, timeout=300.0)["base_url"] + API_PATH[server]
        yield env
    finally:
        _stop_all()


def _pytest(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    selection = " or ".join(f"[{case}]" for case in SAMPLE)
    command = [sys.executable, "-m", "pytest", "capabilities", "-m", "capability", "-p", "no:xdist",
               "-q", "-k", selection, *args]
    return subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=900)


def _decoded(root: Path) -> dict[str, Any]:
    return {str(p.relative_to(root)): [i.get("decoded") for i in json.loads(p.read_text())["interactions"]]
            for p in sorted(root.rglob("*.json"))}


def _refused(url: str) -> bool:
    host, port = url.split("//")[1].split("/")[0].split(":")
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, int(port))) != 0


def test_record_live_then_replay_offline_gives_the_same_results(servers: dict[str, str], tmp_path: Path) -> None:
    env = servers
    recorded = _pytest(["--reqllm-record", "--reqllm-fixtures-dir", str(tmp_path)], env)
    assert recorded.returncode == 0, recorded.stdout[-4000:] + recorded.stderr[-2000:]
    assert f"{len(SAMPLE)} passed" in recorded.stdout, recorded.stdout[-3000:]
    files = sorted(tmp_path.rglob("*.json"))
    assert len(files) == len(SAMPLE)
    before = _decoded(tmp_path)
    servers_seen = {i["meta"].get("server", "") for p in files for i in json.loads(p.read_text())["interactions"]}
    assert all(servers_seen) and any(s.startswith("LiteLLM") for s in servers_seen), servers_seen
    bytes_before = {p: p.read_bytes() for p in files}

    _stop_all()
    assert all(_refused(url) for url in env.values())

    replayed = _pytest(["--reqllm-fixtures-dir", str(tmp_path), "--reqllm-block-network"], env)
    assert replayed.returncode == 0, replayed.stdout[-4000:] + replayed.stderr[-2000:]
    assert f"{len(SAMPLE)} passed" in replayed.stdout
    # Replay re-decodes every recorded byte through the plugins and compares with the recorded
    # decoded part (a drift fails the replay); the files themselves are left untouched.
    assert _decoded(tmp_path) == before
    assert {p: p.read_bytes() for p in files} == bytes_before


def test_recorded_fixtures_hold_real_server_traffic(servers: dict[str, str]) -> None:
    """The committed fixtures came from these servers: same model id and server fingerprint shape."""
    fixture = ROOT / "fixtures" / "local-llm" / "gemma-3-270m-q4_k_m" / "generate_text.json"
    body = json.loads(fixture.read_text())["interactions"][0]["response"]["body"]
    assert body["model"] == "gemma-3-270m-q4_k_m"
    assert body["id"].startswith("chatcmpl-")
    assert body["system_fingerprint"].startswith("b")
    gemini = ROOT / "fixtures" / "local-llm-gemini" / "gemma-3-270m-q4_k_m" / "tool_calling.json"
    first = json.loads(gemini.read_text())["interactions"][0]
    assert first["meta"]["server"].startswith("LiteLLM 1.108.0 proxy")
    assert first["request"]["url"].endswith(":generateContent")
    part = first["response"]["body"]["candidates"][0]["content"]["parts"][-1]
    assert part["functionCall"]["name"] == "get_weather" and "id" not in part["functionCall"]  # LiteLLM sends none
