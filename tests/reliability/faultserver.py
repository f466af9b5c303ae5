"""A real HTTP server on loopback that misbehaves on purpose, byte by byte.

``FaultServer`` is a threaded ``socketserver`` that reads each request itself (so the tests see
what reqllm sent) and answers with the next scripted *action*: a callable that writes raw bytes
to the socket — a normal reply, a chunked SSE stream sent slowly, a body cut off by a TCP reset,
a stall, a gzip body. The last action of a script repeats. Nothing here is mocked: reqllm talks
to the server through its real transport, over real sockets.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip as gzip_module
import itertools
import json
import socket
import socketserver
import struct
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

HTTP_REASONS = {200: "OK", 400: "Bad Request", 429: "Too Many Requests", 500: "Internal Server Error",
                502: "Bad Gateway", 503: "Service Unavailable", 529: "Overloaded"}


@dataclasses.dataclass
class Seen:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        """The request body parsed as JSON."""
        return json.loads(self.body)


class Conn:
    """The socket of one exchange, with the writes a misbehaving server needs."""

    def __init__(self, sock: socket.socket, stop: threading.Event) -> None:
        self.sock = sock
        self.stop = stop

    def write(self, data: bytes) -> None:
        """Send bytes now (no buffering)."""
        self.sock.sendall(data)

    def wait(self, seconds: float) -> None:
        """Sleep, but wake at once when the server shuts down."""
        self.stop.wait(seconds)

    def reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0) instead of a clean FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


Action = Callable[[Conn, Seen], None]


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {HTTP_REASONS.get(status, 'Status')}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _bytes(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def reply(status: int = 200, body: Any = b"", *, headers: dict[str, str] | None = None,
          gzip: bool = False, content_type: str = "application/json") -> Action:
    """A complete response with a content-length (gzip-encoded when asked)."""
    data = _bytes(body)
    if gzip:
        data = gzip_module.compress(data)

    def act(conn: Conn, seen: Seen) -> None:
        h = {"content-type": content_type, "content-length": str(len(data)), "connection": "close"}
        if gzip:
            h["content-encoding"] = "gzip"
        h.update(headers or {})
        conn.write(_head(status, h) + data)

    return act


def sse_event(data: Any, event: str | None = None) -> bytes:
    """One SSE event (``data`` JSON-encoded unless it is already a string)."""
    text = data if isinstance(data, str) else json.dumps(data)
    return (f"event: {event}\n" if event else "").encode() + f"data: {text}\n\n".encode()


def sse(events: list[bytes], *, delay: float = 0.0, end: str = "clean", gzip: bool = False,
        status: int = 200, read: threading.Event | None = None) -> Action:
    """A chunked ``text/event-stream``, one chunk per event, ``delay`` seconds apart.

    ``end``: "clean" (the zero-length last chunk), "reset" (TCP RST after the events), "stall"
    (keep the connection open, send nothing more). ``read``: an event the client's side sets once it
    has taken the events; the end waits for it (up to 10 s). Without it, a RST that reaches the
    client's kernel before the client read the last events discards them (Linux drops unread data
    on a reset), so under CPU load a test would see fewer chunks than were sent.
    """

    def act(conn: Conn, seen: Seen) -> None:
        h = {"content-type": "text/event-stream", "transfer-encoding": "chunked", "connection": "close",
             "cache-control": "no-cache"}
        if gzip:
            h["content-encoding"] = "gzip"
        conn.write(_head(status, h))
        packer = zlib.compressobj(wbits=31) if gzip else None
        for number, event in enumerate(events):
            if number and delay:
                conn.wait(delay)
            data = packer.compress(event) + packer.flush(zlib.Z_SYNC_FLUSH) if packer else event
            conn.write(b"%x\r\n%s\r\n" % (len(data), data))
        if read is not None:
            read.wait(10)
        if end == "reset":
            conn.reset()
            return
        if end == "stall":
            conn.wait(30)
            return
        if packer is not None:
            tail = packer.flush()
            conn.write(b"%x\r\n%s\r\n" % (len(tail), tail))
        conn.write(b"0\r\n\r\n")

    return act


def cut(status: int, body: Any, *, keep: int, end: str = "reset") -> Action:
    """A response announcing the whole body's length but sending only ``keep`` bytes of it, then
    a TCP reset ("reset") or a clean close ("close")."""
    data = _bytes(body)

    def act(conn: Conn, seen: Seen) -> None:
        h = {"content-type": "application/json", "content-length": str(len(data)), "connection": "close"}
        conn.write(_head(status, h) + data[:keep])
        conn.wait(0.05)
        if end == "reset":
            conn.reset()
        else:
            conn.sock.shutdown(socket.SHUT_RDWR)

    return act


def stall(seconds: float = 30.0, *, head: bytes = b"") -> Action:
    """Send ``head`` (maybe nothing) and then nothing more for ``seconds``."""

    def act(conn: Conn, seen: Seen) -> None:
        if head:
            conn.write(head)
        conn.wait(seconds)

    return act


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        sock: socket.socket = self.request
        reader = sock.makefile("rb")
        request_line = reader.readline(65536).decode("latin-1").strip()
        if not request_line:
            return
        method, path, _ = request_line.split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            line = reader.readline(65536).decode("latin-1")
            if line in ("\r\n", "\n", ""):
                break
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = reader.read(int(headers.get("content-length", "0") or 0))
        seen = Seen(method, path, headers, body, time.monotonic())
        owner = self.server.owner
        action = owner.record(seen)
        with contextlib.suppress(OSError):  # the client went away first: that is its business
            action(Conn(sock, owner.stopped), seen)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    owner: FaultServer


class FaultServer:
    """A loopback HTTP server answering each request with the next scripted action."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._script: list[Action] = [reply(500, {"error": {"message": "no script"}})]
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL an OpenAI-compatible client uses."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def attempts(self) -> int:
        """How many requests arrived."""
        return len(self.requests)

    def script(self, *actions: Action) -> FaultServer:
        """Answer the next requests with ``actions``, in order; the last one repeats."""
        with self._lock:
            self._script = list(actions)
        return self

    def record(self, seen: Seen) -> Action:
        """Note a request; the action that answers it."""
        with self._lock:
            self.requests.append(seen)
            return self._script.pop(0) if len(self._script) > 1 else self._script[0]

    def gaps(self) -> list[float]:
        """Seconds between consecutive requests."""
        times = [r.at for r in self.requests]
        return [b - a for a, b in itertools.pairwise(times)]

    def close(self) -> None:
        """Wake stalled handlers and stop serving."""
        self.stopped.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


