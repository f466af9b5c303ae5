"""A real provider-speaking server on loopback for the official SDKs (stdlib ``http.server`` in a thread).

It answers OpenAI Chat Completions, Responses and Embeddings, Anthropic Messages and Gemini
generateContent / streamGenerateContent, streamed (chunked SSE, flushed event by event) or not, with
the text ``Echo: <last word of the prompt>``. Responses carry headers a fixture must not keep, and
every request is kept in ``seen`` (path, headers, body) so tests can check what the SDK sent.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["SDKServer"]

Events = list[tuple[str | None, dict[str, Any]]]


def _prompt(body: dict[str, Any]) -> str:
    if "messages" in body:
        content = body["messages"][-1]["content"]
        return content if isinstance(content, str) else str(content[-1].get("text", ""))
    if "input" in body:
        value = body["input"]
        return value if isinstance(value, str) else json.dumps(value)
    if "contents" in body:
        return str(body["contents"][-1]["parts"][-1]["text"])
    return ""


def _words(body: dict[str, Any]) -> list[str]:
    text = f"Echo: {_prompt(body).split(' ')[-1]}"
    parts = text.split(" ")
    return [p if i == 0 else " " + p for i, p in enumerate(parts)]


def chat(body: dict[str, Any]) -> Any:
    words = _words(body)
    if not body.get("stream"):
        return {"id": "chatcmpl-sdk", "object": "chat.completion", "created": 1700000000, "model": body["model"],
                "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                             "message": {"role": "assistant", "content": "".join(words)}}],
                "usage": {"prompt_tokens": 5, "completion_tokens": len(words), "total_tokens": 5 + len(words)}}
    base = {"id": "chatcmpl-sdk", "object": "chat.completion.chunk", "created": 1700000000, "model": body["model"]}
    events: Events = [(None, {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                                   "finish_reason": None}]})]
    events += [(None, {**base, "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}]})
               for w in words]
    events.append((None, {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    return events


def _response(body: dict[str, Any], text: str, status: str) -> dict[str, Any]:
    output = [{"type": "message", "id": "msg_sdk", "status": "completed", "role": "assistant",
               "content": [{"type": "output_text", "text": text, "annotations": []}]}] if text else []
    return {"id": "resp_sdk", "object": "response", "created_at": 1700000000, "status": status,
            "model": body["model"], "output": output, "parallel_tool_calls": True, "tool_choice": "auto",
            "tools": [], "usage": {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7,
                                   "input_tokens_details": {"cached_tokens": 0},
                                   "output_tokens_details": {"reasoning_tokens": 0}} if text else None}


def responses(body: dict[str, Any]) -> Any:
    words = _words(body)
    if not body.get("stream"):
        return _response(body, "".join(words), "completed")
    events: Events = [("response.created", {"type": "response.created", "sequence_number": 0,
                                            "response": _response(body, "", "in_progress")})]
    for w in words:
        events.append(("response.output_text.delta", {
            "type": "response.output_text.delta", "item_id": "msg_sdk", "output_index": 0, "content_index": 0,
            "delta": w, "logprobs": [], "sequence_number": len(events)}))
    events.append(("response.completed", {"type": "response.completed", "sequence_number": len(events),
                                          "response": _response(body, "".join(words), "completed")}))
    return events


def embeddings(body: dict[str, Any]) -> Any:
    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
    return {"object": "list", "model": body["model"], "usage": {"prompt_tokens": 2, "total_tokens": 2},
            "data": [{"object": "embedding", "index": i, "embedding": [0.25, -0.5, float(len(str(text)))]}
                     for i, text in enumerate(inputs)]}


def messages(body: dict[str, Any]) -> Any:
    words = _words(body)
    message = {"id": "msg_sdk", "type": "message", "role": "assistant", "model": body["model"],
               "content": [{"type": "text", "text": "".join(words)}], "stop_reason": "end_turn",
               "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": len(words)}}
    if not body.get("stream"):
        return message
    start = {**message, "content": [], "stop_reason": None, "usage": {"input_tokens": 5, "output_tokens": 1}}
    events: Events = [("message_start", {"type": "message_start", "message": start}),
                      ("content_block_start", {"type": "content_block_start", "index": 0,
                                               "content_block": {"type": "text", "text": ""}})]
    events += [("content_block_delta", {"type": "content_block_delta", "index": 0,
                                        "delta": {"type": "text_delta", "text": w}}) for w in words]
    events += [("content_block_stop", {"type": "content_block_stop", "index": 0}),
               ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn",
                                                                     "stop_sequence": None},
                                  "usage": {"output_tokens": len(words)}}),
               ("message_stop", {"type": "message_stop"})]
    return events


def gemini(body: dict[str, Any], model: str, stream: bool) -> Any:
    words = _words(body)

    def piece(text: str, last: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
        if last:
            candidate["finishReason"] = "STOP"
        return {"candidates": [candidate], "modelVersion": model, "responseId": "gem-sdk",
                "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": len(words),
                                  "totalTokenCount": 5 + len(words)}}

    if not stream:
        return piece("".join(words), True)
    return [(None, piece(w, i == len(words) - 1)) for i, w in enumerate(words)]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _head(self, status: int, content_type: str, length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        if length is None:
            self.send_header("transfer-encoding", "chunked")
        else:
            self.send_header("content-length", str(length))
        self.send_header("set-cookie", "__cf_bm=session-cookie-value; path=/; HttpOnly")
        self.send_header("x-request-id", "req_0123456789abcdef")
        self.end_headers()

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        path = self.path.split("?", 1)[0]
        self.server.seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
        if path.endswith("/chat/completions"):
            answer = chat(body)
        elif path.endswith("/responses"):
            answer = responses(body)
        elif path.endswith("/embeddings"):
            answer = embeddings(body)
        elif path.endswith("/messages"):
            answer = messages(body)
        elif ":generateContent" in path or ":streamGenerateContent" in path:
            model = path.rsplit("/", 1)[-1].split(":", 1)[0]
            answer = gemini(body, model, ":streamGenerateContent" in path)
        else:
            answer = {"error": {"message": f"no route {path}"}}
        if isinstance(answer, dict):
            data = json.dumps(answer).encode()
            self._head(200 if "error" not in answer else 404, "application/json", len(data))
            self.wfile.write(data)
            return
        self._head(200, "text/event-stream")
        for event, payload in answer:
            head = f"event: {event}\n" if event else ""
            self._chunk(f"{head}data: {json.dumps(payload)}\n\n".encode())
        if path.endswith("/chat/completions"):
            self._chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    seen: list[dict[str, Any]]

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client closing its pooled connection is not an error


class SDKServer:
    """The server, started on a free loopback port; ``stop()`` closes it (later connections are refused)."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.seen = []
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.running = True

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def seen(self) -> list[dict[str, Any]]:
        """Every request received: path, headers, parsed body."""
        return self._server.seen

    def stop(self) -> None:
        """Stop serving and close the port."""
        if self.running:
            self.running = False
            self._server.shutdown()
            self._server.server_close()
