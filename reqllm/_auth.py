"""Authentication steps the core applies to a request after the plugin built it: the plugin stays pure.

- ``SigV4``: AWS Signature Version 4 (Bedrock), computed exactly as AWS does: canonical request
  (method, double-encoded normalized path, sorted query, lower-cased trimmed headers, body SHA-256),
  string to sign, a key derived from the secret through date, region and service.
- ``BearerToken``: an OAuth token from a source that refreshes it before it expires (Google
  Application Default Credentials through the optional ``google-auth`` package; never written).
- ``StaticHeader``: a fixed credential header (Azure's ``api-key``, an explicit ``access_token=``).

``resolve`` reads the call's options and the environment once per call (the core owns the
environment) and returns the step plus the URL variables it located (region, project, resource).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import hmac
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import quote, unquote, urlsplit

import httpx

from .errors import ConfigurationError, MissingAPIKeyError

__all__ = [
    "AWSCredentials",
    "AuthStep",
    "BearerToken",
    "Resolved",
    "SigV4",
    "StaticHeader",
    "google_token_source",
    "resolve",
    "sigv4_authorization",
]

#: Headers never signed (botocore's list: hop-by-hop headers, tracing, the user agent).
UNSIGNED_HEADERS = frozenset({
    "authorization", "baggage", "connection", "expect", "keep-alive", "proxy-authenticate",
    "proxy-authorization", "te", "traceparent", "tracestate", "trailer", "transfer-encoding", "upgrade",
    "user-agent", "x-amzn-trace-id",
})
#: Refresh an OAuth token this long before it expires.
REFRESH_MARGIN = 300.0
_GOOGLE_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


class AuthStep(Protocol):
    """Adds credentials to a built request, just before it is sent.

    A step that fetches tokens over the network also has a ``token()`` method: async calls run it in a
    worker thread first, so ``apply`` finds the token cached and never blocks the event loop.
    """

    def apply(self, request: httpx.Request) -> None:
        """Set the request's credential headers (in place)."""
        ...


# -- AWS SigV4 -------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True, repr=False)
class AWSCredentials:
    """An AWS access key pair and optional session token (repr hides the secret)."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def __repr__(self) -> str:
        return f"AWSCredentials(access_key_id={self.access_key_id[:4]}..., secret_access_key=***)"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


@functools.lru_cache(maxsize=16)
def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    """The key derived from the secret for one day, region and service (valid all day: cached)."""
    key = _hmac(("AWS4" + secret).encode("utf-8"), day)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 dot-segment removal; empty segments (``//``) dropped as AWS requires."""
    out: list[str] = []
    for segment in path.split("/"):
        if not segment or segment == ".":
            continue
        if segment == "..":
            if out:
                out.pop()
        else:
            out.append(segment)
    joined = "/" + "/".join(out)
    if path.endswith("/") and joined != "/":
        joined += "/"
    return joined


def _canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def sigv4_authorization(method: str, path: str, query: Iterable[tuple[str, str]],
                        headers: Iterable[tuple[str, str]], body: bytes, credentials: AWSCredentials,
                        region: str, service: str, amz_date: str) -> str:
    """The ``Authorization`` value for one request (pure: everything it signs is an argument).

    ``path`` is the path as sent (already percent-encoded); it is normalized and encoded once
    more, as AWS does for every service but S3. ``query`` holds decoded pairs.
    """
    signed: dict[str, list[str]] = {}
    for name, value in headers:
        key = name.lower().strip()
        if key not in UNSIGNED_HEADERS:
            signed.setdefault(key, []).append(" ".join(value.split()))
    names = sorted(signed)
    canonical = "\n".join([
        method.upper(),
        quote(_remove_dot_segments(path) if path else "/", safe="/~"),
        _canonical_query(query),
        "".join(f"{n}:{','.join(signed[n])}\n" for n in names),
        ";".join(names),
        hashlib.sha256(body).hexdigest(),
    ])
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    signing_key = _signing_key(credentials.secret_access_key, amz_date[:8], region, service)
    signature = hmac.new(signing_key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return (f"AWS4-HMAC-SHA256 Credential={credentials.access_key_id}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}")


def _query_pairs(raw: str) -> list[tuple[str, str]]:
    pairs = []
    for piece in raw.split("&"):
        if piece:
            key, _, value = piece.partition("=")
            pairs.append((unquote(key), unquote(value)))
    return pairs


@dataclasses.dataclass(slots=True)
class SigV4:
    """Signs each request with AWS SigV4 (``x-amz-date``, ``x-amz-security-token``, ``authorization``)."""

    credentials: AWSCredentials
    region: str
    service: str = "bedrock"
    #: The clock; injectable so tests sign at a fixed instant.
    clock: Callable[[], datetime.datetime] = dataclasses.field(
        default=lambda: datetime.datetime.now(datetime.UTC))

    def apply(self, request: httpx.Request) -> None:
        """Sign ``request`` in place (a re-sign replaces the previous signature)."""
        headers = request.headers
        for name in ("authorization", "x-amz-date", "x-amz-security-token"):
            headers.pop(name, None)
        headers["x-amz-date"] = self.clock().strftime("%Y%m%dT%H%M%SZ")
        if self.credentials.session_token:
            headers["x-amz-security-token"] = self.credentials.session_token
        url = request.url
        path = url.raw_path.decode("ascii").partition("?")[0]
        # content-length is left unsigned, as botocore leaves it (it is set after signing there).
        signed = [(k, v) for k, v in headers.multi_items() if k.lower() != "content-length"]
        headers["authorization"] = sigv4_authorization(
            request.method, path, _query_pairs(url.query.decode("ascii")), signed,
            request.content, self.credentials, self.region, self.service, headers["x-amz-date"])


# -- bearer tokens and fixed headers ------------------------------------------------------------
@dataclasses.dataclass(slots=True)
class StaticHeader:
    """Sets one header to a fixed value (replacing any the plugin set)."""

    name: str
    value: str

    def apply(self, request: httpx.Request) -> None:
        """Set the header."""
        request.headers.pop("authorization", None)
        request.headers[self.name] = self.value


class TokenSource(Protocol):
    """Something that mints OAuth access tokens: ``fetch()`` returns (token, expiry epoch or None)."""

    def fetch(self) -> tuple[str, float | None]:
        """A fresh token and when it expires (seconds since the epoch), or None when unknown."""
        ...


class BearerToken:
    """``Authorization: Bearer <token>`` from a source, refreshed ``REFRESH_MARGIN`` s before expiry.

    Tokens live in memory only. One refresh at a time (a lock), shared by every call of the process.
    """

    __slots__ = ("_expiry", "_lock", "_source", "_token", "clock")

    def __init__(self, source: TokenSource, clock: Callable[[], float] = time.time) -> None:
        self._source = source
        self._token: str | None = None
        self._expiry: float | None = None
        self._lock = threading.Lock()
        self.clock = clock

    def token(self) -> str:
        """The current token, fetched or refreshed when missing or about to expire."""
        with self._lock:
            if self._token is None or (self._expiry is not None and self.clock() >= self._expiry - REFRESH_MARGIN):
                self._token, self._expiry = self._source.fetch()
            return self._token

    def apply(self, request: httpx.Request) -> None:
        """Set the bearer header."""
        request.headers.pop("api-key", None)
        request.headers["authorization"] = f"Bearer {self.token()}"


class _GoogleADC:
    """Application Default Credentials through ``google-auth`` (service account file, gcloud user,
    metadata server)."""

    __slots__ = ("_credentials", "_request")

    def __init__(self, transport: httpx.BaseTransport | None = None) -> None:
        try:
            import google.auth
        except ImportError:
            raise ConfigurationError(
                "Vertex AI needs Google credentials: install the optional extra (pip install 'reqllm[google]') "
                "for Application Default Credentials, or pass access_token=") from None
        try:
            self._credentials, _ = google.auth.default(scopes=[_GOOGLE_SCOPE])
        except google.auth.exceptions.DefaultCredentialsError as exc:
            raise MissingAPIKeyError(f"no Google Application Default Credentials: {exc}; run "
                                     f"'gcloud auth application-default login' or pass access_token=") from None
        self._request = _google_transport(transport)

    def fetch(self) -> tuple[str, float | None]:
        self._credentials.refresh(self._request)  # type: ignore[no-untyped-call]
        expiry = self._credentials.expiry
        if expiry is not None and expiry.tzinfo is None:  # google-auth keeps naive UTC datetimes
            expiry = expiry.replace(tzinfo=datetime.UTC)
        return str(self._credentials.token), expiry.timestamp() if expiry is not None else None


def _google_transport(transport: httpx.BaseTransport | None = None) -> Any:
    """A ``google.auth.transport.Request`` over httpx (so the extra needs no ``requests``)."""
    import google.auth.exceptions
    import google.auth.transport

    class _Response(google.auth.transport.Response):
        def __init__(self, response: httpx.Response) -> None:
            self._response = response

        @property
        def status(self) -> int:
            return self._response.status_code

        @property
        def headers(self) -> dict[str, str]:
            return dict(self._response.headers)

        @property
        def data(self) -> bytes:
            return self._response.content

    class _Request(google.auth.transport.Request):
        def __call__(self, url: str, method: str = "GET", body: bytes | None = None,
                     headers: Mapping[str, str] | None = None, timeout: float | None = None,
                     **kwargs: Any) -> _Response:
            try:
                with httpx.Client(timeout=timeout or 30.0, transport=transport) as client:
                    return _Response(client.request(method, url, content=body, headers=headers))
            except httpx.HTTPError as exc:
                raise google.auth.exceptions.TransportError(exc) from exc  # type: ignore[no-untyped-call]

    return _Request()


_google_lock = threading.Lock()
_google_source: list[BearerToken] = []


def google_token_source() -> BearerToken:
    """The process-wide ADC token source (created on first use, shared by every Vertex call)."""
    with _google_lock:
        if not _google_source:
            _google_source.append(BearerToken(_GoogleADC()))
        return _google_source[0]


# -- resolving a call's credentials and location -----------------------------------------------
@dataclasses.dataclass(slots=True)
class Resolved:
    """What ``resolve`` found: the step (None: the plugin's own key header), URL variables, secrets."""

    step: AuthStep | None = None
    variables: dict[str, str] = dataclasses.field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    #: A key for the plugin's own header (Bedrock API keys are plain bearer tokens).
    api_key: str | None = None


def _env(names: Iterable[str], env: Mapping[str, str]) -> str | None:
    return next((env[n] for n in names if env.get(n)), None)


def _aws(options: Any, env: Mapping[str, str], placeholder: str | None, protocol: str) -> Resolved:
    region = options.region or _env(("AWS_REGION", "AWS_DEFAULT_REGION"), env) or "us-east-1"
    variables = {"AWS_REGION": region}
    bearer = options.api_key or env.get("AWS_BEARER_TOKEN_BEDROCK")
    if bearer:
        return Resolved(step=StaticHeader("authorization", f"Bearer {bearer}"), variables=variables,
                        secrets=(bearer,))
    key_id = options.aws_access_key_id or env.get("AWS_ACCESS_KEY_ID")
    secret = options.aws_secret_access_key or env.get("AWS_SECRET_ACCESS_KEY")
    token = options.aws_session_token or (env.get("AWS_SESSION_TOKEN") if not options.aws_access_key_id else None)
    if not key_id or not secret:
        if placeholder is None:
            raise MissingAPIKeyError(
                "no AWS credentials: pass aws_access_key_id= and aws_secret_access_key= (and aws_session_token=), "
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or set a Bedrock API "
                "key in AWS_BEARER_TOKEN_BEDROCK")
        key_id, secret, token = "AKIDREPLAY", placeholder, None
    credentials = AWSCredentials(key_id, secret, token or None)
    secrets = tuple(s for s in (key_id, secret, token) if s)
    return Resolved(step=SigV4(credentials, region), variables=variables, secrets=secrets)


def _google(options: Any, env: Mapping[str, str], placeholder: str | None, protocol: str) -> Resolved:
    project = options.project or _env(("GOOGLE_CLOUD_PROJECT", "GOOGLE_VERTEX_PROJECT", "GCLOUD_PROJECT"), env)
    location = options.region or _env(("GOOGLE_CLOUD_LOCATION", "GOOGLE_VERTEX_LOCATION"), env) or "global"
    if not project:
        if placeholder is None:
            raise ConfigurationError("Vertex AI needs a Google Cloud project: pass project= or set "
                                     "GOOGLE_CLOUD_PROJECT")
        project = "replay-project"
    host = "aiplatform.googleapis.com" if location == "global" else f"{location}-aiplatform.googleapis.com"
    variables = {"GOOGLE_CLOUD_PROJECT": project, "GOOGLE_CLOUD_LOCATION": location, "GOOGLE_VERTEX_PROJECT": project,
                 "GOOGLE_VERTEX_LOCATION": location, "GOOGLE_VERTEX_ENDPOINT": host}
    token = options.access_token or env.get("GOOGLE_ACCESS_TOKEN")
    if token:
        return Resolved(step=StaticHeader("authorization", f"Bearer {token}"), variables=variables, secrets=(token,))
    if placeholder is not None:
        return Resolved(step=StaticHeader("authorization", f"Bearer {placeholder}"), variables=variables,
                        secrets=(placeholder,))
    return Resolved(step=google_token_source(), variables=variables)


def _azure(options: Any, env: Mapping[str, str], placeholder: str | None, protocol: str) -> Resolved:
    resource = options.resource or env.get("AZURE_RESOURCE_NAME")
    endpoint = env.get("AZURE_OPENAI_ENDPOINT")
    if not resource and endpoint:
        host = urlsplit(endpoint).hostname or ""
        resource = host.split(".", 1)[0] or None
    if not resource:
        if placeholder is None and options.base_url is None:
            raise ConfigurationError("Azure needs a resource: pass resource= (or base_url=), or set "
                                     "AZURE_RESOURCE_NAME or AZURE_OPENAI_ENDPOINT")
        resource = "replay-resource"
    variables = {"AZURE_RESOURCE_NAME": resource}
    # Claude on Azure AI Foundry authenticates with x-api-key; Azure OpenAI with api-key.
    header = "x-api-key" if protocol == "anthropic" else "api-key"
    key = options.api_key or _env(("AZURE_API_KEY", "AZURE_OPENAI_API_KEY"), env)
    if key:
        return Resolved(step=StaticHeader(header, key), variables=variables, secrets=(key,))
    token = options.access_token or env.get("AZURE_OPENAI_AD_TOKEN")
    if token:
        return Resolved(step=StaticHeader("authorization", f"Bearer {token}"), variables=variables, secrets=(token,))
    if placeholder is not None:
        return Resolved(step=StaticHeader(header, placeholder), variables=variables, secrets=(placeholder,))
    raise MissingAPIKeyError("no Azure credentials: pass api_key= (or access_token= for an Entra ID token), or set "
                             "AZURE_API_KEY (or AZURE_OPENAI_API_KEY / AZURE_OPENAI_AD_TOKEN)")


#: Auth schemes that need more than a key header, and how each is resolved.
RESOLVERS: dict[str, Callable[[Any, Mapping[str, str], str | None, str], Resolved]] = {
    "aws-sigv4": _aws,
    "google-oauth": _google,
    "azure": _azure,
}


def resolve(scheme: str, options: Any, placeholder: str | None, *, protocol: str = "",
            env: Mapping[str, str] | None = None) -> Resolved:
    """Credentials and location for ``scheme`` from options, then the environment; ``placeholder``
    (a replaying recorder's stand-in) is used when nothing is configured."""
    return RESOLVERS[scheme](options, os.environ if env is None else env, placeholder, protocol)
