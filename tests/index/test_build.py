"""Saving the search index: safe when several processes rebuild and read it at once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from evident.app import App

# Each process rebuilds the index of the same library again and again, and loads it.
WORKER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from evident.index.build import open_index, sync_index
    from evident.store.sqlite import SqliteStore

    library = Path(sys.argv[1])
    store = SqliteStore(library / "library.sqlite")
    for _ in range(int(sys.argv[2])):
        sync_index(store, library / "index", None, rebuild=True)
        index = open_index(store, library / "index", None)
        assert index.manifest.passages > 0
        assert index.lexical_search("pain", 5)
    print("ok")
    """
)


def test_processes_rebuilding_the_index_at_once_never_trample_each_other(lib: App) -> None:
    library = lib.settings.library
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(library), "10"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outcomes = [worker.communicate(timeout=300) for worker in workers]

    for worker, (out, err) in zip(workers, outcomes, strict=True):
        assert worker.returncode == 0, err[-2000:]
        assert out.strip() == "ok"
    # Nothing left behind but the index and its lock file.
    assert sorted(p.name for p in library.glob("index*")) == ["index", "index.lock"]
    assert lib.index().manifest.passages == lib.store.count_chunks()
