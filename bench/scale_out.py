"""Scale-out benchmark: Milvus against the embedded index, and `evident serve` on
PostgreSQL with one and two workers.

Run alone with `python -m bench.scale_out [--limit N] [--seconds S]`, or as the
"scale-out" area of `python -m bench.run`.

Parts:
  parity:     BioASQ (all 2,310 golden questions, or --limit spread over them) searched
              with the shipped hybrid retrieval on the embedded index and on Milvus (Milvus
              Lite here: the same server-side BM25 and dense search as a Milvus cluster),
              in the same run over the same cached library; plus Milvus's own hybrid
              search (RRF over its BM25 and dense lists) to compare with evident's fusion.
  serving:    the demo library moved to a throwaway PostgreSQL server (`evident migrate`),
              served by `evident serve --workers 2`; 50 concurrent clients ask fresh
              questions while reviewers comment, and every comment must be in the audit log.
  throughput: fresh asks from 50 clients against 1 worker, then 2 workers (PostgreSQL).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.api import CLIENTS, EVIDENT, FRESH, _load, cast_and_publish
from bench.library import cache_key, cache_root, library_files, open_demo_library, open_library
from bench.metrics import collapse, ndcg_at
from bench.retrieval import K, Run, bench_settings, bioasq_questions, score, spread
from evident import __version__
from evident.app import App, build_app
from evident.config import Settings, load_settings
from evident.errors import IndexMismatch
from evident.index.lexical import tokenize
from evident.index.milvus import MilvusIndex
from evident.localpg import start_cluster
from evident.localserver import free_port, stop, wait_until_answering
from evident.store.audit import backup_database
from evident.store.sqlite import SqliteStore

AREA = "scale-out"
TITLE = "Scale-out"
SECONDS = 20.0
# Milvus Lite 3.2.2 is a Python re-implementation of Milvus, far slower than a server
# (before its segments were flushed, seconds per BM25 search over 56k passages), so
# parity is measured on this many BioASQ questions spread over all five years.
PARITY_QUESTIONS = 150
COMMENTERS = 5

Log = Callable[[str], None]


# -- retrieval parity ------------------------------------------------------------------------
def parity(limit: int | None, work: Path, log: Log) -> dict[str, Any]:
    """BioASQ nDCG@10: the embedded index and Milvus, the same questions, the same run."""
    settings = bench_settings()
    try:
        cached = open_library(settings, embed=False, log=log)
    except ValueError as exc:  # Tantivy: an index folder written with an older schema
        key, _ = cache_key(library_files(), Settings(index=settings))
        log(f"bench scale-out: rebuilding the cached library's index ({exc})")
        shutil.rmtree(cache_root() / key / "index", ignore_errors=True)
        cached = open_library(settings, embed=False, log=log)
    # A private copy: both indexes consume the library's change log, and the shared cache
    # must not have its log forgotten under another benchmark's index.
    copy = work / "bioasq"
    copy.mkdir()
    assert isinstance(cached.app.store, SqliteStore)
    backup_database(cached.app.store.path, copy / "library.sqlite")
    cached.app.store.close()
    embedded = build_app(load_settings(library=copy, index=json.loads(settings.model_dump_json())))
    log("bench scale-out: building the embedded index of the copy")
    embedded.refresh_index(embed=False, rebuild=True)
    questions = spread(bioasq_questions(), min(limit or PARITY_QUESTIONS, PARITY_QUESTIONS))
    milvus_settings = embedded.settings.model_copy(deep=True)
    milvus_settings.index.backend = "milvus"
    milvus_settings.index.milvus_uri = str(work / "milvus.db")
    milvus_settings.index.milvus_collection = "bench_bioasq"
    milvus = App(
        settings=milvus_settings,
        store=embedded.store,
        embedder=embedded.embedder,
        support_model=embedded.support_model,
    )
    log(f"bench scale-out: loading {embedded.store.count_chunks()} passages into Milvus Lite")
    t0 = time.perf_counter()
    milvus.refresh_index(embed=False, rebuild=True)
    load_seconds = time.perf_counter() - t0
    log(f"bench scale-out: {len(questions)} BioASQ questions, embedded index")
    embedded_runs = _hybrid_runs(embedded, questions)
    log(f"bench scale-out: {len(questions)} BioASQ questions, Milvus")
    milvus_runs = _hybrid_runs(milvus, questions)
    rows = range(len(questions))
    on_embedded = score(questions, embedded_runs, rows, False)
    on_milvus = score(questions, milvus_runs, rows, False)
    native = _native_hybrid(milvus, questions, log)
    index = milvus.index()
    difference = round(on_milvus["hybrid"]["ndcg@10"] - on_embedded["hybrid"]["ndcg@10"], 4)
    embedded.store.close()
    return {
        "questions": len(questions),
        "passages": index.manifest.passages,
        "embedded_vectors": index.manifest.embedded,
        "milvus_load_seconds": round(load_seconds, 1),
        "embedded": on_embedded,
        "milvus": on_milvus,
        "milvus_native_hybrid_rrf": native,
        "hybrid_ndcg_difference": difference,
        "within_0_02": abs(difference) <= 0.02,
    }


def _hybrid_runs(app: App, questions: list[Any]) -> dict[str, list[Run]]:
    """The shipped hybrid retrieval for each question (as bench.retrieval searches)."""
    app.search("warm up query", k=K)
    runs: list[Run] = []
    for q in questions:
        t0 = time.perf_counter()
        hits = app.search(q.text, k=K)
        runs.append(Run(collapse(h.document.pmid for h in hits), time.perf_counter() - t0))
    return {"hybrid": runs}


def _native_hybrid(app: App, questions: list[Any], log: Log) -> dict[str, Any]:
    """Milvus's own hybrid search (RRF, k=60, over BM25 and dense), without evident's
    fusion, priors, feedback or MMR: what evident's fusion is compared with."""
    from pymilvus import AnnSearchRequest, RRFRanker

    index = app.index()
    assert isinstance(index, MilvusIndex) and app.embedder is not None
    metas = app.store.document_metas()
    total = 0.0
    latencies: list[float] = []
    for q in questions:
        t0 = time.perf_counter()
        vector = app.embedder.embed([q.text])[0]
        requests = [
            AnnSearchRequest(
                [" ".join(tokenize([q.text])[0]) or q.text], "sparse", {"metric_type": "BM25"}, 100
            ),
            AnnSearchRequest(
                [vector.tolist()], "dense", {"metric_type": "COSINE"}, 100, expr="has_vector"
            ),
        ]
        found = index.client.hybrid_search(
            index.collection, requests, RRFRanker(60), limit=K, output_fields=["document_id"]
        )
        latencies.append((time.perf_counter() - t0) * 1000)
        ranked = collapse(metas[h["entity"]["document_id"]].pmid for h in found[0])
        total += ndcg_at(ranked, set(q.gold), K)
    latencies.sort()
    log("bench scale-out: Milvus native hybrid done")
    return {
        "ndcg@10": round(total / max(len(questions), 1), 4),
        "latency_ms_p50": round(latencies[len(latencies) // 2], 1) if latencies else None,
    }


# -- serving on PostgreSQL -------------------------------------------------------------------
def _tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its children alive now."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
        pending += [int(c) for c in children]
    return total


@contextmanager
def _server(library: Path, url: str, workers: int, log_path: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVIDENT_")}
    env.update(EVIDENT_LIBRARY=str(library), EVIDENT_STORE__URL=url)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(EVIDENT), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(workers)],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}/api/v1"
        try:
            if not wait_until_answering(f"{base}/health", process, 180):
                raise RuntimeError(f"evident serve did not start; see {log_path}")
            yield base, process.pid
        finally:
            stop(process, 30)


def _comment_loop(
    base: str, token: str, article_id: str, until: float, results: list[int], n: int
) -> None:
    with httpx.Client(base_url=base, timeout=600) as http:
        i = 0
        while time.perf_counter() < until:
            reply = http.post(
                f"/articles/{article_id}/comments",
                json={"comment": f"bench comment {n}.{i}"},
                headers={"Authorization": f"Bearer {token}"},
            )
            results.append(reply.status_code)
            i += 1


def serving(seconds: float, work: Path, log: Log) -> dict[str, Any]:
    """The demo library on PostgreSQL: 50 fresh-asking clients and reviewers commenting
    on two workers; then fresh-ask throughput on one worker and on two."""
    cluster = start_cluster()
    try:
        try:
            demo = open_demo_library(AREA, log)
        except (IndexMismatch, ValueError):  # an index of an older format or schema
            shutil.rmtree(cache_root() / f"demo-{__version__}" / "index", ignore_errors=True)
            demo = open_demo_library(AREA, log)
        cluster.sql("CREATE DATABASE bench")
        url = cluster.url("bench")
        log("bench scale-out: moving the demo library to PostgreSQL")
        report = demo.migrate(url)
        demo.store.close()
        library = work / "pg-library"
        app = build_app(load_settings(library=library, store={"url": url}))
        app.refresh_index()
        tokens = cast_and_publish(app)
        author = next(u for u in app.articles.list_users() if u.name.startswith("bench-author"))
        draft = app.answer(FRESH[1], fresh=True, save=True, user=author).record
        assert draft is not None
        events_before = len(app.articles.events())
        bodies = [{"question": q, "fresh": True} for q in FRESH]
        out: dict[str, Any] = {"migrated_rows": report.counts}
        for workers in (1, 2):
            with _server(library, url, workers, work / f"serve-{workers}.log") as (base, pid):
                log(f"bench scale-out: {CLIENTS} clients, fresh asks, {workers} worker(s)")
                load_before, cpu_before = os.getloadavg()[0], _tree_cpu_seconds(pid)
                t0 = time.perf_counter()
                phase = asyncio.run(_load(base, tokens["bench-reader"], bodies, CLIENTS, seconds))
                wall = time.perf_counter() - t0
                # Other processes on the machine compete for its cores: how many cores the
                # server's workers got, and the machine's load, are recorded per phase.
                phase["server_cores_used"] = round((_tree_cpu_seconds(pid) - cpu_before) / wall, 2)
                phase["load_average_1m"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
                out[f"fresh_{workers}_worker"] = phase
                if workers == 2:
                    log("bench scale-out: fresh asks with reviewers commenting, 2 workers")
                    statuses: list[int] = []
                    until = time.perf_counter() + seconds
                    threads = [
                        threading.Thread(
                            target=_comment_loop,
                            args=(
                                base,
                                tokens["bench-reviewer"],
                                draft.article_id,
                                until,
                                statuses,
                                n,
                            ),
                        )
                        for n in range(COMMENTERS)
                    ]
                    for t in threads:
                        t.start()
                    mixed = asyncio.run(
                        _load(base, tokens["bench-reader"], bodies, CLIENTS - COMMENTERS, seconds)
                    )
                    for t in threads:
                        t.join()
                    check = app.verify_audit()
                    written = len(app.articles.events()) - events_before
                    accepted = statuses.count(201)
                    out["mixed_2_workers"] = {
                        "asks": mixed,
                        "comments_sent": len(statuses),
                        "comments_accepted": accepted,
                        "comment_errors": len(statuses) - accepted,
                        "audit_rows_written": written,
                        "audit_rows_lost": accepted - written,
                        "audit_chain_intact": check.intact,
                        "audit_events": check.events,
                    }
        app.store.close()
    finally:
        cluster.stop()
    one, two = out["fresh_1_worker"], out["fresh_2_worker"]
    out["speedup_2_vs_1"] = round(two["requests_per_s"] / max(one["requests_per_s"], 1e-9), 2)
    return out


def run(limit: int | None = None, log: Log = print, seconds: float | None = None) -> dict[str, Any]:
    """Run the scale-out benchmark and return its results (bench/results/scale-out.json)."""
    duration = seconds or (5.0 if limit is not None else SECONDS)
    work = Path(tempfile.mkdtemp(prefix="evident-bench-scale-"))
    try:
        retrieval = parity(limit, work, log)
        served = serving(duration, work, log)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    mixed = served["mixed_2_workers"]
    return {
        "area": AREA,
        "parity": retrieval,
        "serving": served,
        "errors": served["fresh_1_worker"]["errors"]
        + served["fresh_2_worker"]["errors"]
        + mixed["asks"]["errors"]
        + mixed["comment_errors"],
        "audit_rows_lost": mixed["audit_rows_lost"],
        "meta": {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "package_version": __version__,
            "limit": limit,
            "seconds_per_phase": duration,
            "clients": CLIENTS,
            "milvus": "Milvus Lite (milvus-lite 3.2.2, pymilvus 3.0.2), in process",
            "postgresql": "Debian's PostgreSQL, a throwaway cluster on 127.0.0.1 (fsync off)",
            "machine": {
                "cores": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
                "load_average_1m": round(os.getloadavg()[0], 2),
            },
        },
    }


def markdown(results: dict[str, Any]) -> str:
    p, s, m = results["parity"], results["serving"], results["meta"]
    mixed = s["mixed_2_workers"]
    one, two = s["fresh_1_worker"], s["fresh_2_worker"]
    e, v = p["embedded"], p["milvus"]
    lines = [
        f"Measured {m['date'][:10]} with `python -m bench.scale_out` (or `make bench`) on "
        f"{m['machine']['cores']} cores (load {m['machine']['load_average_1m']} at the end); "
        f"{m['milvus']}; {m['postgresql']}.",
        "",
        f"Retrieval parity, BioASQ ({p['questions']} golden questions, {p['passages']} "
        "passages), the same run:",
        "",
        "| backend | hybrid nDCG@10 | recall@10 | MRR | p50 ms |",
        "|---|---:|---:|---:|---:|",
        f"| embedded index (Tantivy + usearch), evident's fusion | {e['hybrid']['ndcg@10']} | "
        f"{e['hybrid']['recall@10']} | {e['hybrid']['mrr']} | {e['hybrid']['latency_ms']['p50']} |",
        f"| Milvus (Lite), evident's fusion | {v['hybrid']['ndcg@10']} | "
        f"{v['hybrid']['recall@10']} | {v['hybrid']['mrr']} | {v['hybrid']['latency_ms']['p50']} |",
        f"| Milvus (Lite), its own hybrid search (RRF, k=60) | "
        f"{p['milvus_native_hybrid_rrf']['ndcg@10']} | | | "
        f"{p['milvus_native_hybrid_rrf']['latency_ms_p50']} |",
        "",
        f"Hybrid difference Milvus - embedded: {p['hybrid_ndcg_difference']:+.4f} (target: "
        f"within 0.02: {'met' if p['within_0_02'] else 'not met'}). Loading the collection "
        f"took {p['milvus_load_seconds']} s. {p['passages']} passages, "
        f"{p['embedded_vectors']} with vectors (the cached benchmark library as it stood; "
        "both backends search the same ones). Milvus Lite is a Python re-implementation of "
        "Milvus, hence the spread subset of questions; its latencies say nothing of a "
        "Milvus server's. evident's fusion (with its priors, dense feedback and MMR) scored "
        "higher than Milvus's own hybrid search, so the Milvus backend uses it.",
        "",
        f"Serving on PostgreSQL, {m['clients']} concurrent clients, {m['seconds_per_phase']:g} s "
        "per phase (client and server share the cores):",
        "",
        "| phase | requests/s | p50 ms | p95 ms | errors |",
        "|---|---:|---:|---:|---:|",
        f"| fresh asks, 1 worker | {one['requests_per_s']} | {one['p50_ms']} | {one['p95_ms']} "
        f"| {one['errors']} |",
        f"| fresh asks, 2 workers | {two['requests_per_s']} | {two['p50_ms']} | "
        f"{two['p95_ms']} | {two['errors']} |",
        f"| fresh asks while {COMMENTERS} reviewers comment, 2 workers | "
        f"{mixed['asks']['requests_per_s']} | {mixed['asks']['p50_ms']} | "
        f"{mixed['asks']['p95_ms']} | {mixed['asks']['errors']} |",
        "",
        f"Two workers against one: {s['speedup_2_vs_1']}x fresh-ask throughput (target 1.6x; "
        f"the server's workers used {one['server_cores_used']} cores with one worker and "
        f"{two['server_cores_used']} with two; the machine's 1-minute load average was "
        f"{one['load_average_1m']} and {two['load_average_1m']} around the two phases, on "
        f"{m['machine']['cores']} cores shared with the 50-client load generator and other "
        "work). "
        f"Comments during the mixed phase: {mixed['comments_accepted']} accepted, "
        f"{mixed['comment_errors']} errors, {mixed['audit_rows_written']} audit rows written, "
        f"{mixed['audit_rows_lost']} lost; audit chain intact: {mixed['audit_chain_intact']}.",
    ]
    return "\n".join(lines)


def summary(results: dict[str, Any]) -> str:
    p, s = results["parity"], results["serving"]
    return (
        f"BioASQ hybrid nDCG@10: embedded {p['embedded']['hybrid']['ndcg@10']}, Milvus "
        f"{p['milvus']['hybrid']['ndcg@10']} (difference {p['hybrid_ndcg_difference']:+.4f}); "
        f"Milvus RRF {p['milvus_native_hybrid_rrf']['ndcg@10']}\n"
        f"fresh asks: 1 worker {s['fresh_1_worker']['requests_per_s']} req/s, 2 workers "
        f"{s['fresh_2_worker']['requests_per_s']} req/s ({s['speedup_2_vs_1']}x); errors "
        f"{results['errors']}, audit rows lost {results['audit_rows_lost']}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_out", description=__doc__)
    parser.add_argument("--limit", type=int, help="BioASQ questions (spread); writes nothing")
    parser.add_argument("--seconds", type=float, help=f"seconds per phase (default {SECONDS:g})")
    parser.add_argument("--write", action="store_true", help="write results even with --limit")
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)

    results = run(args.limit, log, args.seconds)
    print(summary(results))
    if args.limit is None or args.write:
        from bench.report import update_section, write_json

        json_path = write_json(AREA, results)
        doc_path = update_section(AREA, TITLE, markdown(results))
        print(f"wrote {json_path} and the {TITLE} section of {doc_path}")
    return 1 if results["errors"] or results["audit_rows_lost"] else 0


if __name__ == "__main__":
    sys.exit(main())
