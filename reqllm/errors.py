"""The one error tree of reqllm.

Every error a reqllm call raises is a ``ReqLLMError``::

    ReqLLMError
    ├── ConfigurationError          the input is wrong; raised before any HTTP request
    │   ├── UnknownProviderError    "nope:gpt-4o" (did-you-mean in the message)
    │   ├── UnknownModelError       "openai:gpt-4o-minii" (did-you-mean in the message)
    │   ├── InvalidOptionError      an unknown option, or a bad value for a known one
    │   ├── MissingAPIKeyError      no api_key= and none of the provider's variables set
    │   └── UnsupportedOperationError  e.g. embed() on a protocol without embeddings
    ├── APIError                    the provider answered with an error (.status, .provider, .body)
    │   ├── AuthenticationError     401 / 403, Gemini's API_KEY_INVALID
    │   ├── InvalidRequestError     400 / 404 / 422
    │   ├── RateLimitError          429 (.retry_after seconds when the provider said)
    │   └── ProviderUnavailableError  5xx
    │       └── OverloadedError     529, or an in-stream "overloaded" event
    ├── TransportError              no usable HTTP exchange
    │   ├── APIConnectionError      refused, reset, DNS, TLS
    │   └── APITimeoutError         connect / read / write / pool timeout, or the deadline= of the call
    ├── ResponseDecodeError         a malformed body or event (.field names what)
    │   └── ResponseTooLargeError   a body larger than max_response_bytes once decoded (.limit)
    ├── StreamError                 a stream that could not finish
    │   └── StreamTruncatedError    ended before its terminal event
    ├── ObjectValidationError       generate_object's output does not match the schema
    └── UsageLimitExceeded          a usage_limit= would be or was passed (.usage, .response)

Errors raised from a stream carry ``.chunks``: the ``StreamChunk``s that arrived first.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "ConfigurationError",
    "InvalidOptionError",
    "InvalidRequestError",
    "MissingAPIKeyError",
    "ObjectValidationError",
    "OverloadedError",
    "ProviderUnavailableError",
    "RateLimitError",
    "ReqLLMError",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "StreamError",
    "StreamTruncatedError",
    "TransportError",
    "UnknownModelError",
    "UnknownProviderError",
    "UnsupportedOperationError",
    "UsageLimitExceeded",
]


class ReqLLMError(Exception):
    """Base of every error reqllm raises."""

    #: StreamChunks that arrived before the error, when it was raised from a stream.
    chunks: list[Any]
    #: With ``model=[...]``: the errors of the models tried before the one that raised this.
    fallback_errors: list[ReqLLMError]

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.chunks = []
        self.fallback_errors = []


class ConfigurationError(ReqLLMError, ValueError):
    """The call's input is wrong; nothing was sent."""


class UnknownProviderError(ConfigurationError):
    """The spec names a provider the registry does not know."""


class UnknownModelError(ConfigurationError):
    """The spec names a model the provider's catalogue does not list."""


class InvalidOptionError(ConfigurationError):
    """An unknown option, or a known option with a bad value."""


class MissingAPIKeyError(ConfigurationError):
    """No API key was given and none of the provider's environment variables is set."""


class UnsupportedOperationError(ConfigurationError):
    """The model's protocol cannot perform the requested operation."""


class APIError(ReqLLMError):
    """The provider answered with an error; carries its status, body and own message."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        provider: str | None = None,
        model: str | None = None,
        body: Any = None,
        code: str | None = None,
        retry_after: float | None = None,
        attempts: int = 1,
    ) -> None:
        where = " ".join(p for p in (provider and f"provider={provider}", model and f"model={model}") if p)
        prefix = f"HTTP {status}" if status is not None else "in-stream error"
        super().__init__(f"{prefix} ({where}): {message}" if where else f"{prefix}: {message}")
        self.provider_message = message
        self.status = status
        self.provider = provider
        self.model = model
        self.body = body
        self.code = code
        self.retry_after = retry_after
        self.attempts = attempts


class AuthenticationError(APIError):
    """401 / 403: the key is missing, wrong or lacks permission."""


class InvalidRequestError(APIError):
    """400 / 404 / 422: the provider rejected the request."""


class RateLimitError(APIError):
    """429: too many requests; ``retry_after`` holds the provider's hint in seconds."""


class ProviderUnavailableError(APIError):
    """5xx: the provider failed or is unavailable."""


class OverloadedError(ProviderUnavailableError):
    """529 or an in-stream overloaded event."""


class TransportError(ReqLLMError):
    """No usable HTTP exchange happened."""

    def __init__(self, message: str, *, provider: str | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.provider = provider
        self.attempts = attempts


class APIConnectionError(TransportError):
    """The connection failed: refused, reset, DNS or TLS."""


class APITimeoutError(TransportError):
    """A connect, read, write or pool timeout elapsed."""


class ResponseDecodeError(ReqLLMError):
    """A body or event could not be decoded; ``field`` names the offending part."""

    def __init__(self, message: str, *, provider: str | None = None, field: str | None = None,
                 raw: Any = None) -> None:
        where = " ".join(p for p in (provider and f"provider={provider}", field and f"field={field}") if p)
        super().__init__(f"{message} ({where})" if where else message)
        self.provider = provider
        self.field = field
        self.raw = raw


class ResponseTooLargeError(ResponseDecodeError):
    """The body grew past ``max_response_bytes`` once decoded (a decompression bomb, a runaway body)."""

    def __init__(self, message: str, *, limit: int, provider: str | None = None) -> None:
        super().__init__(message, provider=provider, field="body")
        self.limit = limit


class StreamError(ReqLLMError):
    """A stream could not finish."""


class StreamTruncatedError(StreamError):
    """The stream ended before the protocol's terminal event."""


class ObjectValidationError(ReqLLMError):
    """generate_object's output does not validate; names the field and shows the raw text."""

    def __init__(self, message: str, *, field: str | None, raw_text: str) -> None:
        super().__init__(f"{message} (field={field or '<root>'}); raw output: {raw_text[:2000]!r}")
        self.field = field
        self.raw_text = raw_text


class UsageLimitExceeded(ReqLLMError):
    """A ``usage_limit=`` ceiling: before a request that would pass it, or after a response that did.

    ``field`` names the ceiling (``"output_tokens"``, ``"cost"``, ...), ``usage`` is the usage so far,
    ``response`` the Response so far when a response passed the limit (None before a request).
    """

    def __init__(self, message: str, *, field: str, limit: Any, usage: Any, response: Any = None) -> None:
        super().__init__(message)
        self.field = field
        self.limit = limit
        self.usage = usage
        self.response = response


_BY_KIND: dict[str, type[APIError]] = {
    "auth": AuthenticationError,
    "invalid_request": InvalidRequestError,
    "rate_limit": RateLimitError,
    "unavailable": ProviderUnavailableError,
    "overloaded": OverloadedError,
}


def error_class(kind: str | None, status: int | None) -> type[APIError]:
    """The APIError subclass for an HTTP status and a plugin's error kind.

    A definitive status (401/403, 429, 5xx) wins over a kind that contradicts it (OpenAI answers a
    bad key with 401 and type "invalid_request_error"); a kind refines it (503 + "overloaded" is an
    OverloadedError) and decides on an ambiguous status (Gemini's API_KEY_INVALID comes with 400)
    or on none (in-stream errors).
    """
    by_kind = _BY_KIND.get(kind or "")
    by_status = _status_class(status)
    if by_kind is None:
        return by_status or APIError
    if by_status is None or issubclass(by_kind, by_status):
        return by_kind
    if status is not None and (status in (401, 403, 429) or status >= 500):
        return by_status
    return by_kind


def _status_class(status: int | None) -> type[APIError] | None:
    if status is None or status < 400:
        return None
    if status in (401, 403):
        return AuthenticationError
    if status == 429:
        return RateLimitError
    if status == 529:
        return OverloadedError
    if status >= 500:
        return ProviderUnavailableError
    return InvalidRequestError
