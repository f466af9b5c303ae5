"""What ``reqllm fixtures check | scan`` report: unloadable, stale, orphaned fixtures; secret-looking text.

* stale: the final response of a call, re-decoded by the current reqllm (through the same core
  path a replay takes), differs from the decoded part stored when it was recorded;
* orphaned: no collected test would use the file (tests are collected quietly in-process; names
  come from ``reqllm_fixture``'s naming, ``@pytest.mark.reqllm(fixture=...)``, literal
  ``.use("name")`` / ``use_fixture("path")`` calls in test modules, and the
  ``pytest_reqllm_fixture_paths`` hook).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import io
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from . import fixture_file
from .errors import ReqLLMTestingError
from .redaction import PLACEHOLDER, SECRET_PATTERNS

__all__ = [
    "Finding",
    "default_root",
    "fixture_files",
    "leftovers",
    "orphans",
    "redecode",
    "scan_file",
    "scan_paths",
    "stale",
    "unloadable",
    "used_fixture_paths",
]

_USE_NAME = re.compile(r"""\.use\(\s*(?:name\s*=\s*)?["']([^"']+)["']""")
_USE_PATH = re.compile(r"""use_fixture\(\s*(?:path\s*=\s*)?["']([^"']+)["']""")


@dataclasses.dataclass(frozen=True)
class Finding:
    """One problem: the file, what kind, and a readable detail."""

    path: Path
    kind: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind}: {self.path}" + (f" — {self.detail}" if self.detail else "")


def fixture_files(root: Path) -> list[Path]:
    """Every fixture file under ``root`` (sorted)."""
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*.json") if not p.name.startswith("."))


def leftovers(root: Path) -> list[Finding]:
    """Temporary files an interrupted write left behind (never loaded; safe to delete)."""
    if root.is_file():
        return []
    return [Finding(p, "leftover", "temporary file of an interrupted write; never loaded, safe to delete")
            for p in sorted(root.rglob(".*.json.*.tmp"))]


# -- stale ------------------------------------------------------------------------------------------
def redecode(interaction: dict[str, Any]) -> dict[str, Any]:
    """The decoded part the current reqllm gives the interaction's response (ValueError if it cannot)."""
    from .decoding import redecode as _redecode
    from .recorder import ServeRecorded

    return _redecode(interaction, ServeRecorded)


def _without_object(decoded: dict[str, Any]) -> dict[str, Any]:
    response = decoded.get("response")
    if isinstance(response, dict) and "object" in response:
        return {**decoded, "response": {k: v for k, v in response.items() if k != "object"}}
    return decoded


def stale(path: Path) -> Iterator[Finding]:
    """Findings for the interactions of ``path`` whose decoded part the current parser no longer gives."""
    from .matching import diff_text
    from .session import _comparable, response_digest, same_decoded

    fixture = fixture_file.read(path)
    for position, interaction in enumerate(fixture.interactions):
        recorded = interaction.get("decoded")
        if recorded is None:
            continue
        try:
            actual = redecode(interaction)
        except ValueError as exc:
            yield Finding(path, "unchecked", f"interaction #{position}: {exc}")
            continue
        if not same_decoded(_without_object(recorded), _without_object(actual)):
            diff = diff_text(_comparable(_without_object(recorded)),
                             _comparable(json.loads(json.dumps(_without_object(actual), default=str))))
            stamp = (interaction.get("meta") or {}).get("decoded_from")
            cause = ("" if not stamp else " (the recorded response was edited after its decoded part was written)"
                     if stamp != response_digest(interaction.get("response")) else " (the parser changed)")
            yield Finding(path, "stale", f"interaction #{position} decodes differently now{cause}:\n{diff}")


# -- orphans ----------------------------------------------------------------------------------------
class _Collector:
    """A pytest plugin noting the fixture files collected tests would use."""

    def __init__(self) -> None:
        self.paths: set[Path] = set()
        self.ok = False

    def pytest_collection_modifyitems(self, config: Any, items: list[Any]) -> None:
        from .pytest_fixture import check_marker, compatible_fixture_name, fixture_path
        from .pytest_options import fixtures_root

        root = fixtures_root(config)
        modules: set[Path] = set()
        for item in items:
            marker = item.get_closest_marker("reqllm")
            if marker is not None or "reqllm_fixture" in getattr(item, "fixturenames", ()):
                options = check_marker(marker) if marker is not None else {}
                if "fixture" in options:
                    self.paths.add(fixture_path(root, options["fixture"]))
                else:
                    self.paths.add(fixture_path(root, compatible_fixture_name(root, item.nodeid)))
            for extra in config.hook.pytest_reqllm_fixture_paths(item=item):
                self.paths.update(Path(p).resolve() for p in extra or ())
            if getattr(item, "path", None) is not None:
                modules.add(Path(item.path))
        for module in modules:
            with contextlib.suppress(OSError, UnicodeDecodeError):
                source = module.read_text(encoding="utf-8")
                for name in _USE_NAME.findall(source):
                    with contextlib.suppress(ValueError):
                        self.paths.add(fixture_path(root, name))
                for raw in _USE_PATH.findall(source):
                    self.paths.add((Path(config.rootpath) / raw).resolve())
        self.paths = {p.resolve() for p in self.paths}
        self.ok = True


def used_fixture_paths(root: Path, pytest_args: Iterable[str] = ()) -> set[Path]:
    """Fixture files the collected tests would use (collects quietly, in-process)."""
    import pytest

    collector = _Collector()
    args = ["--collect-only", "-qq", "-p", "no:cacheprovider", "-p", "no:randomly", "-p", "no:xdist",
            f"--reqllm-fixtures-dir={root}", *pytest_args]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = pytest.main(args, plugins=[collector])
    if not collector.ok and int(code) not in (0, 5):
        raise RuntimeError(f"collecting tests failed (pytest exit code {int(code)}): run "
                           f"`pytest --collect-only {' '.join(pytest_args)}` to see why")
    return collector.paths


def orphans(root: Path, files: Iterable[Path], pytest_args: Iterable[str] = ()) -> list[Finding]:
    """Files no collected test would use."""
    used = used_fixture_paths(root, pytest_args)
    return [Finding(p, "orphaned", "no collected test uses it") for p in files if p.resolve() not in used]


# -- scan -------------------------------------------------------------------------------------------
_SECRET_HEADER = re.compile(r"auth|key|secret|cookie|session|signature|(^|[-_])token$", re.IGNORECASE)
_OPAQUE = re.compile(r"^(?:[A-Fa-f0-9]{32,}|[A-Za-z0-9+/_\-]{40,}={0,2})$")


def _mask(value: str) -> str:
    return value[:6] + "…" if len(value) > 6 else value


def _header_findings(path: Path, data: Any, lines: list[str]) -> Iterator[Finding]:
    def line_of(value: str) -> int:
        return next((i + 1 for i, line in enumerate(lines) if value[:40] in line), 0)

    def walk(value: Any) -> Iterator[Finding]:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "headers" and isinstance(inner, dict):
                    for name, values in inner.items():
                        for v in values if isinstance(values, list) else [values]:
                            text = str(v).strip()
                            if not text or PLACEHOLDER in text:
                                continue
                            token = text.split(" ", 1)[-1]
                            if (_SECRET_HEADER.search(str(name)) and len(token) >= 8) or _OPAQUE.match(token):
                                yield Finding(path, "secret-looking header",
                                              f"line {line_of(text)}: {name}: {_mask(text)}")
                else:
                    yield from walk(inner)
        elif isinstance(value, list):
            for inner in value:
                yield from walk(inner)

    yield from walk(data)


def scan_file(path: Path) -> list[Finding]:
    """Secret-looking strings in one fixture or cassette file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [Finding(path, "unreadable", str(exc))]
    lines = text.splitlines()
    findings = []
    for number, line in enumerate(lines, 1):
        for kind, pattern in SECRET_PATTERNS:
            for match in pattern.finditer(line):
                findings.append(Finding(path, kind, f"line {number}: {_mask(match.group(0))}"))
    data: Any = None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        elif path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
    except Exception:
        data = None
    if data is not None:
        findings.extend(_header_findings(path, data, lines))
        findings.extend(_base64_findings(path, data))
    return findings


def _base64_findings(path: Path, data: Any) -> Iterator[Finding]:
    """Secret-looking strings inside ``{"b64": ...}`` chunks and bodies (invisible to a text search)."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            encoded = value.get("b64")
            if isinstance(encoded, str):
                try:
                    text = base64.b64decode(encoded).decode("utf-8", "replace")
                except ValueError:
                    text = ""
                for kind, pattern in SECRET_PATTERNS:
                    for match in pattern.finditer(text):
                        yield Finding(path, kind, f"in a base64 chunk: {_mask(match.group(0))}")
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def scan_paths(paths: Iterable[Path]) -> list[Finding]:
    """Secret-looking strings in every .json/.yaml/.yml file under ``paths``."""
    findings: list[Finding] = []
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() in (".json", ".yaml", ".yml"))
        else:
            files = [path]
        for file in files:
            findings.extend(scan_file(file))
    return findings


def unloadable(files: Iterable[Path]) -> list[Finding]:
    """Files that fail to load, with the reason."""
    out = []
    for path in files:
        try:
            fixture_file.read(path)
        except ReqLLMTestingError as exc:
            out.append(Finding(path, "unloadable", str(exc)))
    return out


def default_root(cwd: Path | None = None) -> Path:
    """The fixtures directory pytest would use here (``reqllm_fixtures_dir`` in its configuration file)."""
    from .project_config import find_fixtures_dir

    return find_fixtures_dir(cwd).path
