"""Secrets never reach disk: header allow-lists, credential parameters, literal keys, user rules."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

import reqllm
import reqllm_testing
from reqllm_testing import redaction
from reqllm_testing.redaction import (
    add_redaction,
    filter_headers,
    redact_url,
    remove_redaction,
    scrub,
    scrub_patterns,
    secrets_from_headers,
)

KEY = "sk" "-proj-Zx81qLm0Pq7Rt5Uv3Wy9"


def test_only_allow_listed_headers_are_kept() -> None:
    headers = [("Content-Type", "application/json"), ("Set-Cookie", "a=b"), ("openai-organization", "org-1"),
               ("openai-project", "proj_1"), ("anthropic-organization-id", "x"), ("x-request-id", "req_1"),
               ("Retry-After", "3"), ("retry-after-ms", "3000"), ("x-should-retry", "true"),
               ("cf-ray", "abc")]
    assert filter_headers(headers, redaction.RESPONSE_HEADERS) == {
        "content-type": "application/json", "retry-after": "3", "retry-after-ms": "3000",
        "x-should-retry": "true"}
    request = [("Authorization", f"Bearer {KEY}"), ("x-api-key", KEY), ("x-goog-api-key", KEY),
               ("api-key", KEY), ("cookie", "c=1"), ("anthropic-version", "2023-06-01"),
               ("accept", "text/event-stream")]
    assert filter_headers(request, redaction.REQUEST_HEADERS) == {"anthropic-version": "2023-06-01",
                                                                   "accept": "text/event-stream"}


def test_credential_parameters_are_redacted_in_urls() -> None:
    url = "https://generativelanguage.googleapis.com/v1beta/models/g:streamGenerateContent?alt=sse&key=AIzaXYZ"
    assert redact_url(url).endswith("?alt=sse&key=REDACTED")
    assert redact_url("https://x/v1/chat/completions") == "https://x/v1/chat/completions"


def test_secrets_are_harvested_from_auth_headers_and_parameters() -> None:
    found = secrets_from_headers([("authorization", f"Bearer {KEY}"), ("x-api-key", "sk" "-ant-abcdefgh12"),
                                  ("accept", "x")], "https://x/?key=AIzaSyLongEnoughValue")
    assert found == {f"Bearer {KEY}", KEY, "sk" "-ant-abcdefgh12", "AIzaSyLongEnoughValue"}
    assert secrets_from_headers([("authorization", "Bearer short")]) == {"Bearer short"}  # not "short"


def test_scrub_replaces_a_secret_everywhere_even_across_chunk_boundaries() -> None:
    first, second = f'data: {{"echo": "{KEY[:10]}', f'{KEY[10:]}"}}\n\n'
    interaction: dict[str, Any] = {
        "request": {"method": "POST", "url": f"https://x/v1?key={KEY}", "body": {"note": f"my key is {KEY}"}},
        "response": {"status": 200, "chunks": [first, second, "data: [DONE]\n\n"],
                     "timing_ms": [1.0, 2.0, 3.0], "events": [{"event": "message", "data": {"echo": KEY}}]},
        "decoded": {"chunks": [{"type": "content", "text": KEY}], KEY: "as a key"},
    }
    cleaned = scrub(interaction, [KEY])
    text = json.dumps(cleaned)
    assert KEY not in text and KEY[:10] not in text
    chunks = cleaned["response"]["chunks"]
    assert len(chunks) == 3 and "".join(chunks) == 'data: {"echo": "REDACTED"}\n\ndata: [DONE]\n\n'
    assert chunks[2] == "data: [DONE]\n\n"
    assert cleaned["request"]["url"] == "https://x/v1?key=REDACTED"
    assert interaction["request"]["body"]["note"].endswith(KEY)  # the original is untouched


def test_scrub_handles_binary_chunks_and_ignores_short_values() -> None:
    raw = b"\xff" + KEY.encode()
    interaction = {"request": {"method": "GET", "url": "/"},
                   "response": {"status": 200, "chunks": [{"b64": base64.b64encode(raw).decode()}]}}
    (chunk,) = scrub(interaction, [KEY])["response"]["chunks"]
    assert base64.b64decode(chunk["b64"]) == b"\xffREDACTED"
    assert scrub({"request": {"method": "GET", "url": "/"}, "response": {"text": "test"}}, ["test"])[
        "response"]["text"] == "test"


def test_secret_patterns_are_scrubbed() -> None:
    value = {"a": ["Bearer " "abcdefghijklmnop1234", "sk" "-ant-api03-abcdefghijklmnopqrstu", "AIza" + "x" * 35],
             "b": "sk" "-proj-abcdefghijklmnopqrstuv and gsk_abcdefghijklmnopqrstuvwx"}
    assert json.dumps(scrub_patterns(value)).count("REDACTED") == 5


def test_user_rules_run_before_writing(tmp_path: Path) -> None:
    def drop_user(interaction: dict[str, Any]) -> dict[str, Any]:
        interaction["request"]["body"].pop("user", None)
        return interaction

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": "x", "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}]})

    add_redaction(drop_user)
    try:
        path = tmp_path / "rules.json"
        client = httpx.Client(transport=httpx.MockTransport(handler))
        with reqllm_testing.use_fixture(path, mode="record"):
            reqllm.generate_text("openai:gpt-4o-mini", "Hi", api_key=KEY, http_client=client,
                                 provider_options={"user": "alice@example.com"})
    finally:
        remove_redaction(drop_user)
    text = path.read_text()
    assert "alice@example.com" not in text and KEY not in text
    assert json.loads(text)["interactions"][0]["request"]["body"]["messages"][0]["content"] == "Hi"


@pytest.mark.parametrize("header", ["authorization", "x-api-key", "x-goog-api-key", "api-key"])
def test_a_key_sent_in_any_auth_header_is_scrubbed_from_the_body_too(tmp_path: Path, header: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"echo": request.headers[header]})

    path = tmp_path / "sdk.json"
    with httpx.Client(transport=reqllm_testing.FixtureTransport(
            path, mode="record", inner=httpx.MockTransport(handler))) as client:
        value = f"Bearer {KEY}" if header == "authorization" else KEY
        assert client.get("https://x/v1/echo", headers={header: value}).json() == {"echo": value}
    assert KEY not in path.read_text()

