"""One switch: ``--reqllm-record`` decides the mode of the fixture, ``use_fixture`` and every
``FixtureTransport`` made while the session runs; an explicit ``mode=`` still wins."""

from __future__ import annotations

import pytest

# Imported here, so pytester's in-process runs share these modules with the package's cached names.
import reqllm_testing.recorder
import reqllm_testing.session

INNER = '''
import os
import httpx
import reqllm_testing


def _client(transport):
    return httpx.Client(transport=transport, base_url=os.environ["SWITCH_URL"])


def test_all_follow_the_switch(reqllm_fixture, tmp_path):
    transport = reqllm_testing.FixtureTransport(tmp_path / "t.json")
    forced = reqllm_testing.FixtureTransport(tmp_path / "forced.json", mode="replay")
    with reqllm_testing.use_fixture(tmp_path / "u.json") as session:
        assert (reqllm_fixture.mode, transport.mode, session.mode, forced.mode) == (
            os.environ["EXPECT"], os.environ["EXPECT"], os.environ["EXPECT"], "replay")
'''


@pytest.mark.parametrize(("args", "env", "expect"), [
    ((), None, "replay"), (("--reqllm-record",), None, "record"), ((), "record", "record"),
    (("--reqllm-record=all",), "replay", "record")])
def test_one_switch(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...],
                    env: str | None, expect: str) -> None:
    pytester.makepyfile(test_switch_inner=INNER)
    monkeypatch.setenv("SWITCH_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("EXPECT", expect)
    if env is None:
        monkeypatch.delenv("REQLLM_FIXTURES", raising=False)
    else:
        monkeypatch.setenv("REQLLM_FIXTURES", env)
    pytester.runpytest("-p", "no:randomly", *args).assert_outcomes(passed=1)
    assert reqllm_testing.session._default_mode == [None]  # released with the session


def test_help_says_one_switch(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    assert "One switch" in " ".join(result.stdout.str().split())
