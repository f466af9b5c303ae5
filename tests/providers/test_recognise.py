"""``recognise``: which protocol a request speaks, from method, path, host and body (a table)."""

from __future__ import annotations

from typing import Any

import pytest

from reqllm.providers import get_protocol
from reqllm.providers.recognise import Recognised, recognise

CASES: list[tuple[str, str, Any, Recognised | None]] = [
    ("POST", "https://api.openai.com/v1/chat/completions", {"model": "gpt-4o", "stream": True},
     Recognised("openai_chat", "openai", "gpt-4o", "chat", True)),
    ("POST", "http://127.0.0.1:8080/v1/chat/completions", {"model": "m"},
     Recognised("openai_chat", "openai", "m", "chat", False)),
    ("POST", "https://api.openai.com/v1/embeddings", {"model": "e", "input": ["a"]},
     Recognised("openai_chat", "openai", "e", "embed", False)),
    ("POST", "https://api.openai.com/v1/responses", {"model": "o", "stream": True},
     Recognised("openai_responses", "openai", "o", "chat", True)),
    ("POST", "https://api.anthropic.com/v1/messages", {"model": "claude"},
     Recognised("anthropic", "anthropic", "claude", "chat", False)),
    ("POST", "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
     {"contents": []}, Recognised("gemini", "google", "gemini-2.0-flash", "chat", True)),
    ("POST", "http://localhost:4000/v1beta/models/g:generateContent", {"contents": []},
     Recognised("gemini", "google", "g", "chat", False)),
    ("GET", "https://api.openai.com/v1/models", None, None),
    ("POST", "https://api.openai.com/v1/chat/completions", {"messages": []}, None),  # no model
    ("POST", "https://api.openai.com/v1/threads/messages", {"model": "m"}, None),
    ("POST", "https://example.com/upload", {"model": "m"}, None),
    ("POST", "https://api.openai.com/v1/chat/completions", "not json", None),
]


@pytest.mark.parametrize(("method", "url", "body", "expected"), CASES)
def test_recognise(method: str, url: str, body: Any, expected: Recognised | None) -> None:
    assert recognise(method, url, body) == expected


def test_every_recognised_protocol_is_a_plugin_that_does_the_operation() -> None:
    for _, url, _body, expected in CASES:
        if expected is not None:
            assert expected.operation in get_protocol(expected.protocol).operations, url
