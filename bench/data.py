"""Where the staged public data sets are, and a clear error when they are not there."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class MissingData(Exception):
    """A staged data set the benchmark needs is absent."""


def shared_data_dir() -> Path:
    """Return $EVIDENT_SHARED_DATA, or ../shared/data beside the repository."""
    return Path(os.environ.get("EVIDENT_SHARED_DATA", REPO.parent / "shared" / "data"))


def require(relative: str) -> Path:
    """Return a path inside the shared data folder, or raise MissingData saying what to do."""
    root = shared_data_dir()
    path = root / relative
    if not path.exists():
        raise MissingData(
            f"benchmark data not found: {path} is missing. Stage the public data sets in "
            f"../shared/data (see ../shared/data/SOURCES.md) or set EVIDENT_SHARED_DATA to "
            "the folder that holds them"
        )
    return path
