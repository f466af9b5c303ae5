"""Retry policy: which failures retry, and how long to wait (backoff with jitter, provider hints)."""

from __future__ import annotations

import datetime
import email.utils
import math
import random
import time

import httpx

from .errors import APIError, RateLimitError, ReqLLMError, TransportError

__all__ = ["MAX_DELAY", "RETRY_STATUSES", "delay_for", "should_retry"]

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
BASE_DELAY = 0.5
MAX_BACKOFF = 8.0
#: The longest a provider's retry-after hint is honoured before the error is raised instead.
MAX_DELAY = 60.0


def should_retry(error: ReqLLMError, response: httpx.Response | None) -> bool:
    """True for 408/409/429/5xx/529 and connection failures; a provider's x-should-retry wins."""
    if response is not None:
        hint = response.headers.get("x-should-retry")
        if hint == "true":
            return True
        if hint == "false":
            return False
    if isinstance(error, TransportError):
        return True
    if isinstance(error, APIError) and error.status is not None:
        return error.status in RETRY_STATUSES or error.status >= 500
    return False


def retry_after(response: httpx.Response | None) -> float | None:
    """The provider's hint from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    if response is None:
        return None
    headers = response.headers
    value = headers.get("retry-after-ms")
    if value:
        seconds = _seconds(value)
        if seconds is not None:
            return seconds / 1000.0
    value = headers.get("retry-after")
    if value:
        seconds = _seconds(value)
        if seconds is not None:
            return seconds
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None  # neither seconds nor an HTTP date: no hint
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=datetime.UTC)
        return max(parsed.timestamp() - time.time(), 0.0)
    return None


def _seconds(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return max(number, 0.0) if math.isfinite(number) else None


def delay_for(attempt: int, error: ReqLLMError) -> float | None:
    """Seconds to wait before retry number ``attempt`` (1-based); None when a hint is too long."""
    hint = error.retry_after if isinstance(error, APIError) else None
    if hint is not None:
        return hint if hint <= MAX_DELAY else None
    backoff = min(BASE_DELAY * 2.0 ** (attempt - 1), MAX_BACKOFF)
    delay = backoff * (1 - 0.25 * random.random())
    if isinstance(error, RateLimitError):
        delay = max(delay, 1.0)
    return delay
