"""Reading ingest request bodies: size-capped, gzip or deflate (Content-Encoding) aware, JSON-decoded."""

from __future__ import annotations

import zlib
from typing import Any

from fastapi import Request

from portal_api.core.transactions import check_no_transaction
from portal_api.errors import PortalError
from portal_api.protection.json_limits import InvalidJson, decode_json


class PayloadTooLarge(PortalError):
    status, code, message = 413, "payload_too_large", "The request body is too large"


class InvalidPayload(PortalError):
    status, code, message = 400, "invalid_json", "The request body is not valid JSON"


async def read_json_body(request: Request, max_bytes: int) -> Any:
    """The decoded JSON body. Call before the request's first database statement (a slow client would
    otherwise hold the transaction open while it trickles the body in)."""
    check_no_transaction("reading the request body")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"The request body is larger than {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"The request body is larger than {max_bytes} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        raw = _decompress(raw, encoding, max_bytes)
    elif encoding not in ("", "identity"):
        raise PortalError(
            f"Content-Encoding {encoding!r} is not supported (use gzip)", code="unsupported_encoding"
        )
    if not raw.strip():
        raise InvalidPayload("The request body is empty")
    try:
        # Each event's depth is judged on its own (reject_unusable); a body too deep to decode is refused.
        return decode_json(raw, check_depth=False)
    except InvalidJson as exc:
        raise InvalidPayload(exc.message) from None


def _decompress(raw: bytes, encoding: str, max_bytes: int) -> bytes:
    # wbits 16+MAX for gzip, 32+MAX lets zlib detect zlib or gzip headers for "deflate".
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding != "deflate" else 32 + zlib.MAX_WBITS)
    try:
        out = decoder.decompress(raw, max_bytes + 1)
        if len(out) > max_bytes or decoder.unconsumed_tail:
            raise PayloadTooLarge(f"The decompressed body is larger than {max_bytes} bytes")
        out += decoder.flush()
    except zlib.error as exc:
        raise InvalidPayload(f"The body is not valid {encoding} data: {exc}") from None
    if len(out) > max_bytes:
        raise PayloadTooLarge(f"The decompressed body is larger than {max_bytes} bytes")
    return out
