"""Which protocol a request speaks, read from its method, path, host and body alone (pure: no I/O).

``recognise`` lets tools that see other clients' traffic (an official SDK's request caught by
``reqllm_testing``) decode it the way reqllm decodes its own calls. It knows the built-in protocols:
OpenAI Chat Completions and embeddings, OpenAI Responses, Anthropic Messages and Gemini
generateContent / streamGenerateContent.

    recognise("POST", "https://api.openai.com/v1/chat/completions", {"model": "gpt-4o", "stream": True})
    # Recognised(protocol='openai_chat', provider='openai', model='gpt-4o', operation='chat', stream=True)
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Recognised", "recognise"]

#: Hosts of the providers whose own catalogue entry should decode their traffic.
_HOSTS = {"api.openai.com": "openai", "api.anthropic.com": "anthropic",
          "generativelanguage.googleapis.com": "google"}
#: The provider that decodes a protocol's traffic sent to any other host.
_DEFAULT_PROVIDER = {"openai_chat": "openai", "openai_responses": "openai", "anthropic": "anthropic",
                     "gemini": "google"}
_GEMINI = re.compile(r"/models/(?P<model>[^/:]+):(?P<method>generateContent|streamGenerateContent)$")


@dataclasses.dataclass(frozen=True, slots=True)
class Recognised:
    """What a request is: the protocol plugin id, a provider id to decode with, model, operation, stream."""

    protocol: str
    provider: str
    model: str
    operation: str
    stream: bool


def _provider(protocol: str, host: str) -> str:
    return _HOSTS.get(host, _DEFAULT_PROVIDER[protocol])


def recognise(method: str, url: str, body: Any) -> Recognised | None:
    """The protocol a request speaks (``body`` is its parsed JSON), or None when no built-in one does."""
    if method.upper() != "POST" or not isinstance(body, dict):
        return None
    parts = urlsplit(url)
    path, host = parts.path.rstrip("/"), (parts.hostname or "").lower()
    found = _GEMINI.search(path)
    if found:
        stream = found["method"] == "streamGenerateContent"
        return Recognised("gemini", _provider("gemini", host), found["model"], "chat", stream)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return None
    stream = body.get("stream") is True
    if path.endswith("/chat/completions"):
        return Recognised("openai_chat", _provider("openai_chat", host), model, "chat", stream)
    if path.endswith("/embeddings"):
        return Recognised("openai_chat", _provider("openai_chat", host), model, "embed", False)
    if path.endswith("/responses"):
        return Recognised("openai_responses", _provider("openai_responses", host), model, "chat", stream)
    if path.endswith("/messages") and not path.endswith("/threads/messages"):
        return Recognised("anthropic", _provider("anthropic", host), model, "chat", stream)
    return None
