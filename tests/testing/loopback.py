"""A real OpenAI Chat Completions server on loopback (stdlib ``http.server`` in a thread).

It answers ``POST /v1/chat/completions`` from the last user message: ``Echo: <prompt>``, as JSON or
as a chunked SSE stream flushed word by word. Special prompts: ``rate-limit`` (429), ``break``
(the stream stops after two events and the connection is cut), ``wait`` (the stream holds its
second half until ``release`` is set). Responses carry headers a fixture must not keep.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["OpenAIServer", "answer_events"]


def answer_events(prompt: str) -> list[dict[str, Any]]:
    """The chat.completion.chunk payloads streamed for ``prompt`` (usage last)."""
    words = f"Echo: {prompt}".split(" ")
    events: list[dict[str, Any]] = [{"id": "chatcmpl-loop", "object": "chat.completion.chunk", "choices": [
        {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]
    for i, word in enumerate(words):
        text = word if i == 0 else " " + word
        events.append({"id": "chatcmpl-loop", "object": "chat.completion.chunk",
                       "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]})
    events.append({"id": "chatcmpl-loop", "object": "chat.completion.chunk",
                   "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    usage = {"prompt_tokens": 5, "completion_tokens": len(words), "total_tokens": 5 + len(words)}
    events.append({"id": "chatcmpl-loop", "object": "chat.completion.chunk", "choices": [], "usage": usage})
    return events


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _noisy_headers(self) -> None:
        self.send_header("set-cookie", "__cf_bm=session-cookie-value; path=/; HttpOnly")
        self.send_header("openai-organization", "org-loopback-secret")
        self.send_header("openai-project", "proj_loopback")
        self.send_header("x-request-id", "req_0123456789abcdef")

    def _json(self, status: int, payload: Any, extra: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self._noisy_headers()
        self.end_headers()
        self.wfile.write(data)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server.seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
        if not self.path.endswith("/chat/completions"):
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
            return
        prompt = str(body["messages"][-1]["content"])
        if prompt == "rate-limit":
            self._json(429, {"error": {"message": "Rate limit reached for requests", "type": "requests",
                                       "code": "rate_limit_exceeded"}}, {"retry-after": "0"})
            return
        if not body.get("stream"):
            self._json(200, {"id": "chatcmpl-loop", "object": "chat.completion", "model": body["model"],
                             "choices": [{"index": 0, "finish_reason": "stop",
                                          "message": {"role": "assistant", "content": f"Echo: {prompt}"}}],
                             "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}})
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self._noisy_headers()
        self.end_headers()
        events = answer_events(prompt)
        for i, event in enumerate(events):
            if prompt == "break" and i == 2:
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if prompt == "wait" and i == 2:
                self.server.release.wait(5)
            self._chunk(b"data: " + json.dumps(event).encode() + b"\n\n")
            time.sleep(self.server.delay)
        self._chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    seen: list[dict[str, Any]]
    release: threading.Event
    delay: float


class OpenAIServer:
    """Start with ``OpenAIServer()``; ``base_url`` ends in ``/v1``; ``stop()`` closes it for good."""

    def __init__(self, delay: float = 0.002) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.seen = []
        self._server.release = threading.Event()
        self._server.delay = delay
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        host, port = self._server.server_address[:2]
        self.base_url = f"http://{host!s}:{port}/v1"

    @property
    def seen(self) -> list[dict[str, Any]]:
        """The requests received so far."""
        return self._server.seen

    @property
    def release(self) -> threading.Event:
        """Set it to let a ``wait`` stream finish."""
        return self._server.release

    def stop(self) -> None:
        """Shut the server down and close its socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
