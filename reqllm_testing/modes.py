"""The record modes: one vocabulary for pytest, ``REQLLM_FIXTURES``, ``use_fixture``, ``FixtureTransport``
and ``reqllm verify``.

=========  ==================================================================
``replay`` the default: serve recorded fixtures, never call a provider
``missing`` record only the fixtures that do not exist yet, replay the rest
``record`` re-record every fixture the selected code touches
=========  ==================================================================

Older spellings stay accepted as aliases: ``all`` (= ``record``) and ``none`` (= ``replay``).
"""

from __future__ import annotations

from typing import Literal

from .errors import InvalidModeError

__all__ = ["ALIASES", "MODES", "MODES_HELP", "Mode", "normalize_mode"]

Mode = Literal["replay", "missing", "record"]

#: Each mode and what it does, in the order they are listed everywhere.
MODES: dict[str, str] = {
    "replay": "serve recorded fixtures, never call a provider (the default)",
    "missing": "record only the fixtures that do not exist yet, replay the rest",
    "record": "re-record every fixture the selected code touches",
}
#: Older spellings, still accepted.
ALIASES: dict[str, Mode] = {"all": "record", "none": "replay"}
#: One line naming every mode, for ``--help`` texts and error messages.
MODES_HELP = "replay (the default), missing (record what does not exist yet), record (re-record everything); " \
             "old spellings accepted: all = record, none = replay"


def normalize_mode(value: str, *, where: str = "mode") -> Mode:
    """The canonical mode for ``value`` (an alias is translated); InvalidModeError naming ``where`` otherwise."""
    text = value.strip().lower()
    if text in MODES:
        return text  # type: ignore[return-value]
    if text in ALIASES:
        return ALIASES[text]
    raise InvalidModeError(f"{where}: unknown record mode {value!r}; the modes are: {MODES_HELP}")
