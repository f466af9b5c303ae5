"""The capability matrix as a pytest plugin: every registry model x every advertised capability.

A test that takes the ``capability_case`` argument is parametrized over the matrix, with ids like
``anthropic:claude-3-5-haiku-20241022/stream_text``; ``--reqllm-provider`` and ``--reqllm-model``
select it; ``verify_capability`` replays (or records) ``<fixtures>/<provider>/<model>/<cap>.json``.
The session ends with a provider x capability table; ``--reqllm-report PATH`` writes JSON and
Markdown. Heavy imports happen only when a matrix test runs.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest

__all__ = ["CapabilityCase", "capability_cases", "fixture_path"]

_KEY = "reqllm_capability"
_NOT_RECORDED = "not recorded"


class CapabilityCase(NamedTuple):
    """One cell of the matrix."""

    model: str
    capability: str

    @property
    def provider(self) -> str:
        """The provider id of the case's model."""
        return self.model.partition(":")[0]

    @property
    def id(self) -> str:
        """The test id: ``provider:model/capability``."""
        return f"{self.model}/{self.capability}"


def fixture_path(root: Path, model: str, capability: str) -> Path:
    """``<root>/<provider>/<model id>/<capability>.json`` (a ``/`` in the id nests; ``:`` becomes ``_``)."""
    provider, _, model_id = model.partition(":")
    return root / provider / model_id.replace(":", "_") / f"{capability}.json"


def capability_cases(providers: list[str] | None = None, model_glob: str | None = None) -> list[CapabilityCase]:
    """Every (model, advertised capability) of usable providers, optionally filtered."""
    from reqllm.registry import REGISTRY

    from .capabilities import CAPABILITIES

    wanted = set(providers) if providers else None
    cases: list[CapabilityCase] = []
    for provider in REGISTRY.providers():
        if wanted is not None and provider.id not in wanted:
            continue
        for spec in REGISTRY.models(provider.id):
            if model_glob and not (fnmatch.fnmatchcase(spec, model_glob)
                                   or fnmatch.fnmatchcase(spec.partition(":")[2], model_glob)):
                continue
            model = REGISTRY.model(spec)
            cases.extend(CapabilityCase(spec, cid) for cid, cap in CAPABILITIES.items() if cap.advertised(model))
    return cases


# -- pytest hooks ---------------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("reqllm-capabilities", "reqllm capability matrix")
    group.addoption("--reqllm-provider", default=None, metavar="A,B",
                    help="run the capability matrix only for these providers")
    group.addoption("--reqllm-model", default=None, metavar="GLOB",
                    help="run the capability matrix only for models matching GLOB (spec or id)")
    group.addoption("--reqllm-report", default=None, metavar="PATH",
                    help="write the capability report to PATH.json and PATH.md")
    group.addoption("--reqllm-table", action="store_true", default=False,
                    help="print the provider x capability table (printed anyway when a case failed)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "capability: a capability verifier case (pytest -m capability)")
    config.pluginmanager.register(_Unrecorded(), "reqllm-capabilities-unrecorded")


class _Unrecorded:
    """Replaying, the cases without a fixture are deselected and counted, not run as ~35,000 skips.

    Runs after pytest's own ``-m``/``-k`` selection. xdist workers send what they deselected to the
    controller (``workeroutput``), which prints the one summary line.
    """

    def __init__(self) -> None:
        self.cases: set[tuple[str, str]] = set()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        from .pytest_options import fixtures_root, record_mode

        if record_mode(config) != "replay":
            return
        root = fixtures_root(config)
        keep, drop = [], []
        for item in items:
            callspec = getattr(item, "callspec", None)
            case = callspec.params.get("capability_case") if callspec is not None else None
            if isinstance(case, CapabilityCase) and not fixture_path(root, case.model, case.capability).exists():
                drop.append(item)
                self.cases.add((case.model, case.capability))
            else:
                keep.append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        output = getattr(session.config, "workeroutput", None)
        if isinstance(output, dict):
            output[_KEY] = sorted(self.cases)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        for model, capability in (getattr(node, "workeroutput", None) or {}).get(_KEY, ()):
            self.cases.add((model, capability))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "capability_case" not in metafunc.fixturenames:
        return
    option = metafunc.config.getoption("reqllm_provider")
    providers = [p.strip() for p in option.split(",") if p.strip()] if option else None
    cases = capability_cases(providers, metafunc.config.getoption("reqllm_model"))
    metafunc.parametrize("capability_case", cases, ids=[c.id for c in cases])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "capability_case" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.capability)


class _CapabilityFailed(Exception):
    """Raised inside a recording block so a failing verification does not write its fixture."""


@pytest.fixture
def verify_capability(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """Run a case's verifier inside its fixture (replay, or record with ``--reqllm-record``)."""
    config = request.config

    def run(case: CapabilityCase, **opts: Any) -> Any:
        import os

        from reqllm.registry import REGISTRY

        from . import use_fixture
        from .capabilities import verify
        from .pytest_options import fixtures_root, record_mode

        path = fixture_path(fixtures_root(config), case.model, case.capability)
        mode = record_mode(config)
        command = f"pytest -m capability --reqllm-record=missing -k '{case.id}'"
        recording = mode == "record" or (mode == "missing" and not path.exists())
        _note(request, case, path, "started")
        if not recording and not path.exists():
            _note(request, case, path, _NOT_RECORDED)
            pytest.skip(f"{_NOT_RECORDED}: {path} — record it with: {command}")
        if recording:
            provider = REGISTRY.provider(case.provider)
            keyed = opts.get("api_key") or any(os.environ.get(v) for v in provider.env)
            if provider.requires_key and not keyed:
                _note(request, case, path, _NOT_RECORDED)
                pytest.skip(f"{_NOT_RECORDED}: recording needs an API key in {' or '.join(provider.env)}")
        update = bool(config.getoption("reqllm_update_decoded", False))
        result = None
        try:
            with use_fixture(path, mode="record" if recording else "replay", update_decoded=update):
                result = verify(case.model, case.capability, **opts)
                if recording and not result.passed:
                    raise _CapabilityFailed
        except _CapabilityFailed:
            pass
        except Exception:
            if result is None or result.passed:
                raise
        assert result is not None
        _note(request, case, path, "passed" if result.passed else "failed")
        return result

    return run


def pytest_reqllm_fixture_paths(item: pytest.Item) -> list[str] | None:
    """The capability fixture a matrix case uses (so ``reqllm fixtures check`` sees it as used)."""
    callspec = getattr(item, "callspec", None)
    case = callspec.params.get("capability_case") if callspec is not None else None
    if not isinstance(case, CapabilityCase):
        return None
    from .pytest_options import fixtures_root

    return [str(fixture_path(fixtures_root(item.config), case.model, case.capability))]


def _note(request: pytest.FixtureRequest, case: CapabilityCase, path: Path, status: str) -> None:
    props = request.node.user_properties
    props[:] = [p for p in props if p[0] != _KEY]
    props.append((_KEY, json.dumps({"model": case.model, "capability": case.capability,
                                    "fixture": str(path), "status": status})))


_session_results: list[dict[str, Any]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not report.user_properties:  # the usual test: no capability case
        return
    data = next((v for k, v in report.user_properties if k == _KEY), None)
    if data is None or not (report.when == "call" or report.skipped or report.failed):
        return
    entry = json.loads(str(data))
    if report.skipped:
        entry["status"] = _NOT_RECORDED if _NOT_RECORDED in str(report.longrepr) else "skipped"
    elif report.failed:
        entry["status"] = "failed"
    else:
        entry["status"] = "passed"
    _session_results.append(entry)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    unrecorded = config.pluginmanager.get_plugin("reqllm-capabilities-unrecorded")
    cases = sorted(unrecorded.cases) if isinstance(unrecorded, _Unrecorded) else []
    results = _dedupe(_session_results)
    if not results and not cases:
        return
    from .pytest_options import fixtures_root
    from .report import render_table, summary_line, write_report

    root = fixtures_root(config)
    results += [{"model": m, "capability": c, "fixture": str(fixture_path(root, m, c)), "status": _NOT_RECORDED}
                for m, c in cases]
    if config.getoption("reqllm_table") or any(r["status"] == "failed" for r in results):
        render_table(results, terminalreporter, everything=bool(config.getoption("reqllm_table")))
    terminalreporter.write_line(summary_line(results, deselected=len(cases)))
    path = config.getoption("reqllm_report")
    if path:
        write_report(results, Path(path))
        terminalreporter.write_line(f"reqllm capability report written to {path}.json and {path}.md")


def _dedupe(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_id: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in results:
        key = (entry["model"], entry["capability"])
        if key not in by_id or entry["status"] in ("failed", _NOT_RECORDED):
            by_id[key] = entry
    return list(by_id.values())

