"""The capability matrix: every registry model x every capability it advertises.

    pytest -m capability                              # replay what is recorded
    pytest -m capability --reqllm-provider anthropic  # one provider (a CI matrix job)
    pytest -m capability --reqllm-record=missing      # record what is missing (keys needed)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reqllm_testing.matrix import CapabilityCase


def test_capability(capability_case: CapabilityCase, verify_capability: Callable[..., Any]) -> None:
    result = verify_capability(capability_case)
    assert result.passed, result.summary()
