"""Building the library: ingest, index, search, and listing documents."""

from __future__ import annotations

import subprocess
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from evident.cli.common import (
    _progress,
    cli,
    err,
    library_cli,
    out,
    state,
)
from evident.models import DocumentKind, Filters, IngestStatus


class EmbedWhen(StrEnum):
    NOW = "now"
    LATER = "later"


def _embed_in_background(library: Path) -> None:
    """Start `evident index` on its own (it outlives this command) to embed the rest."""
    log = library / "embed.log"
    with open(log, "ab") as handle:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from evident.cli import main; main()",
                "--library",
                str(library),
                "index",
            ],
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=handle,
            start_new_session=True,
        )
    out.print(
        f"searchable now with BM25; embedding in the background (process {worker.pid}, "
        f"progress in {log}). Dense search joins in when it finishes; `evident index` "
        "resumes it if it stops.",
        soft_wrap=True,
    )


@cli.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to add.")],
    no_embed: Annotated[
        bool, typer.Option("--no-embed", help="Build the BM25 index only; embed later.")
    ] = False,
    embed: Annotated[
        EmbedWhen,
        typer.Option(
            "--embed",
            help="now: embed, then index (default). later: index for BM25 now and embed in "
            "a background process (for big imports; `evident index` resumes or finishes it).",
        ),
    ] = EmbedWhen.NOW,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Read unchanged files again (after upgrading evident's readers)."
        ),
    ] = False,
) -> None:
    """Add files or folders to the library and print a summary."""
    app = state.app()
    files = sum(1 for p in paths for _ in ([p] if not p.is_dir() else p.rglob("*.*")))
    with _progress() as progress:
        task = progress.add_task("reading", total=files)

        def advance(path: str) -> None:
            progress.update(task, advance=1, description=f"reading {Path(path).name[:40]}")

        report = app.ingest(paths, on_file=advance, force=force)
        progress.update(task, completed=files, description="reading done")
        embed_task = progress.add_task("embedding", total=None)

        def embedded(done: int, total: int) -> None:
            progress.update(embed_task, completed=done, total=total, description="embedding")

        now = not no_embed and embed is EmbedWhen.NOW
        index_task = progress.add_task("indexing", total=None)

        def indexed(done: int, total: int) -> None:
            progress.update(index_task, completed=done, total=total, description="indexing")

        app.refresh_index(embed=now, on_progress=embedded, on_index=indexed)
    if embed is EmbedWhen.LATER and not no_embed and app.embedder is not None:
        _embed_in_background(app.settings.library)
    table = Table(title="Ingest summary", show_edge=False)
    for column in ("added", "unchanged", "duplicate", "failed"):
        table.add_column(column, justify="right")
    table.add_row(*(str(report.count(s)) for s in IngestStatus))
    out.print(table)
    for result in report.results:
        if result.status is IngestStatus.DUPLICATE:
            out.print(f"duplicate: {result.origin} ({result.reason})", soft_wrap=True)
    for result in report.failed:
        err.print(f"[red]failed:[/red] {result.reason}", soft_wrap=True)
    total = app.store.count_documents()
    out.print(f"library: {total} documents, version {app.store.library_version()}")
    if report.failed:
        raise typer.Exit(1)


@cli.command()
def index(
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Rebuild from scratch with current settings.")
    ] = False,
) -> None:
    """Embed passages that lack vectors and rebuild the search index."""
    app = state.app()
    with _progress() as progress:
        task = progress.add_task("embedding", total=None)
        built = app.refresh_index(
            on_progress=lambda d, t: progress.update(task, completed=d, total=t), rebuild=rebuild
        )
    m = built.manifest
    out.print(
        f"index: {m.passages} passages ({m.embedded} embedded with {m.embedder}), "
        f"library version {m.library_version}"
    )


@cli.command()
def search(
    query: Annotated[str, typer.Argument(help="The question or keywords.")],
    k: Annotated[int, typer.Option("-k", "--top", help="How many passages to show.")] = 10,
    kind: Annotated[
        list[DocumentKind] | None,
        typer.Option("--kind", help="Only this kind of evidence (repeatable)."),
    ] = None,
    year_from: Annotated[int | None, typer.Option(help="Only documents from this year on.")] = None,
    year_to: Annotated[int | None, typer.Option(help="Only documents up to this year.")] = None,
) -> None:
    """Print the passages that best answer a question, with each retriever's rank."""
    hits = state.app().search(query, k=k, filters=Filters(tuple(kind or ()), year_from, year_to))
    if not hits:
        out.print("No passages match. Try other words, or add documents with `evident ingest`.")
        return
    for n, hit in enumerate(hits, start=1):
        ranks = ", ".join(f"{name} #{rank}" for name, rank in sorted(hit.ranks.items()))
        meta = hit.document
        out.print(
            f"[bold]{n}. {meta.title}[/bold]  [dim]{meta.kind.value} · {meta.source or '—'} · "
            f"{meta.year or 'n.d.'} · doc {hit.document_id[:10]}[/dim]",
            soft_wrap=True,
        )
        out.print(
            f"   [dim]section:[/dim] {hit.chunk.section or '—'}  [dim]score[/dim] "
            f"{hit.score:.4f}  [dim]ranks:[/dim] {ranks or '—'}",
            soft_wrap=True,
        )
        text = hit.chunk.text.replace("\n", " ")
        out.print(f"   {text[:400]}{'…' if len(text) > 400 else ''}", soft_wrap=True)


@library_cli.callback(invoke_without_command=True)
def library_list(
    ctx: typer.Context,
    kind: Annotated[DocumentKind | None, typer.Option(help="Only this kind.")] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many.")] = 50,
) -> None:
    """List documents, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    app = state.app()
    rows = app.store.list_documents(kind=kind.value if kind else None, limit=limit)
    table = Table(show_edge=False)
    for column in ("id", "kind", "year", "source", "title", "passages"):
        table.add_column(column)
    for document_id, meta, n in rows:
        table.add_row(
            document_id[:10],
            meta.kind.value,
            str(meta.year or ""),
            meta.source[:30],
            meta.title[:70],
            str(n),
        )
    out.print(table)
    out.print(f"{app.store.count_documents()} documents, version {app.store.library_version()}")


@library_cli.command("show")
def library_show(
    document_id: Annotated[str, typer.Argument(help="Document id (a unique prefix is enough).")],
) -> None:
    """Show one document's metadata and passages."""
    app = state.app()
    doc = app.store.get_document(document_id)
    meta = doc.meta
    out.print(f"[bold]{meta.title}[/bold]", soft_wrap=True)
    fields = {
        "id": doc.document_id,
        "kind": meta.kind.value + (" (inferred)" if meta.kind_inferred else ""),
        "source": meta.source,
        "year": meta.year,
        "authors": "; ".join(meta.authors),
        "pmid": meta.pmid,
        "doi": meta.doi,
        "url": meta.url,
        "licence": meta.licence,
        "grade": meta.grade,
        "conditions": "; ".join(meta.conditions),
        "origin": doc.origin,
    }
    for name, value in fields.items():
        if value:
            out.print(f"  [dim]{name}:[/dim] {value}", soft_wrap=True)
    for chunk in app.store.chunks_for(doc.document_id):
        out.print(
            f"\n[bold]passage {chunk.ordinal + 1}[/bold] [dim]{chunk.section or '—'} · "
            f"chars {chunk.start}–{chunk.end} · {chunk.chunk_id}[/dim]",
            soft_wrap=True,
        )
        out.print(chunk.text, soft_wrap=True)


# -- editorial review -----------------------------------------------------------------------
# Local CLI users are trusted operators of the library (they can open the database file
# anyway), so read commands default to a full view and user management needs no login.
# Review actions name the acting user with --as, so the audit log and "reviewed by" are
# right and the workflow's role checks apply.
