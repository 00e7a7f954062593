"""API benchmark: concurrent asks against a real `evident serve`, and SQLite write contention.

Run alone with `python -m bench.api [--library DIR] [--seconds N] [--workers N]`, or as the
"api" area of `python -m bench.run`. It needs no staged data: the library is the bundled
demo library (ingested into a temporary folder unless --library / $EVIDENT_BENCH_API_LIBRARY
names a ready one, which is copied so the benchmark never changes it).

Phases, each with 50 concurrent httpx AsyncClient connections over 127.0.0.1:
  published: paraphrases of a published article's question; these are served from the
             published article (question matching), the path most readers take.
  fresh:     the same clients with fresh=true on the demo questions, so every request
             retrieves, composes and verifies a new article.
Contention: 20 review actions at once over HTTP (threads) and 20 at once straight into the
SQLite file (processes); every one must land in the audit log.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.data import REPO
from bench.metrics import percentile
from evident import __version__
from evident.app import App, build_app
from evident.config import load_settings
from evident.localserver import free_port, stop, wait_until_answering
from evident.models import ReviewStatus
from evident.review.records import Role

AREA = "api"
TITLE = "API"
CLIENTS = 50
SECONDS = 30.0
CONTENTION = 20
PUBLISHED = "What is the treatment for soft tissue calcifications near the metatarsal head?"
PARAPHRASES = [
    PUBLISHED,
    "How do you treat soft tissue calcification at the metatarsal head?",
    "Treatment of soft-tissue calcification close to the metatarsal head",
    "What is the best therapy for calcification near the metatarsal heads?",
]
FRESH = [
    PUBLISHED,
    "What is the treatment for acute calcific tendinitis in the forefoot?",
    "How is insertional Achilles tendinopathy treated?",
    "What is the management of heterotopic ossification after a transmetatarsal amputation?",
    "How is diabetic foot osteomyelitis diagnosed?",
]
EVIDENT = Path(sys.executable).parent / "evident"

Log = Callable[[str], None]


def prepare_library(directory: Path, source: Path | None, log: Log) -> App:
    """Copy a ready library, or ingest the demo library into directory."""
    if source is not None:
        log(f"bench api: copying library {source}")
        shutil.copytree(source, directory)
    app = build_app(load_settings(library=directory))
    if source is None:
        log("bench api: ingesting the demo library (embedding takes a minute or two)")
        report = app.ingest([REPO / "library"])
        assert not report.failed, [r.reason for r in report.failed]
        app.refresh_index()
    return app


def cast_and_publish(app: App) -> dict[str, str]:
    """Create one user per role and publish the article the paraphrases match."""
    tokens = {}
    for name, role in [
        ("bench-admin", Role.ADMIN),
        ("bench-author", Role.AUTHOR),
        ("bench-reviewer", Role.REVIEWER),
        ("bench-editor", Role.EDITOR),
        ("bench-reader", Role.READER),
    ]:
        tokens[name] = app.create_user(f"{name}-{os.getpid()}", role, actor="bench")[1]
    users = {n.split("-")[1]: app.user(f"{n}-{os.getpid()}") for n in tokens}
    answer = app.answer(PUBLISHED, fresh=True, save=True, user=users["author"])
    assert answer.record is not None
    article_id = answer.record.article_id
    app.editorial.act("submit", article_id, users["author"])
    app.editorial.act("claim", article_id, users["reviewer"])
    app.editorial.act("approve", article_id, users["reviewer"])
    app.editorial.act("publish", article_id, users["editor"])
    tokens["article_id"] = article_id
    return tokens


class Server:
    """`evident serve` as a subprocess on 127.0.0.1."""

    def __init__(self, library: Path, workers: int, log_path: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/api/v1"
        env = dict(os.environ, EVIDENT_LIBRARY=str(library))
        self.log = log_path.open("w")
        self.process = subprocess.Popen(
            [str(EVIDENT), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(workers)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        if not wait_until_answering(f"{self.base}/health", self.process, 120):
            raise RuntimeError(f"evident serve did not start; see {log_path}")

    def stop(self) -> None:
        stop(self.process, 30)
        self.log.close()


async def _load(
    base: str, token: str, bodies: list[dict[str, Any]], clients: int, seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    sources: dict[str, int] = {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=600
    ) as http:
        # One warm-up request, so model loading is not measured.
        await http.post("/ask", json=bodies[0])
        start = time.perf_counter()
        end = start + seconds

        async def client(number: int) -> None:
            i = number
            while time.perf_counter() < end:
                body = bodies[i % len(bodies)]
                i += clients
                t0 = time.perf_counter()
                try:
                    response = await http.post("/ask", json=body)
                except httpx.HTTPError as exc:
                    errors.append(type(exc).__name__)
                    continue
                latencies.append((time.perf_counter() - t0) * 1000)
                if response.status_code != 200:
                    errors.append(str(response.status_code))
                else:
                    source = response.json()["source"]
                    sources[source] = sources.get(source, 0) + 1

        await asyncio.gather(*(client(n) for n in range(clients)))
        elapsed = time.perf_counter() - start
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 2),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "max_ms": round(max(latencies, default=0.0), 1),
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
        "answered_from": sources,
    }


def _comment_directly(library: str, article_id: str, name: str, n: int) -> None:
    settings = load_settings(library=Path(library))
    settings.index.embedder = "none"
    app = build_app(settings)
    app.editorial.comment(article_id, app.user(name), f"process comment {n}")
    app.store.close()


def contention(app: App, base: str, tokens: dict[str, str]) -> dict[str, Any]:
    """20 review actions at once over HTTP, then 20 straight into SQLite from processes."""
    author = app.user(f"bench-author-{os.getpid()}")
    reviewer_name = f"bench-reviewer-{os.getpid()}"
    source = app.articles.get_revision(tokens["article_id"]).article
    drafts = [
        app.editorial.save(source, author, note=f"copy {i}").article_id for i in range(CONTENTION)
    ]
    barrier = threading.Barrier(CONTENTION)
    headers = {"Authorization": f"Bearer {tokens['bench-author']}"}

    def submit(article_id: str) -> int:
        with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
            barrier.wait()
            return http.post(
                f"/articles/{article_id}/submit", json={"comment": "bench"}
            ).status_code

    t0 = time.perf_counter()
    with ThreadPoolExecutor(CONTENTION) as pool:
        statuses = list(pool.map(submit, drafts))
    http_seconds = time.perf_counter() - t0
    submitted = sum(
        1 for d in drafts if app.articles.get_record(d).status is ReviewStatus.SUBMITTED
    )
    audit_http = sum(1 for d in drafts for e in app.articles.events(d) if e.action == "submit")

    target = tokens["article_id"]
    before = sum(1 for e in app.articles.events(target) if e.action == "comment")
    context = multiprocessing.get_context("spawn")
    t0 = time.perf_counter()
    processes = [
        context.Process(
            target=_comment_directly, args=(str(app.settings.library), target, reviewer_name, i)
        )
        for i in range(CONTENTION)
    ]
    for p in processes:
        p.start()
    for p in processes:
        p.join(300)
    process_seconds = time.perf_counter() - t0
    after = sum(1 for e in app.articles.events(target) if e.action == "comment")
    return {
        "http_threads": {
            "actions": CONTENTION,
            "ok_responses": statuses.count(200),
            "statuses_submitted": submitted,
            "audit_rows": audit_http,
            "lost": CONTENTION - audit_http,
            "seconds": round(http_seconds, 2),
        },
        "direct_processes": {
            "actions": CONTENTION,
            "exit_codes_zero": sum(1 for p in processes if p.exitcode == 0),
            "audit_rows": after - before,
            "lost": CONTENTION - (after - before),
            "seconds": round(process_seconds, 2),
        },
    }


def run(
    limit: int | None = None,
    log: Log = print,
    library: Path | None = None,
    seconds: float | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """Run the API benchmark and return its results (see bench/results/api.json)."""
    source = library or (
        Path(os.environ["EVIDENT_BENCH_API_LIBRARY"])
        if os.environ.get("EVIDENT_BENCH_API_LIBRARY")
        else None
    )
    duration = seconds or (5.0 if limit is not None else SECONDS)
    work = Path(tempfile.mkdtemp(prefix="evident-bench-api-"))
    try:
        app = prepare_library(work / "library", source, log)
        tokens = cast_and_publish(app)
        server = Server(work / "library", workers, work / "serve.log")
        try:
            reader = tokens["bench-reader"]
            log(f"bench api: {CLIENTS} clients asking published questions for {duration:g} s")
            published = asyncio.run(
                _load(
                    server.base, reader, [{"question": q} for q in PARAPHRASES], CLIENTS, duration
                )
            )
            log(f"bench api: {CLIENTS} clients asking fresh for {duration:g} s")
            fresh = asyncio.run(
                _load(
                    server.base,
                    reader,
                    [{"question": q, "fresh": True} for q in FRESH],
                    CLIENTS,
                    duration,
                )
            )
            log(f"bench api: {CONTENTION} concurrent review actions")
            writes = contention(app, server.base, tokens)
        finally:
            server.stop()
        documents = app.store.count_documents()
        app.store.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "area": AREA,
        "requests_per_s": published["requests_per_s"],
        "p50_ms": published["p50_ms"],
        "p95_ms": published["p95_ms"],
        "errors": published["errors"] + fresh["errors"],
        "published": published,
        "fresh": fresh,
        "contention": writes,
        "meta": {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "package_version": __version__,
            "uvicorn_workers": workers,
            "clients": CLIENTS,
            "seconds_per_phase": duration,
            "documents": documents,
            "embedder": app.settings.index.embedder,
            "client": "httpx.AsyncClient in one process on the same machine (127.0.0.1)",
            "machine": {
                "cores": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "notes": (
                "Top-level requests_per_s/p50_ms/p95_ms are the published phase: paraphrases "
                "of a published article's question, answered from that article (question "
                "matching embeds the question, then compares it with stored question "
                "vectors). The fresh phase composes a new article per request (fresh=true). "
                "errors counts both phases. Client and server share the machine's cores."
            ),
        },
    }


def markdown(results: dict[str, Any]) -> str:
    p, f, c = results["published"], results["fresh"], results["contention"]
    m = results["meta"]
    lines = [
        f"Measured {m['date'][:10]} with `python -m bench.api` (or `make bench`): a real "
        f"`evident serve` ({m['uvicorn_workers']} uvicorn worker) on 127.0.0.1 over the demo "
        f"library ({m['documents']} documents, embedder {m['embedder']}), {m['clients']} "
        f"concurrent httpx clients for {m['seconds_per_phase']:g} s per phase, on "
        f"{m['machine']['cores']} cores shared by client and server.",
        "",
        "| asks | requests/s | p50 ms | p95 ms | max ms | requests | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| published (served from the reviewed article) | {p['requests_per_s']} | {p['p50_ms']} "
        f"| {p['p95_ms']} | {p['max_ms']} | {p['requests']} | {p['errors']} |",
        f"| fresh (`fresh=true`: retrieve, compose, verify) | {f['requests_per_s']} | "
        f"{f['p50_ms']} | {f['p95_ms']} | {f['max_ms']} | {f['requests']} | {f['errors']} |",
        "",
        "Asks that match a published article skip composition, so most of the published "
        "figure is question embedding and JSON; fresh asks are CPU-bound composition, and with "
        "50 clients on a single worker their latency is mostly queueing.",
        "",
        "SQLite write contention (every action must reach the append-only audit log):",
        "",
        "| concurrent review actions | audit rows | lost | seconds |",
        "|---|---:|---:|---:|",
        f"| {c['http_threads']['actions']} submits over HTTP (threads) | "
        f"{c['http_threads']['audit_rows']} | {c['http_threads']['lost']} | "
        f"{c['http_threads']['seconds']} |",
        f"| {c['direct_processes']['actions']} comments from separate processes | "
        f"{c['direct_processes']['audit_rows']} | {c['direct_processes']['lost']} | "
        f"{c['direct_processes']['seconds']} |",
    ]
    return "\n".join(lines)


def summary(results: dict[str, Any]) -> str:
    p, f, c = results["published"], results["fresh"], results["contention"]
    return (
        f"published asks: {p['requests_per_s']} req/s, p50 {p['p50_ms']} ms, p95 {p['p95_ms']} "
        f"ms, {p['errors']} errors\nfresh asks: {f['requests_per_s']} req/s, p50 {f['p50_ms']} "
        f"ms, p95 {f['p95_ms']} ms, {f['errors']} errors\ncontention: "
        f"{c['http_threads']['audit_rows']}/{CONTENTION} over HTTP, "
        f"{c['direct_processes']['audit_rows']}/{CONTENTION} from processes"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__)
    parser.add_argument("--library", type=Path, help="a ready library to copy (default: ingest)")
    parser.add_argument("--seconds", type=float, help=f"seconds per phase (default {SECONDS:g})")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers (default 1)")
    parser.add_argument("--no-write", action="store_true", help="print only; write no results")
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)

    results = run(None, log, args.library, args.seconds, args.workers)
    print(summary(results))
    if not args.no_write:
        from bench.report import update_section, write_json

        json_path = write_json(AREA, results)
        doc_path = update_section(AREA, TITLE, markdown(results))
        print(f"wrote {json_path} and the {TITLE} section of {doc_path}")
    failed = results["errors"] or any(v["lost"] for v in results["contention"].values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
