"""One record-mode vocabulary: replay / missing / record, old spellings as aliases, the same everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

import reqllm_testing
from reqllm_testing.modes import MODES, MODES_HELP, normalize_mode
from reqllm_testing.session import resolve_mode

EXPECTED_HELP = ("replay (the default), missing (record what does not exist yet), record (re-record everything); "
                 "old spellings accepted: all = record, none = replay")


def test_the_vocabulary_and_its_aliases() -> None:
    assert list(MODES) == ["replay", "missing", "record"]
    assert MODES_HELP == EXPECTED_HELP
    assert [normalize_mode(m) for m in ("replay", "missing", "record", "all", "none", "Record")] == [
        "replay", "missing", "record", "record", "replay", "record"]


def test_use_fixture_and_fixture_transport_take_every_spelling(tmp_path: Path) -> None:
    missing = tmp_path / "absent.json"
    assert resolve_mode("all", missing) == "record"
    assert resolve_mode("missing", missing) == "record"
    assert resolve_mode("none", missing) == "replay"
    assert reqllm_testing.use_fixture(missing, mode="all").session.mode == "record"
    assert reqllm_testing.FixtureTransport(missing, mode="record").mode == "record"


def test_an_unknown_mode_names_where_it_came_from_and_every_mode(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(reqllm_testing.InvalidModeError) as info:
        reqllm_testing.use_fixture(tmp_path / "x.json", mode="rewrite")
    assert str(info.value) == f"mode: unknown record mode 'rewrite'; the modes are: {EXPECTED_HELP}"
    monkeypatch.setenv("REQLLM_FIXTURES", "sometimes")
    with pytest.raises(ValueError, match=r"^REQLLM_FIXTURES: unknown record mode 'sometimes'; the modes are: "):
        reqllm_testing.use_fixture(tmp_path / "x.json")


def test_pytest_lists_the_modes_and_rejects_an_unknown_one(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("--reqllm-record=sometimes", "-p", "no:xdist")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --reqllm-record: unknown record mode 'sometimes'; the modes are: "
                                 f"{EXPECTED_HELP}"])
    result = pytester.runpytest_subprocess("--reqllm-record=all", "-p", "no:xdist")  # an old spelling
    assert result.ret == 0
    help_text = " ".join(pytester.runpytest_subprocess("--help").stdout.str().split())
    assert "Modes: replay (the default), missing (record what does not exist yet), record (re-record " \
           "everything); old spellings accepted: all = record, none = replay" in help_text
