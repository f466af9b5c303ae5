"""The official SDKs and a framework, recorded and replayed with zero configuration (pytester).

Each case in ``sdk_cases`` builds its own client with an explicit ``base_url`` pointing at a real
loopback server — no transport injected. Recorded by ``reqllm_fixture`` under ``--reqllm-record``,
then replayed with the server stopped under ``--reqllm-block-network``: the SDK objects of the
replay equal those of the recording, and the canary used as API key and header is on disk nowhere.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from . import sdk_cases
from .sdk_server import SDKServer

INNER = '''
import json, os
from pathlib import Path
from typing import Any

import pytest

from sdk_cases import CASES


@pytest.mark.parametrize("name", sorted(CASES))
def test_sdk(name, reqllm_fixture):
    result = json.loads(json.dumps(CASES[name](os.environ["SDK_URL"], os.environ["SDK_KEY"])))
    out = Path(os.environ["SDK_DUMPS"]) / (name + ".json")
    if reqllm_fixture.mode == "record":
        out.write_text(json.dumps(result))
    else:
        assert result == json.loads(out.read_text())
'''


@pytest.fixture
def sdk_server() -> SDKServer:
    server = SDKServer()
    yield server  # type: ignore[misc]
    server.stop()


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:randomly", "-p", "no:cacheprovider", *args)


def test_sdks_record_then_replay_offline(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                        sdk_server: SDKServer) -> None:
    canary = f"sk-canary-{uuid.uuid4().hex}"
    pytester.makepyfile(test_sdks=INNER, sdk_cases=Path(sdk_cases.__file__).read_text())
    (pytester.path / "dumps").mkdir()
    monkeypatch.syspath_prepend(str(pytester.path))
    monkeypatch.setenv("SDK_URL", sdk_server.url)
    monkeypatch.setenv("SDK_KEY", canary)
    monkeypatch.setenv("SDK_DUMPS", str(pytester.path / "dumps"))

    result = _run(pytester, "--reqllm-record")
    result.assert_outcomes(passed=len(sdk_cases.CASES))
    assert len(sdk_server.seen) == 20  # every request reached the server once: none recorded twice
    assert all(seen["headers"].get("x-canary") == canary for seen in sdk_server.seen)
    folder = pytester.path / "tests" / "fixtures" / "reqllm" / "test_sdks"
    assert len(list(folder.glob("*.json"))) == len(sdk_cases.CASES)
    for path in pytester.path.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            data = path.read_bytes()
            assert canary.encode() not in data, path
            assert b"session-cookie-value" not in data, path

    stream = json.loads((folder / "test_sdk-openai_chat_stream.json").read_text())
    (interaction,) = stream["interactions"]
    assert interaction["request"]["url"].endswith("/v1/chat/completions")
    assert interaction["response"]["chunks"][-1][1] == "data: [DONE]\n\n"  # format 2: [offset_ms, chunk]
    assert not any(h.startswith("x-stainless") for h in interaction["request"]["headers"])

    _decoded_parts_agree_with_the_sdks(folder, pytester.path / "dumps")

    sdk_server.stop()
    result = _run(pytester, "--reqllm-block-network")
    result.assert_outcomes(passed=len(sdk_cases.CASES))
    result.stdout.fnmatch_lines([f"*reqllm: {len(sdk_cases.CASES)} replayed, 0 recorded, 0 missing*"])


def _text(decoded: dict[str, Any]) -> str:
    if "chunks" in decoded:
        return "".join(c.get("text", "") for c in decoded["chunks"] if c["type"] == "content")
    content = decoded["response"]["message"]["content"]
    return "".join(part.get("text", "") for part in content)


def _decoded_parts_agree_with_the_sdks(folder: Path, dumps: Path) -> None:
    """Every SDK interaction (a recognised protocol) stores reqllm's decoded part; it says what the SDK read,
    and ``reqllm fixtures check`` re-decodes it from the stored bytes to the same thing."""
    from reqllm_testing.check import stale

    for path in sorted(folder.glob("*.json")):
        for interaction in json.loads(path.read_text())["interactions"]:
            assert "raw" not in interaction["meta"], (path.name, interaction["meta"])
            assert interaction["decoded"], path.name
        assert list(stale(path)) == [], path.name
    expected = {"openai_chat": lambda d: d["choices"][0]["message"]["content"],
                "openai_chat_stream": lambda d: "".join(c["choices"][0]["delta"].get("content") or "" for c in d
                                                        if c["choices"]),
                "openai_responses": lambda d: d["output"][0]["content"][0]["text"],
                "openai_responses_stream": lambda d: "".join(e.get("delta", "") for e in d
                                                             if e["type"] == "response.output_text.delta"),
                "anthropic_messages": lambda d: d["content"][0]["text"],
                "anthropic_messages_stream": lambda d: "".join(e["delta"].get("text", "") for e in d
                                                               if e["type"] == "content_block_delta"),
                "gemini_generate": lambda d: d["candidates"][0]["content"]["parts"][0]["text"],
                "gemini_generate_stream": lambda d: "".join(r["candidates"][0]["content"]["parts"][0]["text"]
                                                            for r in d)}
    for name, read in expected.items():
        sdk = json.loads((dumps / f"{name}.json").read_text())
        (interaction,) = json.loads((folder / f"test_sdk-{name}.json").read_text())["interactions"]
        assert _text(interaction["decoded"]) == read(sdk), name
        if "response" in interaction["decoded"] and isinstance(sdk.get("usage"), dict):
            usage = interaction["decoded"]["response"]["usage"]
            counts = sdk["usage"]
            assert usage["input_tokens"] == counts.get("prompt_tokens", counts.get("input_tokens")), name
            assert usage["output_tokens"] == counts.get("completion_tokens", counts.get("output_tokens")), name
    embedded = json.loads((folder / "test_sdk-openai_embeddings.json").read_text())["interactions"][0]
    sdk_embeddings = json.loads((dumps / "openai_embeddings.json").read_text())
    assert embedded["decoded"]["response"]["embeddings"] == [d["embedding"] for d in sdk_embeddings["data"]]
    _drift_in_an_sdk_stream_is_found(folder / "test_sdk-anthropic_messages_stream.json", dumps.parent)


def _drift_in_an_sdk_stream_is_found(path: Path, workdir: Path) -> None:
    """The drift check works for SDK traffic: a decoded chunk that no longer matches the stored bytes is
    reported by ``reqllm fixtures check`` (``stale``), naming the interaction and the changed text."""
    from reqllm_testing.check import stale

    document = json.loads(path.read_text())
    chunks = document["interactions"][0]["decoded"]["chunks"]
    content = next(c for c in chunks if c["type"] == "content" and c.get("text"))
    content["text"] = "drifted"
    tampered = workdir / "tampered.json"
    tampered.write_text(json.dumps(document))
    (finding,) = stale(tampered)
    assert finding.kind == "stale", finding
    assert "interaction #0 decodes differently now" in finding.detail and "drifted" in finding.detail
