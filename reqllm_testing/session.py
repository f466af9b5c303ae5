"""One fixture file in use — recording into it or replaying from it (``use_fixture`` lives in ``block``).

A ``FixtureSession`` holds the state of one use: the interactions recorded so far (written by
``finish`` only when the code under it succeeded), or the replay cursor (which recorded interactions
were served) over a fixture loaded once per process. The transports and the hook in ``recorder``
talk to it; it never touches the network itself.
"""

from __future__ import annotations

import json
import os
import shlex
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

import httpx

from . import fixture_file
from .errors import (
    DecodedMismatchError,
    FixtureCorruptError,
    FixtureMismatchError,
    FixtureNotFoundError,
    ReqLLMTestingError,
    UnusedInteractionsError,
)
from .fixture_file import FixtureFile, response_digest
from .matching import Index, Matcher, describe_request, diff_text, parse_body, request_view
from .modes import normalize_mode
from .redaction import (
    REQUEST_HEADERS,
    RedactionRule,
    apply_rules,
    filter_headers,
    redact_url,
    scrub,
    scrub_request_body,
    scrub_request_url,
    secrets_from_body,
)
from .redaction import secrets_from_headers as _secrets_from_headers
from .served import prepared

__all__ = [
    "FixtureSession",
    "Mode",
    "REPLAY_KEY",
    "decoded_mismatch",
    "decoded_of",
    "error_record",
    "resolve_mode",
    "response_digest",
    "same_decoded",
    "set_default_mode",
]

Mode = Literal["record", "missing", "replay"]
#: The API key reqllm sends in replay when none is configured (nothing checks it).
REPLAY_KEY = "reqllm-replay-placeholder-key"


#: The mode ``mode=None`` means in this process: set by the pytest plugin from ``--reqllm-record``.
_default_mode: list[str | None] = [None]


def set_default_mode(mode: str | None) -> None:
    """Make ``mode`` what every fixture, ``use_fixture`` and ``FixtureTransport`` without ``mode=`` uses."""
    _default_mode[0] = mode


def resolve_mode(mode: str | None, path: Path, run_id: str | None = None) -> Literal["record", "replay"]:
    """``record`` or ``replay`` for ``path``: ``missing`` records only what does not exist yet.

    ``None`` is the session's switch (``--reqllm-record``, see ``set_default_mode``), else
    ``REQLLM_FIXTURES``, else replay. A file first written by this same recording
    run (another test sharing a named fixture) still counts as missing, so both tests record into it.
    """
    where = "mode"
    if mode is None:
        mode, where = (_default_mode[0], "--reqllm-record") if _default_mode[0] else (
            os.environ.get("REQLLM_FIXTURES") or "replay", "REQLLM_FIXTURES")
    mode = normalize_mode(mode, where=where)
    if mode == "missing":
        return "record" if not path.exists() or fixture_file.written_by_run(path, run_id) else "replay"
    return "record" if mode == "record" else "replay"


_NOT_DECODED = frozenset({"raw", "steps", "messages"})
#: Secrets of the request headers and URL seen lately (the same few per test), by raw headers and URL.
_HEADER_SECRETS: dict[tuple[tuple[tuple[bytes, bytes], ...], str], frozenset[str]] = {}


def _request_secrets(headers: httpx.Headers, url: str) -> frozenset[str]:
    """``secrets_from_headers`` of a request, computed once per distinct headers (content-length aside) and URL."""
    key = (tuple(item for item in headers.raw if item[0] not in (b"content-length", b"Content-Length")), url)
    found = _HEADER_SECRETS.get(key)
    if found is None:
        found = frozenset(_secrets_from_headers(headers.multi_items(), url))
        if len(_HEADER_SECRETS) >= 256:
            _HEADER_SECRETS.clear()
        _HEADER_SECRETS[key] = found
    return found


def decoded_of(call: Any, result: Any, error: BaseException | None, *, mode: str = "json") -> dict[str, Any]:
    """The decoded part of a call: its StreamChunks or its Response, plus the error it ended with.

    One request's decoding only: a tool loop's ``steps`` and ``messages`` belong to the whole call.
    ``mode="python"`` dumps the Response faster, for a comparison that falls back to ``json`` on a difference.
    """
    out: dict[str, Any] = {}
    if call.stream:
        out["chunks"] = [chunk.to_dict() for chunk in result or ()]
    elif result is not None:
        out["response"] = result.model_dump(mode=mode, exclude=_NOT_DECODED, warnings=False)
    if error is not None:
        out["error"] = error_record(error)
    return out


def error_record(error: BaseException) -> dict[str, str]:
    """How a fixture records an error: a call's in its decoded part, a transport's in its response."""
    return {"type": type(error).__name__, "message": str(error)}


def decoded_unchanged(recorded: dict[str, Any], call: Any, result: Any, error: BaseException | None) -> bool:
    """True when ``recorded`` is exactly what ``decoded_of`` gives now, found without building all of it: a
    stream's chunks are compared one at a time (False may still be a difference of JSON form only)."""
    if not call.stream:
        return recorded == decoded_of(call, result, error, mode="python")
    failure = None if error is None else error_record(error)
    chunks = recorded.get("chunks")
    if recorded.get("error") != failure or len(recorded) != 1 + (error is not None) or type(chunks) is not list:
        return False
    actual = result if isinstance(result, list | tuple) else list(result or ())
    return len(actual) == len(chunks) and all(a.to_dict() == r for a, r in zip(actual, chunks, strict=True))


def decoded_mismatch(path: Path, position: int, interaction: dict[str, Any], diff: str,
                     test_id: str | None = None) -> DecodedMismatchError:
    """The error for a decoded part that differs from what the parser gives now, saying which side changed.

    ``meta.decoded_from`` is the digest of the response the decoded part was made from: when the
    recorded response no longer has it, the file was edited; when it still has it, the parser changed.
    """
    target = f" {shlex.quote(test_id)}" if test_id else ""
    update = (f"pytest --reqllm-update-decoded{target}" if test_id else
              f"use_fixture({str(path)!r}, update_decoded=True) around the same code")
    rerecord = f"pytest --reqllm-record{target}" if test_id else f"use_fixture({str(path)!r}, mode='record')"
    stamp = (interaction.get("meta") or {}).get("decoded_from")
    now = response_digest(interaction.get("response"))
    where = f"interaction #{position} of {path}"
    if stamp and stamp != now:
        cause, what = "edited", (
            f"the recorded response of {where} was edited after its decoded part was written (it no longer "
            f"matches meta.decoded_from), so the decoded part is stale; the parser did not change")
        advice = (f"If the edit is deliberate, re-generate the decoded part: {update}\n"
                  f"If not, restore the file (git checkout -- {path}) or re-record it: {rerecord}")
    elif stamp:
        cause, what = "parser", (
            f"the parser changed: the recorded response of {where} is unchanged since its decoded part was "
            f"written, but reqllm now decodes it differently")
        advice = (f"If the parser change is deliberate, re-generate the decoded parts: {update}\n"
                  f"If not, the diff shows what the parser now gets wrong")
    else:
        cause, what = "unknown", (
            f"reqllm now decodes {where} differently than its decoded part says, and the fixture predates "
            f"meta.decoded_from, so it cannot tell whether the recorded response was edited or the parser changed")
        advice = (f"Response edited on purpose, or parser changed on purpose: {update}\n"
                  f"Neither: restore the file (git checkout -- {path}) or re-record it: {rerecord}")
    return DecodedMismatchError(f"{what} (recorded vs now):\n{diff}\n{advice}", path=path, diff=diff, cause=cause)


def _retryable_status(response: dict[str, Any]) -> int | None:
    """The status of a recorded response that reqllm's core retries (408, 409, 429, 5xx), else None."""
    status = response.get("status")
    if isinstance(status, int) and (status in (408, 409, 429) or status >= 500):
        return status
    return None


def _comparable(decoded: dict[str, Any]) -> dict[str, Any]:
    """The decoded part as compared: cost is left out (it follows the price catalogue, not the parser)."""
    response = decoded.get("response")
    if isinstance(response, dict) and isinstance(response.get("usage"), dict) and "cost" in response["usage"]:
        usage = {k: v for k, v in response["usage"].items() if k != "cost"}
        return {**decoded, "response": {**response, "usage": usage}}
    return decoded


def same_decoded(recorded: dict[str, Any], actual: dict[str, Any]) -> bool:
    """True when two decoded parts agree (cost aside); JSON-normalizes ``actual`` only if needed."""
    if recorded == actual:  # the usual case, without copying
        return True
    recorded, actual = _comparable(recorded), _comparable(actual)
    if recorded == actual:
        return True
    return bool(recorded == json.loads(json.dumps(actual, default=str)))


class FixtureSession:
    """The state of one fixture in use; ``mode`` is ``record`` or ``replay`` (see ``resolve_mode``)."""

    def __init__(self, path: str | Path, mode: Literal["record", "replay"], *, matcher: Matcher | None = None,
                 timing: float | None = None, update_decoded: bool = False, allow_unused: bool = False,
                 test_id: str | None = None, run_id: str | None = None, rules: Iterable[RedactionRule] = (),
                 record_command: str | None = None, source: str | None = None, shared: bool = False) -> None:
        self.path = Path(path)
        self.mode = mode
        self.matcher = matcher or Matcher()
        self.timing = timing
        self.update_decoded = update_decoded
        self.allow_unused = allow_unused
        self.test_id = test_id
        self.run_id = run_id
        self.rules = tuple(rules)
        self.record_command = record_command
        self.source = source
        #: A named fixture several tests may share: each test answers only for its own interactions.
        self.shared = shared
        self.secrets: set[str] = set()
        self._frozen: frozenset[str] | None = None
        #: Errors raised to the code under test (re-raised at the end if it swallowed them).
        self.errors: list[ReqLLMTestingError] = []
        self.entries: list[dict[str, Any]] = []
        self.served = 0
        self.missing = False
        self._lock = threading.Lock()
        self._fixture: FixtureFile | None = None
        self._index: Index | None = None
        self._cursor: dict[str, int] = {}
        self._used: set[int] = set()
        self._updated: dict[int, dict[str, Any]] = {}
        #: Lookup keys (and parsed bodies) of requests seen in this session (see ``_request_key``).
        self._keys: dict[tuple[Any, ...], tuple[str, Any]] = {}
        #: The body each reqllm call sent, by the position that answered it (for ``_verified``).
        self._sent: dict[int, bytes] = {}
        #: Decoded parts already found equal to what the parser gives for the same request and response.
        self._verified: dict[tuple[Any, ...], dict[str, Any]] = {}
        #: Adds the decoded part to an interaction reqllm did not send (set by the recording transport).
        self.decode_raw: Callable[[dict[str, Any]], dict[str, Any]] | None = None

    def __repr__(self) -> str:
        return f"FixtureSession({str(self.path)!r}, mode={self.mode!r})"

    def _raise(self, error: ReqLLMTestingError) -> ReqLLMTestingError:
        self.errors.append(error)
        return error

    # -- replay ---------------------------------------------------------------------------------
    def fixture(self) -> FixtureFile:
        """The fixture being replayed (loaded once per process); FixtureNotFoundError when there is none."""
        __tracebackhide__ = True
        if self._fixture is None:
            try:
                self._fixture = fixture_file.load(self.path)
            except FileNotFoundError:
                self.missing = True
                command = self.record_command or (f"REQLLM_FIXTURES=missing (or use_fixture("
                                                  f"{str(self.path)!r}, mode='record')) with a real API key")
                raise self._raise(FixtureNotFoundError(
                    f"no fixture file {self.path} to replay; record it with: {command}",
                    path=self.path, command=command)) from None
            except FixtureCorruptError as exc:
                rerecord = self.rerecord_command
                raise self._raise(exc.with_command(rerecord) if rerecord else exc) from None
            except ReqLLMTestingError as exc:
                raise self._raise(exc) from None
            prepared(self._fixture)  # what replay serves, ready at load (once per loaded file)
        return self._fixture

    @property
    def rerecord_command(self) -> str | None:
        """The command that records this fixture again even though it exists (``=missing`` would skip it)."""
        return self.record_command.replace("=missing", "") if self.record_command else None

    def index(self) -> Index:
        """The request index of the fixture for this session's matcher (built once per file load)."""
        __tracebackhide__ = True
        if self._index is None:
            matcher = self.matcher
            self._index = self.fixture().derived(("index", matcher), lambda f: Index(f.interactions, matcher))
        return self._index

    def lookup(self, request: httpx.Request, call: Any = None) -> int:
        """Consume the next recorded interaction matching ``request``; FixtureMismatchError otherwise."""
        __tracebackhide__ = True
        index = self.index()
        key, body = self._request_key(request, call)
        with self._lock:
            positions = index.by_key.get(key)
            if positions:
                taken = self._cursor.get(key, 0)
                if taken < len(positions):
                    self._cursor[key] = taken + 1
                    position = positions[taken]
                    self._used.add(position)
                    self.served += 1
                    if call is not None:
                        if call.hook_state is None:
                            call.hook_state = []
                        call.hook_state.append(position)
                        self._sent[position] = request.content
                    return position
        raise self._raise(self._mismatch(request, body, key, index, exhausted=bool(positions)))

    def _request_key(self, request: httpx.Request, call: Any) -> tuple[str, Any]:
        """The lookup key of the live request, and its parsed body. A request sent again in this session
        (same method, URL, body and secret-bearing headers, no new secret known since) reuses both."""
        url = str(request.url)
        carried = _request_secrets(request.headers, url)
        seen = (request.method, url, request.content, carried, self._frozen)
        known = self._keys.get(seen)
        if known is not None:
            with self._lock:  # what scrubbed() would have noted: nothing new, unless the call knows more
                if call is not None and not self.secrets.issuperset(call.secrets):
                    known = None
        if known is None:
            body = parse_body(request.content)
            scrubbed_url, scrubbed_body = self.scrubbed(request, body, call)
            known = (self.matcher.key(request.method, scrubbed_url, scrubbed_body), body)
            if len(self._keys) < 256:
                self._keys[seen] = known
        return known

    def scrubbed(self, request: httpx.Request, body: Any, call: Any = None) -> tuple[str, Any]:
        """The live request's URL and body as its recording stores them: the secrets it carries (and those
        seen earlier in this session) replaced, exactly as ``recorded()`` replaced them when it was written."""
        url = str(request.url)
        found = _request_secrets(request.headers, url) | secrets_from_body(body)
        with self._lock:
            if call is not None:
                self.secrets.update(call.secrets)
            self.secrets.update(found)
            if self._frozen is None or len(self._frozen) != len(self.secrets):
                self._frozen = frozenset(self.secrets)  # secrets only grow: same size, same set
            secrets = self._frozen
        return scrub_request_url(url, secrets), scrub_request_body(body, secrets, request.content)

    def _mismatch(self, request: httpx.Request, body: Any, key: str, index: Index, *,
                  exhausted: bool) -> FixtureMismatchError:
        fixture = self.fixture()
        url = redact_url(str(request.url))  # what an error shows holds no secret
        what = describe_request(request.method, url, body)
        command = self.rerecord_command
        rerecord = f"\nRe-record with: {command}" if command else ""
        if exhausted:
            positions = index.by_key[key]
            retried = _retryable_status(fixture.interactions[positions[-1]].get("response") or {})
            if retried is not None:
                return FixtureMismatchError(
                    f"{what}: all {len(positions)} recorded interaction(s) with this request in {self.path} were "
                    f"already used — the code makes more calls than were recorded. Likely cause: the recorded "
                    f"response is HTTP {retried}, which reqllm retries (max_retries, default 2), and the retry "
                    f"has no recording. Either pass max_retries=0 to the call in this test, so that the "
                    f"{retried} reaches your code at once, or record every attempt: one {retried} per attempt "
                    f"(reqllm_testing.faults) or a re-recording with the same max_retries"
                    + (f" ({command})" if command else ""), path=self.path)
            return FixtureMismatchError(
                f"{what}: all {len(positions)} recorded interaction(s) with this request in {self.path} were "
                f"already used — the code makes more calls than were recorded{rerecord}", path=self.path)
        nearest = index.nearest(key, self._used)
        if nearest is None:
            return FixtureMismatchError(f"{what}: fixture {self.path} holds no interactions{rerecord}",
                                        path=self.path)
        recorded = fixture.interactions[nearest]["request"]
        diff = diff_text(request_view(recorded["method"], recorded["url"], recorded.get("body")),
                         request_view(request.method, url, body))
        fields = self.matcher.ignore_fields
        ignore = f" (ignored fields: {', '.join(fields)})" if fields else ""
        return FixtureMismatchError(
            f"no recorded interaction in {self.path} matches {what}{ignore}.\n"
            f"Nearest recorded request (interaction #{nearest}) vs the actual one:\n{diff}{rerecord}",
            path=self.path, diff=diff)

    def unused(self) -> list[int]:
        """Recorded interactions not served (in a shared fixture, those recorded by other tests aside)."""
        if self.mode != "replay" or (self._fixture is None and not self.path.exists()):
            return []
        fixture = self.fixture()  # a test that made no call at all leaves every interaction unused
        out = []
        for i, item in enumerate(fixture.interactions):
            owner = (item.get("meta") or {}).get("test")
            if i not in self._used and (not self.shared or owner is None or owner == self.test_id):
                out.append(i)
        return out

    # -- record ---------------------------------------------------------------------------------
    def begin(self, request: httpx.Request, call: Any = None) -> dict[str, Any]:
        """A new recorded interaction for ``request`` (its response is filled in as it arrives)."""
        url = str(request.url)
        entry: dict[str, Any] = {
            "request": {"method": request.method, "url": redact_url(url),
                        "headers": filter_headers(request.headers.multi_items(), REQUEST_HEADERS),
                        "body": parse_body(request.content)},
            "response": None,
        }
        meta: dict[str, Any] = {}
        if call is not None:
            meta = {"provider": call.provider, "model": call.model, "operation": call.operation,
                    "stream": call.stream, "protocol": call.protocol}
        if self.test_id is not None:
            meta["test"] = self.test_id
        entry["meta"] = meta
        found = _secrets_from_headers(request.headers.multi_items(), url)
        found |= secrets_from_body(entry["request"]["body"])
        with self._lock:
            if call is not None:
                self.secrets.update(call.secrets)
                if call.hook_state is None:
                    call.hook_state = []
                call.hook_state.append(entry)
            self.secrets.update(found)
            self.entries.append(entry)
        return entry

    # -- results --------------------------------------------------------------------------------
    def on_result(self, call: Any, result: Any, error: BaseException | None) -> None:
        """The call's decoded result: stored on its last interaction, or compared with the recorded one."""
        __tracebackhide__ = True
        state = call.hook_state
        if not state:
            return
        if self.mode == "record":
            state[-1]["decoded"] = decoded_of(call, result, error)
            return
        position = state[-1]
        if self.update_decoded:
            self._updated[position] = decoded_of(call, result, error)
            return
        interaction = self.fixture().interactions[position]
        recorded = interaction.get("decoded")
        if recorded is None:  # recorded without a decoded part (FixtureTransport, vcr import): nothing to check
            return
        seen = self._inputs(call, position) if len(self._sent) > 1 else None  # a session's first call: no twin yet
        if seen is not None and self._verified.get(seen) == recorded:
            return  # the same request and the same bytes decode alike (the parser is pure): checked already
        if decoded_unchanged(recorded, call, result, error):  # the usual case, at the cost of one compare
            if seen is not None:
                self._verified[seen] = recorded
            return
        actual = decoded_of(call, result, error)
        if same_decoded(recorded, actual):
            return
        diff = diff_text(_comparable(recorded), _comparable(json.loads(json.dumps(actual, default=str))))
        raise self._raise(decoded_mismatch(self.path, position, interaction, diff, self.test_id))

    def _inputs(self, call: Any, position: int) -> tuple[Any, ...] | None:
        """Everything a reqllm call's decoded result depends on: the call, the body it sent, and the status,
        headers, bytes and transport error of the recorded response that answered it."""
        sent = self._sent.get(position)
        if sent is None:
            return None
        served = prepared(self.fixture())[position]
        return (call.provider, call.model, call.operation, call.stream, call.protocol, sent, served.status,
                tuple(served.headers.raw), tuple(served.chunks), repr(served.error))

    # -- the end --------------------------------------------------------------------------------
    def finish(self, ok: bool) -> Path | None:
        """End of use: when ``ok``, check (``check``) then write what was recorded or re-decoded (``write``).

        Returns the path written, if any.
        """
        if not ok:
            return None
        self.check()
        return self.write()

    def check(self) -> None:
        """Raise the first fixture error the code swallowed, then UnusedInteractionsError (replay, unless
        ``allow_unused``)."""
        if self.errors:
            raise self.errors[0]
        if self.mode == "replay" and not self.allow_unused:
            self.check_unused()

    def write(self) -> Path | None:
        """Write what was recorded, or the re-generated decoded parts; the path written, if any."""
        if self.mode == "record":
            return self.save()
        return self.save_decoded() if self._updated else None

    def check_unused(self) -> None:
        """UnusedInteractionsError naming the recorded interactions that were never requested."""
        unused = self.unused()
        if not unused:
            return
        assert self._fixture is not None
        lines = []
        for i in unused[:20]:
            req = self._fixture.interactions[i]["request"]
            lines.append(f"  #{i} {describe_request(req['method'], req['url'], req.get('body'))}")
        more = f"\n  ... and {len(unused) - 20} more" if len(unused) > 20 else ""
        raise UnusedInteractionsError(
            f"{len(unused)} recorded interaction(s) in {self.path} were never requested:\n"
            + "\n".join(lines) + more
            + "\nRe-record the fixture, or allow it: @pytest.mark.reqllm(allow_unused=True)", path=self.path)

    def recorded(self) -> list[dict[str, Any]]:
        """The interactions recorded so far, redacted, as they will be written."""
        with self._lock:
            entries = list(self.entries)
        out = []
        for entry in entries:
            item = {k: v for k, v in entry.items() if v is not None}
            item.setdefault("response", {"status": None, "headers": {}, "error": {
                "type": "Incomplete", "message": "no response was recorded"}})
            item = scrub(apply_rules(item, self.rules), self.secrets)
            if self.decode_raw is not None and "decoded" not in item and "protocol" not in item.get("meta", {}):
                item = self.decode_raw(item)  # another client's traffic: decoded when its protocol is known
            if "decoded" in item:  # what the decoded part was made from, to tell an edit from a parser change
                item["meta"] = {**(item.get("meta") or {}), "decoded_from": response_digest(item["response"])}
            out.append(item)
        return out

    def save(self) -> Path | None:
        """Write the recorded interactions (appended when this run already wrote the file); None if none.

        In a shared fixture the interactions of other tests recorded by an earlier run are kept (only
        this test's are replaced), so a test that fails or is not selected keeps what it recorded.
        """
        interactions = self.recorded()
        if not interactions:
            return None
        with fixture_file.file_lock(self.path):
            earlier: list[dict[str, Any]] = []
            shared = self.shared and self.test_id is not None
            if shared:
                earlier, kept_fresh = self._shared_earlier()
            elif fixture_file.written_by_run(self.path, self.run_id):
                earlier = fixture_file.read(self.path).interactions
            document = fixture_file.new_document(earlier + interactions, self.source)
            fixture_file.save(self.path, document, secrets=self.secrets)
            fixture_file.mark_written(self.path, self.run_id)
            if shared and self.run_id is not None:
                fixture_file.write_marker(self.path, self.run_id, "fresh", str(kept_fresh + len(interactions)))
        return self.path

    def _shared_earlier(self) -> tuple[list[dict[str, Any]], int]:
        """What a shared fixture keeps before this test's new interactions, and how many are from this run."""
        try:
            current = fixture_file.read(self.path).interactions if self.path.exists() else []
        except FixtureCorruptError:  # corrupt: replaced, as any fixture is (a permission problem is raised)
            return [], 0
        count = 0
        if self.run_id is not None and fixture_file.written_by_run(self.path, self.run_id):
            fresh = fixture_file.marker(self.path, self.run_id, "fresh")
            number = fresh.read_text() if fresh.exists() else ""
            count = int(number) if number.isdigit() else 0
        count = min(count, len(current))
        old, new = current[:len(current) - count], current[len(current) - count:]
        kept = [i for i in old if (i.get("meta") or {}).get("test") not in (None, self.test_id)]
        return kept + new, count

    def save_decoded(self) -> Path:
        """Write the re-generated decoded parts (``--reqllm-update-decoded``)."""
        with fixture_file.file_lock(self.path):
            current = fixture_file.read(self.path)
            document = current.document()
            interactions = [dict(item) for item in current.interactions]
            for position, decoded in self._updated.items():
                if position < len(interactions):
                    item = interactions[position]
                    item["decoded"] = json.loads(json.dumps(decoded, default=str))
                    item["meta"] = {**(item.get("meta") or {}), "decoded_from": response_digest(item["response"])}
            document["interactions"] = interactions
            fixture_file.save(self.path, document)
        return self.path
