"""``Script``: an httpx transport that answers each request with its next item, in the protocol it speaks.

    script = Script([Reply(tool_calls=[("add", {"a": 2, "b": 3})]), rate_limited(), Reply("5")])
    reqllm.generate_text("anthropic:claude-3-5-haiku-20241022", "2+3?", http_client=httpx.Client(transport=script))
    OpenAI(http_client=httpx2.Client(transport=script), ...)       # the official SDKs too
    script.verify()                                                 # every item was used

The protocol comes from the request (method and path: ``/chat/completions``, ``/responses``,
``/messages``, ``:generateContent``...), streaming from its body or URL, so one script serves
every provider. An item is a ``Reply`` (or a plain string), a fault, ``Embeddings``, or a callable
taking the parsed ``ScriptRequest`` and returning one of those. Works in sync and async clients of
``httpx`` and of ``httpx2`` (answering each with its own package's response and errors).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import math
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx

from reqllm import Message, Tool

from .errors import ScriptError, ScriptExhaustedError, UnusedScriptItemsError
from .reply import Embeddings, Fault, Reply
from .wire import Chunking, Templates, encode_embeddings, encode_fault
from .wire_requests import detect, read_body

__all__ = ["Item", "Script", "ScriptHook", "ScriptRequest"]

#: What a script item may be; a callable receives the ScriptRequest and returns one of the others.
Item = Reply | Fault | Embeddings | str | Callable[["ScriptRequest"], Any]
SCRIPT_VERSION = 1
_VALUES = (Reply, Fault, Embeddings)
_UNREAD = object()
_MODEL_FIRST = b'{"model":"'


class ScriptRequest:
    """One request as the script sees it: its protocol, model, conversation and tools, decoded.

    ``messages`` and ``tools`` are decoded from the body on first use (most scripts never look).
    """

    __slots__ = ("_body", "_decoded", "index", "input", "model", "operation", "protocol", "raw", "stream")

    def __init__(self, *, protocol: str, operation: str, model: str | None, stream: bool, body: Any, raw: Any,
                 index: int = 0, input: list[str] | None = None) -> None:
        self.protocol = protocol
        self.operation = operation
        self.model = model
        self.stream = stream
        self._body = body
        #: The request as it arrived (an ``httpx2.Request`` when an httpx2 client sent it; see ``http``).
        self.raw = raw
        #: Position of this request in the script (0-based).
        self.index = index
        #: Texts to embed (embedding requests).
        self.input: list[str] = input or []
        self._decoded: tuple[list[Message], list[Tool]] | None = None

    @property
    def body(self) -> Any:
        """The request's JSON body, parsed (None when it has none or it is not JSON)."""
        if self._body is _UNREAD:
            self._body = _body(self.raw)
        return self._body

    def _decode(self) -> tuple[list[Message], list[Tool]]:
        if self._decoded is None:
            self._decoded = ([], []) if self.operation == "embed" else read_body(self.protocol, self.body)
        return self._decoded

    @property
    def messages(self) -> list[Message]:
        """The conversation, as ``reqllm.Message`` s (tool calls and tool results included)."""
        return self._decode()[0]

    @property
    def tools(self) -> list[Tool]:
        """The tools the request offers, as ``reqllm.Tool`` s."""
        return self._decode()[1]

    @property
    def http(self) -> httpx.Request:
        """The ``httpx.Request`` (converted from httpx2 when an httpx2 client sent it)."""
        if isinstance(self.raw, httpx.Request):
            return self.raw
        from ._httpx2 import to_httpx_request

        return to_httpx_request(self.raw)

    @property
    def last_user_text(self) -> str:
        """The text of the last user message ("" when there is none)."""
        return next((m.text for m in reversed(self.messages) if m.role == "user"), "")

    def describe(self) -> str:
        """One or two lines naming the request: method, URL, protocol, model and its last message."""
        last = self.messages[-1] if self.messages else None
        said = ""
        if last is not None:
            text = last.text or ", ".join(f"{c.name}({json.dumps(c.arguments)})" for c in last.tool_calls)
            said = f"; last message ({last.role}): {text[:120]!r}"
        return (f"{self.raw.method} {self.raw.url} ({self.protocol} {self.operation}, model {self.model}, "
                f"{'stream' if self.stream else 'no stream'}){said}")


def _describe_item(item: Any) -> str:
    if isinstance(item, _VALUES):
        fields = item.model_dump(exclude_defaults=True)
        return f"{type(item).__name__}({', '.join(f'{k}={v!r}' for k, v in fields.items())})"[:200]
    return repr(item)[:200]


def _body(request: Any) -> Any:
    content = request.content
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return None


def _lib(request: Any) -> Any:
    """The package of ``request``: httpx, or httpx2 for an httpx2 client."""
    if isinstance(request, httpx.Request):
        return httpx
    return sys.modules[type(request).__module__.partition(".")[0]]


def _prompt_tokens(request: Any) -> int:
    """A rough count of the request's tokens: four bytes of its body per token."""
    return max(1, math.ceil(len(request.content) / 4))


def _model_first(content: bytes) -> str | None:
    """The model of a body that opens with it and has no ``"stream"`` key, read without parsing; else None."""
    if not content.startswith(_MODEL_FIRST) or b'"stream"' in content:
        return None
    end = content.find(b'"', len(_MODEL_FIRST))
    model = content[len(_MODEL_FIRST):end]
    if end < 0 or b"\\" in model:
        return None
    try:
        return model.decode()
    except UnicodeDecodeError:
        return None


def parse(request: Any, index: int = 0) -> ScriptRequest:
    """A request (httpx or httpx2, body read) as a ScriptRequest; a ScriptError for an unknown endpoint."""
    url = request.url
    endpoint = detect(request.method, url.path)
    if endpoint is None:
        raise ScriptError(f"a Script answers LLM API requests; this one is not one: {request.method} {url} "
                          "(known: /chat/completions, /responses, /messages, :generateContent, "
                          ":streamGenerateContent, /embeddings, :embedContent, :batchEmbedContents)")
    protocol, operation, stream = endpoint
    if protocol != "gemini" and operation == "chat":
        quick = _model_first(request.content)
        if quick is not None:  # most bodies say their model first and do not stream: no need to parse them
            return ScriptRequest(protocol=protocol, operation=operation, model=quick, stream=False, body=_UNREAD,
                                 raw=request, index=index)
    body = _body(request)
    model: str | None = None
    if protocol == "gemini":
        segment = url.path.rsplit("/", 1)[-1].partition(":")[0]
        model = segment or None
    elif isinstance(body, dict) and isinstance(body.get("model"), str):
        model = body["model"]
    texts: list[str] = []
    if operation == "embed":
        if isinstance(body, dict):
            raw = body.get("input") if protocol == "openai_chat" else None
            if isinstance(raw, str):
                texts = [raw]
            elif isinstance(raw, list):
                texts = [str(t) for t in raw]
            elif protocol == "gemini":
                contents = [r.get("content") for r in body.get("requests") or ()] or [body.get("content")]
                texts = ["".join(str(p.get("text") or "") for p in (c or {}).get("parts") or ()) for c in contents]
    elif protocol != "gemini":
        stream = bool(isinstance(body, dict) and body.get("stream"))
    return ScriptRequest(protocol=protocol, operation=operation, model=model, stream=stream, body=body, raw=request,
                         index=index, input=texts)


class Script(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """A transport answering request n with item n, encoded in the protocol the request speaks.

    ``chunking`` is how streams are cut into network reads (see ``reqllm_testing.wire``).
    ``requests`` keeps every request served; ``verify()`` fails when items were left unused.
    """

    def __init__(self, items: Iterable[Item] = (), *, chunking: Chunking = "natural") -> None:
        self.items: list[Item] = [Reply(i) if isinstance(i, str) else i for i in items]
        self.chunking: Chunking = chunking
        self.requests: list[ScriptRequest] = []
        self._position = 0
        self._lock = threading.Lock()
        self._templates = Templates()

    # -- the transport -------------------------------------------------------------------------------
    def handle_request(self, request: Any) -> Any:
        """Answer one request of a sync httpx / httpx2 client."""
        request.read()
        parsed, item = self._next(request)
        if callable(item) and not isinstance(item, _VALUES):
            item = item(parsed)
            if inspect.isawaitable(item):
                raise ScriptError(f"script item {parsed.index} is an async function; a sync client sent "
                                  f"{parsed.describe()}")
        return self._respond(parsed, item)

    async def handle_async_request(self, request: Any) -> Any:
        """Answer one request of an async httpx / httpx2 client."""
        await request.aread()
        parsed, item = self._next(request)
        if callable(item) and not isinstance(item, _VALUES):
            item = item(parsed)
            if inspect.isawaitable(item):
                item = await item
        return self._respond(parsed, item)

    def _next(self, request: Any) -> tuple[ScriptRequest, Any]:
        with self._lock:
            parsed = parse(request, self._position)
            if self._position >= len(self.items):
                raise ScriptExhaustedError(
                    f"the script has {len(self.items)} item(s), all used, and another request came: "
                    f"{parsed.describe()}; add an item for it", request=parsed.describe())
            item = self.items[self._position]
            self._position += 1
            self.requests.append(parsed)
        return parsed, item

    def _respond(self, parsed: ScriptRequest, item: Any) -> Any:
        lib = _lib(parsed.raw)
        if isinstance(item, str):
            item = Reply(item)
        if isinstance(item, Fault):
            if item.kind == "disconnect":
                raise lib.RemoteProtocolError("Server disconnected without sending a response.", request=parsed.raw)
            return encode_fault(item, parsed.protocol).response(parsed.raw, lib)
        if isinstance(item, Embeddings):
            if parsed.operation != "embed":
                raise ScriptError(f"script item {parsed.index} is Embeddings, but the request is a chat: "
                                  f"{parsed.describe()}")
            batch = not parsed.raw.url.path.endswith(":embedContent")
            return encode_embeddings(item, parsed.protocol, model=parsed.model, batch=batch,
                                     prompt_tokens=sum(math.ceil(len(t) / 4) for t in parsed.input)
                                     ).response(parsed.raw, lib)
        if not isinstance(item, Reply):
            raise ScriptError(f"script item {parsed.index} gave {type(item).__name__}; expected a Reply, a fault, "
                              f"Embeddings or a string (request: {parsed.describe()})")
        if parsed.operation == "embed":
            raise ScriptError(f"script item {parsed.index} is a Reply, but the request asks for embeddings: "
                              f"{parsed.describe()}; use Embeddings([...])")
        include_usage = True
        if parsed.protocol == "openai_chat" and isinstance(parsed.body, dict):
            include_usage = bool((parsed.body.get("stream_options") or {}).get("include_usage"))
        encoded = self._templates.encode(item, parsed.protocol, stream=parsed.stream, chunking=self.chunking,
                                         include_usage=include_usage, model=parsed.model,
                                         prompt_tokens=_prompt_tokens(parsed.raw), seq=parsed.index)
        if parsed.protocol == "gemini" and parsed.stream and parsed.raw.url.params.get("alt") != "sse":
            encoded = _json_array(encoded)
        return encoded.response(parsed.raw, lib)

    # -- serving everything -------------------------------------------------------------------------
    @contextlib.contextmanager
    def serve(self, *, ignore_hosts: Iterable[str] = ()) -> Iterator[Script]:
        """In this block the script answers every LLM request: reqllm's (through the core's seam, no key
        needed) and every httpx / httpx2 client's (through ``reqllm_testing.intercept``)."""
        from reqllm._transport import install_hook

        from .intercept import route

        hook = ScriptHook(self)
        with install_hook(hook, process_wide=True), install_hook(hook), route(self, ignore_hosts=ignore_hosts):
            yield self

    # -- state ---------------------------------------------------------------------------------------
    @property
    def unused(self) -> list[Item]:
        """The items no request has taken yet."""
        return self.items[self._position:]

    def verify(self) -> None:
        """Raise UnusedScriptItemsError when items are left (the code under test asked for fewer answers)."""
        left = self.unused
        if not left:
            return
        items = [_describe_item(i) for i in left]
        served = "; ".join(r.describe() for r in self.requests) or "none"
        raise UnusedScriptItemsError(
            f"{len(left)} script item(s) never requested: {', '.join(items)}. Requests served "
            f"({len(self.requests)}): {served}", items=items)

    # -- files ---------------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The script as a JSON document (callables cannot be saved)."""
        out = []
        for position, item in enumerate(self.items):
            if isinstance(item, str):
                item = Reply(item)
            if isinstance(item, Reply):
                out.append({"reply": item.model_dump(mode="json", exclude_defaults=True)})
            elif isinstance(item, Fault):
                out.append({"fault": item.model_dump(mode="json", exclude_defaults=True)})
            elif isinstance(item, Embeddings):
                out.append({"embeddings": item.model_dump(mode="json", exclude_defaults=True)})
            else:
                raise ScriptError(f"script item {position} is a {type(item).__name__}; only replies, faults and "
                                  "embeddings can be saved")
        return {"version": SCRIPT_VERSION, "items": out}

    def save(self, path: str | Path) -> Path:
        """Write the script as pretty JSON to ``path``."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return target

    @classmethod
    def from_json(cls, document: Any, *, source: str = "<script>", chunking: Chunking = "natural") -> Script:
        """A script from its JSON document; a ScriptError naming the item and field that is wrong."""
        from pydantic import ValidationError

        if not isinstance(document, dict) or not isinstance(document.get("items"), list):
            raise ScriptError(f"{source}: a script file is an object with an 'items' list")
        if document.get("version", SCRIPT_VERSION) != SCRIPT_VERSION:
            raise ScriptError(f"{source}: unknown script version {document.get('version')!r} "
                              f"(this reqllm_testing reads version {SCRIPT_VERSION})")
        items: list[Item] = []
        kinds: dict[str, type[Reply] | type[Fault] | type[Embeddings]] = {
            "reply": Reply, "fault": Fault, "embeddings": Embeddings}
        for position, entry in enumerate(document["items"]):
            if not isinstance(entry, dict) or len(entry) != 1 or next(iter(entry)) not in kinds:
                raise ScriptError(f"{source}: items[{position}] must be one of "
                                  "{\"reply\": {...}}, {\"fault\": {...}}, {\"embeddings\": {...}}")
            kind, fields = next(iter(entry.items()))
            try:
                items.append(kinds[kind].model_validate(fields))
            except ValidationError as exc:
                raise ScriptError(f"{source}: items[{position}].{kind}: {exc}") from None
        return cls(items, chunking=chunking)

    @classmethod
    def load(cls, path: str | Path, *, chunking: Chunking = "natural") -> Script:
        """Read a script saved by ``save`` (or written by ``reqllm fixtures to-script``)."""
        target = Path(path)
        try:
            document = json.loads(target.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ScriptError(f"no script file at {target}") from None
        except ValueError as exc:
            raise ScriptError(f"{target} is not valid JSON: {exc}") from None
        return cls.from_json(document, source=str(target), chunking=chunking)


class ScriptHook:
    """The core's ``CallHook`` that sends every reqllm call to a script (and needs no API key)."""

    def __init__(self, script: Script) -> None:
        self.script = script

    def wrap(self, transport: httpx.BaseTransport, call: Any) -> httpx.BaseTransport:
        """The script, instead of the network."""
        return self.script

    def wrap_async(self, transport: httpx.AsyncBaseTransport, call: Any) -> httpx.AsyncBaseTransport:
        """The script, instead of the network."""
        return self.script

    def placeholder_key(self, call: Any) -> str | None:
        """A script needs no real key."""
        return "reqllm-script-key"

    def on_result(self, call: Any, result: Any, error: BaseException | None) -> None:
        """Nothing is recorded."""


def _json_array(encoded: Any) -> Any:
    """A Gemini stream asked for without ``alt=sse``: the chunks as one streamed JSON array."""
    texts = [c.decode() for c in encoded.chunks]
    payloads = [t[len("data: "):].strip() for t in "".join(texts).split("\r\n\r\n") if t.strip()]
    encoded.chunks = [("[" + ",\r\n".join(payloads) + "]").encode()]
    encoded.headers["content-type"] = "application/json; charset=UTF-8"
    return encoded
