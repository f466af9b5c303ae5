"""Item 4: start-up — whole-process imports (subprocesses), the first registry lookup, lookups per second.

The processes use a bytecode cache in the work directory (``PYTHONPYCACHEPREFIX``), as an installed
package would have: a source checkout run with ``PYTHONDONTWRITEBYTECODE=1`` recompiles reqllm in
every process while httpx and pydantic come precompiled, which the last row shows separately.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import reqllm

from ._payloads import MODEL
from ._sizes import Sizes
from ._timing import Result

__all__ = ["run"]

SECTION = "4 start-up"
_PASS, _HTTPX = "interpreter (python -c pass)", "import httpx"
_IMPORTS = {
    _PASS: "pass",
    _HTTPX: "import httpx",
    "import reqllm": "import reqllm",
    "import reqllm_testing": "import reqllm_testing",
    "import reqllm + reqllm_testing replay path": "import reqllm, reqllm_testing.recorder",
    "import reqllm + first generate_text (MockTransport)":
        "import sys\nsys.path.insert(0, {root!r})\nfrom bench._recordings import generate, server\n"
        "generate(0, server())",
}
_FIRST_LOOKUP = (f"import time, reqllm\nstarted = time.perf_counter()\nreqllm.model({MODEL!r})\n"
                 "print(time.perf_counter() - started)")


def _process(code: str, cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          check=True)
    return time.perf_counter() - started, done.stdout


def _lookups(count: int) -> list[Result]:
    specs = reqllm.models()
    reqllm.registry.reload()
    reqllm.model(MODEL)
    started = time.perf_counter()
    for spec in specs:
        reqllm.model(spec)
    cold = len(specs) / (time.perf_counter() - started)
    started = time.perf_counter()
    for i in range(count):
        reqllm.model(specs[i % len(specs)])
    warm = count / (time.perf_counter() - started)
    return [Result(SECTION, f"reqllm.model(): first lookup of each of {len(specs):,} specs", cold, "lookups/s"),
            Result(SECTION, "reqllm.model(): repeated lookups", warm, "lookups/s")]


def run(workdir: Path, sizes: Sizes) -> list[Result]:
    """Measure item 4."""
    root = str(Path(__file__).resolve().parents[1])
    cached = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cached["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
    uncached = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    imports = {name: code.format(root=root) for name, code in _IMPORTS.items()}
    for code in imports.values() if not sizes.quick else ():  # fill the bytecode and OS file caches
        _process(code, workdir, cached)
    walls: dict[str, list[float]] = {name: [] for name in imports}
    first, compiling = [], []
    for _ in range(sizes.startup_runs):
        for name, code in imports.items():
            walls[name].append(_process(code, workdir, cached)[0])
        first.append(float(_process(_FIRST_LOOKUP, workdir, cached)[1]))
        compiling.append(_process("import reqllm", workdir, uncached)[0])
    m = {name: statistics.median(values) for name, values in walls.items()}
    base, httpx_wall = m[_PASS], m[_HTTPX]
    results = [Result(SECTION, f"{_PASS}, whole process", base, "s"),
               Result(SECTION, f"{_HTTPX}, whole process", httpx_wall, "s")]
    for name, wall in m.items():
        if name in (_PASS, _HTTPX):
            continue
        results.append(Result(SECTION, f"{name}, whole process", wall, "s", wall / httpx_wall, _HTTPX,
                              3.0 if name == "import reqllm" else None))
        if name == "import reqllm":
            results.append(Result(SECTION, f"{name}, net of the interpreter", wall - base, "s",
                                  (wall - base) / max(httpx_wall - base, 1e-9), "import httpx (net)"))
    wall = statistics.median(compiling)
    results += [
        Result(SECTION, "import reqllm, whole process, reqllm not precompiled", wall, "s", wall / httpx_wall,
               _HTTPX, note="PYTHONDONTWRITEBYTECODE=1"),
        Result(SECTION, "first registry lookup (in a fresh process)", statistics.median(first), "s"),
        *_lookups(sizes.lookups),
    ]
    return results
