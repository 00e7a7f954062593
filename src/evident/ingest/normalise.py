"""Text normalisation shared by every reader, so ids are stable across formats."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_BLANKS = re.compile(r"\n{3,}")


def normalise_text(text: str) -> str:
    """Return NFC text with unified line ends, single spaces and at most one blank line."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u00ad", "")  # soft hyphens break word matching
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def content_id(text: str, length: int = 20) -> str:
    """Return the id of a piece of normalised content (a sha256 prefix)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]
