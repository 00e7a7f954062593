"""Documents made the way the ingest pipeline makes them, for the store tests."""

from __future__ import annotations

from datetime import UTC, datetime

from evident.ingest.chunk import chunk_document
from evident.ingest.normalise import content_id
from evident.models import Chunk, Document, DocumentKind, DocumentMeta, ParsedDocument
from evident.models import SourceSection as Section

FULL_META = DocumentMeta(
    title="Synthetic guideline on gout flares",
    kind=DocumentKind.GUIDELINE,
    source="Test Society of Rheumatology",
    year=2021,
    authors=("Example A", "Sample B"),
    pmid="99999990",
    doi="10.0000/test.0001",
    url="https://example.org/gout",
    licence="CC-BY-4.0",
    grade="Strong recommendation; moderate certainty",
    conditions=("gout", "podagra"),
    kind_inferred=False,
    extra={"country": "Nowhere", "pages": 12, "reviewed": True},
)


def make_document(
    text: str, meta: DocumentMeta | None = None, origin: str = "/docs/a.md"
) -> tuple[Document, list[Chunk]]:
    """A document and its passages, made the way the ingest pipeline makes them."""
    meta = meta or DocumentMeta(title=text.split("\n", 1)[0])
    parsed = ParsedDocument(
        text=text, meta=meta, sections=(Section("", 0, len(text)),), format="markdown"
    )
    document_id = content_id(text)
    chunks = chunk_document(parsed, document_id, target_chars=80, max_chars=200)
    doc = Document(
        document_id=document_id,
        meta=meta,
        text=text,
        format="markdown",
        origin=origin,
        ingested_at=datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
    )
    return doc, chunks


TEXT_A = (
    "Gout flares are treated with colchicine, an NSAID or a corticosteroid. "
    "Treatment works best when started within 24 hours. "
    "Allopurinol is the first-line urate-lowering drug."
)
TEXT_B = "Eccentric calf loading reduced Achilles tendon pain more than waiting."
TEXT_C = "Plantar heel pain usually improves with stretching and supportive shoes."
