"""vcrpy / pytest-recording cassettes (YAML or JSON) -> reqllm fixtures, for projects migrating over.

Reads ``body`` as a string, bytes (``!!binary``), ``{"string": ...}`` or pydantic-ai's
``parsed_body``; decompresses gzip/deflate bodies; splits SSE bodies into events, each its own chunk
(or uses ``NAME.chunks.json`` beside the cassette for the original network chunks); keeps headers
on the allow-list only and scrubs credential parameters and secret-looking strings.
"""

from __future__ import annotations

import contextlib
import json
import re
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import fixture_file
from .errors import FixtureCorruptError
from .matching import parse_body
from .redaction import REQUEST_HEADERS, RESPONSE_HEADERS, filter_headers, redact_url, scrub, scrub_patterns

__all__ = ["convert_cassette", "convert_interaction", "import_cassette", "load_cassette", "split_events"]

_EVENT_END = re.compile(r"\r\n\r\n|\n\n|\r\r")


def load_cassette(path: str | Path) -> list[dict[str, Any]]:
    """The raw interactions of a cassette file (YAML or JSON)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:
        raise FixtureCorruptError(f"cassette {path} cannot be parsed: {exc}", path=path) from None
    interactions = data.get("interactions") if isinstance(data, dict) else None
    if not isinstance(interactions, list):
        raise FixtureCorruptError(f"cassette {path} has no 'interactions' list", path=path)
    return interactions


def split_events(text: str) -> list[str]:
    """An SSE body cut after each event's blank line; the pieces join back to ``text`` exactly."""
    pieces, start = [], 0
    for match in _EVENT_END.finditer(text):
        pieces.append(text[start:match.end()])
        start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _headers(raw: Any) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if isinstance(raw, dict):
        for name, values in raw.items():
            for value in values if isinstance(values, list) else [values]:
                out.append((str(name), str(value)))
    return out


def _body_bytes(part: dict[str, Any], headers: list[tuple[str, str]]) -> bytes | None:
    """A request or response body as bytes (None when absent), decompressed if needed."""
    if "parsed_body" in part:
        value = part["parsed_body"]
        return value.encode() if isinstance(value, str) else json.dumps(value).encode()
    body = part.get("body")
    if isinstance(body, dict):
        body = body.get("string", body.get("base64_string"))
    if body is None:
        return None
    data = body if isinstance(body, bytes) else str(body).encode("utf-8")
    encoding = next((v.lower() for k, v in headers if k.lower() == "content-encoding"), "")
    if isinstance(body, bytes) and encoding in ("gzip", "deflate"):
        with contextlib.suppress(zlib.error):
            data = zlib.decompress(data, 47 if encoding == "gzip" else 15)
    return data


def _status(raw: Any) -> int:
    if isinstance(raw, dict):
        return int(raw.get("code", 200))
    return int(raw)


def _meta(method: str, url: str, body: Any, stream: bool) -> dict[str, Any]:
    path = urlsplit(url).path
    model = body.get("model") if isinstance(body, dict) else None
    if model is None:
        found = re.search(r"/models/([^/:]+)", path)
        model = found.group(1) if found else None
    protocol = None
    if path.endswith("/chat/completions") or path.endswith("/embeddings"):
        protocol = "openai_chat"
    elif path.endswith("/responses"):
        protocol = "openai_responses"
    elif path.endswith("/messages"):
        protocol = "anthropic"
    elif ":generateContent" in path or ":streamGenerateContent" in path or ":embedContent" in path:
        protocol = "gemini"
    operation = "embed" if "embed" in path.lower() else "chat"
    host = urlsplit(url).hostname or ""
    provider = None
    if host.endswith("googleapis.com"):
        provider = "google"
    elif "." in host and not host.replace(".", "").isdigit():
        provider = host.removeprefix("api.").split(".")[0]
    if provider and model:
        model = f"{provider}:{model}"
    meta: dict[str, Any] = {"provider": provider, "model": model, "operation": operation,
                            "protocol": protocol, "stream": stream}
    return {k: v for k, v in meta.items() if v is not None}


def _chunk_table(path: Path) -> Any:
    sidecar = path.with_name(path.name.rsplit(".", 1)[0] + ".chunks.json")
    if not sidecar.exists():
        return None
    return json.loads(sidecar.read_text(encoding="utf-8"))


def _chunks_for(table: Any, position: int, text: str) -> list[str] | None:
    """The recorded network chunks of one interaction (a list of strings, or one list per interaction)."""
    if not isinstance(table, list) or not table:
        return None
    if all(isinstance(c, str) for c in table):
        return list(table) if "".join(table) == text else None
    if position < len(table) and isinstance(table[position], list) and "".join(table[position]) == text:
        return list(table[position])
    return None


def convert_interaction(raw: dict[str, Any], position: int, chunk_table: Any) -> dict[str, Any]:
    """One cassette interaction as a fixture interaction (no decoded part)."""
    request, response = raw.get("request") or {}, raw.get("response") or {}
    req_headers = _headers(request.get("headers"))
    method = str(request.get("method", "GET")).upper()
    url = str(request.get("uri") or request.get("url") or "")
    req_body = parse_body(_body_bytes(request, req_headers) or b"")
    res_headers = _headers(response.get("headers"))
    status = _status(response.get("status", 200))
    data = _body_bytes(response, res_headers) or b""
    content_type = next((v.lower() for k, v in res_headers if k.lower() == "content-type"), "")
    is_sse = "text/event-stream" in content_type
    stream = is_sse or (isinstance(req_body, dict) and bool(req_body.get("stream")))
    out_response: dict[str, Any] = {"status": status,
                                    "headers": filter_headers(res_headers, RESPONSE_HEADERS)}
    if is_sse:
        text = data.decode("utf-8", errors="replace")
        out_response["chunks"] = _chunks_for(chunk_table, position, text) or split_events(text)
    elif data:
        parsed = parse_body(data)
        if isinstance(parsed, dict) and set(parsed) == {"b64"}:
            out_response["b64"] = parsed["b64"]
        elif isinstance(parsed, str):
            try:
                json.loads(data)
                out_response["body"] = parsed
            except ValueError:
                out_response["text"] = parsed
        else:
            out_response["body"] = parsed
    out_response["error"] = None
    return {
        "request": {"method": method, "url": redact_url(url),
                    "headers": filter_headers(req_headers, REQUEST_HEADERS), "body": req_body},
        "response": out_response,
        "meta": _meta(method, url, req_body, stream),
    }


def convert_cassette(path: str | Path, secrets: Iterable[str] = ()) -> dict[str, Any]:
    """A fixture document from the cassette at ``path`` (secrets and secret-looking strings scrubbed)."""
    path = Path(path)
    table = _chunk_table(path)
    interactions = []
    for position, raw in enumerate(load_cassette(path)):
        item = convert_interaction(raw, position, table)
        interactions.append(scrub_patterns(scrub(item, secrets)))
    return fixture_file.new_document(interactions, source=f"vcr-import:{path.name}")


def import_cassette(path: str | Path, out_dir: str | Path, secrets: Iterable[str] = ()) -> Path:
    """Convert ``path`` into ``out_dir/<name>.json``; returns the file written."""
    path = Path(path)
    document = convert_cassette(path, secrets)
    target = Path(out_dir) / (path.name.rsplit(".", 1)[0] + ".json")
    return fixture_file.save(target, document, secrets=secrets)
