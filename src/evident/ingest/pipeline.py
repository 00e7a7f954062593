"""Batch ingest: files and folders in, documents and passages out, nothing lost silently."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from evident.errors import EvidentError, InvalidInput, ParseFailure
from evident.ingest.chunk import chunk_document
from evident.ingest.normalise import content_id
from evident.ingest.readers import reader_for
from evident.models import Document, IngestReport, IngestResult, IngestStatus, ParsedDocument
from evident.protocols import DocumentStore

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


def iter_files(paths: Iterable[Path]) -> Iterator[tuple[Path, str | None]]:
    """Yield (file, refusal) for the files under the given paths in a stable order.

    Hidden files are skipped. A path that does not exist is yielded as is so the batch can
    record it as failed. A symbolic link inside a folder is followed only when it resolves
    to a file inside that folder; one that leads outside, loops or dangles is yielded with
    the reason it is refused, so the batch records it instead of dropping it (a link to
    /etc/passwd in an uploaded folder must never become a document).
    """
    for path in paths:
        if not path.is_dir():
            yield path, None
            continue
        for child in sorted(path.rglob("*")):
            if any(p.startswith(".") for p in child.relative_to(path).parts):
                continue
            if child.is_symlink():
                refusal = _link_refusal(path, child)
                if refusal is not None:
                    yield child, refusal
                    continue
                # Inside the folder: a linked folder's files are found by their real path.
            if child.is_file():
                yield child, None


def _link_refusal(root: Path, link: Path) -> str | None:
    """Say why a symbolic link under root may not be followed, or None if it may."""
    try:
        link.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return (
                f"{link}: a symbolic link that loops ({os.readlink(link)}); "
                "fix or remove the link and ingest again"
            )
        return (
            f"{link}: a symbolic link to {os.readlink(link)}, which does not exist; "
            "fix or remove the link and ingest again"
        )
    target = Path(os.path.realpath(link))
    if not target.is_relative_to(root.resolve()):
        return (
            f"{link}: a symbolic link to {target}, outside the folder {root} being ingested; "
            "refused. Copy the file into the folder to ingest it"
        )
    return None


def _file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def ingest_path(
    store: DocumentStore,
    paths: Iterable[Path],
    *,
    max_file_mb: float = 25.0,
    passage_chars: int = 900,
    passage_max_chars: int = 1400,
    on_file: Progress | None = None,
    force: bool = False,
) -> IngestReport:
    """Add files and folders to the library.

    Each document is written in its own transaction, and a file is marked done only
    after all its documents are in, so a killed ingest leaves a consistent library and
    a rerun picks up where it stopped. Files already done are skipped; failed ones retried.

    Args:
        store: the library store.
        paths: files or folders.
        max_file_mb: files larger than this are refused.
        on_file: called with each file's path as it is processed (for progress bars).
        force: read files again even when they have not changed since they were done,
            so an upgraded reader's reading replaces the earlier one. A document whose
            text comes out the same stays as it is (its id is a hash of the text).

    Returns:
        One result per document (or per file, when the file failed or was skipped).
    """
    results: list[IngestResult] = []
    for path, refusal in iter_files(paths):
        if on_file:
            on_file(str(path))
        if refusal is not None:
            # The link itself is the origin: resolving it would name the file it points to.
            results.append(_failed(store, path, refusal, origin=str(path.absolute())))
            continue
        try:
            results.extend(
                _ingest_file(store, path, max_file_mb, passage_chars, passage_max_chars, force)
            )
        except EvidentError as exc:
            results.append(_failed(store, path, str(exc)))
        except Exception as exc:  # batch boundary: one bad file never stops the batch
            log.exception("unexpected error while ingesting %s", path)
            results.append(_failed(store, path, f"{path}: unexpected error: {exc!r}"))
    return IngestReport(results=tuple(results))


def _failed(
    store: DocumentStore, path: Path, reason: str, origin: str | None = None
) -> IngestResult:
    if origin is None:
        origin = str(path.resolve()) if path.exists() else str(path)
    store.record_source(origin, content_hash="", status="failed", reason=reason)
    return IngestResult(origin=origin, status=IngestStatus.FAILED, reason=reason)


def _ingest_file(
    store: DocumentStore,
    path: Path,
    max_file_mb: float,
    passage_chars: int,
    max_chars: int,
    force: bool = False,
) -> list[IngestResult]:
    if not path.exists():
        raise InvalidInput(f"{path}: no such file or folder; check the path and try again")
    origin = str(path.resolve())
    size_mb = path.stat().st_size / 1_000_000
    if size_mb > max_file_mb:
        raise InvalidInput(
            f"{path}: the file is {size_mb:.1f} MB, over the {max_file_mb:g} MB limit; "
            "split it or raise ingest.max_file_mb (EVIDENT_INGEST__MAX_FILE_MB)"
        )
    data = path.read_bytes()
    if not data.strip():
        raise ParseFailure(f"{path}: the file is empty; nothing to ingest")
    digest = _file_hash(data)
    record = store.source_record(origin)
    done = record is not None and record["status"] == "done" and record["content_hash"] == digest
    if done and not force:
        return [IngestResult(origin=origin, status=IngestStatus.UNCHANGED)]

    reader = reader_for(path, data[:4096])
    parsed = list(reader.read(path))
    if not parsed:
        raise ParseFailure(f"{path}: the {reader.name} reader found no documents in the file")

    previous = set(_json_list(record["document_ids"])) if record is not None else set()
    results: list[IngestResult] = []
    kept: list[str] = []
    for number, doc in enumerate(parsed):
        item_origin = origin if len(parsed) == 1 else f"{origin}#{number + 1}"
        results.append(
            _add_parsed(store, doc, item_origin, previous, kept, passage_chars, max_chars)
        )
    # A changed file replaces what it held before: documents it no longer contains go.
    for stale in previous - set(kept):
        if store.has_document(stale):
            store.remove_document(stale)
    store.record_source(origin, digest, "done", kept)
    return results


def _add_parsed(
    store: DocumentStore,
    parsed: ParsedDocument,
    origin: str,
    previous: set[str],
    kept: list[str],
    passage_chars: int,
    max_chars: int,
) -> IngestResult:
    document_id = content_id(parsed.text)
    if store.has_document(document_id):
        existing = store.get_document(document_id)
        # Same origin without a ledger entry: a killed run stored it before marking the
        # file done. It is this file's own document, not a duplicate of another file.
        if document_id in previous or existing.origin == origin:
            kept.append(document_id)
            return IngestResult(origin, IngestStatus.UNCHANGED, document_id, parsed.meta.title)
        reason = f"same content as {existing.origin}"
        return IngestResult(origin, IngestStatus.DUPLICATE, document_id, parsed.meta.title, reason)
    chunks = chunk_document(parsed, document_id, passage_chars, max_chars)
    if not chunks:
        raise ParseFailure(f"{origin}: no text could be cut into passages")
    doc = Document(
        document_id=document_id,
        meta=parsed.meta,
        text=parsed.text,
        format=parsed.format,
        origin=origin,
        ingested_at=datetime.now(UTC),
    )
    store.add_document(doc, chunks)
    kept.append(document_id)
    return IngestResult(
        origin, IngestStatus.ADDED, document_id, parsed.meta.title, chunks=len(chunks)
    )


def _json_list(raw: str) -> list[str]:
    value = json.loads(raw or "[]")
    return [str(v) for v in value]
