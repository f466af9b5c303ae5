"""Run in a fresh process by ``memory``: one replay workload, then its RSS figures (KiB) as JSON on stdout.

    python bench/_memory_child.py stream-fixture PATH | stream-floor DELTAS | stream-vcr PATH
    python bench/_memory_child.py calls PATH FIRST TOTAL        (one fixture file, replayed TOTAL times)
    python bench/_memory_child.py files DIRECTORY FIRST TOTAL   (TOTAL fixture files, one per test)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._recordings import generate, server, stream, vcr_cassette
from bench._timing import rss_kb
from reqllm_testing import use_fixture


def _calls(paths: list[Path], first: int, out: dict[str, int]) -> None:
    for i, path in enumerate(paths):
        with use_fixture(path, mode="replay"):
            generate(0)
        if i + 1 == first:
            out["first_kb"] = rss_kb()
    out["total_kb"] = rss_kb()


def main(argv: list[str]) -> dict[str, int]:
    """Run the workload ``argv`` names."""
    mode, arg = argv[0], argv[1]
    import httpx_sse  # noqa: F401  (every mode pays the same imports before the baseline)
    import vcr  # noqa: F401

    stream(0, server(1))  # first-call work (lazy imports, schemas) is not what is measured
    client = server(int(arg)) if mode == "stream-floor" else None  # the server's bytes are not the client's
    out = {"baseline_kb": rss_kb()}
    if mode in ("calls", "files"):
        first, total = int(argv[2]), int(argv[3])
        paths = [Path(arg)] * total if mode == "calls" else sorted(Path(arg).glob("*.json"))[:total]
        _calls(paths, first, out)
    elif mode == "stream-fixture":
        with use_fixture(Path(arg), mode="replay"):
            out["chunks"] = len(stream(0))
    elif mode == "stream-floor":
        out["chunks"] = len(stream(0, client))
    elif mode == "stream-vcr":
        with vcr_cassette(Path(arg)):
            out["chunks"] = len(stream(0))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    out["peak_kb"] = rss_kb("VmHWM")
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
