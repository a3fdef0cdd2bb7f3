"""Reading one uploaded file from a multipart body with the size limit enforced while it streams in.

FastAPI's `UploadFile` parameter would only run after the whole body had been received and spooled;
counting bytes as the ASGI server hands them over stops an oversized upload at the limit instead.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from servicekit.errors import BadRequest, PayloadTooLarge, Unprocessable, UnsupportedMediaType
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.types import Message

from ..domain.content_types import base_type
from ..service_layer import Upload

FILE_FIELD = "file"
# Boundaries and part headers around the file; anything beyond the file limit plus this is refused.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
_READ_CHUNK = 1024 * 1024

OPENAPI_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FILE_FIELD],
                    "properties": {
                        FILE_FIELD: {
                            "type": "string",
                            "format": "binary",
                            "description": "a PDF, HTML or UTF-8 plain-text document",
                        },
                    },
                }
            }
        },
    }
}


def _too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The file is larger than the {max_bytes / (1024 * 1024):g} MB limit.", max_bytes=max_bytes
    )


async def read_upload(request: Request, max_bytes: int) -> Upload:
    if base_type(request.headers.get("content-type")) != "multipart/form-data":
        raise UnsupportedMediaType(f"Send the file as multipart/form-data in a field named {FILE_FIELD!r}.")
    body_limit = max_bytes + MULTIPART_OVERHEAD_BYTES
    declared_length = request.headers.get("content-length", "")
    if declared_length.isdigit() and int(declared_length) > body_limit:
        raise _too_large(max_bytes)
    received = 0

    async def receive_within_limit() -> Message:
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > body_limit:
                raise _too_large(max_bytes)
        return message

    limited = Request(request.scope, receive_within_limit)
    try:
        async with limited.form(max_files=1, max_fields=10) as form:
            file = form.get(FILE_FIELD)
            if not isinstance(file, UploadFile):
                raise Unprocessable(
                    f"The multipart body has no file in a field named {FILE_FIELD!r}.",
                    errors=[{"loc": ["body", FILE_FIELD], "msg": "file required", "type": "missing"}],
                )
            data = await _read_within(file, max_bytes)
            return Upload(filename=file.filename, declared_type=file.content_type, data=data)
    except HTTPException as exc:
        # Starlette's answer to a malformed multipart body or one with several files.
        raise BadRequest(f"The multipart body cannot be read: {exc.detail}") from exc


async def _read_within(file: UploadFile, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await file.read(_READ_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    if not size:
        raise Unprocessable("The uploaded file is empty.")
    return b"".join(chunks)
