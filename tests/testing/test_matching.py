"""Request matching: the normalized key, ignored fields, the index, diffs of the nearest request."""

from __future__ import annotations

from typing import Any

import pytest

from reqllm_testing import InvalidFieldPathError
from reqllm_testing.matching import Index, Matcher, describe_request, diff_text, parse_body, parse_field

URL = "https://api.openai.com/v1/chat/completions"
BODY = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "Hi"}],
        "metadata": {"request_id": "abc", "user": "u1"}}


def _item(body: Any, url: str = URL, method: str = "POST") -> dict[str, Any]:
    return {"request": {"method": method, "url": url, "body": body}, "response": {"status": 200}}


def test_the_key_ignores_host_key_order_auth_parameters_and_whitespace() -> None:
    matcher = Matcher()
    reordered = {"messages": [{"content": "Hi", "role": "user"}],
                 "metadata": {"user": "u1", "request_id": "abc"}, "stream": True, "model": "gpt-4o-mini"}
    assert matcher.key("POST", URL, BODY) == matcher.key("post", "http://127.0.0.1:8080/v1/chat/completions",
                                                          reordered)
    gemini = "https://g.example/v1beta/models/gemini-2.0-flash:streamGenerateContent"
    assert matcher.key("POST", gemini + "?key=AIzaSECRET&alt=sse", {}) == matcher.key(
        "POST", gemini + "?alt=sse&key=REDACTED", {})


def test_the_key_separates_what_changes_the_request() -> None:
    matcher = Matcher()
    key = matcher.key("POST", URL, BODY)
    assert key.startswith("POST /v1/chat/completions model=gpt-4o-mini\n")
    assert matcher.key("POST", URL, {**BODY, "stream": False}) != key  # stream-ness is part of the body
    assert matcher.key("POST", URL, {**BODY, "model": "gpt-4o"}) != key
    assert matcher.key("POST", URL.replace("chat/completions", "embeddings"), BODY) != key
    assert matcher.key("GET", URL, BODY) != key
    assert matcher.key("POST", URL + "?alt=sse", BODY) != key


def test_ignored_fields_support_nested_paths_and_wildcards() -> None:
    matcher = Matcher(("metadata.request_id", "messages.*.content"))
    other = {**BODY, "metadata": {"request_id": "xyz", "user": "u1"},
             "messages": [{"role": "user", "content": "different"}]}
    assert matcher.key("POST", URL, BODY) == matcher.key("POST", URL, other)
    assert matcher.key("POST", URL, BODY) != matcher.key("POST", URL, {**other, "metadata": {"user": "u2"}})
    assert BODY["metadata"] == {"request_id": "abc", "user": "u1"}  # ignoring never mutates the body
    assert Matcher(("*",)).key("POST", URL, BODY) == Matcher(("*",)).key("POST", URL, {"model": "other"})
    assert Matcher(("messages.0",)).compared_body({"messages": [1, 2]}) == {"messages": [2]}


def test_parse_body_keeps_json_text_and_bytes_apart() -> None:
    assert parse_body(b"") is None
    assert parse_body(b'{"a": 1}') == {"a": 1}
    assert parse_body(b"plain text") == "plain text"
    assert parse_body(b"\xff\xfe") == {"b64": "//4="}


def test_the_index_lists_identical_requests_in_recorded_order() -> None:
    items = [_item(BODY), _item({**BODY, "stream": False}), _item(BODY)]
    index = Index(items, Matcher())
    assert index.by_key[Matcher().key("POST", URL, BODY)] == [0, 2]
    assert len(index.by_key) == 2


def test_nearest_prefers_the_same_route_and_unused_interactions() -> None:
    items = [_item({"model": "m", "messages": [{"role": "user", "content": "Say hello to the world"}]}),
             _item({"model": "m", "messages": [{"role": "user", "content": "Say goodbye"}]}),
             _item({"model": "m", "input": "Say hello to the world"}, url="https://x/v1/embeddings")]
    index = Index(items, Matcher())
    asked = {"model": "m", "messages": [{"role": "user", "content": "Say hello to all"}]}
    key = Matcher().key("POST", URL, asked)
    assert index.nearest(key, set()) == 0
    assert index.nearest(key, {0}) == 1
    assert Index([], Matcher()).nearest(key, set()) is None


def test_the_diff_names_the_changed_field() -> None:
    text = diff_text({"body": {"messages": [{"content": "hello"}]}},
                     {"body": {"messages": [{"content": "bye"}]}})
    assert "root['body']['messages'][0]['content']" in text
    assert '"hello"' in text and '"bye"' in text
    assert describe_request("POST", URL, BODY) == "POST /v1/chat/completions (model gpt-4o-mini)"


def test_ignored_fields_take_index_syntax() -> None:
    two = {**BODY, "messages": [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Hi"}]}
    changed = {**two, "messages": [{"role": "system", "content": "Be terse"}, {"role": "user", "content": "Hi"}]}
    assert Matcher().key("POST", URL, two) != Matcher().key("POST", URL, changed)
    for path in ("messages[0].content", "messages.0.content", "messages[-2].content", "messages[*].content"):
        matcher = Matcher((path,))
        assert matcher.key("POST", URL, two) == matcher.key("POST", URL, changed), path
    only_first = Matcher(("messages[0].content",))
    last_changed = {**two, "messages": [two["messages"][0], {"role": "user", "content": "Bye"}]}
    assert only_first.key("POST", URL, two) != only_first.key("POST", URL, last_changed)
    assert parse_field("tools[*].function.parameters") == ("tools", "*", "function", "parameters")
    assert parse_field("[0].x") == (0, "x")


@pytest.mark.parametrize(("path", "why"), [
    ("messages[0", "'[' at position 8 is not closed"),
    ("messages[first].content", "[first] is not a list index (a whole number, or *)"),
    ("$.messages[0].content", "write it without the JSONPath '$' prefix: 'messages[0].content'"),
    ("/messages/0/content", "JSON pointers are not read; use dots and [N]"),
    ("messages..content", "a key is missing before '.' at position 9"),
    ("messages[0]content", "'.' or '[' expected after ']' at position 11"),
    ("", "it is empty"),
])
def test_a_field_path_that_cannot_be_read_is_rejected(path: str, why: str) -> None:
    with pytest.raises(InvalidFieldPathError) as info:
        Matcher((path,))
    assert str(info.value).startswith(f"ignore_fields: cannot read {path!r}: {why}. A field path is keys joined "
                                      f"by dots, list items as [N]")
    assert isinstance(info.value, ValueError)


def test_the_marker_and_the_ini_option_reject_an_unreadable_path(pytester: pytest.Pytester) -> None:
    pytester.makepyfile('''
import pytest

@pytest.mark.reqllm(ignore_fields=["messages[0].content", "messages[one]"])
def test_x():
    pass
''')
    result = pytester.runpytest_subprocess("-p", "no:xdist")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "::test_x: ignore_fields: cannot read 'messages[one]': [one] is not a list index" in result.stderr.str()
    pytester.makeini("[pytest]\nreqllm_ignore_fields =\n    metadata.user\n    messages[0\n")
    result = pytester.runpytest_subprocess("-p", "no:xdist")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert ("ERROR: ini option reqllm_ignore_fields: ignore_fields: cannot read 'messages[0': '[' at position 8 "
            "is not closed") in result.stderr.str()
