"""Scale: libraries of 10k, 100k and 1M passages on one machine.

Passages are synthetic but made of real text: each is five sentences drawn at random
(seeded) from the BioASQ snippet sentences in ../shared/data (PubMed titles and
abstracts), under a title made of one more sentence; ten passages make a document with a
random kind and year. They are written to the store directly (the readers and the
chunker are measured by the library benchmark), then indexed as `evident ingest` does.
Vectors are synthetic at every size (embedding 1M passages on two cores takes hours; the
embedding speed is measured on its own): unit vectors scattered around 2,000 random
centres, so neighbours cluster as real embeddings do. Questions are searched and asked
through the real App, embedding each question with the bundled MiniLM.

Each phase runs in its own process so its peak memory (ru_maxrss) is its own.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench.data import require
from bench.metrics import percentile
from bench.retrieval import Log

AREA = "scale"
TITLE = "Scale"
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
PASSAGES_PER_DOCUMENT = 10
SENTENCES_PER_PASSAGE = 5
CENTRES = 2000
DIM = 384
QUESTIONS = 200
ASKS = 20
INCREMENTAL_DOCUMENTS = 100
# A search slower than this during an ingest counts as one that waited for it.
WAITED_SECONDS = 1.0
EMBED_SAMPLE = 256


def _root() -> Path:
    return Path(os.environ.get("EVIDENT_SCALE_DIR", Path.home() / ".cache" / "evident-scale"))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def sentences() -> list[str]:
    """Real sentences: the BioASQ snippets, split at sentence ends, deduplicated."""
    root = require("bioasq-golden-7b-11b")
    seen: dict[str, None] = {}
    for path in sorted(root.rglob("*.json")):
        for question in json.loads(path.read_text())["questions"]:
            for snippet in question.get("snippets", []):
                for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z])", snippet["text"]):
                    if 40 <= len(sentence) <= 400:
                        seen[sentence.strip()] = None
    return list(seen)


def questions() -> list[str]:
    root = require("bioasq-golden-7b-11b")
    out = []
    for path in sorted(root.rglob("*.json")):
        out += [q["body"] for q in json.loads(path.read_text())["questions"]]
    return out


# -- workers (each in its own process) ----------------------------------------------------
def _app(library: Path) -> Any:
    from evident.app import build_app
    from evident.config import load_settings

    settings = load_settings(library=library)
    return build_app(settings)


def _vectors(rng: np.random.Generator, centres: np.ndarray, n: int) -> np.ndarray:
    picks = rng.integers(0, len(centres), n)
    v = centres[picks] + rng.normal(0, 0.045, (n, DIM)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v.astype(np.float32)


def add_documents(
    app: Any, pool: list[str], rng: np.random.Generator, centres: np.ndarray, count: int, tag: str
) -> int:
    """Write count synthetic documents (ten passages each) with synthetic vectors."""
    from evident.ingest.normalise import content_id
    from evident.models import Chunk, Document, DocumentKind, DocumentMeta

    kinds = list(DocumentKind)
    now = datetime.now(UTC)
    passages = 0
    ids: list[str] = []
    for d in range(count):
        title = pool[int(rng.integers(len(pool)))]
        texts = [
            " ".join(pool[int(i)] for i in rng.integers(0, len(pool), SENTENCES_PER_PASSAGE))
            for _ in range(PASSAGES_PER_DOCUMENT)
        ]
        body = "\n\n".join(texts)
        document_id = content_id(f"{tag}:{d}:{body}")
        chunks = []
        start = 0
        for ordinal, text in enumerate(texts):
            chunks.append(
                Chunk(
                    chunk_id=content_id(f"{document_id}:{start}:{text}"),
                    document_id=document_id,
                    ordinal=ordinal,
                    section="",
                    text=text,
                    start=start,
                    end=start + len(text),
                    sentences=((0, len(text)),),
                )
            )
            start += len(text) + 2
        meta = DocumentMeta(
            title=title,
            kind=kinds[int(rng.integers(len(kinds)))],
            year=int(rng.integers(1995, 2026)),
        )
        app.store.add_document(
            Document(document_id, meta, body, "text", f"scale/{tag}/{d}", now), chunks
        )
        ids += [c.chunk_id for c in chunks]
        passages += len(chunks)
        if len(ids) >= 5000 or d == count - 1:
            app.store.put_embeddings(app.embedder.name, ids, _vectors(rng, centres, len(ids)))
            ids = []
    return passages


def _centres(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.normal(0, 1, (CENTRES, DIM)).astype(np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    return c


def worker_make(library: Path, size: int) -> dict[str, Any]:
    pool = sentences()
    app = _app(library)
    rng = np.random.default_rng(size)
    start = time.perf_counter()
    passages = add_documents(
        app, pool, rng, _centres(0), size // PASSAGES_PER_DOCUMENT, f"base{size}"
    )
    return {
        "passages": passages,
        "store_seconds": time.perf_counter() - start,
        "peak_rss_mb": _peak_rss_mb(),
    }


def worker_index(library: Path) -> dict[str, Any]:
    app = _app(library)
    start = time.perf_counter()
    app.refresh_index(embed=False)
    return {"index_seconds": time.perf_counter() - start, "peak_rss_mb": _peak_rss_mb()}


def _timed(call: Any) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def worker_serve(library: Path) -> dict[str, Any]:
    app = _app(library)
    asked = questions()
    rng = np.random.default_rng(7)
    picks = [asked[int(i)] for i in rng.integers(0, len(asked), QUESTIONS + ASKS + 5)]
    for q in picks[:5]:  # warm up: model weights, index pages
        app.search(q)
    search = [_timed(lambda q=q: app.search(q)) * 1000 for q in picks[5 : 5 + QUESTIONS]]
    ask = [_timed(lambda q=q: app.ask(q)) * 1000 for q in picks[5 + QUESTIONS :]]
    index = app.index()
    recall = ann_recall(index, rng)
    return {
        "search_ms": {"p50": percentile(search, 50), "p95": percentile(search, 95)},
        "ask_ms": {"p50": percentile(ask, 50), "p95": percentile(ask, 95)},
        "ann_recall@10": recall,
        "serving_rss_mb": _rss_mb(),
        "peak_rss_mb": _peak_rss_mb(),
    }


def ann_recall(index: Any, rng: np.random.Generator, queries: int = 200) -> float | None:
    """Recall@10 of the HNSW search against exact search, for perturbed stored vectors."""
    graph = index._graph
    if graph is None or len(graph) == 0:
        return None
    keys = np.asarray(graph.keys)[rng.integers(0, len(graph), queries)]
    base = np.stack([graph.get(int(k), dtype="f32") for k in keys])
    noisy = base + rng.normal(0, 0.03, base.shape).astype(np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    approx = graph.search(noisy, 10)
    exact = graph.search(noisy, 10, exact=True)
    hits = [
        len(set(np.asarray(a)) & set(np.asarray(e))) / 10
        for a, e in zip(approx.keys, exact.keys, strict=True)
    ]
    return round(float(np.mean(hits)), 4)


def worker_add(library: Path) -> dict[str, Any]:
    """Add 100 documents and index them, as `evident ingest` in another process would."""
    app = _app(library)
    rng = np.random.default_rng(11)
    pool = sentences()
    start = time.perf_counter()
    tag = f"increment-{time.time_ns()}"  # new documents each run, also on a reused library
    passages = add_documents(app, pool, rng, _centres(0), INCREMENTAL_DOCUMENTS, tag)
    stored = time.perf_counter() - start
    app.refresh_index(embed=False)
    return {
        "passages": passages,
        "seconds": time.perf_counter() - start,
        "store_seconds": stored,
        "peak_rss_mb": _peak_rss_mb(),
    }


def worker_incremental(library: Path) -> dict[str, Any]:
    """Serve searches while another process adds 100 documents; searches must not wait."""
    app = _app(library)
    asked = questions()
    for q in asked[:5]:
        app.search(q)
    idle = [_timed(lambda q=q: app.search(q)) * 1000 for q in asked[5:105]]
    before = app.index().manifest.passages
    during: list[float] = []
    failed = 0
    stop = threading.Event()

    def keep_searching() -> None:
        nonlocal failed
        i = 200
        while not stop.is_set():
            try:
                during.append(_timed(lambda i=i: app.search(asked[i % len(asked)])) * 1000)
            except Exception:  # counted: a failed query is a result here
                failed += 1
            i += 1

    searcher = threading.Thread(target=keep_searching)
    searcher.start()
    added = _run_worker("--worker", "add", str(library))
    stop.set()
    searcher.join()
    app.search(asked[0])  # switches to the new commit
    return {
        "documents": INCREMENTAL_DOCUMENTS,
        "passages": added["passages"],
        "seconds": added["seconds"],
        "store_seconds": added["store_seconds"],
        "ingest_peak_rss_mb": added["peak_rss_mb"],
        "served_passages_after": app.index().manifest.passages,
        "served_passages_before": before,
        "idle_search_ms": {"p50": percentile(idle, 50), "p95": percentile(idle, 95)},
        "during_search_ms": {
            "p50": percentile(during, 50),
            "p95": percentile(during, 95),
            "queries": len(during),
        },
        "waited": sum(1 for ms in during if ms > WAITED_SECONDS * 1000),
        "failed": failed,
    }


def worker_embed() -> dict[str, Any]:
    """Passages per second of the embedder against the numpy reference, and cosine."""
    from evident.index.embed import MiniLmEmbedder

    pool = sentences()
    rng = np.random.default_rng(3)
    texts = [
        " ".join(pool[int(i)] for i in rng.integers(0, len(pool), SENTENCES_PER_PASSAGE))
        for _ in range(EMBED_SAMPLE)
    ]
    out: dict[str, Any] = {"passages": len(texts)}
    results = {}
    for name, embedder in _embedders(MiniLmEmbedder):
        embedder.embed(texts[:8])
        start = time.perf_counter()
        results[name] = embedder.embed(texts)
        out[name] = {"passages_per_s": round(len(texts) / (time.perf_counter() - start), 1)}
    if len(results) > 1:
        reference = results["numpy"]
        for name, vectors in results.items():
            cosine = (vectors * reference).sum(axis=1)
            out[name]["cosine_min"] = round(float(cosine.min()), 5)
            out[name]["cosine_mean"] = round(float(cosine.mean()), 5)
    return out


def _embedders(cls: Any) -> list[tuple[str, Any]]:
    """The numpy reference (what shipped before), the float ONNX graph and the default."""
    return [(runtime, cls(runtime=runtime)) for runtime in ("numpy", "onnx", "onnx-int8")]


WORKERS = {
    "make": lambda a: worker_make(Path(a[0]), int(a[1])),
    "index": lambda a: worker_index(Path(a[0])),
    "serve": lambda a: worker_serve(Path(a[0])),
    "incremental": lambda a: worker_incremental(Path(a[0])),
    "add": lambda a: worker_add(Path(a[0])),
    "embed": lambda a: worker_embed(),
}


def _run_worker(*args: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "bench.scale", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"bench.scale {' '.join(args)} failed: {result.stderr[-3000:]}")
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def _bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def cli_start(library: Path) -> dict[str, float]:
    """Median seconds of 10 runs of each command, as a shell runs them."""
    evident = str(Path(sys.executable).with_name("evident"))
    env = {**os.environ, "EVIDENT_LIBRARY": str(library)}
    commands = {
        "evident --help": [evident, "--help"],
        "evident library": [evident, "library"],
        "evident search": [evident, "search", "statin myopathy risk"],
    }
    out = {}
    for name, argv in commands.items():
        times = []
        for _ in range(10):
            start = time.perf_counter()
            subprocess.run(argv, env=env, capture_output=True, check=True)
            times.append(time.perf_counter() - start)
        out[name] = round(statistics.median(times), 3)
    return out


def sizes(limit: int | None) -> tuple[int, ...]:
    env = os.environ.get("EVIDENT_SCALE_SIZES")
    if env:
        return tuple(int(s) for s in env.split(","))
    return (min(10_000, limit * 100),) if limit else DEFAULT_SIZES


def run(limit: int | None = None, log: Log = print) -> dict[str, Any]:
    """Build and serve each size; return bench/results/scale.json's contents."""
    root = _root()
    results: dict[str, Any] = {
        "area": AREA,
        "meta": {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "cores": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "passages": "synthetic: 5 real BioASQ snippet sentences each, 10 per document",
            "vectors": "synthetic at every size: unit vectors around 2,000 random centres",
        },
        "sizes": {},
    }
    log("bench: scale: embedding speed …")
    results["embedding"] = _run_worker("--worker", "embed")
    chosen = sizes(limit)
    done: list[int] = []
    for size in chosen:
        try:
            _one_size(root, size, results, log)
        except (RuntimeError, OSError) as exc:  # report the sizes that ran, and why not
            log(f"bench: scale: {size:,} passages did not complete: {exc}")
            results.setdefault("failed_sizes", {})[str(size)] = str(exc)[-500:]
            break
        done.append(size)
        if size == chosen[0]:
            results["cli_start_s"] = cli_start(root / f"library-{size}")
        (root / "partial.json").write_text(json.dumps(results, indent=1))
    if not done:
        raise RuntimeError("no library size completed; see the log")
    largest = root / f"library-{done[-1]}"
    log(f"bench: scale: adding {INCREMENTAL_DOCUMENTS} documents to {done[-1]:,} passages …")
    inc = _run_worker("--worker", "incremental", str(largest))
    inc["into_passages"] = done[-1]
    results["incremental"] = {
        k: (round(v, 1) if isinstance(v, float) else v) for k, v in inc.items()
    }
    results["projection"] = project(results["sizes"])
    return results


def _one_size(root: Path, size: int, results: dict[str, Any], log: Log) -> None:
    """Write, index and serve one library size; its row goes into results["sizes"]."""
    library = root / f"library-{size}"
    shutil.rmtree(library, ignore_errors=True)
    log(f"bench: scale: {size:,} passages: writing the library …")
    made = _run_worker("--worker", "make", str(library), str(size))
    log(f"bench: scale: {size:,}: indexing ({made['store_seconds']:.0f} s to store) …")
    indexed = _run_worker("--worker", "index", str(library))
    log(f"bench: scale: {size:,}: indexed in {indexed['index_seconds']:.0f} s; serving …")
    served = _run_worker("--worker", "serve", str(library))
    on_disk = _bytes(library / "index") + _bytes(library / "library.sqlite")
    row: dict[str, Any] = {
        "passages": made["passages"],
        "store_seconds": round(made["store_seconds"], 1),
        "index_seconds": round(indexed["index_seconds"], 1),
        "index_passages_per_s": round(made["passages"] / indexed["index_seconds"], 1),
        "build_peak_rss_mb": round(indexed["peak_rss_mb"], 1),
        "serving_rss_mb": round(served["serving_rss_mb"], 1),
        "serving_peak_rss_mb": round(served["peak_rss_mb"], 1),
        "bytes_per_1000_passages": {
            "index": round(_bytes(library / "index") / made["passages"] * 1000),
            "total": round(on_disk / made["passages"] * 1000),
        },
        "search_ms": {k: round(v, 1) for k, v in served["search_ms"].items()},
        "ask_ms": {k: round(v, 1) for k, v in served["ask_ms"].items()},
        "ann_recall@10": served["ann_recall@10"],
    }
    results["sizes"][str(size)] = row
    log(f"bench: scale: {size:,}: {json.dumps(row)}")


def project(rows: dict[str, Any], to: int = 10_000_000) -> dict[str, Any]:
    """Serving RSS and disk at `to` passages, from a straight line through the sizes."""
    n = np.array([float(k) for k in rows])
    if len(n) < 2:
        return {}
    rss = np.array([rows[k]["serving_rss_mb"] for k in rows])
    disk = np.array([rows[k]["bytes_per_1000_passages"]["total"] * float(k) / 1000 for k in rows])
    slope, intercept = np.polyfit(n, rss, 1)
    disk_slope, disk_intercept = np.polyfit(n, disk, 1)
    return {
        "passages": to,
        "serving_rss_mb": round(float(slope * to + intercept)),
        "rss_mb_per_million": round(float(slope * 1e6), 1),
        "disk_gb": round(float(disk_slope * to + disk_intercept) / 1e9, 1),
    }


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        f"Run {meta['date']} on {meta['cores']} cores (load {meta['load_average_1m']}). "
        f"Passages: {meta['passages']}; vectors: {meta['vectors']} (see bench/scale.py).",
        "",
        "| passages | store s | index s | index passages/s | build peak RSS MB | "
        "serving RSS MB | bytes / 1,000 passages (index, total) | search p50 / p95 ms | "
        "ask p50 / p95 ms | ANN recall@10 |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, r in results["sizes"].items():
        b = r["bytes_per_1000_passages"]
        lines.append(
            f"| {int(size):,} | {r['store_seconds']} | {r['index_seconds']} | "
            f"{r['index_passages_per_s']:,} | {r['build_peak_rss_mb']:,} | "
            f"{r['serving_rss_mb']:,} | {b['index']:,}, {b['total']:,} | "
            f"{r['search_ms']['p50']} / {r['search_ms']['p95']} | "
            f"{r['ask_ms']['p50']} / {r['ask_ms']['p95']} | {r['ann_recall@10']} |"
        )
    for size, reason in results.get("failed_sizes", {}).items():
        lines.append(f"| {int(size):,} | did not complete: {reason[-200:]} |")
    inc = results["incremental"]
    lines += [
        "",
        f"Incremental ingest of {inc['documents']} documents ({inc['passages']} passages) "
        f"into {inc['into_passages']:,} passages, by another process: {inc['seconds']} s "
        f"({inc['store_seconds']} s of it writing the store); search p95 "
        f"{inc['during_search_ms']['p95']:.0f} ms during it against "
        f"{inc['idle_search_ms']['p95']:.0f} ms idle "
        f"({inc['during_search_ms']['queries']} queries during, {inc['waited']} "
        f"waited over {WAITED_SECONDS:.0f} s, {inc['failed']} failed).",
    ]
    proj = results.get("projection")
    if proj:
        lines.append(
            f"Projection to {proj['passages']:,} passages (straight line through the sizes): "
            f"serving RSS {proj['serving_rss_mb']:,} MB ({proj['rss_mb_per_million']} MB per "
            f"million passages), {proj['disk_gb']} GB on disk."
        )
    emb = results["embedding"]
    parts = [
        f"{name} {v['passages_per_s']} passages/s"
        + (f" (cosine to numpy min {v['cosine_min']})" if "cosine_min" in v else "")
        for name, v in emb.items()
        if isinstance(v, dict)
    ]
    lines.append(f"Embedding {emb['passages']} passages on 2 cores: " + ", ".join(parts) + ".")
    if "rerun" in meta:
        lines.append(f"Note: {meta['rerun']}.")
    starts = results.get("cli_start_s", {})
    lines.append(
        "CLI start (median of 10): " + ", ".join(f"`{k}` {v} s" for k, v in starts.items()) + "."
    )
    return "\n".join(lines)


def summary(results: dict[str, Any]) -> str:
    return markdown(results)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--worker":
        print(json.dumps(WORKERS[sys.argv[2]](sys.argv[3:])))
