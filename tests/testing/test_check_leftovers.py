"""``reqllm fixtures check`` reports the temporary file an interrupted write leaves behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from reqllm_testing.check import leftovers


def test_a_leftover_temporary_file_is_reported_and_fails_the_check(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    stray = tmp_path / "sub" / ".greeting.json.k3j2h1.tmp"
    stray.write_text('{"format_version": 1, "interac')  # what a killed writer leaves
    assert [f.path for f in leftovers(tmp_path)] == [stray]
    out = subprocess.run([sys.executable, "-m", "reqllm", "fixtures", "check", str(tmp_path), "--no-orphans"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "leftover" in out.stdout and ".greeting.json.k3j2h1.tmp" in out.stdout
    assert "1 leftover temporary" in out.stdout


def test_no_leftovers_in_a_clean_directory(tmp_path: Path) -> None:
    (tmp_path / "ok.json").write_text("{}")
    assert leftovers(tmp_path) == []
