"""The core's exchange: resolve a call, send it with retries and a timeout, map errors, emit telemetry.

Everything here but ``send_sync``/``send_async`` is shared by sync and async calls.
"""

from __future__ import annotations

import functools
import json
import os
import re
import time
from typing import Any

import httpx

from . import telemetry
from ._auth import RESOLVERS as AUTH_RESOLVERS
from ._auth import AuthStep
from ._auth import resolve as resolve_auth
from ._body import read_async, read_sync
from ._options import DEFAULT_TIMEOUT, Options, check_header, check_header_value, normalize_messages, parse_options
from ._retry import delay_for, retry_after, should_retry
from ._secrets import body_secrets, header_secrets, redact_error, strip_userinfo, url_secrets
from ._transport import CallInfo, async_transport, current_hook, sync_transport
from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    ConfigurationError,
    InvalidOptionError,
    MissingAPIKeyError,
    ReqLLMError,
    ResponseDecodeError,
    UnsupportedOperationError,
    error_class,
)
from .providers import get_protocol
from .providers.base import MALFORMED as _MALFORMED
from .providers.base import Call, Operation, Protocol
from .registry import REGISTRY, Model, Provider

__all__ = ["Exchange", "prepare"]


class _LazyAsyncio:
    """``asyncio``, imported on first use: sync-only programs never pay for importing it."""

    def __getattr__(self, name: str) -> Any:
        import asyncio as module

        return getattr(module, name)


asyncio: Any = _LazyAsyncio()

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _resolve_model(model: str | Model) -> Model:
    if isinstance(model, Model):
        return model
    if not isinstance(model, str):
        raise ConfigurationError(f"model must be a 'provider:model-id' spec or a reqllm.Model, not {model!r}")
    return REGISTRY.model(model)


def _base_url(model: Model, options: Options, variables: dict[str, str] | None = None) -> str:
    """The call's base URL; ``${VAR}`` comes from the auth step's located values, then the environment."""
    provider = REGISTRY.provider(model.provider)
    located = variables or {}
    url = options.base_url
    if url is None and provider.base_url_env:
        url = os.environ.get(provider.base_url_env) or None
    if url is None:
        url = model.base_url or provider.base_url
    if not url:
        raise ConfigurationError(
            f"provider {provider.id!r} has no base URL"
            + (f": {provider.unusable_reason}" if provider.unusable_reason else "") + "; pass base_url=")
    missing = [v for v in _VAR.findall(url) if v not in located and v not in os.environ]
    if missing:
        raise ConfigurationError(f"base URL {strip_userinfo(url)!r} of provider {provider.id!r} needs "
                                 f"environment variable(s) {', '.join(missing)}")
    url = _VAR.sub(lambda m: located.get(m.group(1)) or os.environ[m.group(1)], url)
    problem = _url_problem(url)
    if problem is not None:
        raise InvalidOptionError(f"base URL {strip_userinfo(url)!r} of provider {provider.id!r} {problem}")
    return url


@functools.lru_cache(maxsize=256)
def _url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a base URL, or None. Cached: a call parses its base URL once per process,
    not once per call (the parse was ~10% of a mocked ``generate_text``)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        return f"is not a valid URL: {str(exc).replace(url, '<the URL>')}"
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return "must be an http:// or https:// URL with a host"
    return None


def _call_secrets(known: tuple[str, ...], base_url: str, options: Options, provider_headers: dict[str, str]
                  ) -> tuple[str, ...]:
    """Every secret value this call could send (see ``reqllm._secrets``): ``known`` ones (keys, tokens)
    and those of the URL, the headers and credential-named ``provider_options``."""
    found = set(known)
    found |= url_secrets(base_url)
    if options.headers:
        found |= header_secrets(options.headers.items())
    if provider_headers:
        found |= header_secrets(provider_headers.items())
    if options.provider_options:
        found |= body_secrets(options.provider_options)
    for name in ("access_token", "aws_secret_access_key", "aws_session_token"):
        value = getattr(options, name, None)
        if isinstance(value, str) and value:
            found.add(value)
    return tuple(found)


def _api_key(provider: Provider, options: Options, info: CallInfo, scheme: str, model: Model) -> str | None:
    """The key from ``api_key=`` or the provider's variables; a replaying hook's stand-in; else an error."""
    api_key = options.api_key
    if api_key is None:
        variable = next((v for v in provider.env if os.environ.get(v)), None)
        if variable is not None:
            api_key = os.environ[variable]
            check_header_value(api_key, f"the API key in environment variable {variable}")
    if api_key is None and provider.requires_key and scheme != "none":
        hook = current_hook()
        api_key = hook.placeholder_key(info) if hook is not None else None
        if api_key is None:
            names = ", ".join(provider.env) or "(none declared)"
            raise MissingAPIKeyError(f"no API key for provider {provider.id!r} (model {model.spec}): "
                                     f"pass api_key= or set {names}")
    elif api_key is not None:
        info.secrets = (api_key,)
    return api_key


def prepare(operation: Operation, model: str | Model, opts: dict[str, Any], *, messages: Any = None,
            stream: bool = False, schema: dict[str, Any] | None = None, schema_name: str = "output",
            inputs: list[str] | None = None, kind: type[Exchange] | None = None) -> Exchange:
    """Validate everything about a call and resolve it; raises before any HTTP request.

    ``kind``: the Exchange subclass to make (the loop's Attempt), instead of an Exchange."""
    options = parse_options(opts)
    resolved = _resolve_model(model)
    provider = REGISTRY.provider(resolved.provider)
    protocol_id = options.protocol or resolved.protocol or provider.protocol
    if protocol_id is None:
        raise ConfigurationError(f"provider {provider.id!r} cannot be used: {provider.unusable_reason}")
    protocol = get_protocol(protocol_id)
    if operation not in protocol.operations:
        raise UnsupportedOperationError(
            f"{operation} is not supported by the {protocol.id} protocol (model {resolved.spec})")
    msgs = normalize_messages(messages, options.system) if operation != "embed" else []
    info = CallInfo(provider=provider.id, model=resolved.spec, operation=operation, stream=stream,
                    protocol=protocol.id)
    scheme = provider.auth or protocol.auth
    if scheme in AUTH_RESOLVERS:
        hook = current_hook()
        found = resolve_auth(scheme, options, hook.placeholder_key(info) if hook is not None else None,
                             protocol=protocol.id)
        api_key, auth, variables = found.api_key, found.step, found.variables
        info.secrets = found.secrets
    else:
        api_key, auth, variables = _api_key(provider, options, info, scheme, resolved), None, {}
    for name, value in provider.headers.items():
        check_header(name, value, f"headers of provider {provider.id!r}")
    base_url = _base_url(resolved, options, variables)
    known = tuple(info.secrets) + ((api_key,) if api_key else ())
    info.secrets = _call_secrets(known, base_url, options, provider.headers)
    call = Call(operation=operation, model=resolved, provider=provider, options=options,
                base_url=base_url, api_key=api_key, messages=msgs, stream=stream,
                schema=schema, schema_name=schema_name, input=inputs or [])
    return (kind or Exchange)(call, protocol, info, auth)


class Exchange:
    """One call in flight: builds requests, sends with retries, decodes, reports."""

    __slots__ = ("attempts", "auth", "call", "deadline_at", "info", "protocol", "started")

    def __init__(self, call: Call, protocol: Protocol, info: CallInfo, auth: AuthStep | None = None) -> None:
        self.call = call
        self.protocol = protocol
        self.info = info
        #: The core's authentication step (SigV4, OAuth bearer, ...), applied to each built request.
        self.auth = auth
        self.started = time.perf_counter()
        deadline = call.options.deadline
        #: perf_counter() time by which the whole call must be over (``deadline=``), else None.
        self.deadline_at = None if deadline is None else self.started + deadline
        self.attempts = 0

    # -- shared ---------------------------------------------------------------------------
    def build(self, call: Call | None = None) -> httpx.Request:
        """The plugin's request, with the call's timeout attached."""
        request = self.protocol.build_request(call or self.call)
        if self.auth is not None:
            self.auth.apply(request)
        timeout = self.call.options.timeout or DEFAULT_TIMEOUT
        request.extensions["timeout"] = timeout.as_dict()
        return request

    async def abuild(self, call: Call | None = None) -> httpx.Request:
        """``build`` for async calls: a token the auth step must fetch or refresh is fetched off the event loop."""
        fetch = getattr(self.auth, "token", None)
        if fetch is not None:
            await asyncio.to_thread(fetch)
        return self.build(call)

    def event(self, name: str, **fields: Any) -> None:
        """Emit a telemetry event about this call (no cost when nobody listens)."""
        if telemetry.active():
            info = self.info
            telemetry.emit(telemetry.TelemetryEvent(name=name, provider=info.provider, model=info.model,
                                                    operation=info.operation, stream=info.stream, **fields))

    def elapsed(self) -> float:
        """Seconds since the call started."""
        return time.perf_counter() - self.started

    # -- the deadline ---------------------------------------------------------------------------
    def check_deadline(self) -> None:
        """APITimeoutError once the call's ``deadline=`` has passed (nothing when none was given)."""
        if self.deadline_at is not None and time.perf_counter() >= self.deadline_at:
            raise self.deadline_error()

    def deadline_error(self) -> APITimeoutError:
        """The error of a call that ran out of its ``deadline=``."""
        info = self.info
        return APITimeoutError(f"the call to {info.provider} ({info.model}) passed its deadline="
                               f"{self.call.options.deadline} s after {self.attempts} attempt(s)",
                               provider=info.provider, attempts=self.attempts)

    def _bounded(self, request: httpx.Request) -> None:
        """Before an attempt: raise if the deadline passed, else cap each httpx timeout to the time left."""
        self.attempts += 1
        if self.deadline_at is None:
            return
        left = self.deadline_at - time.perf_counter()
        if left <= 0:
            raise self.deadline_error()
        timeout = self.call.options.timeout or DEFAULT_TIMEOUT
        request.extensions["timeout"] = {k: left if v is None else min(v, left)
                                         for k, v in timeout.as_dict().items()}

    def read_check(self) -> Any:
        """What the body readers call after each network read (None when there is no deadline)."""
        return self.check_deadline if self.deadline_at is not None else None

    def status_error(self, response: httpx.Response) -> APIError:
        """The typed error for a 4xx/5xx response (already read)."""
        status = response.status_code
        json_body = True
        try:
            body: Any = json.loads(response.content) if response.content else None
        except (ValueError, RecursionError):
            body, json_body = response.text, False
        try:
            info = self.protocol.parse_error_response(status, response.headers, body)
        except _MALFORMED:
            info = Protocol.parse_error(self.protocol, status, body)
        message = info.message
        if not json_body:  # a proxy's page or a plain-text error: say so, and show its text
            page = "<html" in body.lower()
            text = re.sub(r"<[^>]+>", " ", body) if page else body
            kind = response.headers.get("content-type", "unknown type")
            message = f"non-JSON error {'page' if page else 'body'} ({kind}): " + \
                re.sub(r"\s+", " ", text).strip()[:300]
        cls = error_class(info.kind, status)
        hint = retry_after(response)  # 0 is a hint too ("retry now")
        return cls(message, status=status, provider=self.info.provider, model=self.info.model, body=body,
                   code=info.code, retry_after=info.retry_after if hint is None else hint)

    def transport_error(self, exc: httpx.HTTPError) -> ReqLLMError:
        """A typed error for an httpx transport failure."""
        message = f"{type(exc).__name__} talking to {self.info.provider} ({self.info.model}): {exc}"
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(message, provider=self.info.provider)
        return APIConnectionError(message, provider=self.info.provider)

    def timeout_or(self, exc: httpx.HTTPError) -> ReqLLMError:
        """``transport_error(exc)``, or the deadline's error when a timeout capped by it fired."""
        if isinstance(exc, httpx.TimeoutException) and self.deadline_at is not None and \
                time.perf_counter() >= self.deadline_at - 0.001:
            return self.deadline_error()
        return self.transport_error(exc)

    def decode_json(self, response: httpx.Response) -> Any:
        """The success body as JSON; a ResponseDecodeError showing its start when it is not."""
        try:
            return json.loads(response.content)
        except (ValueError, RecursionError) as exc:
            raise ResponseDecodeError(f"response body is not JSON ({exc}): {response.text[:200]!r}",
                                      provider=self.info.provider, field="body", raw=response.text) from None

    def parse(self, body: Any, call: Call | None = None) -> Any:
        """The plugin's decoding of a success body; malformed input becomes a ResponseDecodeError."""
        try:
            return self.protocol.parse_response(call or self.call, body)
        except ReqLLMError:
            raise
        except _MALFORMED as exc:
            raise ResponseDecodeError(f"malformed {self.protocol.id} response: {exc!r}",
                                      provider=self.info.provider, field="body", raw=body) from None

    def retry_delay(self, attempt: int, error: ReqLLMError, response: httpx.Response | None) -> float | None:
        """Seconds to wait before another attempt, or None to give up (error gets its attempt count).

        No retry starts that the call's deadline would not leave time for.
        """
        self.redact(error)
        if attempt <= self.call.options.max_retries and should_retry(error, response):
            delay = delay_for(attempt, error)
            if delay is not None and self.deadline_at is not None and \
                    time.perf_counter() + delay >= self.deadline_at:
                delay = None
            if delay is not None:
                self.event("request.retry", attempt=attempt, error=error, delay=delay)
                return delay
        if isinstance(error, APIError | APIConnectionError | APITimeoutError):
            error.attempts = attempt
        return None

    def succeed(self, result: Any, usage: Any = None) -> None:
        """Report success to the hook and telemetry (``usage`` defaults to ``result.usage``)."""
        hook = current_hook()
        if hook is not None:
            hook.on_result(self.info, result, None)
        if usage is None:
            usage = getattr(result, "usage", None)
        self.event("request.stop", duration=self.elapsed(), usage=usage)

    def redact(self, error: BaseException) -> None:
        """Remove every secret this call knows from ``error`` (message, args, body), in place."""
        if self.info.secrets:
            redact_error(error, self.info.secrets)

    def fail(self, error: BaseException, partial: Any = None) -> None:
        """Report failure (its secrets removed first) to the hook and telemetry."""
        self.redact(error)
        hook = current_hook()
        if hook is not None:
            hook.on_result(self.info, partial, error)
        self.event("request.error", duration=self.elapsed(), error=error)

    # -- sending ----------------------------------------------------------------------------
    def send_sync(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        """Send with retries; returns a 2xx response (read unless ``stream``)."""
        transport = sync_transport(self.call.options.http_client, request.url, self.info)
        limit, provider, check = self.call.options.max_response_bytes, self.info.provider, self.read_check()
        attempt = 0
        while True:
            attempt += 1
            self._bounded(request)
            response: httpx.Response | None = None
            try:
                response = transport.handle_request(request)
                response.request = request
                if response.status_code < 400:
                    if not stream:
                        read_sync(response, limit, provider, check)
                    return response
                read_sync(response, limit, provider, check)
                error: ReqLLMError = self.status_error(response)
            except httpx.HTTPError as exc:
                error = self.timeout_or(exc)
            finally:
                if response is not None and (not stream or response.status_code >= 400):
                    response.close()
            delay = self.retry_delay(attempt, error, response)
            if delay is None:
                raise error
            time.sleep(delay)

    async def send_async(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        """Async twin of ``send_sync``."""
        transport = async_transport(self.call.options.http_client, request.url, self.info)
        limit, provider, check = self.call.options.max_response_bytes, self.info.provider, self.read_check()
        attempt = 0
        while True:
            attempt += 1
            self._bounded(request)
            response: httpx.Response | None = None
            try:
                response = await transport.handle_async_request(request)
                response.request = request
                if response.status_code < 400:
                    if not stream:
                        await read_async(response, limit, provider, check)
                    return response
                await read_async(response, limit, provider, check)
                error: ReqLLMError = self.status_error(response)
            except httpx.HTTPError as exc:
                error = self.timeout_or(exc)
            finally:
                if response is not None and (not stream or response.status_code >= 400):
                    await response.aclose()
            delay = self.retry_delay(attempt, error, response)
            if delay is None:
                raise error
            await asyncio.sleep(delay)
