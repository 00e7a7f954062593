"""Suites, the context they run in, and the result record every run writes.

A suite is a function (context, limit, progress) -> SuiteOutput. The runner adds what
makes two runs comparable: package and library version, settings, data files, date.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evident import __version__
from evident.app import App, build_app, make_embedder, make_support_model
from evident.config import Settings
from evident.eval.data import REPO, shared_data_dir
from evident.protocols import Embedder, SupportModel
from evident.store.audit import backup_database
from evident.store.sqlite import SqliteStore

Progress = Callable[[int, int], None]
SCHEMA = "evident.eval/1"


@dataclass
class SuiteOutput:
    """What a suite measured.

    metrics: headline numbers (name -> value), reported in the table.
    descriptions: one line per metric: what it is, and for a proxy, what it cannot tell.
    distributions: per-item values plotted as histograms (name -> values).
    latencies: seconds per item (plotted; summarised as p50/p95).
    items: per-item ids and numbers only (never dataset text: it stays in ../shared/data).
    notes: caveats and limits, printed under the table.
    split: which data is reported; tuning: which data was used to tune, if any.
    """

    metrics: dict[str, float]
    descriptions: dict[str, str]
    split: str
    tuning: str = "none"
    distributions: dict[str, list[float]] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Suite:
    name: str
    title: str
    summary: str
    run: Callable[[EvalContext, int | None, Progress], SuiteOutput]
    needs_library: bool = True


class EvalContext:
    """The library and models a run uses; opened on first use.

    Args:
        settings: settings for the library (its directory, embedder, thresholds).
        open_app: returns the App on the full staged library (default: build_app(settings)).
        describe_library: how that library was built (recorded in the result).
    """

    def __init__(
        self,
        settings: Settings,
        open_app: Callable[[], App] | None = None,
        describe_library: Callable[[], dict[str, Any]] | None = None,
        work_dir: Path | None = None,
    ) -> None:
        self.settings = settings
        self._open_app = open_app or (lambda: build_app(settings))
        self._describe = describe_library or (lambda: {"directory": str(settings.library)})
        self._app: App | None = None
        self._embedder: Embedder | None = None
        self._embedder_made = False
        self._support_model: SupportModel | None = None
        self.work_dir = work_dir or REPO / "var" / "eval-work"

    def app(self) -> App:
        if self._app is None:
            self._app = self._open_app()
        return self._app

    @property
    def has_app(self) -> bool:
        return self._app is not None

    def support_model(self) -> SupportModel:
        """The claim-support model the settings name (shared with the App once it is open)."""
        if self._app is not None:
            return self._app.support_model
        if self._support_model is None:
            self._support_model = make_support_model(self.settings)
        return self._support_model

    def embedder(self) -> Embedder | None:
        """The embedder the settings name (shared with the App once it is open)."""
        if self._app is not None:
            return self._app.embedder
        if not self._embedder_made:
            self._embedder = make_embedder(
                self.settings.index.embedder, self.settings.index.embed_runtime
            )
            self._embedder_made = True
        return self._embedder

    def library_record(self) -> dict[str, Any]:
        if self._app is None:
            return {}
        record = dict(self._describe())
        record["library_version"] = self._app.store.library_version()
        record["documents"] = self._app.store.count_documents()
        record["passages"] = self._app.store.count_chunks()
        return record

    def copy_library(self, name: str) -> Path:
        """Copy the library's database to work_dir/name (a consistent SQLite backup)."""
        source = self.app().store
        target = self.work_dir / name
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        # Evaluation libraries are built by the runner itself, always in SQLite.
        assert isinstance(source, SqliteStore), "evaluation libraries are SQLite"
        backup_database(source.path, target / "library.sqlite")
        return target


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return ""


def run_suite(
    suite: Suite, context: EvalContext, limit: int | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """Run one suite and return its result record (schema evident.eval/1)."""
    started = datetime.now(UTC)
    start = time.perf_counter()
    output = suite.run(context, limit, progress or (lambda done, total: None))
    seconds = time.perf_counter() - start
    latencies = output.latencies
    return {
        "schema": SCHEMA,
        "suite": suite.name,
        "title": suite.title,
        "summary": suite.summary,
        "split": output.split,
        "tuning": output.tuning,
        "limit": limit,
        "metrics": output.metrics,
        "descriptions": output.descriptions,
        "latency": {
            "items": len(latencies),
            "p50_s": _pct(latencies, 50),
            "p95_s": _pct(latencies, 95),
            "mean_s": sum(latencies) / len(latencies) if latencies else None,
        },
        "notes": output.notes,
        "extra": output.extra,
        "run": {
            "package_version": __version__,
            "commit": _commit(),
            "started_at": started.isoformat(timespec="seconds"),
            "seconds": round(seconds, 1),
            "python": platform.python_version(),
            "shared_data": str(shared_data_dir()),
            "library": context.library_record(),
            "settings": context.settings.model_dump(mode="json"),
        },
        "distributions": output.distributions,
        "latencies": [round(x, 4) for x in latencies],
        "items": output.items,
    }


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo), 4)
