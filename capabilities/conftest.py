"""The matrix against the repository's loopback servers: which server produced a recording, and patience.

Every interaction recorded for a ``local-llm*`` provider gets ``meta.server``: the program and version that
answered (``scripts/local_llm.py`` pins them; ``scripts/LOCAL_LLM_NOTES.md`` has what each one sends). Those
providers' cases run with a longer client timeout (``SLOW_SERVER_TIMEOUT``).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from reqllm_testing import add_redaction
from reqllm_testing.matrix import CapabilityCase


def _local_llm() -> ModuleType:
    spec = importlib.util.spec_from_file_location("local_llm", Path(__file__).parents[1] / "scripts" / "local_llm.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def local_servers() -> dict[str, str]:
    """``{provider: the server behind it}`` for the repository's ``local-llm*`` providers."""
    script = _local_llm()
    model = f"Gemma 3 270M ({script.MODEL_FILE})"
    llama = f"llama-server (llama.cpp 0c1e570, built from llama-cpp-python {script.LLAMA_CPP_PYTHON_VERSION})"
    tools = (f"llama.cpp's server b11549 from xllamacpp {script.XLLAMACPP_VERSION}, scripts/local_llm_tools.jinja, "
             f"reasoning budget {script.REASONING_BUDGET}")
    return {
        "local-llm": f"{llama}, {model}",
        "local-llm-anthropic": f"{llama} /v1/messages, {model}",
        "local-llm-responses": f"{llama} /v1/responses, {model}",
        "local-llm-tools": f"llama_cpp.server (llama-cpp-python {script.LLAMA_CPP_PYTHON_VERSION}), {model}",
        "local-llm-think": f"{tools} /v1/chat/completions, {model}",
        "local-llm-think-anthropic": f"{tools} /v1/messages, {model}",
        "local-llm-think-responses": f"{tools} /v1/responses, {model}",
        "local-llm-gemini": f"LiteLLM {script.LITELLM_VERSION} proxy (google generateContent adapter) in front of "
                            f"{tools} /v1/chat/completions, {model}",
    }


_SERVERS = local_servers()


@add_redaction
def _stamp_server(interaction: dict[str, Any]) -> None:
    meta = interaction.get("meta") or {}
    server = _SERVERS.get(str(meta.get("provider")))
    if server is not None:
        interaction["meta"] = {**meta, "server": server}


#: The tools server generates ~15-50 tokens/s on a loaded 2-core machine and the base model never ends a turn,
#: so the reasoning verifier's max_tokens 2048 runs past reqllm's default 120 s read timeout (measured: three
#: attempts cancelled at 120 s each, 1,600-2,100 tokens generated). The timeout is a client option, not part
#: of the recorded request, so replay is unchanged.
SLOW_SERVER_TIMEOUT = 600.0


@pytest.fixture
def verify_capability(verify_capability: Callable[..., Any]) -> Callable[..., Any]:
    """The plugin's ``verify_capability``, with a longer timeout for the repository's loopback servers."""

    def run(case: CapabilityCase, **opts: Any) -> Any:
        if case.provider in _SERVERS:
            opts.setdefault("timeout", SLOW_SERVER_TIMEOUT)
        return verify_capability(case, **opts)

    return run
