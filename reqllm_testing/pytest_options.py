"""What a pytest run configured for reqllm: the record mode, the fixtures directory, the run id.

Its own module so that the plugin (hooks) and ``pytest_fixture`` (the fixture object) both read the
options without importing each other. Light: pytest and the standard library only.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from .errors import InvalidModeError
from .modes import normalize_mode

__all__ = ["FIXTURE_NAME", "RUN_ID", "fixtures_root", "record_mode", "run_id"]

#: Where a run's id is kept on the pytest config (set by ``run_id``).
RUN_ID = pytest.StashKey[str]()
#: A test's default fixture name, kept on its item when collection works it out (to check collisions).
FIXTURE_NAME = pytest.StashKey[str]()


def record_mode(config: pytest.Config) -> str:
    """``record``, ``missing`` or ``replay``: from --reqllm-record, else REQLLM_FIXTURES, else replay."""
    option = config.getoption("reqllm_record", None)
    where = "--reqllm-record" if option else "REQLLM_FIXTURES"
    try:
        return normalize_mode(option or os.environ.get("REQLLM_FIXTURES") or "replay", where=where)
    except InvalidModeError as exc:
        raise pytest.UsageError(str(exc)) from None


def fixtures_root(config: pytest.Config) -> Path:
    """The fixtures directory (absolute): --reqllm-fixtures-dir, else ini reqllm_fixtures_dir."""
    value = config.getoption("reqllm_fixtures_dir", None) or config.getini("reqllm_fixtures_dir")
    root = Path(str(value or "tests/fixtures/reqllm"))
    return root if root.is_absolute() else Path(config.rootpath) / root


def run_id(config: pytest.Config) -> str:
    """One id per test run, shared by xdist workers (fixtures shared by tests are appended, not replaced)."""
    value = config.stash.get(RUN_ID, None)
    if value is None:
        worker = getattr(config, "workerinput", None)
        uid = worker.get("reqllm_run_id") if isinstance(worker, dict) else None
        value = config.stash[RUN_ID] = str(uid) if uid else uuid.uuid4().hex
    return value
