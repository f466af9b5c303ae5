"""The public surface of reqllm_testing: a sorted ``__all__`` whose every name resolves, one error tree."""

from __future__ import annotations

import inspect

import pytest

import reqllm
import reqllm_testing
from reqllm_testing import errors


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert reqllm_testing.__all__ == sorted(reqllm_testing.__all__)
    for name in reqllm_testing.__all__:
        assert getattr(reqllm_testing, name) is not None, name
    assert set(reqllm_testing.__all__) <= set(dir(reqllm_testing))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        reqllm_testing.nope  # noqa: B018


def test_every_error_is_a_testing_error_and_never_a_reqllm_error() -> None:
    classes = [obj for _, obj in inspect.getmembers(errors, inspect.isclass)
               if obj.__module__ == errors.__name__]
    assert {c.__name__ for c in classes} == set(errors.__all__)
    for cls in classes:
        assert issubclass(cls, reqllm_testing.ReqLLMTestingError)
        assert not issubclass(cls, reqllm.ReqLLMError)  # the core never catches them
        assert cls.__name__ in (errors.__doc__ or "")
        assert getattr(reqllm_testing, cls.__name__) is cls
