"""The core's auth step: AWS SigV4 checked against the official test suite and against botocore signing real
Bedrock requests; credentials and locations resolved from arguments and the environment; OAuth tokens
refreshed before they expire."""

from __future__ import annotations

import datetime
import json
import uuid
from pathlib import Path
from typing import Any

import botocore.session
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reqllm
from reqllm._auth import (
    REFRESH_MARGIN,
    AWSCredentials,
    BearerToken,
    SigV4,
    StaticHeader,
    resolve,
    sigv4_authorization,
)
from reqllm._options import parse_options
from reqllm.errors import ConfigurationError, MissingAPIKeyError

SUITE = json.loads((Path(__file__).parent / "data" / "sigv4_suite.json").read_text(encoding="utf-8"))
CLAUDE = "anthropic.claude-sonnet-4-5-20250929-v1:0"


def fake_secret() -> str:
    return "wJalr" + uuid.uuid4().hex + "EXAMPLE"


# -- the official test suite -------------------------------------------------------------------------
@pytest.mark.parametrize("case", SUITE["cases"], ids=lambda c: c["name"])
def test_sigv4_matches_the_aws_test_suite(case: dict[str, Any]) -> None:
    credentials = AWSCredentials(SUITE["access_key_id"], SUITE["secret_access_key"])
    got = sigv4_authorization(case["method"], case["path"], [tuple(q) for q in case["query"]],
                              [tuple(h) for h in case["headers"]], case["body"].encode(), credentials,
                              SUITE["region"], SUITE["service"], SUITE["amz_date"])
    assert got == case["authorization"]


# -- botocore, signing real Bedrock requests -----------------------------------------------------------
class _Captured(Exception):
    def __init__(self, request: Any) -> None:
        self.request = request


def botocore_request(operation: str, credentials: AWSCredentials, region: str, **params: Any) -> Any:
    """The request botocore's bedrock-runtime client signs for ``operation`` (captured, never sent)."""
    session = botocore.session.Session()
    client = session.create_client("bedrock-runtime", region_name=region,
                                   aws_access_key_id=credentials.access_key_id,
                                   aws_secret_access_key=credentials.secret_access_key,
                                   aws_session_token=credentials.session_token)

    def capture(request: Any, **_: Any) -> None:
        raise _Captured(request)

    client.meta.events.register("before-send.bedrock-runtime", capture)
    with pytest.raises(_Captured) as info:
        getattr(client, operation)(**params)
    return info.value.request


def _signed_by_botocore(captured: Any) -> tuple[str, dict[str, str]]:
    authorization = captured.headers["Authorization"].decode() if isinstance(
        captured.headers["Authorization"], bytes) else captured.headers["Authorization"]
    names = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    headers = {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in captured.headers.items()}
    return authorization, {n: headers[n] if n != "host" else httpx.URL(captured.url).host for n in names}


@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzE" + "x" * 40], ids=["long-term", "session"])
@pytest.mark.parametrize(("operation", "model"), [
    ("converse", CLAUDE), ("converse_stream", "us.meta.llama4-scout-17b-instruct-v1:0"),
    ("converse", "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.amazon.nova-pro-v1:0")])
def test_sigv4_signs_bedrock_requests_exactly_as_botocore(operation: str, model: str, token: str | None) -> None:
    credentials = AWSCredentials("AKIA" + uuid.uuid4().hex[:16].upper(), fake_secret(), token)
    captured = botocore_request(operation, credentials, "us-west-2", modelId=model,
                                messages=[{"role": "user", "content": [{"text": "Hello, naïve café"}]}],
                                inferenceConfig={"maxTokens": 64})
    expected, signed = _signed_by_botocore(captured)
    amz_date = signed["x-amz-date"]
    when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
    body = captured.body if isinstance(captured.body, bytes) else captured.body.encode()
    unsigned = {k: v for k, v in signed.items() if k not in ("x-amz-date", "x-amz-security-token")}
    request = httpx.Request("POST", captured.url, content=body, headers=unsigned)

    SigV4(credentials, "us-west-2", clock=lambda: when).apply(request)

    assert request.headers["authorization"] == expected
    assert request.headers.get("x-amz-security-token") == token


def test_the_bedrock_plugin_sends_what_botocore_sends() -> None:
    credentials = AWSCredentials("AKIA" + uuid.uuid4().hex[:16].upper(), fake_secret())
    captured = botocore_request("converse", credentials, "eu-central-1", modelId=CLAUDE,
                                system=[{"text": "Be brief."}],
                                messages=[{"role": "user", "content": [{"text": "Hello"}]}],
                                inferenceConfig={"maxTokens": 100, "temperature": 0.5, "stopSequences": ["END"]})
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"output": {"message": {"role": "assistant", "content": [{"text": "Hi"}]}},
                                         "stopReason": "end_turn", "usage": {"inputTokens": 5, "outputTokens": 1}})

    reqllm.generate_text(f"amazon-bedrock:{CLAUDE}", "Hello", system="Be brief.", max_tokens=100, temperature=0.5,
                         stop="END", region="eu-central-1", aws_access_key_id=credentials.access_key_id,
                         aws_secret_access_key=credentials.secret_access_key,
                         http_client=httpx.Client(transport=httpx.MockTransport(handler)))

    (ours,) = seen
    assert str(ours.url) == captured.url
    assert json.loads(ours.content) == json.loads(captured.body)
    # and botocore, given our exact bytes and instant, computes our signature
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    when = ours.headers["x-amz-date"]
    replay = AWSRequest(method="POST", url=str(ours.url), data=ours.content,
                        headers={k: v for k, v in ours.headers.items()
                                 if k not in ("authorization", "x-amz-date", "content-length")})
    replay.context["timestamp"] = when
    signer = SigV4Auth(Credentials(credentials.access_key_id, credentials.secret_access_key), "bedrock",
                       "eu-central-1")
    replay.headers["X-Amz-Date"] = when
    canonical = signer.canonical_request(replay)
    signature = signer.signature(signer.string_to_sign(replay, canonical), replay)
    assert ours.headers["authorization"].endswith(f"Signature={signature}")


@settings(max_examples=60, deadline=None)
@given(path=st.lists(st.text(alphabet="ab./-_~:@ %é", min_size=0, max_size=6), min_size=1, max_size=5),
       body=st.binary(max_size=64))
def test_sigv4_canonicalizes_any_path_like_botocore(path: list[str], body: bytes) -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    raw_path = "/" + "/".join(path)
    url = httpx.URL("https://bedrock-runtime.us-east-1.amazonaws.com").copy_with(path=raw_path)
    credentials = AWSCredentials("AKIDEXAMPLE", "secret-for-a-property-test")
    request = httpx.Request("POST", url, content=body, headers={"content-type": "application/json"})
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    SigV4(credentials, "us-east-1", clock=lambda: when).apply(request)

    theirs = AWSRequest(method="POST", url=str(request.url), data=body,
                        headers={"content-type": "application/json", "host": request.url.host,
                                 "X-Amz-Date": "20260102T030405Z"})
    theirs.context["timestamp"] = "20260102T030405Z"
    signer = SigV4Auth(Credentials("AKIDEXAMPLE", "secret-for-a-property-test"), "bedrock", "us-east-1")
    signature = signer.signature(signer.string_to_sign(theirs, signer.canonical_request(theirs)), theirs)
    assert request.headers["authorization"].endswith(f"Signature={signature}")


def test_a_retry_re_signs_instead_of_stacking_headers() -> None:
    credentials = AWSCredentials("AKIDEXAMPLE", "s3cr3t-s3cr3t", "token-value-123")
    clock = iter([datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
                  datetime.datetime(2026, 1, 1, 0, 0, 9, tzinfo=datetime.UTC)])
    signer = SigV4(credentials, "us-east-1", clock=lambda: next(clock))
    request = httpx.Request("POST", "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse", content=b"{}")
    signer.apply(request)
    first = request.headers["authorization"]
    signer.apply(request)
    assert request.headers.get_list("x-amz-date") == ["20260101T000009Z"]
    assert request.headers.get_list("x-amz-security-token") == ["token-value-123"]
    assert request.headers["authorization"] != first
    assert "x-amz-date" in request.headers["authorization"] and "x-amz-security-token" in \
        request.headers["authorization"]
    assert "s3cr3t" not in repr(credentials)


# -- resolving credentials and locations -------------------------------------------------------------
def _resolve(scheme: str, env: dict[str, str], placeholder: str | None = None, protocol: str = "",
             **options: Any) -> Any:
    return resolve(scheme, parse_options(options), placeholder, protocol=protocol, env=env)


def test_aws_credentials_come_from_arguments_then_the_standard_variables() -> None:
    env = {"AWS_ACCESS_KEY_ID": "AKIAENVENVENV", "AWS_SECRET_ACCESS_KEY": "env-secret-value",
           "AWS_SESSION_TOKEN": "env-session-token", "AWS_REGION": "ap-south-1"}
    found = _resolve("aws-sigv4", env)
    assert isinstance(found.step, SigV4)
    assert found.step.credentials == AWSCredentials("AKIAENVENVENV", "env-secret-value", "env-session-token")
    assert found.variables == {"AWS_REGION": "ap-south-1"}
    assert set(found.secrets) == {"AKIAENVENVENV", "env-secret-value", "env-session-token"}
    # explicit keys win, and the environment's session token does not pair with another key
    found = _resolve("aws-sigv4", env, aws_access_key_id="AKIAARGARG", aws_secret_access_key="arg-secret",
                     region="eu-west-3")
    assert found.step.credentials == AWSCredentials("AKIAARGARG", "arg-secret", None)
    assert found.variables == {"AWS_REGION": "eu-west-3"}
    assert _resolve("aws-sigv4", {"AWS_DEFAULT_REGION": "ca-central-1", **{k: env[k] for k in list(env)[:2]}}
                    ).variables == {"AWS_REGION": "ca-central-1"}


def test_a_bedrock_api_key_is_a_bearer_token() -> None:
    key = "ABSK" + uuid.uuid4().hex
    found = _resolve("aws-sigv4", {"AWS_BEARER_TOKEN_BEDROCK": key})
    assert found.step == StaticHeader("authorization", f"Bearer {key}")
    assert found.secrets == (key,)


def test_missing_aws_credentials_say_what_to_set_unless_replaying() -> None:
    with pytest.raises(MissingAPIKeyError, match=r"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.*BEARER_TOKEN_BEDROCK"):
        _resolve("aws-sigv4", {})
    found = _resolve("aws-sigv4", {}, placeholder="replay-placeholder")
    assert isinstance(found.step, SigV4) and found.step.credentials.secret_access_key == "replay-placeholder"
    assert found.variables == {"AWS_REGION": "us-east-1"}


def test_vertex_location_picks_the_regional_or_global_host() -> None:
    found = _resolve("google-oauth", {"GOOGLE_CLOUD_PROJECT": "my-proj", "GOOGLE_CLOUD_LOCATION": "europe-west4"},
                     access_token="ya29.explicit-token")
    assert found.variables["GOOGLE_VERTEX_ENDPOINT"] == "europe-west4-aiplatform.googleapis.com"
    assert found.variables["GOOGLE_CLOUD_PROJECT"] == "my-proj"
    assert found.step == StaticHeader("authorization", "Bearer ya29.explicit-token")
    found = _resolve("google-oauth", {"GOOGLE_VERTEX_PROJECT": "other"}, access_token="ya29.t0ken-value")
    assert (found.variables["GOOGLE_VERTEX_ENDPOINT"], found.variables["GOOGLE_CLOUD_LOCATION"]) == \
        ("aiplatform.googleapis.com", "global")
    with pytest.raises(ConfigurationError, match="project= or set GOOGLE_CLOUD_PROJECT"):
        _resolve("google-oauth", {}, access_token="ya29.t0ken-value")


def test_azure_resource_from_argument_name_or_endpoint_and_key_or_entra_token() -> None:
    found = _resolve("azure", {"AZURE_OPENAI_ENDPOINT": "https://contoso-eu.openai.azure.com/",
                               "AZURE_OPENAI_API_KEY": "azure-key-value"})
    assert found.variables == {"AZURE_RESOURCE_NAME": "contoso-eu"}
    assert found.step == StaticHeader("api-key", "azure-key-value")
    found = _resolve("azure", {"AZURE_RESOURCE_NAME": "contoso"}, protocol="anthropic", api_key="foundry-key-1")
    assert found.step == StaticHeader("x-api-key", "foundry-key-1")
    found = _resolve("azure", {}, resource="fabrikam", access_token="entra-token-value")
    assert found.variables == {"AZURE_RESOURCE_NAME": "fabrikam"}
    assert found.step == StaticHeader("authorization", "Bearer entra-token-value")
    with pytest.raises(MissingAPIKeyError, match="AZURE_API_KEY"):
        _resolve("azure", {"AZURE_RESOURCE_NAME": "contoso"})
    with pytest.raises(ConfigurationError, match="resource="):
        _resolve("azure", {"AZURE_API_KEY": "azure-key-value"})


# -- OAuth tokens ------------------------------------------------------------------------------------
class _Source:
    def __init__(self, lifetime: float) -> None:
        self.lifetime = lifetime
        self.fetched = 0
        self.now = 1_000_000.0

    def fetch(self) -> tuple[str, float | None]:
        self.fetched += 1
        return f"token-{self.fetched}", self.now + self.lifetime


def test_a_bearer_token_is_refreshed_before_it_expires_not_on_every_call() -> None:
    source = _Source(lifetime=3600)
    bearer = BearerToken(source, clock=lambda: source.now)
    request = httpx.Request("POST", "https://aiplatform.googleapis.com/v1/x", headers={"api-key": "stale"})
    bearer.apply(request)
    assert request.headers["authorization"] == "Bearer token-1" and "api-key" not in request.headers
    source.now += 3600 - REFRESH_MARGIN - 1
    assert bearer.token() == "token-1" and source.fetched == 1
    source.now += 2  # inside the margin: refreshed before the server could refuse it
    assert bearer.token() == "token-2" and source.fetched == 2


def test_google_adc_is_an_optional_extra_with_a_clear_message(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    pytest.importorskip("google.auth")
    from reqllm import _auth

    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    monkeypatch.setattr(_auth, "_google_source", [])
    with pytest.raises(MissingAPIKeyError, match=r"no Google Application Default Credentials.*access_token="):
        _auth.google_token_source()


# -- Application Default Credentials, for real: a service account against a loopback token endpoint ------
class _TokenEndpoint:
    """Google's OAuth token endpoint on loopback: it checks the JWT assertion's signature and mints tokens."""

    def __init__(self, public_key: Any, lifetime: int) -> None:
        self.public_key = public_key
        self.lifetime = lifetime
        self.minted: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        import base64

        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        form = dict(pair.split("=", 1) for pair in request.content.decode().split("&"))
        assert form["grant_type"] == "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
        head, claims, signature = form["assertion"].split(".")
        self.public_key.verify(base64.urlsafe_b64decode(signature + "=="), f"{head}.{claims}".encode(),
                               padding.PKCS1v15(), hashes.SHA256())
        token = f"ya29.minted-{len(self.minted)}-{uuid.uuid4().hex}"
        self.minted.append(token)
        return httpx.Response(200, json={"access_token": token, "expires_in": self.lifetime, "token_type": "Bearer"})


@pytest.mark.parametrize(("lifetime", "fetches"), [(3600, 1), (120, 2)], ids=["fresh", "inside-the-margin"])
def test_adc_service_account_tokens_are_minted_refreshed_and_never_written(
        lifetime: int, fetches: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("google.auth")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from reqllm import _auth

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    endpoint = _TokenEndpoint(key.public_key(), lifetime)
    account = tmp_path / "service-account.json"
    account.write_text(json.dumps({
        "type": "service_account", "project_id": "adc-project", "private_key_id": "k1", "private_key": pem,
        "client_email": "reqllm-test@adc-project.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": "http://oauth2.loopback.test/token"}))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(account))
    # The process-wide source, its token requests (through the httpx adapter) answered by the endpoint.
    monkeypatch.setattr(_auth, "_google_source",
                        [_auth.BearerToken(_auth._GoogleADC(transport=httpx.MockTransport(endpoint)))])
    seen: list[httpx.Request] = []

    def vertex(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"candidates": [{"content": {"role": "model", "parts": [{"text": "ok"}]},
                                                         "finishReason": "STOP"}]})

    client = httpx.Client(transport=httpx.MockTransport(vertex))
    for _ in range(2):
        reqllm.generate_text("google-vertex:gemini-2.5-flash", "Hi", project="adc-project", http_client=client)

    assert len(endpoint.minted) == fetches
    assert [r.headers["authorization"] for r in seen] == [f"Bearer {endpoint.minted[0]}",
                                                         f"Bearer {endpoint.minted[-1]}"]
    on_disk = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert not any(token.encode() in on_disk for token in endpoint.minted)


def test_async_calls_fetch_tokens_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import threading

    from reqllm import _auth

    fetched_in: list[int] = []

    class Source:
        def fetch(self) -> tuple[str, float | None]:
            fetched_in.append(threading.get_ident())
            return "ya29.async-token", None

    monkeypatch.setattr(_auth, "_google_source", [BearerToken(Source())])
    seen: list[httpx.Request] = []

    def vertex(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = {"candidates": [{"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP"}]}
        if request.url.params.get("alt") == "sse":
            return httpx.Response(200, headers={"content-type": "text/event-stream"},
                                  content=f"data: {json.dumps(answer)}\n\n".encode())
        return httpx.Response(200, json=answer)

    async def run() -> int:
        async with httpx.AsyncClient(transport=httpx.MockTransport(vertex)) as client:
            await reqllm.agenerate_text("google-vertex:gemini-2.5-flash", "Hi", project="p", http_client=client)
            await reqllm.astream_text("google-vertex:gemini-2.5-flash", "Hi", project="p",
                                      http_client=client).to_response()
        return threading.get_ident()

    loop_thread = asyncio.run(run())
    assert fetched_in and loop_thread not in fetched_in
    assert len(fetched_in) == 1  # fetched once, then served from memory
    assert [r.headers["authorization"] for r in seen] == ["Bearer ya29.async-token"] * 2
