"""Reading an upload's body within api.max_upload_mb, only after the caller is authorised.

A route that declares `file: UploadFile` has its whole body parsed (and spooled to disk)
before its dependencies run, so an anonymous client could make the server store gigabytes
before being told 401. The upload routes therefore declare no body parameters: they check
the caller first, then call read_upload, which refuses a declared Content-Length over the
limit before reading a byte and aborts with 413 as soon as the streamed body passes it.
"""

from __future__ import annotations

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.types import Message

from evident.api.errors import PayloadTooLarge
from evident.errors import InvalidInput

# Multipart framing around the file: allowed on top of the limit before refusing early.
FRAMING = 64 * 1024

# The request body for the OpenAPI page, which cannot see a form the route reads itself.
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


def _too_large(limit_mb: float, what: str = "the upload") -> PayloadTooLarge:
    return PayloadTooLarge(
        f"{what} is over the {limit_mb:g} MB limit; split the file or raise "
        "api.max_upload_mb (EVIDENT_API__MAX_UPLOAD_MB)"
    )


def check_declared_size(request: Request, limit_mb: float) -> None:
    """Refuse a request whose Content-Length is over the limit, before reading its body.

    Raises:
        PayloadTooLarge: the declared length is over limit_mb plus the multipart framing.
    """
    declared = request.headers.get("content-length", "")
    limit = int(limit_mb * 1_000_000)
    if declared.isdigit() and int(declared) > limit + FRAMING:
        raise PayloadTooLarge(
            f"the upload is {int(declared) / 1_000_000:.1f} MB, over the {limit_mb:g} MB "
            "limit; split the file or raise api.max_upload_mb (EVIDENT_API__MAX_UPLOAD_MB)"
        )


async def read_upload(request: Request, limit_mb: float) -> tuple[str, bytes, FormData]:
    """Read a multipart upload's file (field "file") and the form's other fields.

    Call only after the caller is authorised. The body is streamed: once more than the
    limit (plus framing) has arrived, reading stops and PayloadTooLarge is raised.

    Returns:
        The file's name as sent, its bytes, and the form (for fields such as a CSRF token).

    Raises:
        PayloadTooLarge: the body or the file is over limit_mb.
        InvalidInput: the form has no file.
    """
    check_declared_size(request, limit_mb)
    limit = int(limit_mb * 1_000_000)
    received = 0
    receive = request.receive

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit + FRAMING:
                raise _too_large(limit_mb)
        return message

    form = await Request(request.scope, counted).form(max_files=1)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        await form.close()
        raise InvalidInput(
            "the request has no file; send it as multipart/form-data in a field named 'file'"
        )
    data = await upload.read(limit + 1)
    await form.close()
    name = upload.filename or "upload"
    if len(data) > limit:
        raise _too_large(limit_mb, f"the upload {name!r}")
    return name, data, form
