"""The shapes are the providers' own: each real recording in ``../shared/corpus/`` is decoded, its answer
scripted as a ``Reply`` and encoded again; the encoded stream carries the same event sequence and the
same fields, and decodes to the same answer.

Differences a Reply cannot express, allowed by name: opaque blobs the provider adds (``obfuscation``
padding, thought signatures, encrypted reasoning sent only when asked for), where the provider
sends keep-alive ``ping`` events, reasoning summaries split into several parts, and fields only some
model versions send.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

import reqllm
from reqllm._sse import SSEDecoder
from reqllm_testing import Reply, encode

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
CORPUS = REPO.parent / "shared" / "corpus"
PROTOCOLS = {"openai_chat": "openai_chat", "openai_responses": "openai_responses",
             "anthropic_messages": "anthropic", "gemini": "gemini"}
SPECS = {"openai_chat": ("openai:gpt-4o-mini", {}),
         "openai_responses": ("openai:gpt-4o-mini", {"protocol": "openai_responses"}),
         "anthropic": ("anthropic:claude-3-5-haiku-20241022", {}), "gemini": ("google:gemini-2.5-flash", {})}
#: Fields the real recordings carry and a Reply has nothing for (opaque, optional or version-specific).
REAL_ONLY = {"obfuscation", "thoughtSignature", "encrypted_content", "caller", "finishMessage",
             "candidatesTokensDetails"}
#: Fields we send that some (older) recordings lack: sequence numbers and fields of newer API versions.
OURS_ONLY = {"sequence_number", "background", "service_tier", "logprobs", "index", "completed_at",
             "frequency_penalty", "max_tool_calls", "moderation", "presence_penalty", "prompt_cache_key",
             "prompt_cache_retention", "safety_identifier", "top_logprobs"}


def _interactions() -> list[Any]:
    if not (CORPUS / "MANIFEST.json").is_file():
        return []
    files = json.loads((CORPUS / "MANIFEST.json").read_text(encoding="utf-8"))["files"]
    return [pytest.param(PROTOCOLS[f["protocol"]], f["path"], n, id=f"{f['path']}#{n}")
            for f in files if f["protocol"] in PROTOCOLS for n in range(f["interactions"])]


def events(body: bytes) -> list[tuple[str, Any]]:
    decoder = SSEDecoder()
    out = []
    for event in decoder.feed(body) + decoder.close():
        try:
            out.append((event.event, json.loads(event.data)))
        except ValueError:
            out.append((event.event, event.data))
    return out


def sequence(protocol: str, stream: list[tuple[str, Any]]) -> list[str]:
    """The event kinds in order, consecutive repeats folded (a delta is a delta, however many)."""
    kinds: list[str] = []
    for name, data in stream:
        if protocol == "openai_chat":
            if data == "[DONE]":
                found = ["done"]
            elif not data.get("choices"):
                found = ["usage"]
            else:
                choice = data["choices"][0]
                delta = choice.get("delta") or {}
                found = ["role"] if delta.get("role") else []
                for call in delta.get("tool_calls") or ():
                    found.append("tool_start" if call.get("id") else "tool_arguments")
                found += [k for k in ("reasoning_content", "content") if delta.get(k)]
                found += ["finish"] if choice.get("finish_reason") else []
        elif protocol == "gemini":
            candidate = data["candidates"][0]
            parts = [p for p in candidate.get("content", {}).get("parts", ())
                     if p.get("text") or "functionCall" in p]  # a signature-only part says nothing
            found = ["call" if "functionCall" in p else "thought" if p.get("thought") else "text" for p in parts]
            found += ["finish"] if candidate.get("finishReason") else []
        elif protocol == "anthropic":
            detail = (data["content_block"]["type"] if name == "content_block_start"
                      else data["delta"]["type"] if name == "content_block_delta" else None)
            found = [] if name == "ping" else [f"{name}:{detail}" if detail else name]
        else:
            found = [name]
        for kind in found:
            if not kinds or kinds[-1] != kind:
                kinds.append(kind)
    if protocol == "openai_responses":  # several reasoning summary parts are one to a Reply
        part = ["response.reasoning_summary_part.added", "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.done", "response.reasoning_summary_part.done"]
        while any(kinds[i:i + 8] == part * 2 for i in range(len(kinds))):
            i = next(i for i in range(len(kinds)) if kinds[i:i + 8] == part * 2)
            del kinds[i:i + 4]
    return kinds


def fields(protocol: str, stream: list[tuple[str, Any]]) -> dict[str, set[str]]:
    """The keys each kind of event carries, and those of the objects inside it."""
    out: dict[str, set[str]] = {}
    for name, data in stream:
        if not isinstance(data, dict):
            continue
        kind = name if protocol in ("anthropic", "openai_responses") else "chunk"
        out.setdefault(kind, set()).update(data)
        for key in ("response", "item", "message", "content_block", "delta", "usage", "usageMetadata", "part"):
            if isinstance(data.get(key), dict):
                out.setdefault(f"{kind}.{key}", set()).update(data[key])
        for choice in data.get("choices") or ():
            out.setdefault("choice", set()).update(choice)
        for candidate in data.get("candidates") or ():
            out.setdefault("candidate", set()).update(candidate)
            for part in candidate.get("content", {}).get("parts", ()):
                if part.get("text") or "functionCall" in part:  # not a signature-only part
                    out.setdefault("part", set()).update(part)
    return out


def decode(protocol: str, body: bytes) -> reqllm.Response:
    spec, options = SPECS[protocol]
    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    client = httpx.Client(transport=httpx.MockTransport(lambda request: response))
    return reqllm.stream_text(spec, "hi", http_client=client, api_key="k" * 10, **options).to_response()


@pytest.mark.parametrize(("protocol", "path", "position"), _interactions())
def test_encoded_streams_match_the_real_recordings(protocol: str, path: str, position: int) -> None:
    cassette = yaml.safe_load((CORPUS / path).read_text(encoding="utf-8"))
    real_body = cassette["interactions"][position]["response"]["body"]["string"].encode()
    real = decode(protocol, real_body)
    reply = Reply(real.text, thinking=real.thinking, finish_reason=real.finish_reason, usage=real.usage, id=real.id,
                  tool_calls=[c.model_copy(update={"metadata": {}}) for c in real.tool_calls])
    ours_body = encode(reply, protocol, stream=True).read()

    ours = decode(protocol, ours_body)
    assert ours.normalized() == real.normalized()
    assert [c.id for c in ours.tool_calls] == [c.id for c in real.tool_calls] and ours.id == real.id

    real_events, our_events = events(real_body), events(ours_body)
    assert sequence(protocol, our_events) == sequence(protocol, real_events)
    real_fields, our_fields = fields(protocol, real_events), fields(protocol, our_events)
    assert set(our_fields) == set(real_fields)
    for kind, keys in real_fields.items():
        assert keys - our_fields[kind] <= REAL_ONLY, f"{kind}: fields the encoder lacks"
        assert our_fields[kind] - keys <= OURS_ONLY, f"{kind}: fields the provider does not send"
