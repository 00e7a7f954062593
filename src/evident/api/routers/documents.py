"""Documents: list, upload (ingested in the background) and job status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request, UploadFile

from evident.api.deps import AppDep, UserDep
from evident.api.errors import PayloadTooLarge
from evident.api.schemas import ERRORS, DocumentInfo, DocumentList, JobPublic
from evident.errors import PermissionDenied
from evident.review.records import Role

router = APIRouter(tags=["documents"], responses=ERRORS)

_CHUNK = 1 << 20
# Multipart framing around the file: allowed on top of the limit before refusing early.
_FRAMING = 64 * 1024


@router.get("/documents")
def list_documents(
    app: AppDep,
    user: UserDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DocumentList:
    """List the library's documents, newest first."""
    rows = app.store.list_documents(limit=limit, offset=offset)
    return DocumentList(
        items=[
            DocumentInfo(
                document_id=document_id,
                title=meta.title,
                kind=meta.kind.value,
                year=meta.year,
                source=meta.source,
                passages=n,
            )
            for document_id, meta, n in rows
        ],
        count=app.store.count_documents(),
        library_version=app.store.library_version(),
    )


@router.post(
    "/documents",
    status_code=202,
    responses={413: ERRORS[400] | {"description": "Over api.max_upload_mb"},
               415: ERRORS[400] | {"description": "No reader for this file type"}},
)  # fmt: skip
async def upload_document(
    request: Request,
    file: UploadFile,
    background: BackgroundTasks,
    app: AppDep,
    user: UserDep,
) -> JobPublic:
    """Upload a document (authors and up). It is kept under the library's uploads/ folder
    and ingested in the background; poll the returned job for the ingest report."""
    if not user.role.at_least(Role.AUTHOR):
        raise PermissionDenied(
            f"{user.name} ({user.role.value}) cannot add documents; it needs the author "
            "role or higher"
        )
    limit_mb = app.settings.api.max_upload_mb
    limit = int(limit_mb * 1_000_000)
    declared = int(request.headers.get("content-length") or 0)
    too_large = PayloadTooLarge(
        f"the upload {file.filename!r} is over the {limit_mb:g} MB limit; split the file or "
        "raise api.max_upload_mb (EVIDENT_API__MAX_UPLOAD_MB)"
    )
    if declared > limit + _FRAMING:
        raise too_large
    parts: list[bytes] = []
    size = 0
    while chunk := await file.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise too_large
        parts.append(chunk)
    job = app.accept_upload(file.filename or "upload", b"".join(parts), user)
    background.add_task(app.run_job, job.job_id)
    return JobPublic.of(job)


@router.get("/jobs/{job_id}")
def get_job(job_id: str, app: AppDep, user: UserDep) -> JobPublic:
    """Return an ingest job: queued, running, done or failed, with the ingest report."""
    if not user.role.at_least(Role.AUTHOR):
        raise PermissionDenied(
            f"{user.name} ({user.role.value}) cannot see ingest jobs; it needs the author "
            "role or higher"
        )
    return JobPublic.of(app.articles.get_job(job_id))
