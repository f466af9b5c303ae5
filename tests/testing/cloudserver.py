"""A loopback server speaking the three clouds as indiscreetly as they could: Bedrock Converse (it verifies
the SigV4 signature with botocore's signer and echoes the access key id and session token), Vertex AI
(Gemini generateContent / streamGenerateContent?alt=sse, Claude rawPredict / streamRawPredict; it echoes
the bearer token) and Azure OpenAI v1 (it echoes the api-key). Stdlib ``http.server`` in a thread.

``route_to(server)`` is an httpx transport that sends a request for any host to this server, so that a
recording keeps the real cloud URL (region, project) while the traffic stays on loopback.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from reqllm._eventstream import encode_message

__all__ = ["CloudServer", "route_to"]


class CloudServer:
    """Knows the credentials a client must present; ``requests`` keeps (path, headers) of each one."""

    def __init__(self, *, access_key_id: str, secret: str, session_token: str, google_token: str,
                 azure_key: str) -> None:
        self.access_key_id = access_key_id
        self.secret = secret
        self.session_token = session_token
        self.google_token = google_token
        self.azure_key = azure_key
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.cloud = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> CloudServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def signature_ok(self, method: str, url: str, headers: dict[str, str], body: bytes) -> bool:
        """Recompute the request's SigV4 signature with botocore, from the headers it says it signed."""
        authorization = headers.get("authorization", "")
        match = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/bedrock/aws4_request, "
                         r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$", authorization)
        if not match or match.group(1) != self.access_key_id:
            return False
        signed = match.group(4).split(";")
        request = AWSRequest(method=method, url=url, data=body, headers={n: headers[n] for n in signed})
        request.context["timestamp"] = headers["x-amz-date"]
        signer = SigV4Auth(Credentials(self.access_key_id, self.secret, self.session_token), "bedrock",
                           match.group(3))
        expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
        return expected == match.group(5)


def _frame(kind: str, payload: dict[str, Any]) -> bytes:
    return encode_message({":event-type": kind, ":content-type": "application/json", ":message-type": "event"},
                          json.dumps(payload).encode())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def cloud(self) -> CloudServer:
        cloud: CloudServer = self.server.cloud  # type: ignore[attr-defined]
        return cloud

    def _send(self, status: int, content_type: str, data: bytes, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.send_header("x-amzn-requestid", "3f0c7a52-0000-4000-8000-loopback")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        path = self.path
        self.cloud.requests.append((path, headers))
        original = headers.get("x-original-url", "")
        if "/model/" in path:
            self._bedrock(path, headers, body, original)
        elif "/publishers/" in path:
            self._vertex(path, headers)
        elif path.startswith("/openai/v1/"):
            self._azure(headers)
        else:
            self._send(404, "application/json", b'{"message":"no such route"}')

    # -- Bedrock ---------------------------------------------------------------------------------
    def _bedrock(self, path: str, headers: dict[str, str], body: bytes, original: str) -> None:
        cloud = self.cloud
        if headers.get("x-amz-security-token") != cloud.session_token or \
                not cloud.signature_ok("POST", original, headers, body):
            self._send(403, "application/json", json.dumps({
                "message": "The request signature we calculated does not match the signature you provided."}
            ).encode(), {"x-amzn-errortype": "InvalidSignatureException:http://internal.amazon.com/coral/"})
            return
        # Indiscreet: the access key id and the session token come back in the answer.
        text = f"Signed by {cloud.access_key_id} with {cloud.session_token}."
        usage = {"inputTokens": 11, "outputTokens": 9, "totalTokens": 20}
        if path.endswith("/converse-stream"):
            frames = [_frame("messageStart", {"role": "assistant"})]
            frames += [_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}})
                       for piece in (text[:7], text[7:30], text[30:])]
            frames += [_frame("contentBlockStop", {"contentBlockIndex": 0}),
                       _frame("messageStop", {"stopReason": "end_turn"}),
                       _frame("metadata", {"usage": usage, "metrics": {"latencyMs": 5}})]
            self._send(200, "application/vnd.amazon.eventstream", b"".join(frames))
            return
        answer = {"output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                  "stopReason": "end_turn", "usage": usage, "metrics": {"latencyMs": 5}}
        self._send(200, "application/json", json.dumps(answer).encode())

    # -- Vertex AI --------------------------------------------------------------------------------
    def _vertex(self, path: str, headers: dict[str, str]) -> None:
        token = self.cloud.google_token
        if headers.get("authorization") != f"Bearer {token}":
            self._send(401, "application/json", json.dumps({"error": {
                "code": 401, "message": "Request had invalid authentication credentials.",
                "status": "UNAUTHENTICATED"}}).encode())
            return
        text = f"Authorized by {token}."
        if "/publishers/anthropic/" in path:
            message = {"id": "msg_vrtx_01", "type": "message", "role": "assistant", "model": "claude",
                       "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
                       "usage": {"input_tokens": 8, "output_tokens": 6}}
            if path.endswith(":streamRawPredict"):
                events = [{"type": "message_start", "message": {**message, "content": [], "stop_reason": None}},
                          {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                          {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}},
                          {"type": "content_block_stop", "index": 0},
                          {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                           "usage": {"output_tokens": 6}},
                          {"type": "message_stop"}]
                data = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
                self._send(200, "text/event-stream", data.encode())
                return
            self._send(200, "application/json", json.dumps(message).encode())
            return
        chunk = {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}],
                 "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 5, "totalTokenCount": 9},
                 "modelVersion": "gemini-2.5-flash"}
        if ":streamGenerateContent" in path:
            self._send(200, "text/event-stream", f"data: {json.dumps(chunk)}\r\n\r\n".encode())
            return
        self._send(200, "application/json", json.dumps(chunk).encode())

    # -- Azure OpenAI -------------------------------------------------------------------------------
    def _azure(self, headers: dict[str, str]) -> None:
        key = self.cloud.azure_key
        if headers.get("api-key") != key:
            self._send(401, "application/json", json.dumps({"error": {
                "code": "401", "message": "Access denied due to invalid subscription key."}}).encode())
            return
        answer = {"id": "chatcmpl-azure", "object": "chat.completion", "model": "gpt-4o-mini",
                  "choices": [{"index": 0, "message": {"role": "assistant", "content": f"Keyed by {key}."},
                               "finish_reason": "stop"}],
                  "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}}
        self._send(200, "application/json", json.dumps(answer).encode())


class route_to(httpx.BaseTransport):
    """Sends every request to ``server`` (path and query kept), telling it the original URL."""

    def __init__(self, server: CloudServer) -> None:
        self._target = httpx.URL(server.url)
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        original = str(request.url)
        routed = httpx.Request(request.method, request.url.copy_with(
            scheme=self._target.scheme, host=self._target.host, port=self._target.port),
            headers=[*request.headers.multi_items(), ("x-original-url", original)], content=request.content,
            extensions=request.extensions)
        routed.headers["host"] = request.url.netloc.decode("ascii")
        return self._inner.handle_request(routed)

    def close(self) -> None:
        self._inner.close()
