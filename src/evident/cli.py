"""The `evident` command line. It parses flags, calls App service functions, prints."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from evident.app import App, build_app
from evident.compose import render
from evident.config import load_settings
from evident.errors import EvidentError
from evident.index.retrieve import Filters
from evident.models import Audience, DocumentKind, IngestStatus

cli = typer.Typer(
    help="evident: guideline-first clinical answers with a citation after every statement.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
library_cli = typer.Typer(help="List the documents in the library, or show one.")
cli.add_typer(library_cli, name="library")

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


class State:
    library: Path | None = None
    debug: bool = False
    _app: App | None = None

    def app(self) -> App:
        if self._app is None:
            self._app = build_app(load_settings(library=self.library))
        return self._app


state = State()


def fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", soft_wrap=True)
    raise typer.Exit(1)


@cli.callback()
def main_options(
    library: Annotated[
        Path | None,
        typer.Option(
            "--library",
            help="Library directory (default: $EVIDENT_LIBRARY, else the user data directory).",
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
) -> None:
    """Global options shared by every command."""
    state.library = library
    state.debug = debug
    state._app = None


@cli.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to add.")],
    no_embed: Annotated[
        bool, typer.Option("--no-embed", help="Build the BM25 index only; embed later.")
    ] = False,
) -> None:
    """Add files or folders to the library and print a summary."""
    app = state.app()
    files = sum(1 for p in paths for _ in ([p] if not p.is_dir() else p.rglob("*.*")))
    with _progress() as progress:
        task = progress.add_task("reading", total=files)

        def advance(path: str) -> None:
            progress.update(task, advance=1, description=f"reading {Path(path).name[:40]}")

        report = app.ingest(paths, on_file=advance)
        progress.update(task, completed=files, description="reading done")
        embed_task = progress.add_task("embedding", total=None)

        def embedded(done: int, total: int) -> None:
            progress.update(embed_task, completed=done, total=total, description="embedding")

        app.refresh_index(embed=not no_embed, on_progress=embedded)
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
    if rebuild:
        import shutil

        shutil.rmtree(app.index_dir, ignore_errors=True)
    with _progress() as progress:
        task = progress.add_task("embedding", total=None)
        built = app.refresh_index(
            on_progress=lambda d, t: progress.update(task, completed=d, total=t)
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


class OutputFormat(StrEnum):
    terminal = "terminal"
    markdown = "markdown"
    html = "html"
    json = "json"


@cli.command()
def ask(
    question: Annotated[str, typer.Argument(help="A clinical question, in words.")],
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="terminal, markdown, html or json.")
    ] = OutputFormat.terminal,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of the terminal.")
    ] = None,
    audience: Annotated[Audience, typer.Option(help="Who the answer is for.")] = Audience.PHYSICIAN,
) -> None:
    """Answer a question with a cited, verified article from the library."""
    article = state.app().ask(question, audience=audience)
    if output_format is OutputFormat.terminal and out_file is None:
        out.print(render.to_terminal(article), soft_wrap=True)
        return
    if output_format is OutputFormat.json:
        text = json.dumps(render.to_json(article), indent=2, ensure_ascii=False)
    elif output_format is OutputFormat.html:
        text = render.to_html(article)
    else:
        text = render.to_markdown(article)
    if out_file is None:
        sys.stdout.write(text + "\n")
    else:
        out_file.write_text(text, encoding="utf-8")
        err.print(f"wrote {out_file}")


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


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def main() -> None:
    """Entry point: run the CLI, turning evident errors into one line and exit status 1."""
    try:
        code = cli(standalone_mode=False)
        # click returns the exit code instead of raising it when not standalone.
        sys.exit(code if isinstance(code, int) else 0)
    except EvidentError as exc:
        if state.debug:
            raise
        err.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # usage errors arrive here in non-standalone mode
        # typer >= 0.29 vendors click as typer._click: its usage errors derive from
        # typer.TyperException, not from click's classes.
        import click

        show = getattr(exc, "show", None)
        if isinstance(exc, typer.TyperException | click.ClickException) and callable(show):
            show()
            sys.exit(int(getattr(exc, "exit_code", 2)))
        if isinstance(exc, typer.Abort | click.exceptions.Abort):
            sys.exit(130)
        raise
