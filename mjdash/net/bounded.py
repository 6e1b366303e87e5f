"""Decode an HTTP body with a bound on the decoded size, counted while decoding.

httpx decodes a whole network chunk before a caller can count it: one 64 KiB chunk of a gzip
bomb is 64 MiB of zeros, and gzip inside gzip (`Content-Encoding: gzip, gzip`) is unbounded.
mjdash therefore reads the raw bytes and inflates them here, never producing more than the cap
(+1 byte to notice the overflow). Stacked encodings are refused outright: no real server sends
them, and each layer multiplies the ratio.
"""

from __future__ import annotations

import zlib

# What mjdash asks for (httpx would add br/zstd when those packages happen to be installed).
ACCEPT_ENCODING = "gzip, deflate"
_GZIP = ("gzip", "x-gzip")
_DEFLATE = ("deflate",)
# Compressed bytes allowed beyond the decoded cap: a stream that inflates to nothing (empty
# stored blocks) must not be read forever either.
RAW_SLACK = 64 * 1024
# Inflate in pieces of this size: one growing buffer the size of the cap per answer would leave
# the allocator's heap fragmented after a few bombs (the soak saw the RSS creep up).
STEP = 64 * 1024
# Past RATIO_FLOOR decoded bytes, an answer may not inflate more than MAX_RATIO times its size:
# JSON gzips 5-20x and images not at all, a bomb 1000x. Without this an image bomb would still
# be inflated to the 20 MiB image cap, and the heap keeps that high-water mark.
RATIO_FLOOR = 1024 * 1024
MAX_RATIO = 100


class DecodeRefused(Exception):
    """The body cannot be read safely; `str(e)` says why (a sentence for the user)."""


class DecodedTooLarge(DecodeRefused):
    """The decoded body passed the cap; reading stopped there."""


def encodings(header: str) -> list[str]:
    """The content codings applied, in order, without `identity`."""
    return [
        part.strip().lower()
        for part in header.split(",")
        if part.strip().lower() not in ("", "identity")
    ]


class BoundedDecoder:
    """Feed raw chunks with `feed`, then call `finish`; raises DecodeRefused / DecodedTooLarge."""

    def __init__(self, content_encoding: str, cap: int) -> None:
        codings = encodings(content_encoding)
        if len(codings) > 1:
            raise DecodeRefused(
                f"the answer is encoded {len(codings)} times ({', '.join(codings[:4])}): refused"
            )
        coding = codings[0] if codings else ""
        if coding and coding not in _GZIP + _DEFLATE:
            raise DecodeRefused(f"the answer uses an encoding mjdash does not read ({coding[:20]})")
        self.cap = cap
        self.size = 0
        self.raw = 0  # raw bytes received
        self._used = 0  # raw bytes inflated so far (a big chunk is inflated in steps)
        self._coding = coding
        self._inflate: zlib._Decompress | None = None  # type: ignore[name-defined]
        if coding in _GZIP:
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif coding in _DEFLATE:
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS)
        self._first = True
        self._parts: list[bytes] = []

    def feed(self, chunk: bytes) -> None:
        self.raw += len(chunk)
        if self.raw > self.cap + RAW_SLACK:
            self.drop()
            raise DecodedTooLarge("answer too large")
        if self._inflate is None:
            self._used = self.raw
            self._take(chunk)
            return
        data = chunk
        while data:
            room = min(self.cap - self.size + 1, STEP)
            try:
                out = self._inflate.decompress(data, room)
            except zlib.error:
                if self._first and self._coding in _DEFLATE:
                    # Some servers send raw deflate (no zlib header): try that once.
                    self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._first = False
                    continue
                self.drop()
                raise DecodeRefused("the compressed answer is corrupt") from None
            self._first = False
            self._used = self.raw - len(self._inflate.unconsumed_tail)
            self._take(out)
            if self._inflate.eof:
                return  # trailing bytes after the stream are ignored, as httpx does
            data = self._inflate.unconsumed_tail

    def drop(self) -> None:
        """Let go of what was decoded: an error's traceback keeps this object alive (its frame
        holds it), and it must not keep a megabyte with it."""
        self._parts = []
        self._inflate = None

    def finish(self) -> bytes:
        if self._inflate is not None:
            try:
                self._take(self._inflate.flush())
            except zlib.error:
                raise DecodeRefused("the compressed answer is corrupt") from None
        return b"".join(self._parts)

    def _take(self, out: bytes) -> None:
        self.size += len(out)
        if self.size > self.cap:
            self.drop()
            raise DecodedTooLarge("answer too large")
        if self.size > RATIO_FLOOR and self.size > self._used * MAX_RATIO:
            self.drop()
            raise DecodeRefused(
                f"the answer inflates over {MAX_RATIO} times its size (a compression bomb)"
            )
        if out:
            self._parts.append(out)
