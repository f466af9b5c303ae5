"""Reading response bodies within bounds: decoded size, decompression pace and the call's deadline.

A body is read from the transport's raw chunks and decoded here, never all at once: gzip and
deflate are inflated at most ``PIECE`` bytes at a time (``zlib``'s ``max_length``), so a small
compressed body that expands enormously costs no more memory than the limit it is stopped at.
Other content-encodings (br, zstd) go through httpx's decoders, chunk by chunk, with the same
limit. ``BodyReader`` is pure (bytes in, bytes out); ``read_sync``/``read_async``/``iter_sync``/
``iter_async`` drive it over an ``httpx.Response``.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncGenerator, Callable, Generator, Iterator

import httpx

from .errors import ResponseTooLargeError

__all__ = ["PIECE", "BodyReader", "iter_async", "iter_sync", "read_async", "read_sync"]

#: The most bytes one inflate step produces.
PIECE = 1024 * 1024
_ZLIB = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}


class BodyReader:
    """Decodes raw body bytes (identity, gzip, deflate) and counts them against ``limit``."""

    __slots__ = ("_inflate", "_raw_deflate", "limit", "provider", "total")

    def __init__(self, encoding: str, limit: int, provider: str | None = None) -> None:
        self.limit = limit
        self.provider = provider
        self.total = 0
        wbits = _ZLIB.get(encoding)
        self._inflate = zlib.decompressobj(wbits) if wbits is not None else None
        #: deflate is sometimes sent without its zlib header: retried raw on the first failure.
        self._raw_deflate = encoding == "deflate"

    @staticmethod
    def handles(encoding: str) -> bool:
        """True for the encodings this reader decodes itself (identity, gzip, deflate)."""
        return encoding in ("", "identity") or encoding in _ZLIB

    def count(self, piece: bytes) -> bytes:
        """``piece``, once it fits in what is left of the limit; ResponseTooLargeError otherwise."""
        self.total += len(piece)
        if self.total > self.limit:
            raise self.exceeded()
        return piece

    def exceeded(self) -> ResponseTooLargeError:
        """The error of a body past the limit."""
        return ResponseTooLargeError(
            f"the response body is larger than max_response_bytes={self.limit} bytes once decoded; "
            f"pass max_response_bytes= to allow more", limit=self.limit, provider=self.provider)

    def feed(self, raw: bytes) -> Iterator[bytes]:
        """The decoded pieces of one raw chunk (each at most ``PIECE`` bytes when inflating)."""
        inflate = self._inflate
        if inflate is None:
            if raw:
                yield self.count(raw)
            return
        try:
            data = inflate.decompress(raw, PIECE)
        except zlib.error:
            if not self._raw_deflate:
                raise httpx.DecodingError("the gzip body is corrupt") from None
            self._raw_deflate = False
            inflate = self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
            data = inflate.decompress(raw, PIECE)
        self._raw_deflate = False
        if data:
            yield self.count(data)
        while inflate.unconsumed_tail:
            data = inflate.decompress(inflate.unconsumed_tail, PIECE)
            if data:
                yield self.count(data)

    def close(self) -> Iterator[bytes]:
        """What the decoder still holds at the end of the body."""
        if self._inflate is not None:
            data = self._inflate.flush(PIECE)
            if data:
                yield self.count(data)


def _encoding(response: httpx.Response) -> str:
    return str(response.headers.get("content-encoding", "")).strip().lower()


def iter_sync(response: httpx.Response, limit: int, provider: str | None = None,
              check: Callable[[], None] | None = None) -> Generator[bytes, None, None]:
    """The decoded body in pieces, within ``limit``; ``check`` runs after every network read."""
    encoding = _encoding(response)
    reader = BodyReader(encoding, limit, provider)
    if hasattr(response, "_content"):  # already read (e.g. a Response(content=...) of a mock transport)
        yield reader.count(response.content)
        return
    if encoding in ("", "identity"):  # the usual case, kept lean: it runs once per network read
        total = 0
        for raw in response.iter_raw():
            if check is not None:
                check()
            total += len(raw)
            if total > limit:
                raise reader.exceeded()
            yield raw
        return
    if not reader.handles(encoding):
        for piece in response.iter_bytes():
            if check is not None:
                check()
            yield reader.count(piece)
        return
    for raw in response.iter_raw():
        if check is not None:
            check()
        yield from reader.feed(raw)
    yield from reader.close()


async def iter_async(response: httpx.Response, limit: int, provider: str | None = None,
                     check: Callable[[], None] | None = None) -> AsyncGenerator[bytes, None]:
    """Async twin of ``iter_sync``."""
    encoding = _encoding(response)
    reader = BodyReader(encoding, limit, provider)
    if hasattr(response, "_content"):
        yield reader.count(response.content)
        return
    if encoding in ("", "identity"):
        total = 0
        async for raw in response.aiter_raw():
            if check is not None:
                check()
            total += len(raw)
            if total > limit:
                raise reader.exceeded()
            yield raw
        return
    if not reader.handles(encoding):
        async for piece in response.aiter_bytes():
            if check is not None:
                check()
            yield reader.count(piece)
        return
    async for raw in response.aiter_raw():
        if check is not None:
            check()
        for piece in reader.feed(raw):
            yield piece
    for piece in reader.close():
        yield piece


def _keep(response: httpx.Response, pieces: list[bytes]) -> bytes:
    content = pieces[0] if len(pieces) == 1 else b"".join(pieces)
    response._content = content  # what httpx's own read() stores: .content and .text work as usual
    return content


def read_sync(response: httpx.Response, limit: int, provider: str | None = None,
              check: Callable[[], None] | None = None) -> bytes:
    """Read the whole body within ``limit`` (it then is ``response.content``)."""
    if hasattr(response, "_content"):
        return BodyReader("", limit, provider).count(response.content)
    return _keep(response, list(iter_sync(response, limit, provider, check)))


async def read_async(response: httpx.Response, limit: int, provider: str | None = None,
                     check: Callable[[], None] | None = None) -> bytes:
    """Async twin of ``read_sync``."""
    if hasattr(response, "_content"):
        return BodyReader("", limit, provider).count(response.content)
    return _keep(response, [piece async for piece in iter_async(response, limit, provider, check)])

