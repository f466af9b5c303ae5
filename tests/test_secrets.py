"""What reqllm knows to be secret never shows in an error message, a repr or a telemetry event."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

import reqllm
from reqllm import errors, telemetry
from reqllm._http import prepare
from reqllm._secrets import (
    PLACEHOLDER,
    body_secrets,
    header_secrets,
    is_credential_name,
    redact_text,
    secret_forms,
    strip_userinfo,
    url_secrets,
)
from tests.openai_fakes import MODEL, Recorder, error_body, reply


def fresh_key() -> str:
    return f"sk-test-{uuid.uuid4().hex}"


def every_form(secret: str) -> list[str]:
    return [secret, base64.b64encode(secret.encode()).decode(), json.dumps(secret)[1:-1]]


def test_a_provider_echoing_the_key_gives_an_error_without_it() -> None:
    key = fresh_key()
    echo = error_body(f"Incorrect API key provided: {key}.", "invalid_request_error", "invalid_api_key")
    seen: list[telemetry.TelemetryEvent] = []
    rec = Recorder(reply(401, echo))
    unsubscribe = telemetry.subscribe(seen.append)
    try:
        with pytest.raises(errors.AuthenticationError) as info:
            reqllm.generate_text(MODEL, "hi", **rec.opts(api_key=key))
    finally:
        unsubscribe()
    error = info.value
    assert f"Incorrect API key provided: {PLACEHOLDER}." == error.provider_message
    for text in (str(error), repr(error), error.message, json.dumps(error.body), repr(error.args)):
        assert key not in text
    assert seen and all(key not in str(event) for event in seen)


@pytest.mark.parametrize("where", ["header", "auth_token", "userinfo"])
def test_secrets_other_than_the_key_are_kept_out_of_errors_too(where: str) -> None:
    secret = fresh_key()
    options: dict[str, Any] = {
        "header": {"headers": {"x-acme-key": secret}},
        "auth_token": {"provider_options": {"metadata": {"auth_token": secret}}},
        "userinfo": {"base_url": f"https://user:{secret}@api.example.test/v1"},
    }[where]
    rec = Recorder(reply(400, error_body(f"bad request {secret} / {base64.b64encode(secret.encode()).decode()}",
                                         "invalid_request_error")))
    with pytest.raises(errors.InvalidRequestError) as info:
        reqllm.generate_text(MODEL, "hi", **rec.opts(**options))
    assert all(form not in str(info.value) and form not in json.dumps(info.value.body)
               for form in every_form(secret))


def test_a_stream_error_echoing_the_key_is_redacted() -> None:
    key = fresh_key()
    failure = "data: " + json.dumps({"error": {"message": f"key {key} revoked", "type": "auth_error"}}) + "\n\n"
    rec = Recorder(reply(200, content=failure.encode(), headers={"content-type": "text/event-stream"}))
    with pytest.raises(errors.APIError) as info:
        reqllm.stream_text(MODEL, "hi", **rec.opts(api_key=key)).to_response()
    assert key not in str(info.value) and PLACEHOLDER in info.value.provider_message


def test_the_key_is_never_in_a_repr_of_the_call() -> None:
    key = fresh_key()
    exchange = prepare("chat", MODEL, {"api_key": key, "headers": {"x-other": key + "-2"}}, messages="hi")
    assert key not in repr(exchange.call) and key not in repr(exchange.call.options)
    assert {key, key + "-2"} <= set(exchange.info.secrets)


def test_a_base_url_with_userinfo_never_shows_its_password() -> None:
    secret = fresh_key()
    with pytest.raises(errors.InvalidOptionError) as info:
        reqllm.generate_text(MODEL, "hi", base_url=f"http://user:{secret}@[::1/v1", api_key="k" * 10)
    assert secret not in str(info.value) and "user:" not in str(info.value)


# -- the functions every redaction uses ---------------------------------------------------------
@pytest.mark.parametrize(("name", "credential"), [
    ("api_key", True), ("auth_token", True), ("secret_key", True), ("secretKey", True), ("x-api-key", True),
    ("password", True), ("clientCredentials", True), ("thoughtSignature", True), ("accessToken", True),
    ("max_tokens", False), ("author", False), ("keyword", False), ("tokenizer", False), ("text", False),
    ("monkey", False), ("input_tokens", False),
])
def test_credential_names(name: str, credential: bool) -> None:
    assert is_credential_name(name) is credential


def test_secret_values_come_from_headers_urls_and_credential_fields() -> None:
    key = fresh_key()
    assert header_secrets([("Authorization", f"Bearer {key}"), ("x-stainless-os", "Linux-x86_64"),
                           ("user-agent", "OpenAI/Python 1.99.0"), ("x-acme", "acme-value-1")]) == {
        f"Bearer {key}", key, "acme-value-1"}
    assert url_secrets(f"https://me:{key}@h.test/v1?key=google-key-1&alt=sse") == {f"me:{key}", key,
                                                                                   "google-key-1"}
    assert strip_userinfo(f"https://me:{key}@h.test:8443/v1?q=1") == "https://h.test:8443/v1?q=1"
    body = {"model": "m", "max_tokens": 5, "metadata": {"auth_token": key, "author": "Jane Austen"},
            "tools": [{"parameters": {"properties": {"password": {"type": "string"}}}}],
            "provider": {"secretKey": "secret-value-2", "short": {"token": "abc"}}}
    assert body_secrets(body) == {key, "secret-value-2"}


def test_encoded_echoes_are_found() -> None:
    key = fresh_key() + "+/=~<>"
    forms = secret_forms([key])
    for echo in (key, base64.b64encode(key.encode()).decode(), base64.b64encode(b"Bearer " + key.encode()).decode(),
                 base64.urlsafe_b64encode(b"user:" + key.encode()).decode(),
                 json.dumps(key), json.dumps(key).replace("/", "\\/"),
                 "".join(f"\\u{ord(c):04x}" for c in key),
                 json.dumps(key).replace("<", "\\u003c").replace(">", "\\u003e")):
        assert key not in redact_text(f"echo: {echo} .", forms)
        assert PLACEHOLDER in redact_text(f"echo: {echo} .", forms), echo
