"""Documents: list, upload (ingested in the background) and job status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request

from evident.api.deps import AppDep, UserDep
from evident.api.schemas import ERRORS, DocumentInfo, DocumentList, JobPublic
from evident.api.uploads import UPLOAD_BODY, read_upload
from evident.errors import PermissionDenied
from evident.review.records import Role

router = APIRouter(tags=["documents"], responses=ERRORS)


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
    openapi_extra=UPLOAD_BODY,
)  # fmt: skip
async def upload_document(
    request: Request,
    background: BackgroundTasks,
    app: AppDep,
    user: UserDep,
) -> JobPublic:
    """Upload a document (authors and up) as multipart/form-data in a field named "file".
    It is kept under the library's uploads/ folder and ingested in the background; poll the
    returned job for the ingest report. The body is read only after the caller is known to
    be allowed, and reading stops with 413 as soon as it passes api.max_upload_mb."""
    if not user.role.at_least(Role.AUTHOR):
        raise PermissionDenied(
            f"{user.name} ({user.role.value}) cannot add documents; it needs the author "
            "role or higher"
        )
    name, data, _ = await read_upload(request, app.settings.api.max_upload_mb)
    job = app.accept_upload(name, data, user)
    background.add_task(app.run_job, job.job_id)
    return JobPublic.of(job)


@router.post("/jobs/{job_id}/retry", status_code=202)
def retry_job(job_id: str, background: BackgroundTasks, app: AppDep, user: UserDep) -> JobPublic:
    """Run a failed ingest job again (authors and up), e.g. one a server restart
    interrupted; the uploaded file was kept. Poll the job for the new report."""
    job = app.retry_job(job_id, user)
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
