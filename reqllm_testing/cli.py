"""``reqllm fixtures list | check | import-vcr | to-script | scan``, registered on the ``reqllm.cli`` entry points."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add ``fixtures`` and its subcommands to the reqllm CLI."""
    fixtures = subparsers.add_parser("fixtures", help="list, check, scan and import reqllm test fixtures")
    commands = fixtures.add_subparsers(dest="fixtures_command", metavar="SUBCOMMAND")
    fixtures.set_defaults(handler=lambda args: (fixtures.print_help(), 2)[1])

    listing = commands.add_parser("list", help="list fixture files with their interactions, source and date")
    listing.add_argument("dir", nargs="?", type=Path, help="fixtures directory (default: from pytest config)")
    listing.set_defaults(handler=_list)

    check = commands.add_parser("check",
                                help="report orphaned, stale and unloadable fixtures (exit 1 if any)")
    check.add_argument("dir", nargs="?", type=Path, help="fixtures directory (default: from pytest config)")
    check.add_argument("--no-orphans", action="store_true", help="skip collecting tests to find orphans")
    check.add_argument("--pytest-args", default="", metavar="ARGS",
                       help="arguments for the quiet test collection (e.g. 'tests -m \"not live\"')")
    check.set_defaults(handler=_check)

    vcr = commands.add_parser("import-vcr", help="convert vcrpy / pytest-recording cassettes into fixtures")
    vcr.add_argument("cassettes", nargs="+", type=Path, metavar="CASSETTE")
    vcr.add_argument("--out", type=Path, default=None,
                     help="output directory (default: the fixtures directory)")
    vcr.add_argument("--secret", action="append", default=[], metavar="VALUE",
                     help="a literal secret to scrub as well (repeatable)")
    vcr.set_defaults(handler=_import_vcr)

    to_script = commands.add_parser("to-script", help="turn a recorded fixture into an editable script file "
                                    "(reqllm_testing.Script.load)")
    to_script.add_argument("fixture", type=Path, metavar="FIXTURE")
    to_script.add_argument("--out", type=Path, default=None,
                           help="the script file to write (default: FIXTURE with .script.json)")
    to_script.set_defaults(handler=_to_script)

    scan = commands.add_parser("scan",
                               help="find secret-looking strings in fixtures or cassettes (exit 1 if any)")
    scan.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    scan.set_defaults(handler=_scan)

    upgrade = commands.add_parser("upgrade", help="rewrite fixtures in the current format (format_version 2)")
    upgrade.add_argument("dir", nargs="?", type=Path, help="fixtures directory (default: from pytest config)")
    upgrade.set_defaults(handler=_upgrade)


def _root(value: Path | None) -> Path:
    """``value``, else the project's ``reqllm_fixtures_dir`` (found as pytest finds it; said on stderr)."""
    from .project_config import find_fixtures_dir

    if value is not None:
        return value
    found = find_fixtures_dir()
    print(f"fixtures: {found.path} ({found.source})", file=sys.stderr)
    return found.path


def _list(args: argparse.Namespace) -> int:
    from .check import fixture_files
    from .errors import ReqLLMTestingError
    from .fixture_file import read

    root = _root(args.dir)
    files = fixture_files(root)
    if not files:
        print(f"no fixtures under {root}")
        return 0
    for path in files:
        try:
            fixture = read(path)
        except ReqLLMTestingError as exc:
            print(f"{path}  UNLOADABLE: {exc}")
            continue
        models = sorted({str((i.get("meta") or {}).get("model")) for i in fixture.interactions
                         if (i.get("meta") or {}).get("model")})
        streams = sum(1 for i in fixture.interactions if "chunks" in i["response"])
        print(f"{path}  {len(fixture.interactions)} interaction(s), {streams} stream(s)  "
              f"{', '.join(models) or '-'}  {fixture.source or '-'}  {fixture.recorded_at or '-'}")
    return 0


def _check(args: argparse.Namespace) -> int:
    import shlex

    from .check import fixture_files, leftovers, orphans, stale, unloadable

    root = _root(args.dir)
    files = fixture_files(root)
    findings = unloadable(files) + leftovers(root)
    broken = {f.path for f in findings}
    for path in files:
        if path not in broken:
            findings.extend(stale(path))
    if not args.no_orphans and files:
        try:
            loadable = [p for p in files if p not in broken]
            findings.extend(orphans(root, loadable, shlex.split(args.pytest_args)))
        except RuntimeError as exc:
            print(f"orphan check skipped: {exc}", file=sys.stderr)
    problems = [f for f in findings if f.kind != "unchecked"]
    for finding in findings:
        print(finding)
    print(f"{len(files)} fixture file(s) checked under {root}: "
          f"{sum(f.kind == 'unloadable' for f in findings)} unloadable, "
          f"{len({f.path for f in findings if f.kind == 'stale'})} stale, "
          f"{sum(f.kind == 'orphaned' for f in findings)} orphaned, "
          f"{sum(f.kind == 'leftover' for f in findings)} leftover temporary")
    return 1 if problems else 0


def _import_vcr(args: argparse.Namespace) -> int:
    from .errors import ReqLLMTestingError
    from .vcr_import import import_cassette

    out = args.out if args.out is not None else _root(None)
    status = 0
    for cassette in args.cassettes:
        try:
            written = import_cassette(cassette, out, secrets=args.secret)
        except (ReqLLMTestingError, OSError) as exc:
            print(f"{cassette}: {exc}", file=sys.stderr)
            status = 1
            continue
        print(f"{cassette} -> {written}")
    return status


def _to_script(args: argparse.Namespace) -> int:
    from .errors import ReqLLMTestingError
    from .to_script import script_from_fixture

    out = args.out if args.out is not None else args.fixture.with_suffix(".script.json")
    try:
        script = script_from_fixture(args.fixture)
        script.save(out)
    except (ReqLLMTestingError, OSError) as exc:
        print(f"{args.fixture}: {exc}", file=sys.stderr)
        return 1
    print(f"{args.fixture} -> {out} ({len(script.items)} item(s)); serve it with "
          f"reqllm_testing.Script.load({str(out)!r})")
    return 0


def _scan(args: argparse.Namespace) -> int:
    from .check import scan_paths

    findings = scan_paths(args.paths)
    for finding in findings:
        print(finding)
    print(f"{len(findings)} secret-looking string(s) found" if findings
          else "no secret-looking strings found")
    return 1 if findings else 0


def _upgrade(args: argparse.Namespace) -> int:
    from .check import fixture_files
    from .errors import ReqLLMTestingError
    from .fixture_file import FORMAT_VERSION, upgrade

    root = _root(args.dir)
    status, changed, files = 0, 0, fixture_files(root)
    for path in files:
        try:
            if upgrade(path):
                changed += 1
                print(f"{path}: upgraded to format_version {FORMAT_VERSION}")
        except (ReqLLMTestingError, OSError) as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            status = 1
    print(f"{changed} of {len(files)} fixture(s) under {root} rewritten")
    return status
