"""Smoke run of the benchmarks (``bench/``) at tiny sizes, so the benchmark code cannot rot.

No timing is asserted: only that every section runs end to end, checks its replays against the
floor, and reports finite numbers in a table.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import run as bench_run  # noqa: E402
from bench._sizes import QUICK  # noqa: E402
from bench._timing import Result, table  # noqa: E402


def _check(results: list[Result], sections: set[str]) -> None:
    assert {r.section.split(" ", 1)[0] for r in results} == sections
    for r in results:
        assert math.isfinite(r.value) and r.value >= 0, r
        if r.ratio is not None:
            assert math.isfinite(r.ratio) and r.ratio >= 0, r
            assert r.versus, r
        assert r.verdict in ("", "ok", "MISSED")
    text = table(results)
    markdown = table(results, markdown=True)
    for r in results:
        assert r.name in text and r.name in markdown


def test_in_process_sections_run_and_agree_with_the_floor(tmp_path: Path) -> None:
    results = bench_run.run_sections(["replay", "stream", "large"], QUICK, tmp_path)
    _check(results, {"1", "2", "3"})
    names = [r.name for r in results]
    assert "reqllm fixture replay, per call (loaded)" in names
    assert any(r.target is not None for r in results)
    assert f"{QUICK.stream_deltas[-1]:,} deltas: reqllm fixture replay" in names
    assert f"reqllm, last of {QUICK.large[-1]:,}, per call (file loaded)" in names


def test_the_script_section_runs_and_serves_what_the_floor_serves(tmp_path: Path) -> None:
    results = bench_run.run_sections(["script"], QUICK, tmp_path)
    _check(results, {"8"})
    assert {r.target for r in results if r.versus == "floor"} == {1.2}
    assert "body: Script (parse request, encode reply)" in [r.name for r in results]


def test_process_sections_run(tmp_path: Path) -> None:
    results = bench_run.run_sections(["startup", "memory", "matrix"], QUICK, tmp_path)
    _check(results, {"4", "5", "6"})
    by_name = {r.name: r for r in results}
    assert by_name["import reqllm, whole process"].target == 3.0
    assert by_name["reqllm.model(): repeated lookups"].value > 0
    assert any(name.startswith("pytest -m capability --collect-only") for name in by_name)


def test_the_command_line_prints_one_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_run.main(["--quick", "--only", "replay", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "python bench/run.py --quick" in out
    assert "| 1 replay | floor: generate_text via MockTransport |" in out


def test_the_clouds_section_runs(tmp_path: Path) -> None:
    _check(bench_run.run_sections(["clouds"], QUICK, tmp_path), {"7"})


def test_the_sdk_section_runs_and_replays_what_the_floor_serves(tmp_path: Path) -> None:
    results = bench_run.run_sections(["sdk"], QUICK, tmp_path)
    _check(results, {"11"})
    assert {r.target for r in results if r.versus == "floor"} == {1.3}
    assert len(results) == 4
