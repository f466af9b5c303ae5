"""Every public name is documented: the API reference is generated from these docstrings (docs/reference)."""

from __future__ import annotations

import inspect
import types
from typing import Any

import pytest

import reqllm
import reqllm_testing


def _public(package: types.ModuleType) -> list[tuple[str, Any]]:
    names = []
    for name in package.__all__:
        if name.startswith("__"):
            continue
        value = getattr(package, name)
        names.append((f"{package.__name__}.{name}", value))
        if inspect.isclass(value) and value.__module__.startswith(package.__name__):
            for attr, member in vars(value).items():
                if attr.startswith("_") or not (inspect.isfunction(member) or isinstance(member, property)):
                    continue
                names.append((f"{package.__name__}.{name}.{attr}", member))
    return names


@pytest.mark.parametrize("package", [reqllm, reqllm_testing], ids=lambda p: p.__name__)
def test_every_public_name_has_a_docstring(package: types.ModuleType) -> None:
    missing = [name for name, value in _public(package) if not (inspect.getdoc(value) or "").strip()]
    assert not missing, f"public names without a docstring (the API reference shows them empty): {missing}"
