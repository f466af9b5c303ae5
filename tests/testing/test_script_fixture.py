"""``reqllm_fixture.script(...)`` in a pytest run (pytester): every LLM request of the rest of the test —
reqllm's and an official SDK's — answered from the script, nothing recorded, leftovers fail the test."""

from __future__ import annotations

import pytest

TESTS = '''
import httpx2
import openai
import anthropic
import pytest
import reqllm
from reqllm_testing import Reply, rate_limited


def test_reqllm_and_the_sdks_share_one_script(reqllm_fixture):
    script = reqllm_fixture.script(
        Reply(tool_calls=[("add", {"a": 2, "b": 3})]),
        "five",
        rate_limited(),
        Reply("from claude"),
    )
    first = reqllm.generate_text("google:gemini-2.5-flash", "2+3?")      # no key needed
    assert first.tool_calls[0].arguments == {"a": 2, "b": 3}
    client = openai.OpenAI(api_key="k" * 10, base_url="https://api.openai.com/v1", max_retries=0)
    assert client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
                                          ).choices[0].message.content == "five"
    claude = anthropic.Anthropic(api_key="k" * 10, max_retries=1)   # retries the 429, as it would for real
    assert claude.messages.create(model="claude-3-5-haiku-latest", max_tokens=9,
                                  messages=[{"role": "user", "content": "hi"}]).content[0].text == "from claude"
    assert [r.protocol for r in script.requests] == ["gemini", "openai_chat", "anthropic", "anthropic"]


def test_leftovers_fail_the_test(reqllm_fixture):
    reqllm_fixture.script("used", "never used")
    reqllm.generate_text("anthropic:claude-3-5-haiku-20241022", "hi")


def test_a_request_past_the_end_shows_itself(reqllm_fixture):
    reqllm_fixture.script("only")
    reqllm.stream_text("openai:gpt-4o-mini", "one").to_response()
    reqllm.generate_text("openai:gpt-4o-mini", "two more please")
'''


def test_script_in_pytest(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(test_scripted=TESTS)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:xdist", "--reqllm-record")
    result.assert_outcomes(passed=2, errors=1, failed=1)
    result.stdout.fnmatch_lines([
        "*UnusedScriptItemsError: 1 script item(s) never requested: Reply(text='never used')*",
        "*ScriptExhaustedError: the script has 1 item(s), all used, and another request came: POST "
        "https://api.openai.com/v1/chat/completions (openai_chat chat, model gpt-4o-mini, no stream); "
        "last message (user): 'two more please'*",
    ])
    assert not list(pytester.path.rglob("*.json"))  # recording mode, and still nothing recorded
