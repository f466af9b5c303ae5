"""reqllm: one API for every LLM provider.

    import reqllm
    reqllm.generate_text("anthropic:claude-3-5-haiku-20241022", "Hello!").text

Every public name is re-exported here from the private modules that define it.
"""

from . import errors, telemetry
from ._api import (
    aembed,
    agenerate_object,
    agenerate_text,
    astream_text,
    embed,
    generate_object,
    generate_text,
    stream_text,
)
from ._options import normalize_messages
from ._sse import ServerSentEvent, SSEDecoder
from ._streaming import AsyncStreamResponse, StreamResponse
from ._types import (
    EmbedResponse,
    ImagePart,
    Message,
    ObjectResponse,
    Response,
    StreamChunk,
    TextPart,
    ThinkingPart,
    Tool,
    ToolCall,
    Usage,
)
from .errors import ReqLLMError
from .providers import register_protocol
from .registry import (
    Model,
    Provider,
    model,
    models,
    providers,
    register_model,
    register_provider,
    reload,
)

__version__ = "0.1.0"

__all__ = [
    "AsyncStreamResponse",
    "EmbedResponse",
    "ImagePart",
    "Message",
    "Model",
    "ObjectResponse",
    "Provider",
    "ReqLLMError",
    "Response",
    "SSEDecoder",
    "ServerSentEvent",
    "StreamChunk",
    "StreamResponse",
    "TextPart",
    "ThinkingPart",
    "Tool",
    "ToolCall",
    "Usage",
    "__version__",
    "aembed",
    "agenerate_object",
    "agenerate_text",
    "astream_text",
    "embed",
    "errors",
    "generate_object",
    "generate_text",
    "model",
    "models",
    "normalize_messages",
    "providers",
    "register_model",
    "register_protocol",
    "register_provider",
    "reload",
    "stream_text",
    "telemetry",
]
