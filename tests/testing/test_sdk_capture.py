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

import pytest

from . import sdk_cases
from .sdk_server import SDKServer

INNER = '''
import json, os
from pathlib import Path

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

    sdk_server.stop()
    result = _run(pytester, "--reqllm-block-network")
    result.assert_outcomes(passed=len(sdk_cases.CASES))
    result.stdout.fnmatch_lines([f"*reqllm: {len(sdk_cases.CASES)} replayed, 0 recorded, 0 missing*"])
