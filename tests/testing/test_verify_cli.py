"""``reqllm verify`` through the console script: the fixtures pytest uses, errors, recording only what passes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reqllm_testing.project_config import find_fixtures_dir
from tests.cli_run import run_cli

from .loopback import OpenAIServer

REPO = Path(__file__).resolve().parents[2]
MODEL = "local-llm:gemma-3-270m-q4_k_m"
RECORDED = REPO / "fixtures" / "local-llm" / "gemma-3-270m-q4_k_m" / "generate_text.json"


def test_unknown_model_is_an_error_with_did_you_mean() -> None:
    result = run_cli("verify", "openai:gpt-4o-minii")
    assert result.code == 2
    lines = result.err.splitlines()
    assert lines[0].startswith("reqllm verify: error: unknown model 'gpt-4o-minii' for provider 'openai'; "
                               "did you mean 'gpt-4o-mini'")
    assert lines[1] == "--allow-unknown verifies a model the catalogue does not list yet"
    assert result.out == ""


def test_unknown_capability_and_mode_are_errors() -> None:
    result = run_cli("verify", MODEL, "-c", "tool_caling")
    assert result.code == 2
    assert result.err.splitlines()[0] == "reqllm verify: error: unknown capability 'tool_caling'; did you mean " \
                                         "'tool_calling'?"
    result = run_cli("verify", MODEL, "--record=sometimes")
    assert result.code == 2
    assert result.err == ("reqllm verify: error: --record: unknown record mode 'sometimes'; the modes are: replay "
                          "(the default), missing (record what does not exist yet), record (re-record "
                          "everything); old spellings accepted: all = record, none = replay\n")


def test_reads_the_fixtures_dir_from_the_pytest_configuration(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\nreqllm_fixtures_dir = "tests/caps"\n')
    target = tmp_path / "tests" / "caps" / "local-llm" / "gemma-3-270m-q4_k_m" / "generate_text.json"
    target.parent.mkdir(parents=True)
    shutil.copy(RECORDED, target)
    below = tmp_path / "tests"  # run from a subdirectory, as pytest would find the file from there too
    result = run_cli("verify", MODEL, "-c", "generate_text", cwd=below)
    assert result.code == 0, result.err
    assert result.out.splitlines()[1] == f"{MODEL}\tgenerate_text\tpassed\t"
    assert result.err.splitlines()[0] == (f"fixtures: {tmp_path / 'tests' / 'caps'} "
                                          f"(reqllm_fixtures_dir in {tmp_path / 'pyproject.toml'})")
    elsewhere = tmp_path / "other"
    result = run_cli("verify", MODEL, "-c", "generate_text", "-c", "stream_text", "--fixtures-dir",
                     str(elsewhere), cwd=tmp_path)
    assert result.code == 0
    assert result.err.splitlines()[0] == f"fixtures: {elsewhere} (--fixtures-dir)"
    rows = result.out.splitlines()[1:]
    assert rows[0].startswith(f"{MODEL}\tgenerate_text\tnot recorded\tno {elsewhere}/local-llm/")
    assert rows[0].endswith(f"record it with: reqllm verify {MODEL} -c generate_text --record=missing "
                            "(with the provider's API key set)")
    assert result.err.splitlines()[-1] == "0 passed, 0 failed, 2 not recorded"


@pytest.mark.parametrize(("name", "text"), [
    ("pytest.ini", "[pytest]\nreqllm_fixtures_dir = a\n"),
    (".pytest.ini", "[pytest]\nreqllm_fixtures_dir = a\n"),
    ("pytest.toml", '[pytest]\nreqllm_fixtures_dir = "a"\n'),
    ("pyproject.toml", '[tool.pytest]\nreqllm_fixtures_dir = "a"\n'),
    ("pyproject.toml", '[tool.pytest.ini_options]\nreqllm_fixtures_dir = "a"\n'),
    ("tox.ini", "[pytest]\nreqllm_fixtures_dir = a\n"),
    ("setup.cfg", "[tool:pytest]\nreqllm_fixtures_dir = a\n"),
])
def test_every_pytest_configuration_file_is_read(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text)
    (tmp_path / "sub").mkdir()
    found = find_fixtures_dir(tmp_path / "sub")
    assert found.path == tmp_path / "a"
    assert found.source == f"reqllm_fixtures_dir in {tmp_path / name}"


def test_the_first_pytest_configuration_wins_as_in_pytest(tmp_path: Path) -> None:
    (tmp_path / "tox.ini").write_text("[tox]\nenvlist = py311\n")  # no [pytest]: not pytest's file
    (tmp_path / "setup.cfg").write_text("[tool:pytest]\nreqllm_fixtures_dir = from-setup-cfg\n")
    assert find_fixtures_dir(tmp_path).path == tmp_path / "from-setup-cfg"
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -q\n")  # pytest.ini first: the default
    found = find_fixtures_dir(tmp_path)
    assert found.path == tmp_path / "tests" / "fixtures" / "reqllm"
    assert found.source == f"the default: {tmp_path / 'pytest.ini'} sets no reqllm_fixtures_dir"


def test_record_writes_only_the_capabilities_that_passed(tmp_path: Path, openai_server: OpenAIServer) -> None:
    root = tmp_path / "fx"
    kept = root / "local-llm" / "gemma-3-270m-q4_k_m" / "token_limit.json"
    kept.parent.mkdir(parents=True)
    kept.write_text("the previous recording\n")
    result = run_cli("verify", MODEL, "-c", "generate_text", "-c", "token_limit", "-c", "generate_object",
                     "--record", "--fixtures-dir", str(root), env={"REQLLM_LOCAL_BASE_URL": openai_server.base_url})
    assert result.code == 1
    rows = {line.split("\t")[1]: line.split("\t") for line in result.out.splitlines()[1:]}
    assert rows["generate_text"][2:] == ["passed", f"recorded {kept.parent / 'generate_text.json'}"]
    assert rows["token_limit"][2] == "failed"
    assert rows["token_limit"][3].endswith("not written: capability failed (the previous fixture is kept)")
    assert rows["generate_object"][3].endswith("not written: capability failed (nothing was written)")
    assert (kept.parent / "generate_text.json").exists()
    assert kept.read_text() == "the previous recording\n"
    assert not (kept.parent / "generate_object.json").exists()
    assert result.err.splitlines()[-1] == "1 passed, 2 failed, 0 not recorded"


def test_fixtures_commands_say_where_they_looked(tmp_path: Path) -> None:
    (tmp_path / "setup.cfg").write_text("[tool:pytest]\nreqllm_fixtures_dir = recorded\n")
    result = run_cli("fixtures", "list", cwd=tmp_path)
    assert result.code == 0
    assert result.err == f"fixtures: {tmp_path / 'recorded'} (reqllm_fixtures_dir in {tmp_path / 'setup.cfg'})\n"
    assert result.out == f"no fixtures under {tmp_path / 'recorded'}\n"
