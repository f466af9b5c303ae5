"""Secrets: a canary key used while recording never reaches a byte of any file written.

The loopback server is as indiscreet as a real one can be: it echoes the key it received into the
response body, the SSE stream (split across TCP chunks, next to a multi-byte character so that some
chunks are stored base64-encoded) and a 401 message, and it sends cookies, organization, project and
request ids. Every recording is then searched, byte by byte, for the canary in raw, JSON-escaped,
URL-encoded and base64 forms. ``reqllm fixtures scan`` is run as CI runs it: as a subprocess.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import itertools
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest

import reqllm
import reqllm_testing
from reqllm import errors
from reqllm_testing import fixture_file
from reqllm_testing.redaction import RESPONSE_HEADERS

from .faultserver import Action, Conn, FaultServer, Seen, _head, reply
from .payloads import CASES, OPENAI_CHAT, Case

EVERY_PROTOCOL = pytest.mark.parametrize("case", CASES, ids=str)
#: Response headers a fixture must never keep (their values carry NOISE, searched for below).
NOISE = "noise" + uuid.uuid4().hex[:12]
NOISY_HEADERS = {
    "set-cookie": f"__cf_bm={NOISE}-cookie; path=/; HttpOnly; Secure",
    "openai-organization": f"org-{NOISE}",
    "openai-project": f"proj_{NOISE}",
    "anthropic-organization-id": f"{NOISE}-0000-4000-8000-anthropic",
    "x-request-id": f"req_{NOISE}",
    "request-id": f"req_011{NOISE}",
    "cf-ray": f"{NOISE}-SJC",
    "x-ratelimit-remaining-requests": f"4999-{NOISE}",
}


@pytest.fixture(params=["plain", "url-special"])
def canary(request: pytest.FixtureRequest) -> str:
    """A fresh key no file could contain by chance (one variant with characters URLs must escape)."""
    tail = "+/=~" if request.param == "url-special" else ""
    return f"sk-canary-{uuid.uuid4().hex}{tail}"


def forms(secret: str) -> dict[str, bytes]:
    """Every way ``secret`` could be spelled in a file: raw, escaped, URL-encoded, base64 (3 alignments)."""
    raw = secret.encode()
    out = {"raw": raw, "json": json.dumps(secret)[1:-1].encode(), "url": quote(secret, safe="").encode(),
           "url+": quote_plus(secret).encode()}
    for shift in range(3):
        for name, encode in (("b64", base64.b64encode), ("b64url", base64.urlsafe_b64encode)):
            text = encode(b"\0" * shift + raw)
            out[f"{name}@{shift}"] = text[4:-4]  # the characters that depend on the secret alone
    return out


def echoed(secret: str, data: bytes) -> bool:
    """Whether ``data`` holds ``secret`` in any of its forms."""
    return any(form in data for form in forms(secret).values())


def leaks(root: Path, *secrets: str) -> list[str]:
    """Where any form of any of ``secrets`` occurs in any file under ``root``."""
    found = []
    files = [p for p in root.rglob("*") if p.is_file()]
    assert files, f"nothing was written under {root}"
    for path in files:
        data = path.read_bytes()
        streams = [b"".join(base64.b64decode(c["b64"]) if isinstance(c, dict) else c.encode()
                            for c in (i["response"] or {}).get("chunks") or [])
                   for i in fixture_file.parse(data, path).interactions] if path.suffix == ".json" else []
        for secret in secrets:
            found += [f"{path.name}: {kind}" for kind, form in forms(secret).items() if form in data]
            # a secret split across stored chunks (some base64) shows only once they are joined
            found += [f"{path.name}: split across chunks" for joined in streams if secret.encode() in joined]
    return found


def _chunked(status: int, headers: dict[str, str], data: bytes, cuts: list[int]) -> Action:
    """A chunked body cut at ``cuts`` (byte offsets), each piece sent as its own write."""

    def act(conn: Conn, seen: Seen) -> None:
        conn.write(_head(status, {**headers, "transfer-encoding": "chunked", "connection": "close"}))
        bounds = [0, *sorted({c for c in cuts if 0 < c < len(data)}), len(data)]
        for start, end in itertools.pairwise(bounds):
            piece = data[start:end]
            conn.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        conn.write(b"0\r\n\r\n")

    return act


def _sse_text(case: Case) -> str:
    out = []
    for name, data in case.events:
        text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
        out.append((f"event: {name}\n" if name else "") + f"data: {text}\n\n")
    return "".join(out)


def leaky(case: Case, canary: str) -> Action:
    """The case's provider, echoing ``canary`` wherever the answer said "Hel" (followed by an é)."""
    spoken = canary + "é"
    body = json.dumps(case.body, ensure_ascii=False).replace("Hel", spoken).encode()
    stream = _sse_text(case).replace("Hel", spoken).encode()
    first = stream.index(canary.encode())
    # every 7 bytes, plus one cut inside the canary and one inside the é: some chunks are not UTF-8
    cuts = [*range(7, len(stream), 7), first + 5, first + len(canary) + 1]
    denied = {"error": {"message": f"Incorrect API key provided: {canary}. You can find your API key at "
                                   "https://platform.openai.com/account/api-keys.",
                        "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}

    def act(conn: Conn, seen: Seen) -> None:
        if b"bad-key" in seen.body:
            reply(401, denied, headers=NOISY_HEADERS)(conn, seen)
        elif b'"stream":true' in seen.body or "stream" in seen.path.lower():
            _chunked(200, {"content-type": "text/event-stream", **NOISY_HEADERS}, stream, cuts)(conn, seen)
        else:
            reply(200, body, headers=NOISY_HEADERS)(conn, seen)

    return act


def _record_protocol(case: Case, path: Path, **options: Any) -> tuple[str, str]:
    """A generate, a stream and a refused call into ``path``; the two texts."""
    with reqllm_testing.use_fixture(path, mode=options.pop("mode")):
        text = reqllm.generate_text(case.model, "Say hello", **options, **case.options).text
        streamed = "".join(reqllm.stream_text(case.model, "Say hello", **options, **case.options).text_stream())
        with pytest.raises(errors.AuthenticationError):
            reqllm.generate_text(case.model, "bad-key", **options, **case.options)
    return text, streamed


@EVERY_PROTOCOL
def test_a_canary_key_never_reaches_a_fixture_of_any_protocol(server: FaultServer, tmp_path: Path,
                                                              canary: str, case: Case) -> None:
    server.script(leaky(case, canary))
    path = tmp_path / "fixtures" / f"{case.protocol}.json"
    live = _record_protocol(case, path, mode="record", base_url=server.url, api_key=canary, max_retries=0)
    assert live[0].startswith(canary) and live[1].startswith(canary), "the server echoed the key"
    assert server.attempts == 3
    sent = {h: v for r in server.requests for h, v in r.headers.items() if canary in v}
    assert sent, "the key was sent in a header"

    assert leaks(tmp_path, canary, NOISE) == []
    interactions = fixture_file.read(path).interactions
    stored = interactions[1]["response"]["chunks"]
    assert any(isinstance(c, dict) and "b64" in c for c in stored), "some chunks are stored as base64"
    for interaction in interactions:
        assert set(interaction["response"]["headers"]) <= RESPONSE_HEADERS
        assert set(interaction["request"]["headers"]).isdisjoint({"authorization", "x-api-key",
                                                                  "x-goog-api-key"})
    assert "REDACTED" in json.dumps(interactions[0]["decoded"]) and "REDACTED" in json.dumps(interactions[1])
    assert "Incorrect API key provided: REDACTED" in interactions[2]["response"]["body"]["error"]["message"]
    assert "REDACTED" in interactions[2]["decoded"]["error"]["message"]

    # The scrubbed fixture still replays consistently: raw chunks and decoded part agree.
    server.close()
    replayed = _record_protocol(case, path, mode="replay", base_url=server.url)
    assert replayed == tuple(t.replace(canary, "REDACTED") for t in live)


def echo_everything(seen: Seen) -> dict[str, Any]:
    """What an indiscreet server sends back: the request line, every header and the body."""
    return {"method": seen.method, "path": seen.path, "headers": seen.headers,
            "body": json.loads(seen.body) if seen.body else None}


def echo_action(conn: Conn, seen: Seen) -> None:
    """Echo the request as JSON, or (``/stream``) as SSE events cut every 5 bytes."""
    payload = echo_everything(seen)
    if seen.path.startswith("/v1/stream"):
        data = b"".join(b"data: " + json.dumps({k: v}).encode() + b"\n\n" for k, v in payload.items())
        _chunked(200, {"content-type": "text/event-stream", **NOISY_HEADERS}, data,
                 list(range(5, len(data), 5)))(conn, seen)
    else:
        reply(200, payload, headers=NOISY_HEADERS)(conn, seen)


POSITIONS: dict[str, Callable[[str], dict[str, Any]]] = {
    "authorization": lambda key: {"headers": {"authorization": f"Bearer {key}"}},
    "x-api-key": lambda key: {"headers": {"x-api-key": key}},
    "x-goog-api-key": lambda key: {"headers": {"x-goog-api-key": key}},
    "api-key": lambda key: {"headers": {"api-key": key}},
    "query ?key=": lambda key: {"params": {"key": key, "alt": "sse"}},
    "json body field": lambda key: {"json": {"api_key": key, "input": "hello"}},
    "custom header": lambda key: {"headers": {"x-acme-key": key}},
    "cookie": lambda key: {"headers": {"cookie": f"session={key}"}},
    "basic auth": lambda key: {"auth": ("me", key)},
    "credential field at depth": lambda key: {"json": {"input": "hello", "ctx": [{"auth_token": key}]}},
}


@pytest.mark.parametrize("position", list(POSITIONS))
def test_a_canary_in_any_request_position_never_reaches_a_fixture_written_by_fixture_transport(
        server: FaultServer, tmp_path: Path, canary: str, position: str) -> None:
    server.script(echo_action)
    path = tmp_path / "fixtures" / "raw.json"
    request: dict[str, Any] = {"json": {"input": "hello"}, **POSITIONS[position](canary)}
    with httpx.Client(transport=reqllm_testing.FixtureTransport(path, mode="record")) as client:
        assert echoed(canary, client.post(f"{server.url}/echo", **request).content)
        with client.stream("POST", f"{server.url}/stream", **request) as response:
            assert echoed(canary, response.read())
    assert leaks(tmp_path, canary, NOISE) == []
    for interaction in json.loads(path.read_text())["interactions"]:
        assert set(interaction["response"]["headers"]) <= RESPONSE_HEADERS

    server.close()  # and the scrubbed recording replays: the live request is scrubbed the same way to match
    with httpx.Client(transport=reqllm_testing.FixtureTransport(path, mode="replay")) as client:
        assert "REDACTED" in client.post(f"{server.url}/echo", **request).text


def test_an_async_client_recording_keeps_the_canary_out_too(server: FaultServer, tmp_path: Path,
                                                            canary: str) -> None:
    server.script(echo_action)
    path = tmp_path / "fixtures" / "async.json"

    async def run() -> None:
        transport = reqllm_testing.FixtureTransport(path, mode="record")
        async with httpx.AsyncClient(transport=transport, headers={"x-api-key": canary}) as client, \
                client.stream("POST", f"{server.url}/stream?key={canary}", json={"q": 1}) as response:
            assert echoed(canary, await response.aread())

    asyncio.run(run())
    assert leaks(tmp_path, canary, NOISE) == []


# -- reqllm fixtures scan -----------------------------------------------------------------------
PLANTED = {
    "openai key in a header": ("request.headers", "authorization", "Bearer sk-proj-" + "Ab1" * 10),
    "anthropic key in a header": ("request.headers", "x-api-key", "sk-ant-api03-" + "Zx9_" * 8),
    "google key in the url": ("request.url", None, "?key=AIza" + "SyD3" * 9),
    "bearer token in a body": ("response.body", "note", "Authorization: Bearer " + "eyJhbGciOi.J9" * 4),
    "openai key in a stream chunk": ("response.chunks", None, "sk-" + "live9" * 8),
    "anthropic key in a base64 chunk": ("response.b64chunk", None, "sk-ant-admin01-" + "Qw7" * 8),
}


def _plant(interaction: dict[str, Any], where: str, name: str | None, value: str) -> None:
    part, field = where.split(".")
    target = interaction[part]
    if field == "url":
        target["url"] += value
    elif field == "chunks":
        target["chunks"].insert(1, f'data: {{"leak": "{value}"}}\n\n')
    elif field == "b64chunk":  # not UTF-8 on its own (half an é): stored base64-encoded
        data = f'data: {{"leak": "{value}", "x": "'.encode() + "é".encode()[:1]
        target["chunks"].insert(1, {"b64": base64.b64encode(data).decode()})
    elif field == "headers":
        target["headers"][name] = value
    else:
        target[field] = {**(target.get(field) or {}), str(name): value}


def _scan(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reqllm", "fixtures", "scan", *map(str, paths)],
                          capture_output=True, text=True, timeout=60)


def test_fixtures_scan_passes_clean_recordings_and_flags_planted_secrets(server: FaultServer,
                                                                       tmp_path: Path) -> None:
    canary = "sk-canary-" + uuid.uuid4().hex
    clean = tmp_path / "clean"
    for case in CASES:
        server.script(leaky(case, canary))
        _record_protocol(case, clean / f"{case.protocol}.json", mode="record", base_url=server.url,
                         api_key=canary, max_retries=0)
    result = _scan(clean)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no secret-looking strings found" in result.stdout

    planted = tmp_path / "planted"
    planted.mkdir()
    document = json.loads((clean / "openai_chat.json").read_text())
    for number, (where, name, value) in enumerate(PLANTED.values()):
        doc = copy.deepcopy(document)
        interaction = doc["interactions"][1 if "chunk" in where else 0]
        _plant(interaction, where, name, value)
        (planted / f"leak{number}.json").write_text(json.dumps(doc, indent=2))
    alone = _scan(planted / "leak5.json")  # a file, not a directory
    assert alone.returncode == 1 and "anthropic key: " in alone.stdout, alone.stdout
    result = _scan(clean, planted)
    assert result.returncode == 1
    flagged = set(re.findall(r"leak\d+\.json", result.stdout))
    assert flagged == {f"leak{n}.json" for n in range(len(PLANTED))}, result.stdout
    kinds = {line.split(":")[0] for line in result.stdout.splitlines() if "leak" in line}
    assert {"openai-style key", "anthropic key", "google api key", "bearer token"} <= kinds, kinds
    for _, _, value in PLANTED.values():
        assert value.split("?key=")[-1].split("Bearer ")[-1] not in result.stdout, "findings are masked"
    assert f"{clean}{os.sep}" not in result.stdout


def test_a_canary_written_past_the_recorder_is_caught_by_scan(tmp_path: Path, canary: str) -> None:
    """The last line of defence in CI: a key pasted into a fixture by hand fails ``fixtures scan``."""
    path = tmp_path / "hand-edited.json"
    document = {"format_version": 1, "interactions": [{
        "request": {"method": "POST", "url": OPENAI_CHAT.model, "headers": {}, "body": {"note": canary}},
        "response": {"status": 200, "headers": {}, "body": {}, "error": None}}]}
    path.write_text(json.dumps(document))
    result = _scan(path)
    assert result.returncode == 1 and "openai-style key" in result.stdout
    assert canary not in result.stdout


# -- issue 13: secrets beyond the API key -------------------------------------------------------
def _server_url_with(server: FaultServer, userinfo: str) -> str:
    return server.url.replace("http://", f"http://{userinfo}@", 1)


def test_a_password_in_a_base_url_never_reaches_a_fixture_or_an_error(server: FaultServer, tmp_path: Path,
                                                                      canary: str) -> None:
    server.script(leaky(OPENAI_CHAT, canary))
    path = tmp_path / "fixtures" / "userinfo.json"
    url = _server_url_with(server, f"me:{quote(canary, safe='')}")
    with reqllm_testing.use_fixture(path, mode="record"):
        text = reqllm.generate_text(OPENAI_CHAT.model, "Say hello", base_url=url, api_key="k" * 12).text
        with pytest.raises(errors.AuthenticationError) as info:
            reqllm.generate_text(OPENAI_CHAT.model, "bad-key", base_url=url, api_key="k" * 12, max_retries=0)
    assert text.startswith(canary) and not echoed(canary, str(info.value).encode())
    assert leaks(tmp_path, canary) == []
    assert all("@" not in i["request"]["url"] for i in json.loads(path.read_text())["interactions"])
    server.close()
    with reqllm_testing.use_fixture(path, mode="replay", allow_unused=True):  # userinfo is not matched
        assert reqllm.generate_text(OPENAI_CHAT.model, "Say hello", base_url=url, api_key="k" * 12).text == \
            text.replace(canary, "REDACTED")


def test_a_password_in_an_httpx_client_url_never_reaches_a_fixture(server: FaultServer, tmp_path: Path,
                                                                  canary: str) -> None:
    server.script(echo_action)
    path = tmp_path / "fixtures" / "basic.json"
    with httpx.Client(transport=reqllm_testing.FixtureTransport(path, mode="record")) as client:
        echo = client.post(f"{_server_url_with(server, 'me:' + quote(canary, safe=''))}/echo", json={"q": 1}).json()
        assert echo["headers"]["authorization"].startswith("Basic "), "httpx sent the userinfo as Basic auth"
    assert leaks(tmp_path, canary) == []


def test_fixtures_scan_flags_a_password_in_a_url(tmp_path: Path) -> None:
    path = tmp_path / "planted.json"
    secret = "pw-" + uuid.uuid4().hex
    document = {"format_version": 1, "interactions": [{
        "request": {"method": "POST", "url": f"https://me:{secret}@llm.example.test/v1/chat", "headers": {},
                    "body": {}}, "response": {"status": 200, "headers": {}, "body": {}, "error": None}}]}
    path.write_text(json.dumps(document))
    result = _scan(path)
    assert result.returncode == 1 and "password in a url" in result.stdout, result.stdout
    assert secret not in result.stdout


SECRET_HEADERS: dict[str, Callable[[str], dict[str, Any]]] = {
    "headers= option": lambda key: {"headers": {"x-acme-key": key}},
    "custom auth= header": lambda key: {"api_key": key},
    "provider static header": lambda key: {},
}


@pytest.mark.parametrize("where", list(SECRET_HEADERS))
def test_the_value_of_any_non_allow_listed_header_is_a_secret(server: FaultServer, tmp_path: Path, canary: str,
                                                              where: str) -> None:
    from tests.openai_fakes import registry_snapshot

    server.script(leaky(OPENAI_CHAT, canary))
    path = tmp_path / "fixtures" / "headers.json"
    with registry_snapshot():
        reqllm.register_provider("acme-test", base_url=server.url, auth="x-acme-key" if "auth=" in where else None,
                                 requires_key="auth=" in where, models=["gpt-4o-mini"],
                                 headers={"x-tenant-token": canary} if "static" in where else {})
        options = {"base_url": server.url, "max_retries": 0, **SECRET_HEADERS[where](canary)}
        with reqllm_testing.use_fixture(path, mode="record"):
            text = reqllm.generate_text("acme-test:gpt-4o-mini", "Say hello", **options).text
            streamed = "".join(reqllm.stream_text("acme-test:gpt-4o-mini", "Say hello", **options).text_stream())
            with pytest.raises(errors.AuthenticationError) as info:
                reqllm.generate_text("acme-test:gpt-4o-mini", "bad-key", **options)
    sent = {h: v for r in server.requests for h, v in r.headers.items() if canary in v}
    assert sent and text.startswith(canary) and streamed.startswith(canary)
    assert not echoed(canary, str(info.value).encode())
    assert leaks(tmp_path, canary) == []


def test_credential_named_provider_options_are_scrubbed_and_still_replay(server: FaultServer, tmp_path: Path,
                                                                         canary: str) -> None:
    server.script(leaky(OPENAI_CHAT, canary))
    path = tmp_path / "fixtures" / "options.json"
    options = {"base_url": server.url, "api_key": "k" * 12,
               "provider_options": {"metadata": {"auth_token": canary, "author": "Jane Austen"},
                                    "extra": [{"secretKey": canary + "-2", "password": canary + "-3"}]}}
    prompt = f"My key is {canary}; say hello"
    with reqllm_testing.use_fixture(path, mode="record"):
        live = reqllm.generate_text(OPENAI_CHAT.model, prompt, **options).text
    assert leaks(tmp_path, canary) == []
    body = json.loads(path.read_text())["interactions"][0]["request"]["body"]
    assert body["metadata"] == {"auth_token": "REDACTED", "author": "Jane Austen"}
    assert body["extra"] == [{"secretKey": "REDACTED", "password": "REDACTED"}]
    assert body["messages"][0]["content"] == "My key is REDACTED; say hello"
    server.close()
    # The identical call, secrets and all, matches its scrubbed recording (the live request is scrubbed the
    # same way before matching) and replays the scrubbed answer.
    with reqllm_testing.use_fixture(path, mode="replay"):
        assert reqllm.generate_text(OPENAI_CHAT.model, prompt, **options).text == live.replace(canary, "REDACTED")


def encoded_echo(conn: Conn, seen: Seen) -> None:
    """A stream echoing the key it was sent as base64 (of the key and of the header), and \\u-escaped."""
    auth = seen.headers.get("authorization", "")
    key = auth.removeprefix("Bearer ")
    echoes = [base64.b64encode(key.encode()).decode(), base64.b64encode(auth.encode()).decode(),
              base64.urlsafe_b64encode(b"ctx:" + key.encode()).decode(),
              "".join(f"\\u{ord(c):04x}" for c in key), json.dumps(key).replace("/", "\\/")[1:-1]]
    data = b"".join(b'data: {"echo": "' + e.encode() + b'"}\n\n' for e in echoes)
    _chunked(200, {"content-type": "text/event-stream"}, data, list(range(9, len(data), 9)))(conn, seen)


def test_encoded_echoes_of_the_key_are_scrubbed_from_raw_chunks(server: FaultServer, tmp_path: Path,
                                                                canary: str) -> None:
    server.script(encoded_echo)
    path = tmp_path / "fixtures" / "encoded.json"
    with httpx.Client(transport=reqllm_testing.FixtureTransport(path, mode="record")) as client, \
            client.stream("POST", f"{server.url}/stream", json={"q": 1},
                          headers={"authorization": f"Bearer {canary}"}) as response:
        assert echoed(canary, response.read())
    assert leaks(tmp_path, canary) == []
    text = path.read_text()
    escaped = "".join(f"\\u{ord(c):04x}" for c in canary)
    assert escaped not in text and json.dumps(escaped)[1:-1] not in text
    assert b"".join(c.encode() if isinstance(c, str) else base64.b64decode(c["b64"]) for c in fixture_file.read(
        path).interactions[0]["response"]["chunks"]).count(b"REDACTED") == 5
