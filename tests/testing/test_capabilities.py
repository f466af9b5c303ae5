"""Capability verifiers: advertised from metadata, verified through the public API, run as a matrix."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import reqllm
from reqllm.providers import protocol_ids
from reqllm.registry import REGISTRY
from reqllm_testing.capabilities import CAPABILITIES, advertised_capabilities, verify
from reqllm_testing.matrix import capability_cases, fixture_path

ROOT = Path(__file__).resolve().parents[2]


def _chat_body(content: Any, *, finish: str = "stop", tool: bool = False) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool:
        message = {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]}
    return {"id": "c1", "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}}


def _acme(request: httpx.Request) -> httpx.Response:
    """A well-behaved OpenAI-compatible provider."""
    body = json.loads(request.content)
    if body.get("stream"):
        pieces = ('{"name": "A', 'da", "ag', 'e": 36}') if body.get("response_format") else ("1 2 ", "3 4 5")
        events = [{"choices": [{"index": 0, "delta": {"content": t}}]} for t in pieces]
        if isinstance(body.get("tool_choice"), dict):
            events = [{"choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": a}}
                if i == 0 else {"index": 0, "function": {"arguments": a}}]}}]}
                for i, a in enumerate(('{"ci', 'ty": "Paris"}'))]
        events += [{"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                   {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}}]
        text = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        return httpx.Response(200, text=text, headers={"content-type": "text/event-stream"})
    if body.get("max_tokens") == 5:
        return httpx.Response(200, json=_chat_body("Once upon", finish="length"))
    if isinstance(body.get("tool_choice"), dict):
        return httpx.Response(200, json=_chat_body(None, tool=True))
    if body.get("tools") and "tool_choice" not in body:  # a tool loop: call the tool, then answer its result
        asked = body["messages"][-1]["role"] == "user"
        return httpx.Response(200, json=_chat_body(None if asked else "Sunny, 21 °C.", tool=asked))
    if body.get("response_format"):
        return httpx.Response(200, json=_chat_body('{"name": "Ada", "age": 36}'))
    return httpx.Response(200, json=_chat_body("Hello there."))


@pytest.fixture
def acme() -> Iterator[httpx.Client]:
    """A custom provider registered at runtime, served by a MockTransport."""
    reqllm.register_provider("acme-test", base_url="https://acme.example/v1", models=[
        reqllm.Model(provider="acme-test", id="m1", tool_call=True, structured_output=True)])
    yield httpx.Client(transport=httpx.MockTransport(_acme))
    REGISTRY._custom_providers.pop("acme-test", None)
    REGISTRY.reload()


def test_advertised_capabilities_come_from_registry_metadata() -> None:
    assert advertised_capabilities("openai:text-embedding-3-small") == ["embed"]
    haiku = advertised_capabilities("anthropic:claude-3-5-haiku-20241022")
    assert "tool_calling" in haiku and "reasoning" not in haiku and "embed" not in haiku
    assert "reasoning" in advertised_capabilities("openai:o3")
    # Known limitations in the registry data win over what the other metadata suggests.
    assert "token_limit" not in advertised_capabilities("local-llm-responses:gemma-3-270m-q4_k_m")
    assert "tool_calling" not in advertised_capabilities("local-llm:gemma-3-270m-q4_k_m")
    # The loopback servers' metadata says what each really does (scripts/LOCAL_LLM_NOTES.md).
    assert "reasoning" in advertised_capabilities("local-llm-think-anthropic:gemma-3-270m-q4_k_m")
    assert "object_stream" not in advertised_capabilities("local-llm-think-anthropic:gemma-3-270m-q4_k_m")
    assert "reasoning" not in advertised_capabilities("local-llm-gemini:gemma-3-270m-q4_k_m")
    assert "tool_loop" in advertised_capabilities("local-llm-gemini:gemma-3-270m-q4_k_m")


@pytest.mark.parametrize("capability", ["generate_text", "stream_text", "token_limit", "tool_calling",
                                        "stream_tool_calling", "generate_object", "usage_and_cost", "multi_turn",
                                        "tool_loop", "object_stream"])
def test_a_downstream_custom_provider_passes_every_verifier(acme: httpx.Client, capability: str) -> None:
    result = verify("acme-test:m1", capability, api_key="k", http_client=acme)
    assert result.passed, result.summary()
    assert result.checks and all(c.passed for c in result.checks)


def test_a_broken_provider_fails_with_the_check_that_failed(acme: httpx.Client) -> None:
    broken = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, json=_chat_body("ok"))))
    result = verify("acme-test:m1", "token_limit", api_key="k", http_client=broken)
    assert not result.passed
    assert "finish_reason is length" in result.summary()
    errored = verify("acme-test:m1", "generate_text", api_key="k", max_retries=0,
                     http_client=httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(401))))
    assert not errored.passed and errored.error is not None and "AuthenticationError" in errored.error


def test_the_matrix_covers_every_model_of_every_usable_provider() -> None:
    cases = capability_cases()
    models = {c.model for c in cases}
    assert len(cases) > 10_000
    for provider in ("openai", "anthropic", "google", "groq", "local-llm"):
        assert any(m.startswith(provider + ":") for m in models), provider
    assert not any(c.provider == "sap-ai-core" for c in cases)  # not usable: not generated
    for cloud in ("amazon-bedrock", "google-vertex", "google-vertex-anthropic", "azure"):
        assert any(c.provider == cloud for c in cases), cloud
    ids = {c.id for c in cases}
    assert "anthropic:claude-3-5-haiku-20241022/stream_text" in ids
    assert "openai:text-embedding-3-small/stream_text" not in ids  # not advertised: not generated
    only = capability_cases(["anthropic"], "claude-3-5-*")
    assert only and {c.provider for c in only} == {"anthropic"}
    assert all(c.model.startswith("anthropic:claude-3-5-") for c in only)


def test_fixture_paths_nest_slashes_and_replace_colons(tmp_path: Path) -> None:
    assert fixture_path(tmp_path, "openrouter:meta/llama:free", "embed") == \
        tmp_path / "openrouter" / "meta" / "llama_free" / "embed.json"


def _protocol_of(spec: str) -> str:
    model = REGISTRY.model(spec)
    protocol = model.protocol or REGISTRY.provider(model.provider).protocol
    assert protocol is not None
    return protocol


# What no server on loopback (scripts/local_llm.py: llama, python, tools, gemini) can produce, with the
# measured reason (scripts/LOCAL_LLM_NOTES.md has the exchanges). Recording these needs the provider's own key
# (see README, "Recording against real providers"). The test fails if a gap closes (remove it here) or a new
# one opens.
_MESSAGES_OBJECT = ("llama.cpp (b11549, tools server) turns Messages' forced tool_choice {type: tool} into "
                    "'required', whose grammar lets free text come before <tool_call>: for the object tool the "
                    "base model wrote '<think>\\nA name.\\n</think>' blocks until max_tokens, no tool_use block "
                    "(measured with the generate_object and object_stream verifiers; LiteLLM's /v1/messages "
                    "forwards to the backend's /v1/responses and gave the same text)")
_RESPONSES_OBJECT = ("llama.cpp converts /v1/responses to Chat without text.format (server-chat.cpp): the output is "
                     "not constrained; the object_stream verifier on the tools server got '<think>...</think>' text, "
                     "not JSON (LiteLLM's /v1/responses forwards to the same route: the same text)")
KNOWN_GAPS: dict[str, dict[str, str]] = {
    "gemini": {
        "reasoning": "LiteLLM 1.108.0's generateContent adapter drops thinkingConfig and the backend's "
                     "reasoning_content: thinkingConfig {includeThoughts: true, thinkingBudget: 24} gave one text "
                     "part, no thought part, no thoughtsTokenCount (candidatesTokenCount still counts the "
                     "backend's reasoning tokens)",
        "embed": "LiteLLM 1.108.0's proxy has no :embedContent / :batchEmbedContents route (both: 404 "
                 "{'detail': 'Not Found'})",
    },
    "anthropic": {"generate_object": _MESSAGES_OBJECT, "object_stream": _MESSAGES_OBJECT},
    "openai_responses": {
        "generate_object": _RESPONSES_OBJECT, "object_stream": _RESPONSES_OBJECT,
        "token_limit": "llama.cpp's /v1/responses reports status 'completed' and no incomplete_details when "
                       "max_output_tokens cut the answer (0c1e570 and b11549: max_output_tokens 5 gave "
                       "output_tokens 5, status 'completed')",
    },
    "openai_chat": {},
    "bedrock_converse": {cap: "needs AWS credentials: no loopback server signs and speaks Bedrock Converse"
                         for cap in CAPABILITIES},
}
EMBEDDING_PROTOCOLS = {"openai_chat", "gemini", "bedrock_converse"}


def test_every_protocol_has_recorded_fixtures_for_every_capability_it_supports() -> None:
    recorded: dict[str, set[str]] = {p: set() for p in protocol_ids()}
    for path in (ROOT / "fixtures").rglob("*.json"):
        provider = path.relative_to(ROOT / "fixtures").parts[0]
        model_id = "/".join(path.relative_to(ROOT / "fixtures" / provider).parts[:-1])
        recorded[_protocol_of(f"{provider}:{model_id}")].add(path.stem)
    for protocol in protocol_ids():
        supported = set(CAPABILITIES) - (set() if protocol in EMBEDDING_PROTOCOLS else {"embed"})
        missing = supported - recorded[protocol]
        assert missing == set(KNOWN_GAPS[protocol]), \
            f"{protocol}: recorded {sorted(recorded[protocol])}, missing {sorted(missing)}"


def _local_recorded_anthropic_not() -> tuple[int, int]:
    """Cases of ``--reqllm-provider local-llm,anthropic --reqllm-model '*-3-*'``: local-llm's are all recorded."""
    local = capability_cases(["local-llm"], "*-3-*")
    assert len(local) >= 8 and all(fixture_path(ROOT / "fixtures", c.model, c.capability).exists() for c in local)
    return len(local), len(capability_cases(["anthropic"], "*-3-*"))


def test_every_loopback_recording_names_the_server_that_produced_it() -> None:
    servers: set[str] = set()
    for path in (ROOT / "fixtures").glob("local-llm*/**/*.json"):
        for interaction in json.loads(path.read_text())["interactions"]:
            assert interaction["meta"].get("server"), f"{path}: no meta.server"
            servers.add(interaction["meta"]["server"].split(" /v1")[0].split(", Gemma")[0])
    assert any(s.startswith("LiteLLM 1.108.0 proxy") for s in servers), servers
    assert any(s.startswith("llama.cpp's server b11549 from xllamacpp") for s in servers), servers


def test_reqllm_verify_replays_and_prints_a_table() -> None:
    out = subprocess.run([sys.executable, "-m", "reqllm", "verify", "local-llm:gemma-3-270m-q4_k_m",
                          "-c", "generate_text", "-c", "stream_text", "--fixtures-dir", str(ROOT / "fixtures")],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "generate_text" in out.stdout and "passed" in out.stdout
    missing = subprocess.run([sys.executable, "-m", "reqllm", "verify", "openai:gpt-4o-mini", "-c", "embed",
                              "--fixtures-dir", str(ROOT / "fixtures")],
                             capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "not recorded" in missing.stdout


def test_the_matrix_reports_not_recorded_never_as_passed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_matrix="""
        def test_capability(capability_case, verify_capability):
            result = verify_capability(capability_case)
            assert result.passed, result.summary()
    """)
    report = pytester.path / "report"
    ini = pytester.makeini("[pytest]\n")
    result = pytester.runpytest_subprocess(
        "-c", str(ini), "--rootdir", str(pytester.path), "-rs", "-p", "no:cacheprovider", "-p", "no:xdist",
        "--reqllm-fixtures-dir", str(ROOT / "fixtures"),
        "--reqllm-provider", "local-llm,anthropic", "--reqllm-model", "*-3-*", "--reqllm-report", str(report))
    recorded, unrecorded = _local_recorded_anthropic_not()
    result.assert_outcomes(passed=recorded, deselected=unrecorded)  # not ~35,000 skips: one counted line
    result.stdout.fnmatch_lines([f"reqllm capabilities: {recorded} passed, 0 failed, {unrecorded} not recorded "
                                 "(deselected, "
                                 "no fixture; record with: pytest -m capability --reqllm-record=missing "
                                 "--reqllm-provider P (the provider's key set)); the table: --reqllm-table"])
    assert "reqllm capabilities (passed / failed / not recorded)" not in result.stdout.str()  # no table: asked
    data = json.loads((pytester.path / "report.json").read_text())
    statuses = {(c["model"], c["capability"]): c["status"] for c in data["cases"]}
    assert statuses[("local-llm:gemma-3-270m-q4_k_m", "stream_text")] == "passed"
    assert statuses[("anthropic:claude-3-5-haiku-20241022", "stream_text")] == "not recorded"
    assert "| local-llm:gemma-3-270m-q4_k_m | stream_text | passed |" in (pytester.path / "report.md").read_text()


def test_the_table_when_asked_and_the_count_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_matrix="""
        def test_capability(capability_case, verify_capability):
            assert verify_capability(capability_case).passed
    """)
    ini = pytester.makeini("[pytest]\n")
    args = ("-c", str(ini), "--rootdir", str(pytester.path), "-p", "no:cacheprovider",
            "--reqllm-fixtures-dir", str(ROOT / "fixtures"), "--reqllm-provider", "local-llm,anthropic",
            "--reqllm-model", "*-3-*")
    recorded, unrecorded = _local_recorded_anthropic_not()
    result = pytester.runpytest_subprocess(*args, "-n", "2")
    result.assert_outcomes(passed=recorded)
    result.stdout.fnmatch_lines([f"reqllm capabilities: {recorded} passed, 0 failed, {unrecorded} not recorded "
                                 "(deselected*"])
    result = pytester.runpytest_subprocess(*args, "-p", "no:xdist", "--reqllm-table")
    result.stdout.fnmatch_lines(["*reqllm capabilities (passed / failed / not recorded)*", "*anthropic*",
                                 "*local-llm *",
                                 f"reqllm capabilities: {recorded} passed, 0 failed, {unrecorded} not *"])
