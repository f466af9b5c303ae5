"""``reqllm providers``: usable providers with protocol, base URL, key variable and model count;
``--all`` adds the catalogued providers reqllm cannot call, and why."""

from __future__ import annotations

import pytest

import reqllm
from reqllm.cli import main


def _rows(out: str) -> dict[str, list[str]]:
    """Captured output is not a terminal: a header row, then tab-separated columns."""
    lines = out.splitlines()
    assert lines[0].split("\t")[:5] == ["provider", "protocol", "base_url", "key_variable", "models"]
    return {line.split("\t")[0]: line.split("\t") for line in lines[1:]}


def test_providers_shows_protocol_url_key_and_model_count(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers"]) == 0
    out = capsys.readouterr().out
    rows = _rows(out)
    assert rows["groq"][1:4] == ["openai_chat", "https://api.groq.com/openai/v1", "GROQ_API_KEY"]
    assert rows["groq"][4] == str(len(reqllm.models("groq")))
    assert rows["anthropic"][1] == "anthropic"
    assert rows["perplexity-agent"][1] == "openai_responses"
    assert len(rows) == len(reqllm.providers())
    assert "sap-ai-core" not in rows


def test_cloud_providers_are_usable_and_say_what_they_need(capsys: pytest.CaptureFixture[str]) -> None:
    main(["providers"])
    rows = _rows(capsys.readouterr().out)
    bedrock = rows["amazon-bedrock"]
    assert bedrock[1:3] == ["bedrock_converse", "https://bedrock-runtime.${AWS_REGION}.amazonaws.com"]
    assert "AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY" in bedrock[3] and "AWS_BEARER_TOKEN_BEDROCK" in bedrock[3]
    assert bedrock[4] == str(len(reqllm.models("amazon-bedrock")))
    for vertex in ("google-vertex", "google-vertex-anthropic"):
        assert "GOOGLE_CLOUD_PROJECT" in rows[vertex][3] and "access_token=" in rows[vertex][3]
    assert rows["google-vertex-anthropic"][1] == "anthropic"
    assert "AZURE_RESOURCE_NAME" in rows["azure"][3] and "deployment name" in rows["azure"][3]


def test_local_servers_show_their_override_variable_and_no_key(capsys: pytest.CaptureFixture[str]) -> None:
    main(["providers"])
    rows = _rows(capsys.readouterr().out)
    assert rows["ollama"][2] == "http://localhost:11434/v1 (or $OLLAMA_BASE_URL)"
    assert rows["ollama"][3] == "none needed"
    assert rows["ollama"][4] == "0 + any id"
    assert rows["vllm"][3] == "optional: VLLM_API_KEY"


def test_providers_all_lists_unusable_ones_with_reasons(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers", "--all"]) == 0
    out = capsys.readouterr().out
    rows = _rows(out)
    blocked = [p for p in reqllm.providers(include_unusable=True) if not p.usable]
    assert len(rows) == len(reqllm.providers()) + len(blocked)
    for provider in blocked:
        assert provider.id in rows
    assert rows["sap-ai-core"][4] == str(len(reqllm.models("sap-ai-core")))
    assert "OAuth" in rows["sap-ai-core"][5]
    assert "groq" in rows  # the usable table is still there
