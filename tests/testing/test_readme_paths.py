"""The README's example tree of fixture files is exactly what recording writes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"

TESTS = '''
import httpx
import pytest
import reqllm


def answer(request):
    return httpx.Response(200, json={"id": "x", "choices": [{"index": 0, "finish_reason": "stop", "message": {
        "role": "assistant", "content": "Paris"}}], "usage": {"prompt_tokens": 2, "completion_tokens": 1}})


def ask():
    client = httpx.Client(transport=httpx.MockTransport(answer))
    return reqllm.generate_text("openai:gpt-4o-mini", "Capital?", api_key="test-key", http_client=client).text


def test_capital(reqllm_fixture):
    assert ask() == "Paris"


class TestChat:
    @pytest.mark.parametrize("speed", ["fast"])
    def test_stream(self, reqllm_fixture, speed):
        assert ask() == "Paris"


@pytest.mark.reqllm(fixture="shared/greetings")
def test_greeting():
    assert ask() == "Paris"
'''


def test_the_readme_tree_is_what_recording_writes(pytester: pytest.Pytester) -> None:
    block = re.search(r"```text\n(tests/test_app\.py\n.*?)```", README.read_text(), re.S)
    assert block, "README: the example tree of fixture files is gone"
    promised = {line.strip() for line in block.group(1).splitlines() if line.startswith("tests/fixtures/")}
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "test_app.py").write_text(TESTS)
    pytester.makeini("[pytest]\n")
    result = pytester.runpytest_subprocess("-p", "no:xdist", "--reqllm-record")
    result.assert_outcomes(passed=3)
    written = {p.relative_to(pytester.path).as_posix() for p in (pytester.path / "tests").rglob("*.json")}
    assert written == promised
