"""The ``reqllm`` console script as a user runs it: one-line errors, plain text in pipes, ``--json``."""

from __future__ import annotations

import json
import subprocess

import reqllm
from tests.cli_run import console_script, run_cli


def test_unknown_provider_is_one_line_and_exit_2() -> None:
    result = run_cli("models", "nosuch")
    assert result.code == 2
    assert result.err == "reqllm models: error: unknown provider 'nosuch'\n"
    assert result.out == ""


def test_typo_in_provider_gets_a_did_you_mean() -> None:
    result = run_cli("models", "opnai")
    assert result.code == 2
    assert result.err == "reqllm models: error: unknown provider 'opnai'; did you mean 'openai'?\n"


def test_verify_unknown_provider_has_no_traceback() -> None:
    result = run_cli("verify", "nosuch:model")
    assert result.code == 2
    assert result.err == "reqllm verify: error: unknown provider 'nosuch'\n"


def test_debug_shows_the_traceback() -> None:
    result = run_cli("models", "nosuch", "--debug")
    assert result.code == 1
    assert "Traceback (most recent call last)" in result.err
    assert "UnknownProviderError: unknown provider 'nosuch'" in result.err
    assert run_cli("--debug", "models", "nosuch").err.startswith("Traceback")
    assert "Traceback" in run_cli("models", "nosuch", env={"REQLLM_DEBUG": "1"}).err


def test_mistyped_subcommand_and_option_are_one_line() -> None:
    result = run_cli("modls")
    assert result.code == 2
    assert result.err.splitlines() == ["reqllm: error: unknown command 'modls'",
                                       "did you mean 'models'? (one of: models, providers, fixtures, verify)"]
    result = run_cli("models", "openai", "--jsn")
    assert result.code == 2
    assert result.err.splitlines() == ["reqllm: error: unrecognized arguments: --jsn", "see: reqllm --help"]


def test_models_piped_is_tab_separated_with_full_specs() -> None:
    result = run_cli("models", "openai")
    assert result.code == 0 and result.err == ""
    lines = result.out.splitlines()
    assert lines[0] == "spec\ttools\treasoning\tobjects\timages\tcontext\toutput\tusd_in_per_m\tusd_out_per_m"
    specs = [line.split("\t")[0] for line in lines[1:]]
    assert specs == reqllm.models("openai")
    assert "…" not in result.out
    mini = next(line.split("\t") for line in lines if line.startswith("openai:gpt-4o-mini\t"))
    model = reqllm.model("openai:gpt-4o-mini")
    assert mini[1] == "yes" and mini[5] == str(model.limit.context)


def test_models_on_an_80_column_terminal_never_truncates_a_spec() -> None:
    result = run_cli("models", "openai", tty=True, columns=80)
    assert result.code == 0
    lines = result.out.splitlines()
    assert any(line.split()[:2] == ["spec", "tool"] for line in lines if line.strip())  # a table: a terminal
    for spec in reqllm.models("openai"):
        assert any(line.startswith(f" {spec} ") for line in lines), spec
    assert "…" not in result.out
    assert "(too narrow for $out: widen the terminal, or pipe / --json for every column)" in result.out


def test_models_json() -> None:
    result = run_cli("models", "anthropic", "--json")
    rows = json.loads(result.out)
    assert [r["spec"] for r in rows] == reqllm.models("anthropic")
    assert set(rows[0]) == {"spec", "tools", "reasoning", "objects", "images", "context", "output",
                            "input_per_m", "output_per_m"}


def test_provider_that_takes_any_model_id_says_so() -> None:
    result = run_cli("models", "llamacpp")
    assert result.code == 0
    assert result.out.startswith("llamacpp takes any model id: the server decides which exist")


def test_models_without_provider_summarizes_and_says_how_to_filter() -> None:
    result = run_cli("models")
    assert result.code == 0
    total = sum(len(reqllm.models(p.id)) for p in reqllm.providers())
    assert result.out.startswith(f"{total} models from {len(reqllm.providers())} usable providers")
    assert "reqllm models PROVIDER" in result.out and "reqllm models --all" in result.out
    assert len(result.out.splitlines()) <= 4


def test_output_cut_short_by_head_is_not_an_error() -> None:
    pipeline = f"set -o pipefail; '{console_script()}' models --all | head -n 2"
    proc = subprocess.run(["bash", "-c", pipeline], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.splitlines()[0].startswith("spec\t")


def test_providers_json_and_plain() -> None:
    rows = json.loads(run_cli("providers", "--json").out)
    assert {r["provider"] for r in rows} == {p.id for p in reqllm.providers()}
    plain = run_cli("providers").out.splitlines()
    assert plain[0] == "provider\tprotocol\tbase_url\tkey_variable\tmodels"
