"""``scripts/local_llm.py``: a long build says what it is doing and how long it took; ``status | head`` is quiet."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "local_llm.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("local_llm_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_progress_is_read_from_make_and_ninja_lines() -> None:
    progress_of = _script().progress_of
    assert progress_of(b"[ 45%] Building CXX object src/llama.cpp.o\n") == 45
    assert progress_of(b"[100%] Linking CXX executable bin/llama-server\n") == 100
    assert progress_of(b"[27/270] Building C object ggml/src/ggml.c.o\n") == 10
    assert progress_of(b"-- Configuring done\n") is None


def test_a_step_reports_its_progress_and_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    compile_like = tmp_path / "compile.py"  # prints what ninja prints while it compiles
    compile_like.write_text("import time\nfor i in range(1, 21):\n    print(f'[{i}/20] Building CXX object "
                            "o{i}.o', flush=True)\n    time.sleep(0.01)\n")
    log = tmp_path / "build.log"
    took = _script()._run("cmake build", [sys.executable, str(compile_like)], log=log)
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("[local_llm] cmake build: ") and err[0].endswith(f"(log: {log})")
    assert err[1:-1] == [f"[local_llm] cmake build: {p:3d}% (0s)" for p in range(10, 101, 10)]
    assert err[-1].startswith("[local_llm] cmake build: done in ") and took > 0
    assert log.read_text().count("Building CXX object") == 20  # the full output stays in the log


def test_a_failed_step_names_itself_and_shows_the_output_tail(capsys: pytest.CaptureFixture[str]) -> None:
    module = _script()
    with pytest.raises(module.LocalLLMError, match=r"^step 'configure' failed \(exit 3\) after 0s:\nno compiler"):
        module._run("configure", [sys.executable, "-c", "import sys; print('no compiler'); sys.exit(3)"])


def test_status_into_a_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    read, write = os.pipe()
    os.close(read)  # like `status | head` once head has exited
    try:
        done = subprocess.run([sys.executable, str(SCRIPT), "status"], stdout=write, stderr=subprocess.PIPE,
                              env={**os.environ, "REQLLM_LLM_CACHE": str(tmp_path)}, timeout=60, check=False)
    finally:
        os.close(write)
    assert done.returncode == 0
    assert b"BrokenPipeError" not in done.stderr and done.stderr == b""
