"""Which library a run answers from: --library if given, else the staged benchmark library.

The staged library (every passage in ../shared/data, embedded) is built and cached by
bench/library.py in a source checkout; evaluation reuses it rather than building its own.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from evident.app import App, build_app
from evident.config import Settings
from evident.errors import NotFound
from evident.eval.data import REPO
from evident.eval.runner import EvalContext


def staged_library(settings: Settings) -> tuple[App, dict[str, Any]]:
    """Open (building if needed) the cached library of all staged data via bench/library.py."""
    if not (REPO / "bench" / "library.py").exists():
        raise NotFound(
            "the staged benchmark library is built by bench/library.py, which is not in this "
            "installation; run from a source checkout or pass --library DIR with the staged "
            "data ingested (evident --library DIR ingest ../shared/data/...)"
        )
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from bench.library import open_library

    opened = open_library(settings.index, embed=settings.index.embedder != "none", log=_log)
    build = opened.build
    record = {
        "source": "bench/library.py (all staged data)",
        "directory": str(opened.directory),
        "key": build.get("key"),
        "inputs": build.get("inputs"),
    }
    return opened.app, record


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def make_context(settings: Settings, library: Path | None) -> EvalContext:
    """An EvalContext on the given library directory, or on the staged library."""
    if library is not None:
        return EvalContext(settings, describe_library=lambda: {"directory": str(library)})
    record: dict[str, Any] = {}

    def open_app() -> App:
        app, info = staged_library(settings)
        record.update(info)
        return app

    return EvalContext(settings, open_app=open_app, describe_library=lambda: record)


__all__ = ["build_app", "make_context", "staged_library"]
