"""Record -> replay on the clouds with canary credentials: a loopback server that verifies each SigV4
signature (with botocore) and echoes every credential it receives; the fixture holds none of them, in any
form, nor the signature headers; replay then runs with no cloud credentials or locations at all."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import reqllm
import reqllm_testing
from reqllm._eventstream import EventStreamDecoder, encode_message
from reqllm_testing.redaction import chunk_to_json, scrub, scrub_patterns
from tests.reliability.test_secrets import forms

from .cloudserver import CloudServer, route_to

CLOUD_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK",
                   "AWS_REGION", "AWS_DEFAULT_REGION", "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION",
                   "GOOGLE_VERTEX_PROJECT", "GOOGLE_VERTEX_LOCATION", "GOOGLE_APPLICATION_CREDENTIALS",
                   "AZURE_RESOURCE_NAME", "AZURE_OPENAI_ENDPOINT", "AZURE_API_KEY", "AZURE_OPENAI_API_KEY")


@pytest.fixture
def canaries() -> dict[str, str]:
    """Credentials no file could hold by chance, made at run time."""
    tag = uuid.uuid4().hex
    return {"access_key_id": "AKIA" + tag[:16].upper(), "secret": "canary/secret+" + tag,
            "session_token": "IQoJb3JpZ2luX2VjE" + tag + "/canary+token==", "google_token": "ya29.canary-" + tag,
            "azure_key": "azure" + tag}


@pytest.fixture
def server(canaries: dict[str, str]) -> Iterator[CloudServer]:
    with CloudServer(**canaries) as cloud:
        yield cloud


@pytest.fixture
def no_cloud_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CLOUD_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def calls(canaries: dict[str, str] | None, client: httpx.Client | None) -> list[str]:
    """The same five calls: Bedrock (body, stream), Vertex Gemini (stream), Vertex Claude (body), Azure."""
    aws = {"aws_access_key_id": canaries["access_key_id"], "aws_secret_access_key": canaries["secret"],
           "aws_session_token": canaries["session_token"], "region": "eu-central-1"} if canaries else {}
    google = {"access_token": canaries["google_token"], "project": "canary-project-4711",
              "region": "europe-west4"} if canaries else {}
    azure = {"api_key": canaries["azure_key"], "resource": "canary-resource"} if canaries else {}
    http = {"http_client": client} if client is not None else {}
    bedrock = "amazon-bedrock:anthropic.claude-haiku-4-5-20251001-v1:0"
    return [
        reqllm.generate_text(bedrock, "Who signed this?", max_tokens=50, **aws, **http).text,
        reqllm.stream_text(bedrock, "Who signed this?", max_tokens=50, **aws, **http).to_response().text,
        reqllm.stream_text("google-vertex:gemini-2.5-flash", "Who?", **google, **http).to_response().text,
        reqllm.generate_text("google-vertex-anthropic:claude-sonnet-4-5@20250929", "Who?", max_tokens=50,
                             **google, **http).text,
        reqllm.generate_text("azure:gpt-4o-mini", "Who?", **azure, **http).text,
    ]


def test_cloud_traffic_records_without_credentials_and_replays_without_them(
        tmp_path: Path, server: CloudServer, canaries: dict[str, str], no_cloud_environment: None) -> None:
    path = tmp_path / "clouds.json"
    with httpx.Client(transport=route_to(server)) as client, reqllm_testing.use_fixture(path, mode="record"):
        recorded = calls(canaries, client)

    # the server really checked them: a signed Bedrock call, the bearer token, the api-key
    assert recorded[0] == f"Signed by {canaries['access_key_id']} with {canaries['session_token']}."
    assert recorded[1] == recorded[0]
    assert canaries["google_token"] in recorded[2] and canaries["google_token"] in recorded[3]
    assert canaries["azure_key"] in recorded[4]
    hosts = [h.get("host") for _, h in server.requests]
    assert hosts == ["bedrock-runtime.eu-central-1.amazonaws.com"] * 2 \
        + ["europe-west4-aiplatform.googleapis.com"] * 2 + ["canary-resource.openai.azure.com"]
    paths = [p for p, _ in server.requests]
    assert paths[2] == ("/v1/projects/canary-project-4711/locations/europe-west4/publishers/google/models/"
                        "gemini-2.5-flash:streamGenerateContent?alt=sse")
    assert paths[3].endswith("/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict")

    data = path.read_bytes()
    for name, secret in canaries.items():
        found = [form for form, spelled in forms(secret).items() if spelled in data]
        assert not found, f"the {name} reached the fixture as {found}"
    text = data.decode().lower()
    for header in ("authorization", "x-amz-date", "x-amz-security-token", "api-key", "x-amzn-requestid"):
        assert f'"{header}"' not in text, header
    stored = json.loads(data)
    assert "REDACTED" in json.dumps(stored)  # the echoes were scrubbed, not dropped

    # Replay: no credentials, no region, project or resource anywhere, and no server.
    server.requests.clear()
    with reqllm_testing.use_fixture(path, mode="replay"):
        replayed = calls(None, None)
    assert server.requests == []
    assert replayed[0] == "Signed by REDACTED with REDACTED."
    assert replayed == [t.replace(canaries["access_key_id"], "REDACTED").replace(canaries["session_token"], "REDACTED")
                        .replace(canaries["google_token"], "REDACTED").replace(canaries["azure_key"], "REDACTED")
                        for t in recorded]


def test_a_bad_signature_is_refused_by_the_server_as_aws_would(
        server: CloudServer, canaries: dict[str, str], no_cloud_environment: None) -> None:
    with httpx.Client(transport=route_to(server)) as client, \
            pytest.raises(reqllm.errors.AuthenticationError, match="InvalidSignatureException: The request signature"):
        reqllm.generate_text("amazon-bedrock:amazon.nova-lite-v1:0", "Hi", aws_access_key_id=canaries["access_key_id"],
                             aws_secret_access_key="not-the-secret", aws_session_token=canaries["session_token"],
                             http_client=client, max_retries=0)


@pytest.mark.parametrize("cut", [1, 13, 40, 57, 90, 200])
def test_scrubbing_an_event_stream_re_frames_it_so_it_still_decodes(cut: int) -> None:
    secret = "IQoJb3JpZ2luX2Vj" + uuid.uuid4().hex
    frames = [encode_message({":event-type": "contentBlockDelta", ":message-type": "event"},
                             json.dumps({"contentBlockIndex": 0, "delta": {"text": f"token {secret} here"}}).encode()),
              encode_message({":event-type": "messageStop", ":message-type": "event"}, b'{"stopReason":"end_turn"}')]
    data = b"".join(frames)
    chunks = [chunk_to_json(data[:cut]), chunk_to_json(data[cut:])]
    interaction = {"request": {"method": "POST", "url": "https://bedrock-runtime.us-east-1.amazonaws.com/x"},
                   "response": {"status": 200, "headers": {"content-type": "application/vnd.amazon.eventstream"},
                                "chunks": chunks}}

    cleaned = scrub(interaction, [secret])["response"]["chunks"]

    assert len(cleaned) == 2
    stored = b"".join(base64.b64decode(c["b64"]) if isinstance(c, dict) else c.encode() for c in cleaned)
    assert secret.encode() not in stored
    first, second = EventStreamDecoder().feed(stored)
    assert json.loads(first.payload)["delta"]["text"] == "token REDACTED here"
    assert second.payload == b'{"stopReason":"end_turn"}' and stored.endswith(frames[1])  # untouched frame


def test_fixture_scans_know_cloud_credentials_by_their_shape() -> None:
    key_id = "AKIA" + uuid.uuid4().hex[:16].upper()
    token = "ya29." + uuid.uuid4().hex + "_x-y"
    cleaned = scrub_patterns({"text": f"id {key_id} and {token}.", "short": "AKIA123"})
    assert cleaned == {"text": "id REDACTED and REDACTED.", "short": "AKIA123"}
