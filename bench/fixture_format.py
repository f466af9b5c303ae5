"""Issue 14: fixture format 2 — a stream fixture's bytes against its raw body, and loading it against format 1."""

from __future__ import annotations

import json
from pathlib import Path

from reqllm_testing import fixture_file
from reqllm_testing.recorder import stream_events

from ._payloads import sse_chunks
from ._recordings import record_fixture
from ._sizes import Sizes
from ._timing import Result, interleaved, loop

__all__ = ["run", "version_1"]

SECTION = "12 format"


def version_1(path: Path, target: Path) -> Path:
    """The fixture at ``path`` written as format 1 wrote it (chunks, ``timing_ms`` and a parsed ``events`` copy)."""
    document = fixture_file.read(path).document()
    interactions = []
    for item in document["interactions"]:
        response = dict(item["response"])
        if "chunks" in response:
            response["events"] = stream_events(response)
        interactions.append({**item, "response": response})
    document = {**document, "format_version": 1, "interactions": interactions}
    target.write_text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return target


def run(workdir: Path, sizes: Sizes) -> list[Result]:
    """Bytes per stream fixture (16, 200 and the section-2 size of deltas) and load time, format 2 vs 1."""
    results = []
    for deltas in (16, 200, sizes.stream_deltas[0]):
        raw = sum(len(c) for c in sse_chunks(deltas))
        v2 = record_fixture(workdir / f"stream_{deltas}.json", [0], deltas)
        v1 = version_1(v2, workdir / f"stream_{deltas}_v1.json")
        name = f"{deltas:,} deltas"
        v1_bytes, v2_bytes = v1.stat().st_size, v2.stat().st_size
        number = max(1, min(sizes.number, 20_000 // deltas))
        m = interleaved({"v1": loop(lambda p=v1: fixture_file.read(p)),
                         "v2": loop(lambda p=v2: fixture_file.read(p))}, number, sizes.stream_repeat)
        results += [
            Result(SECTION, f"{name}: raw body", raw, "B"),
            Result(SECTION, f"{name}: format-2 fixture", v2_bytes, "B", v2_bytes / raw, "raw body", 2.5),
            Result(SECTION, f"{name}: format-1 fixture", v1_bytes, "B", v1_bytes / raw, "raw body"),
            Result(SECTION, f"{name}: load format 1 (read + validate)", m.median("v1"), "s"),
            Result(SECTION, f"{name}: load format 2 (read + validate)", m.median("v2"), "s",
                   m.ratio("v2", "v1"), "format 1", 1.0),
        ]
    return results
