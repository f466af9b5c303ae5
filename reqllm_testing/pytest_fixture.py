"""What the ``reqllm_fixture`` pytest fixture gives a test, and the settings it reads (imported lazily).

The fixture file of a test is named after it: ``<fixtures dir>/<module path>/<test name>.json``,
sanitized, with a short hash of the raw id when sanitizing changed it (so ``[a/b]`` and ``[a b]`` never
share a file), when its parameter id has capitals (so ``[A]`` and ``[a]`` never share a file on a
case-insensitive file system: macOS, Windows) or when the name is long. ``reqllm_fixture.use("name")``
switches to the shared fixture ``<fixtures dir>/name.json`` for a block.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .errors import DecodedMismatchError, FixtureMismatchError, ReqLLMTestingError, UnusedInteractionsError
from .matching import Matcher, parse_field
from .pytest_options import FIXTURE_NAME, fixtures_root, record_mode, run_id
from .session import FixtureSession, resolve_mode

__all__ = ["MARKER_ARGS", "SUMMARY_COUNTS", "ReqLLMFixture", "Settings", "check_marker", "compatible_fixture_name",
           "default_fixture_name", "fixture_path"]

#: What the ``reqllm:`` summary line counts, in its order: one per fixture a test used.
SUMMARY_COUNTS = ("replayed", "recorded", "missing", "kept", "mismatched", "unused")
#: The keyword arguments ``@pytest.mark.reqllm`` accepts, and their types.
MARKER_ARGS: dict[str, type | tuple[type, ...]] = {
    "fixture": str,
    "allow_unused": bool,
    "ignore_fields": (list, tuple),
    "timing": (int, float),
    "ignore_hosts": (list, tuple),
}
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]+")
_MAX_NAME = 120


def _sanitize(part: str, plain: str | None = None, *, hashed: bool = False) -> str:
    """``part`` as a file name: unsafe characters become ``-``; when that loses information (the result
    is not ``plain``, by default ``part`` itself), or when ``hashed``, a short hash of ``part`` keeps
    distinct names distinct.

    So ``a-b`` stays ``a-b`` while ``a/b``, ``a b`` and ``a?b`` become ``a-b-<hash>``, each its own.
    """
    cleaned = _UNSAFE.sub("-", part).strip("-.") or "_"
    if hashed or cleaned != (part if plain is None else plain):
        cleaned = f"{cleaned}-{hashlib.sha256(part.encode()).hexdigest()[:8]}"
    if len(cleaned) > _MAX_NAME:
        digest = hashlib.sha256(part.encode()).hexdigest()[:12]
        cleaned = f"{cleaned[:_MAX_NAME - 13]}-{digest}"
    return cleaned


def _test_name(rest: str, *, capitals: bool = True) -> str:
    """``TestA::test_b[x-1]`` -> ``TestA.test_b-x-1``: the file name a clean test id has always had;
    a parameter id with capitals (``[GPT]``) gets a hash when ``capitals`` (``[gpt]`` and ``[GPT]``
    must not share a file where case does not count)."""
    name = rest.replace("::", ".")
    split = _parametrized(name)
    if split is not None:
        head, param = split
        return _sanitize(name, f"{head}-{param}", hashed=capitals and param != param.lower())
    return _sanitize(name)


def _parametrized(name: str) -> tuple[str, str] | None:
    """``test_b[x-1]`` -> ``("test_b", "x-1")``; None for a test without a parameter id."""
    if name.endswith("]") and "[" in name:
        head, _, param = name[:-1].partition("[")
        return head, param
    return None


def default_fixture_name(nodeid: str, *, capitals: bool = True) -> str:
    """``tests/test_x.py::TestA::test_b[1]`` -> ``tests/test_x/TestA.test_b-1``.

    Hashed when long, when sanitizing would give two ids one name (``[a/b]``, ``[a b]`` -> a hash each)
    and when the parameter id has capitals (``[A]`` -> a hash, ``[a]`` stays). ``capitals=False``: the
    name without that last rule (what such ids were named before it).
    """
    module, _, rest = nodeid.partition("::")
    if module.endswith(".py"):
        module = module[:-3]
    segments = [_sanitize(s) for s in module.replace("\\", "/").split("/") if s not in ("", ".", "..")]
    return "/".join([*segments, _test_name(rest, capitals=capitals) if rest else "module"])


def _capital_parameter(nodeid: str) -> bool:
    """True when the parameter id of ``nodeid`` has capitals (its default name then has a hash it once had not)."""
    split = _parametrized(nodeid.partition("::")[2])
    return split is not None and split[1] != split[1].lower()


def compatible_fixture_name(root: Path, nodeid: str, name: str | None = None) -> str:
    """The default name of ``nodeid`` (``name`` when already worked out), or the name it had before
    parameter ids with capitals were hashed, when only a file of that older name exists (with exactly
    that case): committed fixtures keep replaying; recording writes the new name."""
    name = name or default_fixture_name(nodeid)
    if not _capital_parameter(nodeid):  # the older rule gives the same name
        return name
    older = default_fixture_name(nodeid, capitals=False)
    if older == name or fixture_path(root, name).exists():
        return name
    path = fixture_path(root, older)
    with contextlib.suppress(OSError):
        if path.name in os.listdir(path.parent):  # exact case: on macOS, exists() also finds [a] for [A]
            return older
    return name


def fixture_path(root: Path, name: str) -> Path:
    """The file of fixture ``name`` under ``root`` (``a/b`` is a subdirectory; ``.json`` added; a segment
    that is not a safe file name gets a hash of itself, so two names never share a file)."""
    if name.endswith(".json"):
        name = name[:-5]
    segments = [_sanitize(s) for s in name.replace("\\", "/").split("/") if s not in ("", ".", "..")]
    if not segments:
        raise ValueError(f"invalid fixture name {name!r}")
    return Path(os.path.join(root, *segments[:-1], segments[-1] + ".json"))  # one Path made, not one per part


def check_marker(marker: pytest.Mark) -> dict[str, Any]:
    """The marker's options; ValueError naming a wrong argument."""
    options = dict(marker.kwargs)
    if marker.args:
        if len(marker.args) > 1 or not isinstance(marker.args[0], str) or "fixture" in options:
            raise ValueError(f"@pytest.mark.reqllm takes keyword arguments (and one positional fixture "
                             f"name at most), got {marker.args!r}")
        options["fixture"] = marker.args[0]
    for key, value in options.items():
        if key not in MARKER_ARGS:
            raise ValueError(f"@pytest.mark.reqllm got an unknown argument {key!r}; it accepts: "
                             f"{', '.join(MARKER_ARGS)}")
        if not isinstance(value, MARKER_ARGS[key]) or (key == "timing" and isinstance(value, bool)):
            raise ValueError(f"@pytest.mark.reqllm({key}=...) got {value!r}, a {type(value).__name__}")
        if key == "ignore_fields" and isinstance(value, list | tuple):
            for field in value:
                if not isinstance(field, str):
                    raise ValueError(f"@pytest.mark.reqllm(ignore_fields=...) holds {field!r}, a "
                                     f"{type(field).__name__}; field paths are strings such as 'messages[0].content'")
                parse_field(field)
    return options


@dataclasses.dataclass(frozen=True)
class Settings:
    """The session-wide configuration read from options, ini and environment."""

    mode: str
    root: Path
    update_decoded: bool = False
    timing: float | None = None
    ignore_fields: tuple[str, ...] = ()
    run_id: str | None = None
    ignore_hosts: tuple[str, ...] = ()

    @classmethod
    def of(cls, config: pytest.Config) -> Settings:
        """The settings of a pytest run, read once (the first time a test uses the fixture)."""
        settings = config.stash.get(_SETTINGS, None)
        if settings is None:
            settings = config.stash[_SETTINGS] = cls.from_config(config)
        return settings

    @classmethod
    def from_config(cls, config: pytest.Config) -> Settings:
        """Read the settings of a pytest run."""
        return cls(mode=record_mode(config), root=fixtures_root(config),
                   update_decoded=bool(config.getoption("reqllm_update_decoded", False)),
                   timing=config.getoption("reqllm_replay_timing", None),
                   ignore_fields=tuple(config.getini("reqllm_ignore_fields") or ()),
                   run_id=run_id(config), ignore_hosts=tuple(config.getini("reqllm_ignore_hosts") or ()))


_SETTINGS = pytest.StashKey[Settings]()


class ReqLLMFixture:
    """The ``reqllm_fixture`` object: each reqllm call of the test records into / replays from its fixture."""

    def __init__(self, request: pytest.FixtureRequest, settings: Settings) -> None:
        self._request = request
        self._settings = settings
        self.nodeid: str = request.node.nodeid
        marker = request.node.get_closest_marker("reqllm")
        options = check_marker(marker) if marker is not None else {}
        if "fixture" in options:
            self.name: str = options["fixture"]
        else:
            name = request.node.stash.get(FIXTURE_NAME, None) or default_fixture_name(self.nodeid)
            self.name = name if settings.mode == "record" else compatible_fixture_name(settings.root, self.nodeid, name)
        self._named = "fixture" in options
        self.allow_unused: bool = options.get("allow_unused", False)
        self.timing: float | None = options.get("timing", settings.timing)
        self.matcher = Matcher((*settings.ignore_fields, *options.get("ignore_fields", ())))
        #: Hosts whose traffic passes untouched (ini ``reqllm_ignore_hosts`` + the marker's ``ignore_hosts``).
        self.ignore_hosts: tuple[str, ...] = (*settings.ignore_hosts, *options.get("ignore_hosts", ()))
        self.sessions: list[FixtureSession] = []
        #: The scripts of ``script()`` calls, verified at teardown.
        self.scripts: list[Any] = []
        self._stack = contextlib.ExitStack()
        self._failed = False
        self._unused: set[int] = set()
        #: The session of the test's own fixture (``use()`` blocks have their own).
        self.session = self._new_session(self.name, shared=self._named)

    @property
    def path(self) -> Path:
        """The test's fixture file."""
        return self.session.path

    @property
    def mode(self) -> str:
        """``record`` or ``replay``."""
        return self.session.mode

    def _new_session(self, name: str, *, shared: bool = True) -> FixtureSession:
        settings = self._settings
        path = fixture_path(settings.root, name)
        mode = resolve_mode(settings.mode, path, settings.run_id)
        command = f"pytest --reqllm-record=missing {shlex.quote(self.nodeid)}"
        session = FixtureSession(path, mode, matcher=self.matcher, timing=self.timing,
                                 update_decoded=settings.update_decoded, allow_unused=self.allow_unused,
                                 test_id=self.nodeid, run_id=settings.run_id, record_command=command,
                                 rules=(self._hook_rule,), shared=shared)
        self.sessions.append(session)
        return session

    def _hook_rule(self, interaction: dict[str, Any]) -> dict[str, Any] | None:
        results = self._request.config.hook.pytest_reqllm_redact(interaction=interaction)
        return next((r for r in reversed(results) if r is not None), None)

    def _install(self, session: FixtureSession) -> contextlib.ExitStack:
        from reqllm._transport import install_hook

        from .intercept import intercept
        from .recorder import FixtureHook, FixtureInterceptor

        stack = contextlib.ExitStack()
        hook = FixtureHook(session)
        stack.enter_context(install_hook(hook, process_wide=True))
        stack.enter_context(install_hook(hook))
        stack.enter_context(intercept(FixtureInterceptor(session), ignore_hosts=self.ignore_hosts))
        return stack

    def start(self) -> None:
        """Install the hook of the test's own fixture (fixture setup)."""
        self._stack.enter_context(self._install(self.session))

    @contextlib.contextmanager
    def use(self, name: str) -> Iterator[FixtureSession]:
        """Record into / replay from the named fixture ``name`` (shareable between tests) in this block."""
        session = self._new_session(name)
        with self._install(session):
            yield session

    def script(self, *items: Any) -> Any:
        """From now to the end of the test, answer every LLM request (reqllm's and any httpx / httpx2
        client's) with the next of ``items`` (``reqllm_testing.Script``); nothing is recorded, and items
        left unused fail the test. Returns the Script (its ``requests`` show what was asked)."""
        from .script import Script

        script = Script(items)
        self._stack.enter_context(script.serve(ignore_hosts=self.ignore_hosts))
        self.scripts.append(script)
        return script

    def transport(self, inner: Any = None) -> Any:
        """An httpx transport that records into / replays from this test's fixture (for SDK clients)."""
        from .recorder import FixtureTransport

        return FixtureTransport(self.session.path, inner=inner, session=self.session)

    def finish(self, passed: bool) -> None:
        """Fixture teardown: uninstall; when setup and call passed, fail on swallowed fixture errors,
        unused interactions and unverified scripts. Nothing is written yet: see ``commit``."""
        self._stack.close()
        self._failed = not passed
        if not passed:
            return
        failures: list[ReqLLMTestingError] = []
        for session in self.sessions:
            try:
                session.check()
            except UnusedInteractionsError as exc:
                self._unused.add(id(session))
                failures.append(exc)
            except ReqLLMTestingError as exc:
                failures.append(exc)
        for script in self.scripts:
            try:
                script.verify()
            except ReqLLMTestingError as exc:
                failures.append(exc)
        if failures:
            self._failed = True
            error = failures[0]
            pytest.fail(f"{type(error).__name__}: {error}", pytrace=False)

    def commit(self, ok: bool) -> dict[str, int]:
        """After the whole teardown of the test: write the recordings (and re-decoded parts) only when
        setup, call and every teardown passed (``ok``); count what happened for the summary line."""
        ok = ok and not self._failed
        counts = dict.fromkeys(SUMMARY_COUNTS, 0)
        not_written: list[str] = []
        try:
            for session in self.sessions:
                written = session.write() if ok else None
                if session.missing:
                    counts["missing"] += 1
                elif any(isinstance(e, FixtureMismatchError | DecodedMismatchError) for e in session.errors):
                    counts["mismatched"] += 1
                elif id(session) in self._unused:
                    counts["unused"] += 1
                elif session.mode == "record" and written is not None:
                    counts["recorded"] += 1
                elif session.mode == "record" and not ok:
                    counts["kept"] += 1
                    not_written.append(str(session.path))
                elif session.mode == "replay" and session.served:
                    counts["replayed"] += 1
        finally:
            self._request.node.user_properties.append(("reqllm", counts))
            if not_written:
                self._request.node.user_properties.append(("reqllm_not_written", not_written))
        return counts
