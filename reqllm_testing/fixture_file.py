"""The fixture file format: load (with named errors, cached per process), save (atomic, locked), versions.

A fixture is one pretty-printed JSON document with sorted keys and a trailing newline::

    {"format_version": 2, "reqllm_version": "...", "recorded_at": "2025-01-01T00:00:00Z",
     "source": "reqllm_testing 0.1.0", "interactions": [{"request": ..., "response": ...,
     "decoded": ..., "meta": ...}, ...]}

Format 2 keeps a stream once as its network chunks, ``"chunks": [[offset_ms, "text"], [offset_ms,
{"b64": "..."}], ...]`` (text when UTF-8, base64 otherwise), next to its decoded chunks; every chunk,
raw or decoded, sits on a line of its own in compact JSON, so a re-recording's diff shows one line per
changed chunk. Format 1 (chunks, a parallel ``timing_ms`` list and a parsed ``events`` copy) still
loads; ``reqllm fixtures upgrade DIR`` rewrites it. In memory a response keeps ``chunks`` and
``timing_ms`` as two lists, whichever version was read.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pydantic_core

from . import fixture_schema
from .errors import FixtureCorruptError, FixturePermissionError

__all__ = [
    "FORMAT_VERSION",
    "FixtureFile",
    "dumps",
    "file_lock",
    "load",
    "mark_written",
    "marker",
    "new_document",
    "parse",
    "read",
    "remove_run",
    "response_digest",
    "run_dir",
    "save",
    "tool_version",
    "upgrade",
    "write_marker",
    "written_by_run",
]

FORMAT_VERSION = 2
#: Versions this module reads.
READABLE_VERSIONS = tuple(sorted(fixture_schema.SCHEMAS))
#: How to re-record a fixture when the test using it is not known (the pytest fixture names its test).
RERECORD = "pytest --reqllm-record <the test using it> (outside pytest: mode='record')"


class FixtureFile:
    """A loaded fixture: its interactions (never mutated once loaded) and header fields."""

    __slots__ = ("_cache", "interactions", "path", "recorded_at", "reqllm_version", "source")

    def __init__(self, path: Path, interactions: list[dict[str, Any]], *, reqllm_version: str | None = None,
                 recorded_at: str | None = None, source: str | None = None) -> None:
        self.path = path
        self.interactions = interactions
        self.reqllm_version = reqllm_version
        self.recorded_at = recorded_at
        self.source = source
        #: Derived data built once per load (request index, replay payloads), keyed by its builder.
        self._cache: dict[Any, Any] = {}

    def derived(self, key: Any, build: Any) -> Any:
        """``build(self)`` computed once per loaded file and kept (indexes, compiled responses)."""
        try:
            return self._cache[key]
        except KeyError:
            value = self._cache[key] = build(self)
            return value

    def document(self) -> dict[str, Any]:
        """The JSON document of this fixture."""
        return {"format_version": FORMAT_VERSION, "reqllm_version": self.reqllm_version,
                "recorded_at": self.recorded_at, "source": self.source, "interactions": self.interactions}


def tool_version(dist: str = "reqllm") -> str:
    """The installed version of ``dist`` (``"unknown"`` when it is not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"


def _loads(data: bytes | str) -> Any:
    """``json.loads``, 2-3x faster: pydantic-core's parser gives the same values; where it refuses a document
    (a lone surrogate escape, nesting past 200) the standard parser decides, with its own error message."""
    try:
        return pydantic_core.from_json(data)
    except ValueError:
        return json.loads(data)


def parse(data: bytes | str, path: str | Path) -> FixtureFile:
    """Parse a fixture document; a ``FixtureCorruptError`` naming the file and the problem otherwise."""
    path = Path(path)
    if not data or data.isspace():
        raise FixtureCorruptError(f"fixture {path} is empty (an interrupted write?); re-record it with: "
                                  f"{RERECORD}", path=path, command=RERECORD)
    try:
        doc = _loads(data)
    except ValueError as exc:
        raise FixtureCorruptError(f"fixture {path} is not valid JSON (truncated or hand-edited?): {exc}; "
                                  f"re-record it with: {RERECORD}", path=path, command=RERECORD) from None
    if not isinstance(doc, dict):
        raise FixtureCorruptError(f"fixture {path} is not a JSON object but a {type(doc).__name__}; "
                                  f"re-record it with: {RERECORD}", path=path, json_path="$", command=RERECORD)
    version = doc.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version not in READABLE_VERSIONS:
        what = "has no format_version" if version is None else f"has unknown format_version {version!r}"
        raise FixtureCorruptError(f"fixture {path} {what}; this reqllm_testing reads format_version "
                                  f"{' or '.join(map(str, READABLE_VERSIONS))} (upgrade reqllm_testing, or "
                                  f"re-record it with: {RERECORD})",
                                  path=path, json_path="$.format_version", command=RERECORD)
    problem = fixture_schema.validate(doc, version)
    if problem is not None:
        where, what = problem
        raise FixtureCorruptError(f"fixture {path} is not a valid format-{version} fixture: {where}: {what}. "
                                  f"Fix that field by hand, or re-record the fixture with: {RERECORD}",
                                  path=path, json_path=where, command=RERECORD)
    if version == 2:  # held in memory as format 1 holds it: chunks and timing_ms as two lists
        doc["interactions"] = [_from_disk(i) for i in doc["interactions"]]
    interactions = doc["interactions"]
    return FixtureFile(path, interactions, reqllm_version=doc.get("reqllm_version"),
                       recorded_at=doc.get("recorded_at"), source=doc.get("source"))


_READ_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


def _read_bytes(path: str | Path) -> bytes:
    """The bytes of the file at ``path``, by plain ``os.read`` calls (a few times faster than ``Path.read_bytes``)."""
    fd = os.open(path, _READ_FLAGS)
    try:
        parts = []
        while part := os.read(fd, 1 << 20):
            parts.append(part)
        return b"".join(parts)
    finally:
        os.close(fd)


def read(path: str | Path) -> FixtureFile:
    """Read and parse ``path`` (no cache)."""
    try:
        data = _read_bytes(path)
    except PermissionError as exc:
        raise _denied(Path(path), "read", exc) from None
    except OSError as exc:
        raise FixtureCorruptError(f"fixture {path} cannot be read: {exc}", path=Path(path)) from None
    return parse(data, path)


#: Loaded files kept per process, least recently used first, bounded so that a suite with one
#: fixture file per test does not keep every file it ever replayed (the newest is always kept).
_cache: collections.OrderedDict[str, tuple[tuple[int, int], FixtureFile]] = collections.OrderedDict()
_cache_lock = threading.Lock()
_cache_bytes = [0]  # total file size of the cached entries
CACHE_FILES = 16
CACHE_BYTES = 32 * 1024 * 1024


def load(path: str | Path) -> FixtureFile:
    """The parsed fixture at ``path``, cached per process by path, mtime and size (a bounded LRU)."""
    key = os.path.abspath(os.fspath(path))  # no Path() here: a cache hit costs a stat and little more
    try:
        stat = os.stat(key)
    except PermissionError as exc:
        raise _denied(Path(path), "read", exc) from None
    stamp = (stat.st_mtime_ns, stat.st_size)
    hit = _cache.get(key)
    if hit is not None and hit[0] == stamp:
        with _cache_lock:
            if key in _cache:
                _cache.move_to_end(key)
        return hit[1]
    fixture = read(path)
    with _cache_lock:
        old = _cache.pop(key, None)
        if old is not None:
            _cache_bytes[0] -= old[0][1]
        _cache[key] = (stamp, fixture)
        _cache_bytes[0] += stamp[1]
        while len(_cache) > 1 and (len(_cache) > CACHE_FILES or _cache_bytes[0] > CACHE_BYTES):
            _cache_bytes[0] -= _cache.popitem(last=False)[1][0][1]
    return fixture


_umask_lock = threading.Lock()


def _umask() -> int:
    """The process's umask (read from /proc where possible: setting it to read it races with threads)."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", encoding="ascii",
                                                        errors="replace") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    with _umask_lock:
        current = os.umask(0o022)
        os.umask(current)
    return current


def _from_disk(item: dict[str, Any]) -> dict[str, Any]:
    """A validated format-2 interaction as held in memory: stream chunks as two lists, ``chunks`` and ``timing_ms``."""
    response = item["response"]
    pairs = response.get("chunks")
    if not pairs:
        return item
    timing = [p[0] for p in pairs]
    out = {**response, "chunks": [p[1] for p in pairs]}
    if None not in timing:
        out["timing_ms"] = timing
    return {**item, "response": out}


def _sse_text(events: list[Any]) -> list[str]:
    out = []
    for event in events:
        lines = [f"event: {event['event']}"] if event.get("event", "message") != "message" else []
        if event.get("id") is not None:
            lines.append(f"id: {event['id']}")
        data = event.get("data", "")
        text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
        lines.extend(f"data: {line}" for line in text.split("\n"))
        out.append("\n".join(lines) + "\n\n")
    return out


def _to_disk(item: dict[str, Any]) -> dict[str, Any]:
    """An interaction as format 2 writes it: each network chunk with its offset, no parsed-events copy."""
    response = item.get("response")
    if not isinstance(response, dict) or not ("chunks" in response or "events" in response):
        return item
    chunks = response.get("chunks")
    if chunks is None:  # hand-written events only (format 1): their bytes become the chunks
        chunks = _sse_text(response["events"])
    if chunks and isinstance(chunks[0], list):  # already format 2
        pairs = chunks
    else:
        timing = response.get("timing_ms")
        if not isinstance(timing, list) or len(timing) != len(chunks):
            timing = [None] * len(chunks)
        pairs = [[t, c] for t, c in zip(timing, chunks, strict=True)]
    out = {k: v for k, v in response.items() if k not in ("events", "timing_ms")}
    out["chunks"] = pairs
    return {**item, "response": out}


_COMPACT = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _pretty(value: Any, level: int) -> str:
    """Indented JSON, except that each item of a ``chunks`` list is compact, on a line of its own."""
    if isinstance(value, dict) and value:
        pad = "  " * (level + 1)
        items = []
        for key in sorted(value):
            item = value[key]
            name = json.dumps(key, ensure_ascii=False)
            if key == "chunks" and isinstance(item, list) and item:
                inner = ",\n".join(pad + "  " + _COMPACT.encode(c) for c in item)
                items.append(f"{pad}{name}: [\n{inner}\n{pad}]")
            else:
                items.append(f"{pad}{name}: {_pretty(item, level + 1)}")
        return "{\n" + ",\n".join(items) + "\n" + "  " * level + "}"
    if isinstance(value, list) and value:
        pad = "  " * (level + 1)
        return "[\n" + ",\n".join(pad + _pretty(v, level + 1) for v in value) + "\n" + "  " * level + "]"
    return _COMPACT.encode(value)


def dumps(document: dict[str, Any]) -> str:
    """The canonical text of a fixture document (format 2): indent 2, sorted keys, one line per chunk."""
    interactions = document.get("interactions")
    if isinstance(interactions, list):
        document = {**document, "format_version": FORMAT_VERSION,
                    "interactions": [_to_disk(i) if isinstance(i, dict) else i for i in interactions]}
    return _pretty(document, 0) + "\n"


def upgrade(path: str | Path) -> bool:
    """Rewrite the fixture at ``path`` in the current format; False when it already was in it.

    A ``meta.decoded_from`` stamp that matched its response before still matches it after (the
    digest is taken of the response as held in memory, which loses its parsed ``events`` copy).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except PermissionError as exc:
        raise _denied(path, "read", exc) from None
    fixture = parse(data, path)
    text = dumps(fixture.document())
    if text.encode("utf-8") == data:
        return False
    upgraded = parse(text, path)
    for before, item in zip(fixture.interactions, upgraded.interactions, strict=True):
        meta = item.get("meta") or {}
        stamp = meta.get("decoded_from")
        if stamp and stamp == response_digest(before.get("response")):
            item["meta"] = {**meta, "decoded_from": response_digest(item.get("response"))}
    save(path, upgraded.document())
    return True


def response_digest(response: Any) -> str:
    """A fingerprint of a recorded response as held in memory (``meta.decoded_from``): ``sha256:`` + 16 hex."""
    text = json.dumps(response, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def new_document(interactions: list[dict[str, Any]], source: str | None = None) -> dict[str, Any]:
    """A fresh document holding ``interactions``, stamped with versions and the time."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return {"format_version": FORMAT_VERSION, "reqllm_version": tool_version("reqllm"), "recorded_at": now,
            "source": source or f"reqllm_testing {tool_version('reqllm')}", "interactions": interactions}


def save(path: str | Path, document: dict[str, Any], *, secrets: Iterable[str] = ()) -> Path:
    """Write ``document`` atomically (temporary file in the same directory, then ``os.replace``).

    Last line of defence: any of ``secrets`` still present in the text (raw or JSON-escaped) is
    replaced before the bytes reach the disk.
    """
    path = Path(path)
    text = dumps(document)
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 8:
            for form in {secret, json.dumps(secret, ensure_ascii=False)[1:-1], json.dumps(secret)[1:-1]}:
                text = text.replace(form, "REDACTED")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except PermissionError as exc:
        raise _denied(path, "written", exc) from None
    try:
        if hasattr(os, "fchmod"):  # mkstemp makes 0600; a fixture gets what the umask gives any new file
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, PermissionError):
            raise _denied(path, "written", exc) from None
        raise
    return path


def run_dir(run_id: str) -> Path:
    """The private directory of recording run ``run_id``'s markers (removed at the end of the run)."""
    return Path(tempfile.gettempdir()) / f"reqllm-run-{run_id}"


def remove_run(run_id: str) -> None:
    """Remove the markers of recording run ``run_id`` (the pytest plugin does at the end of a session)."""
    shutil.rmtree(run_dir(run_id), ignore_errors=True)


def marker(path: str | Path, run_id: str, kind: str) -> Path:
    """The marker ``kind`` (``run``, ``fresh``) that recording run ``run_id`` keeps about ``path``."""
    digest = hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:24]
    return run_dir(run_id) / f"{digest}.{kind}"


def _mode(path: Path) -> str:
    try:
        stat = path.stat()
    except OSError:
        return "not accessible"
    return f"owner uid {stat.st_uid}, mode {stat.st_mode & 0o7777:04o}"


def _denied(path: Path, what: str, exc: OSError) -> FixturePermissionError:
    """A permission problem on ``path`` (a fixture or its directory), as one error naming it."""
    target = Path(exc.filename) if isinstance(exc.filename, str) else path
    while not target.exists() and target.parent != target:  # a file not made yet: its directory refused
        target = target.parent
    return FixturePermissionError(
        f"fixture {path} cannot be {what}: permission denied on {target} ({_mode(target)}, this process "
        f"runs as uid {_uid()}); give this user access (e.g. chmod g+rwX or a+r), or record as its owner",
        path=path)


def _uid() -> str:
    getuid = getattr(os, "getuid", None)
    return str(getuid()) if getuid is not None else "?"


@contextlib.contextmanager
def file_lock(path: str | Path) -> Iterator[None]:
    """An inter-process lock for writing ``path`` (pytest-xdist workers recording the same fixture).

    On POSIX the lock is an ``flock`` on the fixture's directory, which every user who may write the
    fixture can take and which leaves no file behind. Elsewhere, a lock file in the temporary directory.
    """
    path = Path(path)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        with _windows_lock(path):
            yield
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.parent, os.O_RDONLY)
    except PermissionError as exc:
        raise _denied(path, "locked for writing", exc) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _windows_lock(path: Path) -> Iterator[None]:  # pragma: no cover - Windows
    import msvcrt

    digest = hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:24]
    lock_path = Path(tempfile.gettempdir()) / f"reqllm-lock-{digest}"
    with open(lock_path, "a+b") as handle:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)  # type: ignore[attr-defined,unused-ignore]
        try:
            yield
        finally:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined,unused-ignore]


def written_by_run(path: str | Path, run_id: str | None) -> bool:
    """True when ``path`` was last written by the recording run ``run_id`` (so it is appended to)."""
    if run_id is None:
        return False
    return marker(path, run_id, "run").exists() and Path(path).exists()


def mark_written(path: str | Path, run_id: str | None) -> None:
    """Remember that the recording run ``run_id`` wrote ``path``."""
    if run_id is not None:
        write_marker(path, run_id, "run", "")


def write_marker(path: str | Path, run_id: str, kind: str, text: str) -> None:
    """Write the marker ``kind`` of ``path`` for run ``run_id`` (its directory private to this user)."""
    target = marker(path, run_id, kind)
    target.parent.mkdir(mode=0o700, exist_ok=True)
    target.write_text(text)
