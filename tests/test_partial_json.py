"""The prefix parser behind stream_object: every prefix of a JSON document gives a value the whole
document can only extend (strings grow, containers gain members)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reqllm._partial_json import MISSING, parse_partial
from tests.test_object_stream import grows_into

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12)


@given(JSON, st.booleans(), st.booleans())
def test_every_prefix_grows_into_the_document(value: Any, ascii_only: bool, indent: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only, indent=1 if indent else None)
    previous: Any = MISSING
    for end in range(len(text) + 1):
        partial = parse_partial(text[:end])
        if partial is MISSING:
            continue
        assert grows_into(partial, value), (text[:end], partial)
        if previous is not MISSING:
            assert grows_into(previous, partial), (text[:end], previous, partial)
        previous = partial
    bare_number = isinstance(value, int | float) and not isinstance(value, bool)
    assert parse_partial(text) == (MISSING if bare_number else value)  # a bare number may still grow


@pytest.mark.parametrize(("text", "value"), [
    ("", MISSING), ("  ", MISSING), ("-", MISSING), ("12", MISSING), ("tr", MISSING),
    ('{"a": 12', {}), ('{"a": 12,', {"a": 12}), ('{"a": 1.', {}), ('{"a": 1e', {}), ('{"a": nu', {}),
    ('{"a": "x\\', {"a": "x"}), ('{"a": "x\\u00', {"a": "x"}), ('{"a": "\\ud83e\\udd50', {"a": "🥐"}),
    ('{"a": "\\ud83e', {"a": ""}), ('{"a": "x\\\\', {"a": "x\\"}), ('{"ke', {}), ('{"key"', {}),
    ('{"key": ', {}), ('[1, [2, {"b": [', [1, [2, {"b": []}]]), ('```json\n{"a": true', {"a": True}),
])
def test_what_a_prefix_shows(text: str, value: Any) -> None:
    bare_number = isinstance(value, int | float) and not isinstance(value, bool)
    assert parse_partial(text) == (MISSING if bare_number else value)  # a bare number may still grow


@pytest.mark.parametrize("text", ["Désolé", '{"a" 1}', "[1 2]", '{1: 2}', "{'a': 1}"])
def test_text_that_cannot_start_json_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_partial(text)
