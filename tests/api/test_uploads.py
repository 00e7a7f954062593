"""Document uploads: limits, types, background ingest jobs and their reports."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from api_helpers import auth, call, error
from fastapi.testclient import TestClient

from evident.api import create_api
from evident.app import App

LEAFLET = b"Gout leaflet\n\nA gout flare makes the big toe hot, red and swollen. " * 3


def upload(client: TestClient, token: str, name: str, data: bytes):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/documents",
        headers=auth(token),
        files={"file": (name, data, "application/octet-stream")},
    )


def nothing_stored(lib: App, documents: int) -> None:
    uploads = lib.settings.library / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())
    assert lib.store.count_documents() == documents
    assert lib.store.conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 0


def test_an_upload_is_ingested_in_the_background(
    client: TestClient, lib: App, tokens: dict[str, str]
) -> None:
    response = upload(client, tokens["ann"], "gout leaflet.txt", LEAFLET)

    assert response.status_code == 202
    queued = response.json()
    assert queued["status"] == "queued" and queued["filename"] == "gout_leaflet.txt"
    job = call(client, "GET", f"/jobs/{queued['job_id']}", tokens["ann"]).json()
    assert job["status"] == "done" and job["error"] == ""
    assert (job["report"]["added"], job["report"]["failed"]) == (1, 0)
    assert job["report"]["results"][0]["title"] == "Gout leaflet"
    stored = list((lib.settings.library / "uploads").iterdir())
    assert [p.read_bytes() for p in stored] == [LEAFLET]
    assert lib.store.count_documents() == 4
    hits = call(
        client, "GET", "/search", tokens["ann"], params={"q": "big toe hot red swollen"}
    ).json()
    assert "Gout leaflet" in [h["title"] for h in hits["hits"]]


def test_a_too_large_upload_is_refused_and_nothing_is_stored(
    client: TestClient, lib: App, tokens: dict[str, str]
) -> None:
    lib.settings.api.max_upload_mb = 0.001

    response = upload(client, tokens["ann"], "big.txt", b"x" * 1001)

    assert response.status_code == 413
    assert response.json() == error(
        413,
        "the upload 'big.txt' is over the 0.001 MB limit; split the file or raise "
        "api.max_upload_mb (EVIDENT_API__MAX_UPLOAD_MB)",
    )
    nothing_stored(lib, 3)


def test_an_unsupported_type_is_refused_with_415(
    client: TestClient, lib: App, tokens: dict[str, str]
) -> None:
    response = upload(client, tokens["ann"], "scan.tiff", b"II*\x00binary")

    assert response.status_code == 415
    body = response.json()
    assert body["error"].startswith("scan.tiff: no reader for '.tiff' files; supported: ")
    assert body["error"].endswith("Convert the file to Markdown or PDF and ingest again.")
    nothing_stored(lib, 3)


def test_a_corrupt_pdf_becomes_a_failed_job_with_the_readers_message(
    client: TestClient, lib: App, tokens: dict[str, str]
) -> None:
    response = upload(client, tokens["ann"], "broken.pdf", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog")

    assert response.status_code == 202
    job = call(client, "GET", f"/jobs/{response.json()['job_id']}", tokens["ann"]).json()
    assert job["status"] == "failed"
    assert job["report"]["failed"] == 1
    assert "broken.pdf: not a readable PDF" in job["error"]
    assert job["report"]["results"][0]["reason"] == job["error"]
    # The original is kept, and the failure is in the ingest ledger.
    assert len(list((lib.settings.library / "uploads").iterdir())) == 1
    assert "not a readable PDF" in lib.store.failed_sources()[0][1]


def test_a_duplicate_upload_reports_duplicate(
    client: TestClient, lib: App, tokens: dict[str, str], sample_docs: Path
) -> None:
    data = (sample_docs / "gout-flare-guideline.md").read_bytes()

    response = upload(client, tokens["ann"], "copy.md", data)

    job = call(client, "GET", f"/jobs/{response.json()['job_id']}", tokens["ann"]).json()
    assert job["status"] == "done"
    assert (job["report"]["duplicate"], job["report"]["added"]) == (1, 0)
    result = job["report"]["results"][0]
    assert result["status"] == "duplicate"
    assert (
        result["reason"] == f"same content as {sample_docs.resolve() / 'gout-flare-guideline.md'}"
    )
    assert lib.store.count_documents() == 3


def test_readers_cannot_upload_or_see_jobs(
    client: TestClient, lib: App, tokens: dict[str, str]
) -> None:
    response = upload(client, tokens["rita"], "note.txt", LEAFLET)

    assert response.status_code == 403
    assert response.json() == error(
        403, "rita (reader) cannot add documents; it needs the author role or higher"
    )
    nothing_stored(lib, 3)
    assert call(client, "GET", "/jobs/whatever", tokens["rita"]).status_code == 403
    missing = call(client, "GET", "/jobs/whatever", tokens["ann"])
    assert missing.json() == error(
        404, "no ingest job 'whatever'; the id is returned by the upload"
    )


def test_an_empty_upload_is_refused(client: TestClient, lib: App, tokens: dict[str, str]) -> None:
    response = upload(client, tokens["ann"], "empty.md", b"")

    assert response.json() == error(400, "the upload 'empty.md' is empty; nothing to ingest")
    nothing_stored(lib, 3)


# -- the body is read only after the caller is authorised, and never past the limit --------

MB = 1_000_000


def post_streamed(
    lib: App, path: str, headers: dict[str, str], chunks: int
) -> tuple[int, dict[str, object], int]:
    """POST `chunks` megabytes to the real ASGI app; return status, JSON body, chunks read."""
    api = create_api(lib)
    boundary = "evident-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    read = 0

    async def receive() -> dict[str, object]:
        nonlocal read
        read += 1
        body = head if read == 1 else b"x" * MB
        return {"type": "http.request", "body": body, "more_body": read <= chunks}

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    all_headers = {"content-type": f"multipart/form-data; boundary={boundary}", **headers}
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in all_headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    asyncio.run(api(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(bytes(m.get("body", b"")) for m in sent if m["type"] == "http.response.body")  # type: ignore[arg-type]
    return int(start["status"]), json.loads(body) if body.startswith(b"{") else {}, read  # type: ignore[call-overload]


def test_an_unauthenticated_upload_is_refused_before_its_body_is_read(lib: App) -> None:
    lib.settings.api.public = False
    status, body, read = post_streamed(
        lib, "/api/v1/documents", {"content-length": str(50 * MB)}, chunks=50
    )

    assert status == 401
    assert body["error"] == (
        "authentication required: send 'Authorization: Bearer TOKEN' (an admin creates "
        "tokens with `evident users token NAME`)"
    )
    assert read == 0
    nothing_stored(lib, 3)


def test_a_reader_s_upload_is_refused_before_its_body_is_read(
    lib: App, tokens: dict[str, str]
) -> None:
    status, body, read = post_streamed(
        lib, "/api/v1/documents", auth(tokens["rita"]) | {"content-length": str(50 * MB)}, 50
    )

    assert status == 403
    assert body["error"] == "rita (reader) cannot add documents; it needs the author role or higher"
    assert read == 0


def test_a_declared_size_over_the_limit_is_refused_before_the_body_is_read(
    lib: App, tokens: dict[str, str]
) -> None:
    lib.settings.api.max_upload_mb = 5
    status, body, read = post_streamed(
        lib, "/api/v1/documents", auth(tokens["ann"]) | {"content-length": str(50 * MB)}, 50
    )

    assert status == 413
    assert body == error(
        413,
        "the upload is 50.0 MB, over the 5 MB limit; split the file or raise "
        "api.max_upload_mb (EVIDENT_API__MAX_UPLOAD_MB)",
    )
    assert read == 0
    nothing_stored(lib, 3)


def test_a_streamed_body_without_a_length_stops_being_read_once_over_the_limit(
    lib: App, tokens: dict[str, str]
) -> None:
    lib.settings.api.max_upload_mb = 5
    status, body, read = post_streamed(lib, "/api/v1/documents", auth(tokens["ann"]), 50)

    assert status == 413
    assert body == error(
        413,
        "the upload is over the 5 MB limit; split the file or raise "
        "api.max_upload_mb (EVIDENT_API__MAX_UPLOAD_MB)",
    )
    assert read <= 7  # the multipart head, then 5 MB and one more
    nothing_stored(lib, 3)


def test_the_web_upload_checks_the_sign_in_before_reading_the_body(lib: App) -> None:
    status, _, read = post_streamed(lib, "/sources", {"content-length": str(50 * MB)}, 50)

    assert status in (303, 401)
    assert read == 0
    nothing_stored(lib, 3)
