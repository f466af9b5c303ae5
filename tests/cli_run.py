"""Run the installed ``reqllm`` console script in a subprocess, as a user types it (pipe or terminal)."""

from __future__ import annotations

import dataclasses
import os
import pty
import re
import select
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["CLIResult", "console_script", "run_cli"]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclasses.dataclass
class CLIResult:
    """What the command printed and its exit status."""

    code: int
    out: str
    err: str


def console_script() -> str:
    """The ``reqllm`` executable installed next to this interpreter."""
    found = shutil.which("reqllm", path=str(Path(sys.executable).parent))
    assert found, f"the reqllm console script is not installed next to {sys.executable}"
    return found


def run_cli(*args: str, cwd: str | Path | None = None, env: dict[str, str] | None = None,
            tty: bool = False, columns: int = 80, timeout: float = 120) -> CLIResult:
    """``reqllm ARGS`` with stdout to a pipe, or (``tty=True``) to a pseudo-terminal ``columns`` wide."""
    environ = {k: v for k, v in os.environ.items() if k != "REQLLM_DEBUG"}
    environ.update({"COLUMNS": str(columns), "NO_COLOR": "1", **(env or {})})
    command = [console_script(), *args]
    if not tty:
        proc = subprocess.run(command, cwd=cwd, env=environ, capture_output=True, text=True, timeout=timeout)
        return CLIResult(proc.returncode, proc.stdout, proc.stderr)
    master, slave = pty.openpty()
    try:
        with subprocess.Popen(command, cwd=cwd, env={**environ, "TERM": "xterm"}, stdout=slave,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL) as proc:
            os.close(slave)
            chunks: list[bytes] = []
            while True:
                ready, _, _ = select.select([master], [], [], timeout)
                if not ready:
                    proc.kill()
                    raise TimeoutError(f"reqllm {' '.join(args)} printed nothing for {timeout}s")
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            err = proc.stderr.read().decode() if proc.stderr else ""
            code = proc.wait(timeout)
    finally:
        os.close(master)
    text = _ANSI.sub("", b"".join(chunks).decode().replace("\r\n", "\n"))
    return CLIResult(code, text, err)
