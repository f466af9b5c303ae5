"""Model and Provider: the typed metadata the registry hands out."""

from __future__ import annotations

import re
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["Cost", "Limit", "Modalities", "Model", "Provider"]

#: How a provider authenticates: a key header, none, or a step of the core (``reqllm._auth``):
#: AWS SigV4, Google OAuth (Application Default Credentials), Azure (api-key or Entra ID bearer).
AuthScheme = Literal["bearer", "x-api-key", "x-goog-api-key", "api-key", "none", "aws-sigv4", "google-oauth",
                     "azure"]
#: An HTTP header name (RFC 9110 token): a custom provider's own auth header, e.g. ``x-acme-key``.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class Cost(BaseModel):
    """USD per million tokens, as the catalogue gives them; None where unknown."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    input: float | None = None
    output: float | None = None
    cache_read: float | None = None
    cache_write: float | None = None
    reasoning: float | None = None


class Limit(BaseModel):
    """Token limits; for embedding models ``output`` is the vector dimension."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    context: int | None = None
    input: int | None = None
    output: int | None = None


class Modalities(BaseModel):
    """Input and output modalities ("text", "image", "pdf", "audio", ...)."""

    model_config = ConfigDict(frozen=True)

    input: tuple[str, ...] = ("text",)
    output: tuple[str, ...] = ("text",)


class Model(BaseModel):
    """One model of one provider, with its capabilities, limits and prices."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    provider: str
    id: str
    name: str = ""
    family: str | None = None
    tool_call: bool = True
    reasoning: bool = False
    structured_output: bool | None = None
    attachment: bool = False
    temperature: bool = True
    modalities: Modalities = Field(default_factory=Modalities)
    cost: Cost | None = None
    limit: Limit = Field(default_factory=Limit)
    embedding: bool = False
    #: Wire protocol for this model when it differs from its provider's (e.g. "openai_responses").
    protocol: str | None = None
    #: Base URL for this model when it differs from its provider's (catalogue: per-model ``provider.api``).
    base_url: str | None = None
    #: Capability ids this model is known NOT to have, though its other metadata would suggest it.
    unsupported: tuple[str, ...] = ()
    #: True when the model was not in the catalogue (the ``allow_unknown`` escape hatch).
    uncatalogued: bool = False

    @property
    def spec(self) -> str:
        """The ``provider:id`` spec that names this model."""
        return f"{self.provider}:{self.id}"

    def __str__(self) -> str:
        return self.spec

    @classmethod
    def from_catalogue(cls, provider: str, data: dict[str, Any]) -> Model:
        """Build a Model from a models.dev entry."""
        model_id = data["id"]
        family = data.get("family") or ""
        embedding = "embedding" in family or "embedding" in model_id
        return cls(
            provider=provider,
            id=model_id,
            name=data.get("name", model_id),
            family=data.get("family"),
            tool_call=bool(data.get("tool_call", False)),
            reasoning=bool(data.get("reasoning", False)),
            structured_output=data.get("structured_output"),
            attachment=bool(data.get("attachment", False)),
            temperature=bool(data.get("temperature", True)),
            modalities=Modalities(
                input=tuple(data.get("modalities", {}).get("input", ("text",))),
                output=tuple(data.get("modalities", {}).get("output", ("text",))),
            ),
            cost=Cost(**data["cost"]) if data.get("cost") else None,
            limit=Limit(**data.get("limit", {})),
            embedding=embedding,
            protocol=data.get("protocol"),
            unsupported=tuple(data.get("unsupported", ())),
        )


class Provider(BaseModel):
    """A provider: where it lives, how it authenticates, which protocol it speaks."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    name: str = ""
    protocol: str | None = None
    base_url: str | None = None
    #: Environment variable that, when set, overrides ``base_url`` (local servers, proxies).
    base_url_env: str | None = None
    env: tuple[str, ...] = ()
    #: How the key is sent: ``bearer`` (``authorization: Bearer <key>``), ``none``, a core step (``AuthScheme``),
    #: or the name of the header that carries the bare key (``x-api-key``, or your own, e.g. ``x-acme-key``).
    auth: str | None = None
    requires_key: bool = True
    headers: dict[str, str] = Field(default_factory=dict)
    #: Protocol options this provider switches on (see each protocol plugin's ``QUIRKS``).
    quirks: dict[str, Any] = Field(default_factory=dict)
    #: Why the provider cannot be used, when ``protocol`` is None.
    unusable_reason: str | None = None
    doc: str | None = None
    #: Protocol for this provider's reasoning models when it differs (OpenAI: "openai_responses").
    reasoning_protocol: str | None = None
    #: Any model id is accepted without ``allow_unknown`` (local servers serve whatever is loaded).
    open_models: bool = False
    #: What a user should know to call this provider (optional headers, variables, model ids).
    notes: str | None = None
    #: What a call needs when that is more than one key variable (cloud credentials, project, region).
    needs: str | None = None
    #: Base URL of this provider's models that speak another protocol (Vertex: Claude's publisher URL).
    protocol_base_urls: dict[str, str] = Field(default_factory=dict)

    @field_validator("auth")
    @classmethod
    def _auth_scheme(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value in get_args(AuthScheme):
            return value
        if not _HEADER_NAME.fullmatch(value):
            raise ValueError(f"auth={value!r} must be one of {', '.join(get_args(AuthScheme))} or the name of the "
                             f"HTTP header that carries the key, such as 'x-acme-key'")
        return value.lower()

    def __hash__(self) -> int:
        """By id: providers are compared by every field, and two equal ones share their id."""
        return hash(self.id)

    @property
    def usable(self) -> bool:
        """True when reqllm can talk to this provider."""
        return self.protocol is not None and self.unusable_reason is None
