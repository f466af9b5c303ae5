"""Protocol plugins by id: the built-in ones, runtime registrations, and the ``reqllm.providers``
entry-point group for third-party packages (each entry point names a ``Protocol`` subclass)."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from ..errors import UnknownProviderError
from .base import Protocol

__all__ = ["get_protocol", "protocol_ids", "register_protocol"]

_BUILTIN = {
    "openai_chat": "reqllm.providers.openai_chat:OpenAIChat",
    "openai_responses": "reqllm.providers.openai_responses:OpenAIResponses",
    "anthropic": "reqllm.providers.anthropic:AnthropicMessages",
    "gemini": "reqllm.providers.gemini:Gemini",
    "bedrock_converse": "reqllm.providers.bedrock:BedrockConverse",
}
_instances: dict[str, Protocol] = {}
_registered: dict[str, type[Protocol]] = {}
_entry_points_loaded = False


def register_protocol(plugin: type[Protocol]) -> None:
    """Register a protocol plugin class under its ``id`` (replacing any with the same id)."""
    _registered[plugin.id] = plugin
    _instances.pop(plugin.id, None)


def _load_entry_points() -> None:
    global _entry_points_loaded
    _entry_points_loaded = True
    for ep in entry_points(group="reqllm.providers"):
        if ep.name not in _registered:
            _registered[ep.name] = ep.load()


def get_protocol(protocol_id: str) -> Protocol:
    """The plugin instance for ``protocol_id`` (imported on first use)."""
    plugin = _instances.get(protocol_id)
    if plugin is not None:
        return plugin
    cls = _registered.get(protocol_id)
    if cls is None and protocol_id in _BUILTIN:
        module, _, name = _BUILTIN[protocol_id].partition(":")
        try:
            cls = getattr(importlib.import_module(module), name)
        except ModuleNotFoundError:
            cls = None
    if cls is None and not _entry_points_loaded:
        _load_entry_points()
        cls = _registered.get(protocol_id)
    if cls is None:
        raise UnknownProviderError(f"no protocol plugin {protocol_id!r}; known: {', '.join(protocol_ids())}")
    plugin = cls()
    _instances[protocol_id] = plugin
    return plugin


def protocol_ids() -> list[str]:
    """Ids of every known protocol plugin."""
    return sorted(set(_BUILTIN) | set(_registered))
