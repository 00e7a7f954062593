"""One reader per format; each registers under the `evident.readers` entry point."""

from __future__ import annotations

from pathlib import Path

from evident.errors import UnsupportedFormat
from evident.protocols import Reader
from evident.registry import READERS, backends


def all_readers() -> list[Reader]:
    """Return reader instances, most specific first (lower `priority` wins)."""
    readers: list[Reader] = [cls() for cls in backends(READERS).values()]
    return sorted(readers, key=lambda r: (getattr(r, "priority", 100), r.name))


def reader_for(path: Path, head: bytes) -> Reader:
    """Pick the reader for a file from its suffix and first bytes."""
    for reader in all_readers():
        if reader.accepts(path, head):
            return reader
    suffixes = sorted({s for r in all_readers() for s in getattr(r, "suffixes", ())})
    raise UnsupportedFormat(
        f"{path}: no reader for '{path.suffix or path.name}' files; "
        f"supported: {' '.join(suffixes)}. Convert the file to Markdown or PDF and ingest again."
    )
