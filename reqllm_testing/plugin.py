"""The pytest plugin (entry point ``pytest11: reqllm``): options, the ``reqllm`` marker, ``reqllm_fixture``.

Thin on purpose: this module is imported by every pytest session of every project that has
reqllm installed, so it imports neither reqllm nor any heavy dependency; the work lives in
``pytest_fixture``, ``session`` and ``recorder``, imported when a test asks for a fixture; the
options are read by ``pytest_options``, which both this module and ``pytest_fixture`` import.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from .modes import ALIASES, MODES, MODES_HELP
from .pytest_options import FIXTURE_NAME, RUN_ID, fixtures_root, record_mode, run_id

__all__ = ["fixtures_root", "record_mode", "reqllm_fixture", "run_id"]

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
_BLOCK = pytest.StashKey[contextlib.ExitStack]()
_FIXTURE = pytest.StashKey[Any]()


class _HookSpecs:
    @pytest.hookspec
    def pytest_reqllm_redact(self, interaction: dict[str, Any]) -> dict[str, Any] | None:
        """Redact one interaction before it is written; return it changed, or change it in place."""

    @pytest.hookspec
    def pytest_reqllm_fixture_paths(self, item: pytest.Item) -> list[str] | None:
        """Fixture files ``item`` uses beyond its own (``reqllm fixtures check`` counts them as used)."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(_HookSpecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("reqllm", "reqllm fixtures: record and replay LLM provider traffic")
    group.addoption("--reqllm-record", dest="reqllm_record", nargs="?", const="record", default=None,
                    metavar="MODE", help=f"the record mode. One switch (or env REQLLM_FIXTURES=MODE) for "
                    f"reqllm_fixture, use_fixture and every FixtureTransport of the session; an explicit mode= "
                    f"argument wins; a bare --reqllm-record means 'record'. Modes: {MODES_HELP}")
    group.addoption("--reqllm-fixtures-dir", dest="reqllm_fixtures_dir", default=None, metavar="PATH",
                    help="where fixture files live (default: ini reqllm_fixtures_dir, "
                    "else tests/fixtures/reqllm)")
    group.addoption("--reqllm-block-network", dest="reqllm_block_network", action="store_true",
                    help="make every outgoing connection outside a fixture fail (reqllm, httpx, SDKs, requests, "
                    "urllib, aiohttp, sockets; loopback hosts listed in ini reqllm_ignore_hosts excepted)")
    group.addoption("--reqllm-update-decoded", dest="reqllm_update_decoded", action="store_true",
                    help="replay and re-generate the decoded part of fixtures (after a deliberate parser "
                    "change)")
    group.addoption("--reqllm-replay-timing", dest="reqllm_replay_timing", type=float, default=None,
                    metavar="SCALE", help="replay streams at their recorded pace times SCALE "
                    "(1.0 = as recorded)")
    parser.addini("reqllm_fixtures_dir", "directory of reqllm fixture files", default="tests/fixtures/reqllm")
    parser.addini("reqllm_ignore_hosts", "hosts whose traffic passes untouched inside fixtures (and, when "
                  "loopback, is allowed under --reqllm-block-network)", type="linelist", default=[])
    parser.addini("reqllm_ignore_fields", "paths in request bodies ignored when matching, one a line "
                  "(messages[0].content, messages[*].content, metadata.*)",
                  type="linelist", default=[])


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser,
                                  args: list[str]) -> None:
    # "--reqllm-record tests/x.py": the bare flag must not swallow the path that follows it.
    for i, arg in enumerate(args[:-1]):
        if arg == "--reqllm-record" and args[i + 1].lower() not in (*MODES, *ALIASES):
            args[i] = "--reqllm-record=record"


_SUMMARY = "reqllm-summary"


class _Summary:
    """Adds up the fixture counts of every test (also from xdist workers) for the terminal summary.

    One line whenever a test used a fixture: ``reqllm: N replayed, N recorded, N missing`` and, when
    not zero, ``N kept`` (recordings not written because their test failed), ``N mismatched``,
    ``N unused``. Before it, one line per recording that was not written because its test failed.
    """

    _ORDER = ("replayed", "recorded", "missing", "kept", "mismatched", "unused")

    def __init__(self) -> None:
        self.counts = dict.fromkeys(self._ORDER, 0)
        self.not_written: list[tuple[str, str]] = []
        #: Recordings of FixtureTransports never saved (a client never closed): reported, and the run fails.
        self.unsaved: list[str] = []

    @pytest.hookimpl(trylast=True)  # after the session-scoped fixtures are torn down (their clients closed)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if "reqllm_testing._unsaved" not in sys.modules:
            return
        from ._unsaved import take

        self.unsaved = take()
        if self.unsaved and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def count(self, report: pytest.TestReport) -> None:
        """Add the counts a test's teardown report carries (``_PerTest`` calls it for tests using a fixture)."""
        for key, value in report.user_properties:
            if key == "reqllm" and isinstance(value, dict):
                for name, count in value.items():
                    self.counts[name] = self.counts.get(name, 0) + int(count)
            elif key == "reqllm_not_written" and isinstance(value, list):
                self.not_written.extend((report.nodeid, str(path)) for path in value)

    def pytest_terminal_summary(self, terminalreporter: Any, config: pytest.Config) -> None:
        c = self.counts
        if hasattr(config, "workerinput"):
            return
        for line in self.unsaved:
            terminalreporter.write_line(f"reqllm: ERROR: {line}", red=True, bold=True)
        if not any(c.values()):
            return
        for nodeid, path in self.not_written:
            kept = "the previous fixture is kept" if Path(path).exists() else "no fixture was written"
            terminalreporter.write_line(f"reqllm: not written: test failed: {nodeid} ({path}: {kept})")
        terminalreporter.write_line("reqllm: " + ", ".join(f"{c.get(k, 0)} {k}" for k in self._ORDER
                                                           if k in ("replayed", "recorded", "missing") or c.get(k)))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "reqllm(fixture=None, allow_unused=False, ignore_fields=(), timing=None, ignore_hosts=()): use "
        "the reqllm fixture: a named fixture shared between tests, allow recorded interactions to go "
        "unused, JSON paths of the request body ignored when matching, replay streams at the recorded "
        "pace times timing, hosts whose traffic passes untouched")
    mode = record_mode(config)
    if config.getoption("reqllm_record", None):  # one switch: use_fixture and FixtureTransport follow it too
        from .session import set_default_mode

        set_default_mode(mode)
        config.add_cleanup(lambda: set_default_mode(None))
    fields = config.getini("reqllm_ignore_fields")
    if fields:
        from .matching import parse_field

        try:
            for field in fields:
                parse_field(field)
        except ValueError as exc:
            raise pytest.UsageError(f"ini option reqllm_ignore_fields: {exc}") from None
    config.pluginmanager.register(_Summary(), _SUMMARY)
    if config.getoption("reqllm_block_network", False):
        from reqllm._transport import install_hook

        from .intercept import block_network
        from .recorder import BlockingHook

        stack = contextlib.ExitStack()
        stack.enter_context(install_hook(BlockingHook(), process_wide=True))
        stack.enter_context(block_network(config.getini("reqllm_ignore_hosts") or (), _record_command))
        config.stash[_BLOCK] = stack


_ROOT = pytest.StashKey[Path | None]()


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Collection does not walk the fixtures directory (JSON files only: pytest would ask every plugin about
    each file of it), unless a Python file sits somewhere in it."""
    if _ROOT not in config.stash:
        config.stash[_ROOT] = fixtures_root(config)
    root = config.stash[_ROOT]
    if root is None or collection_path.name != root.name or collection_path != root:
        return None
    if any(name.endswith(".py") for _, _, names in os.walk(root) for name in names):
        config.stash[_ROOT] = None  # tests live there: collected as usual
        return None
    return True


def _record_command() -> str:
    """The command that records the running test (pytest names it in PYTEST_CURRENT_TEST)."""
    current = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
    return f"pytest --reqllm-record=missing {current}" if current else "pytest --reqllm-record=missing <test>"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: every worker records under the controller's run id (its markers are removed once)."""
    node.workerinput["reqllm_run_id"] = run_id(node.config)
    _per_test(node.config)  # the controller adds up the counts its workers' reports carry


def pytest_unconfigure(config: pytest.Config) -> None:
    stack = config.stash.get(_BLOCK, None)
    if stack is not None:
        stack.close()
    run = config.stash.get(RUN_ID, None)
    if run is not None and not hasattr(config, "workerinput"):  # the controller: the run is over
        from .fixture_file import remove_run

        remove_run(run)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Check every ``reqllm`` marker, and that no two tests would share one fixture file by accident.

    The tests that use ``reqllm_fixture`` or the marker are the only ones the plugin hooks into: a marked
    test gets the fixture added to its fixtures, and the per-test hooks (``_PerTest``) are registered only
    when some test uses it, and then act only on those tests. Other tests pay nothing.
    """
    owners: dict[str, tuple[str, str]] = {}  # casefolded name -> (node id, name)
    config: pytest.Config | None = None
    for item in items:
        markers = list(item.iter_markers("reqllm"))
        names = getattr(item, "fixturenames", None)
        if not markers and (names is None or "reqllm_fixture" not in names):
            continue
        config = getattr(item, "config", None)
        if markers and isinstance(item, pytest.Function) and "reqllm_fixture" not in item.fixturenames:
            # the marker implies the fixture, set up before the test's own (a new list: parametrized
            # tests of one function share theirs, and a mark may sit on one parameter only)
            item.fixturenames = ["reqllm_fixture", *item.fixturenames]
        from .pytest_fixture import check_marker, default_fixture_name

        try:
            options = [check_marker(marker) for marker in markers]
        except ValueError as exc:
            raise pytest.UsageError(f"{item.nodeid}: {exc}") from None
        if options and "fixture" in options[0]:  # the closest marker names a fixture: shared on purpose
            continue
        name = item.stash[FIXTURE_NAME] = default_fixture_name(item.nodeid)
        other, first = owners.setdefault(name.casefold(), (item.nodeid, name))
        if other != item.nodeid:
            where = "" if first == name else f" on a case-insensitive file system ({first}.json)"
            raise pytest.UsageError(f"{other} and {item.nodeid} would share the fixture file {name}.json{where}; "
                                    f"rename one, or share it on purpose: @pytest.mark.reqllm(fixture=...)")


    if config is not None:  # some test uses the fixture
        _per_test(config)


_PER_TEST = "reqllm-per-test"


def _per_test(config: pytest.Config) -> _PerTest:
    """The per-test hooks, registered on first need."""
    per_test = config.pluginmanager.get_plugin(_PER_TEST)
    if not isinstance(per_test, _PerTest):
        summary = config.pluginmanager.get_plugin(_SUMMARY)
        per_test = _PerTest(summary if isinstance(summary, _Summary) else None)
        config.pluginmanager.register(per_test, _PER_TEST)
    return per_test


class _PerTest:
    """The per-test hooks, registered only when a test uses ``reqllm_fixture`` (or the marker), or on an
    xdist controller; they act only on tests whose fixture was set up (or, on a controller, whose teardown
    report carries fixture counts)."""

    def __init__(self, summary: _Summary | None) -> None:
        self.summary = summary

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
        report = yield
        if _FIXTURE in item.stash:
            item.stash.setdefault(_REPORTS, {})[report.when] = report
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "teardown" and report.user_properties and self.summary is not None:
            self.summary.count(report)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, Any, Any]:
        """Recordings are written after the test's whole teardown, and only when nothing failed or errored."""
        try:
            result = yield
        except BaseException:
            fixture = _take(item, _FIXTURE)
            if fixture is not None:
                fixture.commit(ok=False)
            raise
        fixture = _take(item, _FIXTURE)
        if fixture is not None:
            reports = _take(item, _REPORTS) or {}
            fixture.commit(ok="call" in reports and all(r.passed for r in reports.values()))
        return result


def _take(item: pytest.Item, key: pytest.StashKey[Any]) -> Any:
    """Remove ``key`` from the item's stash and return its value: a finished test keeps no fixture (and
    its loaded file) alive until the end of the session."""
    value = item.stash.get(key, None)
    if value is not None:
        del item.stash[key]
    return value


@pytest.fixture
def reqllm_fixture(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Every reqllm call of the test is replayed from (with --reqllm-record: recorded into) its fixture.

    Recordings are written after the test's teardown, when setup, call and teardown all passed.
    """
    from .pytest_fixture import ReqLLMFixture, Settings

    _per_test(request.config)  # requested at run time (getfixturevalue) by a test not known at collection
    fixture = ReqLLMFixture(request, Settings.of(request.config))
    request.node.stash[_FIXTURE] = fixture
    fixture.start()
    yield fixture
    reports = request.node.stash.get(_REPORTS, {})
    passed = all(r.passed for r in reports.values()) and "call" in reports
    fixture.finish(passed)

