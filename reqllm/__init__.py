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
    astream_object,
    astream_text,
    embed,
    generate_object,
    generate_text,
    stream_object,
    stream_text,
)
from ._object_stream import AsyncObjectStreamResponse, ObjectStreamResponse
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
    UsageLimit,
)
from ._version import __version__
from .errors import ReqLLMError, UsageLimitExceeded
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

__all__ = [
    "AsyncObjectStreamResponse",
    "AsyncStreamResponse",
    "EmbedResponse",
    "ImagePart",
    "Message",
    "Model",
    "ObjectResponse",
    "ObjectStreamResponse",
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
    "UsageLimit",
    "UsageLimitExceeded",
    "__version__",
    "aembed",
    "agenerate_object",
    "agenerate_text",
    "astream_object",
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
    "stream_object",
    "stream_text",
    "telemetry",
]
