"""The value of a JSON text that is still arriving: a prefix parse, pure, no I/O.

``parse_partial('{"name": "Ad')`` is ``{"name": "Ad"}``: open strings show what arrived, open
objects and arrays are closed, and what cannot be known yet is left out — a key without its value, a
number or ``true``/``false``/``null`` that may still grow. Every value returned is therefore one the
complete text can only extend: strings grow, objects and arrays gain members, nothing else changes.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["MISSING", "parse_partial"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: What ``parse_partial`` returns when nothing can be known yet (empty text, a lone ``-``, ...).
MISSING: Any = _Missing()

_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_LITERALS = {"true": True, "false": False, "null": None}
_WS = " \t\r\n"
_HIGH_SURROGATE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}")
_FENCE = re.compile(r"^\s*```[A-Za-z]*\s*")


def parse_partial(text: str) -> Any:
    """The value the prefix ``text`` of a JSON document shows so far (MISSING if none yet).

    A leading Markdown fence (```json) is skipped. Raises ValueError when ``text`` cannot be the
    start of a JSON document.
    """
    fence = _FENCE.match(text)
    parser = _Parser(text[fence.end():] if fence else text)
    parser.skip()
    if parser.at_end():
        return MISSING
    value, _ = parser.value()
    return value


class _Parser:
    __slots__ = ("pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def skip(self) -> None:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos] in _WS:
            pos += 1
        self.pos = pos

    def value(self) -> tuple[Any, bool]:
        """(value, complete); value is MISSING when nothing of it can be shown yet."""
        char = self.text[self.pos]
        if char == "{":
            return self.object()
        if char == "[":
            return self.array()
        if char == '"':
            return self.string()
        if char in "-0123456789":
            return self.number()
        for word, literal in _LITERALS.items():
            rest = self.text[self.pos:self.pos + len(word)]
            if rest == word:
                self.pos += len(word)
                return literal, True
            if word.startswith(rest) and self.pos + len(rest) == len(self.text):
                self.pos = len(self.text)
                return MISSING, False
        raise ValueError(f"unexpected {char!r} at offset {self.pos}")

    def object(self) -> tuple[Any, bool]:
        self.pos += 1
        out: dict[str, Any] = {}
        while True:
            self.skip()
            if self.at_end():
                return out, False
            if self.text[self.pos] == "}":
                self.pos += 1
                return out, True
            if self.text[self.pos] != '"':
                raise ValueError(f"expected a key at offset {self.pos}")
            key, done = self.string()
            self.skip()
            if not done or self.at_end():
                return out, False
            if self.text[self.pos] != ":":
                raise ValueError(f"expected ':' at offset {self.pos}")
            self.pos += 1
            self.skip()
            if self.at_end():
                return out, False
            item, done = self.value()
            if item is not MISSING:
                out[key] = item
            if not done:
                return out, False
            if not self.separator("}"):
                return out, False
            if self.text[self.pos - 1] == "}":
                return out, True

    def array(self) -> tuple[Any, bool]:
        self.pos += 1
        out: list[Any] = []
        while True:
            self.skip()
            if self.at_end():
                return out, False
            if self.text[self.pos] == "]":
                self.pos += 1
                return out, True
            item, done = self.value()
            if item is not MISSING:
                out.append(item)
            if not done:
                return out, False
            if not self.separator("]"):
                return out, False
            if self.text[self.pos - 1] == "]":
                return out, True

    def separator(self, close: str) -> bool:
        """Consume ``,`` or ``close`` after a member; False at the end of the text."""
        self.skip()
        if self.at_end():
            return False
        char = self.text[self.pos]
        if char != "," and char != close:
            raise ValueError(f"expected ',' or {close!r} at offset {self.pos}")
        self.pos += 1
        return True

    def string(self) -> tuple[str, bool]:
        text = self.text
        start = self.pos + 1
        pos = start
        while pos < len(text):
            char = text[pos]
            if char == '"':
                self.pos = pos + 1
                return json.loads(text[start - 1:pos + 1]), True
            pos += 2 if char == "\\" else 1
        self.pos = len(text)
        raw = text[start:]
        # Cut an escape that has not fully arrived (a lone backslash, or \u and fewer than 4 digits).
        # A high surrogate waits for its pair, or the text would change later.
        cut = raw.rfind("\\")
        while cut != -1 and not _escaped_backslash(raw, cut) and (
                not _escape_complete(raw[cut:]) or _HIGH_SURROGATE.fullmatch(raw[cut:])):
            raw = raw[:cut]
            cut = raw.rfind("\\")
        return json.loads(f'"{raw}"'), False

    def number(self) -> tuple[Any, bool]:
        match = _NUMBER.match(self.text, self.pos)
        rest = self.text[match.end():] if match else ""
        if match is None or not rest or all(c in "0123456789.eE+-" for c in rest):
            self.pos = len(self.text)  # it may still grow: show nothing of it yet
            return MISSING, False
        self.pos = match.end()
        return json.loads(match.group()), True


def _escape_complete(escape: str) -> bool:
    if len(escape) < 2:
        return False
    if escape[1] == "u":
        return len(escape) >= 6
    return True


def _escaped_backslash(raw: str, cut: int) -> bool:
    """True when the backslash at ``cut`` is itself escaped (an even run of backslashes before it ends)."""
    run = 0
    while cut - run - 1 >= 0 and raw[cut - run - 1] == "\\":
        run += 1
    return run % 2 == 1
