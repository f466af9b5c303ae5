"""The repository's conftest names what was skipped and why in one line (nothing skips silently)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]


def test_skips_are_counted_by_reason_in_one_line(pytester: pytest.Pytester) -> None:
    pytester.makeconftest((ROOT / "conftest.py").read_text())
    pytester.makepyfile(test_some='''
import pytest

@pytest.mark.parametrize("case", ["a", "b", "c"])
def test_corpus(case):
    pytest.skip("the recorded-traffic corpus is not present at ../shared/corpus")

def test_other():
    pytest.skip("needs a GPU")

def test_runs():
    pass
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=1, skipped=4)
    result.stdout.fnmatch_lines(["skipped 4: 3 x the recorded-traffic corpus is not present at ../shared/corpus; "
                                 "1 x needs a GPU"])
