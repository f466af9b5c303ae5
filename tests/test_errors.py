"""The error tree, and how provider error responses map onto it (status, provider, body, message)."""

from __future__ import annotations

import inspect

import httpx
import pytest

import reqllm
from reqllm import errors
from reqllm.errors import (
    APIError,
    AuthenticationError,
    InvalidRequestError,
    ObjectValidationError,
    OverloadedError,
    ProviderUnavailableError,
    RateLimitError,
    ReqLLMError,
    error_class,
)
from tests.openai_fakes import MODEL, Recorder, error_body, patch_sleep, reply


@pytest.fixture(autouse=True)
def _no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    return patch_sleep(monkeypatch)


# Bodies as OpenAI documents/sends them for each status.
STATUS_CASES = [
    (400, error_body("Invalid value for 'temperature': must be <= 2.", "invalid_request_error",
                     "invalid_value", "temperature"), InvalidRequestError),
    (401, error_body("Incorrect API key provided: sk-proj-****1234.", "invalid_request_error",
                     "invalid_api_key"), AuthenticationError),
    (403, error_body("Country, region, or territory not supported", "request_forbidden",
                     "unsupported_country_region_territory"), AuthenticationError),
    (404, error_body("The model `gpt-4o-minii` does not exist or you do not have access to it.",
                     "invalid_request_error", "model_not_found"), InvalidRequestError),
    (422, error_body("Unprocessable entity: messages[0].content is required", "invalid_request_error"),
     InvalidRequestError),
    (429, error_body("Rate limit reached for gpt-4o-mini in organization org-x on requests per min (RPM): "
                     "Limit 3, Used 3, Requested 1.", "requests", "rate_limit_exceeded"), RateLimitError),
    (500, error_body("The server had an error while processing your request. Sorry about that!",
                     "server_error"), ProviderUnavailableError),
    (503, error_body("The engine is currently overloaded, please try again later.", "server_error"),
     ProviderUnavailableError),
    (529, error_body("Overloaded", "overloaded_error"), OverloadedError),
]


@pytest.mark.parametrize("status, body, cls", STATUS_CASES, ids=[str(c[0]) for c in STATUS_CASES])
def test_status_maps_to_the_right_class(status: int, body: dict[str, object], cls: type[APIError]) -> None:
    rec = Recorder(reply(status, body))
    with pytest.raises(APIError) as info:
        reqllm.generate_text(MODEL, "Hi", **rec.opts(max_retries=0))
    err = info.value
    assert type(err) is cls
    assert err.status == status
    assert err.provider == "openai" and err.model == MODEL
    assert err.body == body
    message = body["error"]["message"]  # type: ignore[index]
    assert err.provider_message == message
    assert f"HTTP {status}" in str(err) and message in str(err)
    assert err.attempts == 1
    assert err.code == (body["error"]["code"] or body["error"]["type"])  # type: ignore[index]


def test_html_error_page_is_summarized() -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
    rec = Recorder(reply(502, content=page, headers={"content-type": "text/html"}))
    with pytest.raises(ProviderUnavailableError) as info:
        reqllm.generate_text(MODEL, "Hi", **rec.opts(max_retries=0))
    assert info.value.status == 502
    assert "<h1>" not in info.value.provider_message and "502 Bad Gateway" in info.value.provider_message
    assert "text/html" in info.value.provider_message


def test_plain_text_and_empty_error_bodies() -> None:
    rec = Recorder(reply(400, content=b"bad request: missing model"))
    with pytest.raises(InvalidRequestError) as info:
        reqllm.generate_text(MODEL, "Hi", **rec.opts())
    assert "bad request: missing model" in info.value.provider_message
    assert info.value.body == "bad request: missing model"
    rec = Recorder(reply(404))
    with pytest.raises(InvalidRequestError) as info:
        reqllm.generate_text(MODEL, "Hi", **rec.opts())
    assert info.value.provider_message == "HTTP 404" and info.value.body is None


def test_rate_limit_error_carries_retry_after() -> None:
    rec = Recorder(reply(429, error_body("Slow down", "requests", "rate_limit_exceeded"),
                         headers={"retry-after": "120"}))
    with pytest.raises(RateLimitError) as info:
        reqllm.generate_text(MODEL, "Hi", **rec.opts())
    assert info.value.retry_after == 120.0
    assert len(rec.requests) == 1  # a hint above the longest wait is raised, not slept on


@pytest.mark.parametrize("kind, status, expected", [
    (None, 400, InvalidRequestError),
    (None, 401, AuthenticationError),
    (None, 403, AuthenticationError),
    (None, 404, InvalidRequestError),
    (None, 408, InvalidRequestError),
    (None, 429, RateLimitError),
    (None, 500, ProviderUnavailableError),
    (None, 529, OverloadedError),
    (None, None, APIError),
    (None, 302, APIError),
    ("auth", 400, AuthenticationError),  # Gemini's API_KEY_INVALID comes with 400
    ("rate_limit", 400, RateLimitError),
    ("invalid_request", 401, AuthenticationError),  # OpenAI's bad key: 401 + invalid_request_error
    ("invalid_request", 429, RateLimitError),
    ("invalid_request", 500, ProviderUnavailableError),
    ("overloaded", 503, OverloadedError),  # a kind refines a status
    ("unavailable", 529, OverloadedError),
    ("overloaded", None, OverloadedError),  # in-stream errors have no status
    ("rate_limit", None, RateLimitError),
    ("other", 418, InvalidRequestError),
])
def test_error_class(kind: str | None, status: int | None, expected: type[APIError]) -> None:
    assert error_class(kind, status) is expected


def test_tree_shape() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, ReqLLMError), name
        assert name in errors.__doc__, f"{name} is missing from the tree drawn in the docstring"
    assert issubclass(errors.ConfigurationError, ValueError)
    for cls in (errors.UnknownProviderError, errors.UnknownModelError, errors.InvalidOptionError,
                errors.MissingAPIKeyError, errors.UnsupportedOperationError):
        assert issubclass(cls, errors.ConfigurationError)
    assert issubclass(OverloadedError, ProviderUnavailableError)
    assert issubclass(errors.APITimeoutError, errors.TransportError)
    assert issubclass(errors.StreamTruncatedError, errors.StreamError)
    assert reqllm.ReqLLMError is ReqLLMError
    assert errors.__all__ == sorted(errors.__all__)
    assert {n for n, v in vars(errors).items() if inspect.isclass(v) and issubclass(v, Exception)} == set(
        errors.__all__)


def test_every_error_carries_chunks() -> None:
    assert ReqLLMError("x").chunks == []
    assert APIError("x", status=500).chunks == []


def test_api_error_message_names_where() -> None:
    err = RateLimitError("Slow down", status=429, provider="openai", model=MODEL, retry_after=2.0)
    assert str(err) == f"HTTP 429 (provider=openai model={MODEL}): Slow down"
    assert str(APIError("boom")) == "in-stream error: boom"


def test_object_validation_error_names_field_and_shows_raw_text() -> None:
    err = ObjectValidationError("Input should be a valid integer", field="population",
                                raw_text='{"population": "x"}')
    assert err.field == "population" and err.raw_text == '{"population": "x"}'
    assert "field=population" in str(err) and '{"population": "x"}' in str(err)
    assert "field=<root>" in str(ObjectValidationError("not JSON", field=None, raw_text="oops"))


def test_transport_errors_are_typed() -> None:
    rec = Recorder(httpx.ReadTimeout("timed out"))
    with pytest.raises(errors.APITimeoutError) as info:
        reqllm.generate_text(MODEL, "Hi", **rec.opts(max_retries=0))
    assert info.value.provider == "openai" and "ReadTimeout" in str(info.value)
    rec = Recorder(httpx.RemoteProtocolError("peer closed connection"))
    with pytest.raises(errors.APIConnectionError):
        reqllm.generate_text(MODEL, "Hi", **rec.opts(max_retries=0))
