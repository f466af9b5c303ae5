"""Where a project's fixtures live, read from the same configuration file pytest reads.

The ``reqllm`` command line (``verify``, ``fixtures ...``) runs outside pytest, so it finds the
configuration file the way pytest does: from the current directory upward, the first of
``pytest.toml``, ``.pytest.toml``, ``pytest.ini``, ``.pytest.ini``, ``pyproject.toml``
(``[tool.pytest]`` or ``[tool.pytest.ini_options]``), ``tox.ini`` (``[pytest]``) and ``setup.cfg``
(``[tool:pytest]``) that holds pytest settings. ``reqllm_fixtures_dir`` in it is relative to its
directory, as in a pytest run; without it the directory is ``tests/fixtures/reqllm``.
"""

from __future__ import annotations

import configparser
import contextlib
import os
import tomllib
from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["DEFAULT_FIXTURES_DIR", "CONFIG_FILES", "FixturesDir", "find_fixtures_dir"]

#: The fixtures directory when no configuration names one (relative to pytest's rootdir).
DEFAULT_FIXTURES_DIR = "tests/fixtures/reqllm"
#: The files pytest reads its settings from, in the order it looks for them in each directory.
CONFIG_FILES = ("pytest.toml", ".pytest.toml", "pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini",
                "setup.cfg")


class FixturesDir(NamedTuple):
    """The fixtures directory (absolute) and, in words, where that came from."""

    path: Path
    source: str


def _toml(path: Path) -> dict[str, Any] | None:
    with contextlib.suppress(OSError, tomllib.TOMLDecodeError):
        return tomllib.loads(path.read_text(encoding="utf-8"))
    return None


def _ini(path: Path, section: str) -> dict[str, str] | None:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return None
    return dict(parser[section]) if parser.has_section(section) else None


def _pytest_options(path: Path) -> dict[str, Any] | None:
    """The pytest settings ``path`` holds, or None when it is not a pytest configuration file."""
    name = path.name
    if name in ("pytest.toml", ".pytest.toml"):
        document = _toml(path) or {}
        return dict(document.get("pytest") or {})
    if name in ("pytest.ini", ".pytest.ini"):
        return _ini(path, "pytest") or {}
    if name == "pyproject.toml":
        tool = ((_toml(path) or {}).get("tool") or {}).get("pytest")
        if not isinstance(tool, dict):
            return None
        native = {k: v for k, v in tool.items() if k != "ini_options"}
        return native or (dict(tool["ini_options"]) if isinstance(tool.get("ini_options"), dict) else None)
    if name == "tox.ini":
        return _ini(path, "pytest")
    if name == "setup.cfg":
        return _ini(path, "tool:pytest")
    return None


def find_fixtures_dir(start: str | Path | None = None) -> FixturesDir:
    """The fixtures directory a pytest run started in ``start`` (default: the current directory) uses."""
    start = Path(start or os.getcwd()).resolve()
    first_pyproject: Path | None = None
    for base in (start, *start.parents):
        for name in CONFIG_FILES:
            path = base / name
            if not path.is_file():
                continue
            if name == "pyproject.toml" and first_pyproject is None:
                first_pyproject = path
            options = _pytest_options(path)
            if options is None:
                continue
            value = options.get("reqllm_fixtures_dir")
            if value:
                return FixturesDir(base / str(value), f"reqllm_fixtures_dir in {path}")
            return FixturesDir(base / DEFAULT_FIXTURES_DIR,
                               f"the default: {path} sets no reqllm_fixtures_dir")
    if first_pyproject is not None:
        return FixturesDir(first_pyproject.parent / DEFAULT_FIXTURES_DIR,
                           f"the default: {first_pyproject} has no pytest settings")
    return FixturesDir(start / DEFAULT_FIXTURES_DIR,
                       f"the default: no {' / '.join(CONFIG_FILES)} with pytest settings in {start} or above")
