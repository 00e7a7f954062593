"""The `evident` command line. It parses flags, calls App service functions, prints."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from evident.app import App, build_app
from evident.compose import render
from evident.config import load_settings
from evident.errors import EvidentError
from evident.index.retrieve import Filters
from evident.models import Audience, DocumentKind, IngestStatus, ReviewStatus
from evident.review.records import ArticleRecord, Role, User
from evident.review.workflow import CitationSpec, StatementEdit, numbered_statements

cli = typer.Typer(
    help="evident: guideline-first clinical answers with a citation after every statement.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
library_cli = typer.Typer(help="List the documents in the library, or show one.")
cli.add_typer(library_cli, name="library")
review_cli = typer.Typer(
    help="Editorial review: queue, claim, comment, edit, approve, publish.", no_args_is_help=True
)
cli.add_typer(review_cli, name="review")
articles_cli = typer.Typer(
    help="Saved articles: list, show, revision history and diffs.", no_args_is_help=True
)
cli.add_typer(articles_cli, name="articles")
users_cli = typer.Typer(help="Users and API tokens.", no_args_is_help=True)
cli.add_typer(users_cli, name="users")

AsUser = Annotated[
    str | None,
    typer.Option("--as", envvar="EVIDENT_USER", help="Act as this user (default: $EVIDENT_USER)."),
]
ArticleId = Annotated[str, typer.Argument(help="Article id (a unique prefix is enough).")]
Comment = Annotated[str, typer.Option("--comment", "-m", help="Why; shown in the audit log.")]

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


class GeneratorChoice(StrEnum):
    none = "none"
    openai = "openai"


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
    fresh: Annotated[
        bool,
        typer.Option("--fresh", help="Compose a new answer even if a published article matches."),
    ] = False,
    save: Annotated[
        bool, typer.Option("--save", help="Save a fresh answer as a draft and print its id.")
    ] = False,
    as_user: AsUser = None,
    follow_ups: Annotated[
        bool,
        typer.Option(
            "--follow-ups/--no-follow-ups",
            help="Suggest up to three follow-up questions the library can answer.",
        ),
    ] = True,
    generator: Annotated[
        GeneratorChoice | None,
        typer.Option(
            help="Who writes the article: 'openai' (the language model in the generator "
            "settings) or 'none' (extractive). Default: the model if one is configured."
        ),
    ] = None,
) -> None:
    """Answer a question with a cited, verified article from the library.

    A published article that matches the question is returned instead, marked approved
    with its review date, unless --fresh is given. --audience patient, nurse or student
    renders the same evidence for that reader.
    """
    app = state.app()
    if generator is GeneratorChoice.none:
        app.generator = None
    elif generator is GeneratorChoice.openai and app.generator is None:
        fail(
            "--generator openai needs a model endpoint: set EVIDENT_GENERATOR__BASE_URL "
            "(e.g. http://127.0.0.1:11434/v1) and EVIDENT_GENERATOR__MODEL, or the "
            "[generator] section of the EVIDENT_CONFIG file"
        )
    user = _user(app, as_user) if save else None
    answer = app.answer(question, audience, fresh=fresh, save=save, user=user)
    article = answer.article
    suggestions = app.suggest_follow_ups(article) if follow_ups else ()
    if article.fallback:
        err.print(
            f"note: the language model's draft was not used: {article.fallback}", soft_wrap=True
        )
    if answer.source == "published" and answer.record is not None:
        r = answer.record
        err.print(
            f"published article {r.article_id}, reviewed by {r.reviewed_by} on "
            f"{_day(r.reviewed_at)} (question match {answer.similarity:.2f}); "
            "use --fresh for a new answer",
            soft_wrap=True,
        )
    if output_format is OutputFormat.terminal and out_file is None:
        out.print(render.to_terminal(article), soft_wrap=True)
        _print_suggestions(suggestions, out)
    else:
        if output_format is OutputFormat.json:
            data = render.to_json(article)
            data["follow_ups"] = list(suggestions)
            text = json.dumps(data, indent=2, ensure_ascii=False)
        elif output_format is OutputFormat.html:
            text = render.to_html(article)
        else:
            text = render.to_markdown(article)
        if out_file is None:
            sys.stdout.write(text + "\n")
        else:
            out_file.write_text(text, encoding="utf-8")
            err.print(f"wrote {out_file}")
        if output_format is not OutputFormat.json:
            _print_suggestions(suggestions, err)
    if answer.source == "fresh" and answer.record is not None:
        err.print(
            f"saved draft {answer.record.article_id}; submit it for review with "
            f"`evident review submit {answer.record.article_id}`",
            soft_wrap=True,
        )


def _print_suggestions(suggestions: tuple[str, ...], console: Console) -> None:
    if suggestions:
        console.print("\n[bold]Follow-up questions the library can answer[/]")
        for i, question in enumerate(suggestions, 1):
            console.print(f"  {i}. {question}", soft_wrap=True)


@cli.command()
def chat(
    thread: Annotated[
        str | None, typer.Option("--thread", help="Resume this thread (an id prefix is enough).")
    ] = None,
    audience: Annotated[
        Audience | None,
        typer.Option(help="Who the answers are for (a resumed thread keeps its own)."),
    ] = None,
    list_threads: Annotated[
        bool, typer.Option("--list", help="List recent threads and exit.")
    ] = False,
    save: Annotated[
        bool, typer.Option("--save", help="Save each fresh answer as a draft for review.")
    ] = False,
    as_user: AsUser = None,
) -> None:
    """Ask a question, then follow-ups, in one conversation (one question per input line).

    Each follow-up ("What if there is infection?", "And in children?") is resolved against
    the thread and printed as "Answering: …" before the article; if that is not what you
    meant, type the question in full on the next line. Type a suggestion's number to ask
    it. Works with piped input; threads are stored and can be resumed with --thread.
    """
    app = state.app()
    if list_threads:
        threads = app.threads()
        if not threads:
            out.print("No threads.")
        for t in threads:
            out.print(f"{t.thread_id}  {_day(t.updated_at)}  {t.audience.value:9}  {t.condition}")
        return
    user = _user(app, as_user) if save else None
    thread_id = None
    suggestions: tuple[str, ...] = ()
    if thread is not None:
        resumed = app.thread(thread)
        thread_id = resumed.thread_id
        if resumed.turns:
            suggestions = resumed.turns[-1].suggestions
            err.print(
                f"resuming thread {thread_id} ({len(resumed.turns)} turns, "
                f"{resumed.audience.value}); last question: {resumed.turns[-1].resolved}",
                soft_wrap=True,
            )
    interactive = sys.stdin.isatty()
    failed = False
    while True:
        if interactive:
            err.print("[bold]?[/] ", end="")
        line = sys.stdin.readline()
        if not line:
            break
        question = line.strip()
        if question.lower() in {"quit", "exit"}:
            break
        if not question:
            continue
        if question.isdigit() and 1 <= int(question) <= len(suggestions):
            question = suggestions[int(question) - 1]
        try:
            turn = app.ask_in_thread(
                question,
                thread_id=thread_id,
                audience=audience or Audience.PHYSICIAN,
                user=user,
                save=save,
            )
        except EvidentError as exc:
            err.print(f"[red]error:[/red] {exc}", soft_wrap=True)
            failed = True
            continue
        thread_id, suggestions = turn.thread_id, turn.suggestions
        out.print(f"[bold]Answering:[/] {turn.resolved}", soft_wrap=True)
        out.print(render.to_terminal(turn.answer.article), soft_wrap=True)
        _print_suggestions(suggestions, out)
        record = turn.answer.record
        saved = f" · saved draft {record.article_id}" if record is not None else ""
        err.print(
            f"thread {thread_id} · turn {turn.index}{saved} · type a follow-up, a suggestion's "
            "number, or the whole question to correct it",
            soft_wrap=True,
        )
    if failed:
        raise typer.Exit(1)


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
OPERATOR = User(user_id="", name="operator", role=Role.ADMIN, created_at=datetime.min)


def _user(app: App, name: str | None) -> User:
    if not name:
        fail("say who is acting: pass --as NAME or set EVIDENT_USER")
    return app.user(name)


def _viewer(app: App, name: str | None) -> User:
    return app.user(name) if name else OPERATOR


def _day(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d}" if moment else "—"


def _records_table(records: list[ArticleRecord]) -> None:
    if not records:
        out.print("No articles.")
        return
    table = Table(show_edge=False)
    for column in ("id", "status", "rev", "author", "reviewer", "updated", "flag"):
        table.add_column(column, no_wrap=True)
    table.add_column("question")
    for r in records:
        table.add_row(
            r.article_id,
            r.status.value,
            str(r.revision),
            r.author,
            r.reviewer or r.reviewed_by or "",
            _day(r.updated_at),
            "re-review" if r.needs_rereview else "",
            r.question[:70],
        )
    out.print(table)


def _record_line(r: ArticleRecord) -> str:
    parts = [
        f"{render.STATUS_LABEL[r.status]}",
        f"revision {r.revision}",
        f"last updated {_day(r.updated_at)}",
    ]
    if r.reviewed_by:
        parts.append(f"reviewed by {r.reviewed_by} on {_day(r.reviewed_at)}")
    parts.append(f"library {r.library_version}")
    line = f"{r.article_id} · " + " · ".join(parts)
    if r.needs_rereview:
        line += f"\nNEEDS RE-REVIEW: {r.rereview_reason}"
    return line


def _act(action: str, article_id: str, as_user: str | None, comment: str) -> None:
    app = state.app()
    record = app.editorial.act(action, article_id, _user(app, as_user), comment)
    out.print(f"{record.article_id}: {record.status.value} ({render.STATUS_LABEL[record.status]})")


@review_cli.command("queue")
def review_queue(as_user: AsUser = None) -> None:
    """List articles waiting for review: submitted, and under review."""
    app = state.app()
    _records_table(app.editorial.queue(_viewer(app, as_user)))


@review_cli.command("submit")
def review_submit(article_id: ArticleId, as_user: AsUser = None, comment: Comment = "") -> None:
    """Submit a draft (or a changed article) for review."""
    _act("submit", article_id, as_user, comment)


@review_cli.command("claim")
def review_claim(article_id: ArticleId, as_user: AsUser = None, comment: Comment = "") -> None:
    """Claim a submitted article to review it."""
    _act("claim", article_id, as_user, comment)


@review_cli.command("approve")
def review_approve(article_id: ArticleId, as_user: AsUser = None, comment: Comment = "") -> None:
    """Approve an article you are reviewing."""
    _act("approve", article_id, as_user, comment)


@review_cli.command("request-changes")
def review_request_changes(
    article_id: ArticleId, as_user: AsUser = None, comment: Comment = ""
) -> None:
    """Send an article you are reviewing back to its author (needs --comment)."""
    _act("request_changes", article_id, as_user, comment)


@review_cli.command("reject")
def review_reject(article_id: ArticleId, as_user: AsUser = None, comment: Comment = "") -> None:
    """Reject an article you are reviewing (needs --comment)."""
    _act("reject", article_id, as_user, comment)


@review_cli.command("publish")
def review_publish(article_id: ArticleId, as_user: AsUser = None, comment: Comment = "") -> None:
    """Publish an approved article (editors)."""
    _act("publish", article_id, as_user, comment)


@review_cli.command("retract")
def review_retract(article_id: ArticleId, as_user: AsUser = None, comment: Comment = "") -> None:
    """Retract an article in any state (editors; needs --comment)."""
    _act("retract", article_id, as_user, comment)


@review_cli.command("revise")
def review_revise(article_id: ArticleId, as_user: AsUser = None, comment: Comment = "") -> None:
    """Start a new draft from an approved or published article."""
    app = state.app()
    record = app.editorial.revise(article_id, _user(app, as_user), comment)
    out.print(f"new draft {record.article_id} (supersedes {record.supersedes} when published)")


@review_cli.command("show")
def review_show(
    article_id: ArticleId,
    as_user: AsUser = None,
    revision: Annotated[int | None, typer.Option(help="Show this revision.")] = None,
) -> None:
    """Show an article for review: numbered statements, their evidence and the comments."""
    app = state.app()
    viewer = _viewer(app, as_user)
    stored = app.editorial.get(article_id, viewer, revision)
    a = stored.article
    out.print(f"[bold]{a.title}[/bold]", soft_wrap=True)
    out.print(_record_line(stored.record), soft_wrap=True)
    out.print(f"question: {a.question}", soft_wrap=True)
    headings = {"b": "Bottom line"} | {
        f"s{n}": f"{sec.heading}" for n, sec in enumerate(a.sections, start=1)
    }
    current = ""
    for label, statement in numbered_statements(a):
        group = label.split(".")[0].rstrip("0123456789") if label[0] == "b" else label.split(".")[0]
        if group != current:
            current = group
            out.print(f"\n[bold]{group} · {headings[group]}[/bold]", soft_wrap=True)
        out.print(
            f"  [cyan]{label}[/cyan] {statement.text} [dim](support {statement.support:.2f})[/dim]",
            soft_wrap=True,
        )
        for i, c in enumerate(statement.citations, start=1):
            out.print(
                f"      [dim]{i}. {c.chunk_id}:{c.start}-{c.end} doc {c.document_id[:10]}[/dim]",
                soft_wrap=True,
            )
    if a.removed:
        out.print("\n[bold]Left out[/bold]")
        for r in a.removed:
            out.print(f"  - {r.statement.text} [dim]({r.reason})[/dim]", soft_wrap=True)
    comments = [e for e in app.articles.events(stored.record.article_id) if e.action == "comment"]
    if comments:
        out.print("\n[bold]Comments[/bold]")
        for e in comments:
            where = f" on {e.target}" if e.target else ""
            out.print(
                f"  {_day(e.created_at)} {e.actor}{where} (rev {e.revision}): {e.comment}",
                soft_wrap=True,
            )


@review_cli.command("comment")
def review_comment(
    article_id: ArticleId,
    text: Annotated[str, typer.Argument(help="The comment.")],
    target: Annotated[
        str, typer.Option("--on", help="A statement (b1, s2.3) or section (s2) it is about.")
    ] = "",
    as_user: AsUser = None,
) -> None:
    """Comment on an article, or on one statement or section of it."""
    app = state.app()
    event_id = app.editorial.comment(article_id, _user(app, as_user), text, target)
    out.print(f"comment {event_id} added")


def _citation_spec(value: str) -> CitationSpec:
    chunk_id, _, span = value.rpartition(":")
    start, _, end = span.partition("-")
    if not chunk_id or not start.isdigit() or not end.isdigit():
        raise typer.BadParameter(f"{value!r} is not CHUNK_ID:START-END (e.g. 2cc15463a1:0-88)")
    return CitationSpec(chunk_id, int(start), int(end))


@review_cli.command("edit")
def review_edit(
    article_id: ArticleId,
    target: Annotated[
        str, typer.Argument(help="Statement to change (b1, s2.3), or list to add to (b, s2).")
    ],
    text: Annotated[str | None, typer.Option("--text", help="The new statement text.")] = None,
    cite: Annotated[
        list[str] | None,
        typer.Option("--cite", help="Add a citation CHUNK_ID:START-END (repeatable)."),
    ] = None,
    uncite: Annotated[
        list[int] | None,
        typer.Option("--uncite", help="Remove citation number N of the statement (repeatable)."),
    ] = None,
    delete: Annotated[bool, typer.Option("--delete", help="Remove the statement.")] = False,
    note: Annotated[str, typer.Option("--note", "-m", help="Change note for the revision.")] = "",
    as_user: AsUser = None,
) -> None:
    """Edit a statement (a new revision); the edit is re-verified against its citations."""
    app = state.app()
    change = StatementEdit(
        target=target,
        text=text,
        add_citations=tuple(_citation_spec(c) for c in cite or ()),
        remove_citations=tuple(uncite or ()),
        delete=delete,
    )
    revision = app.editorial.edit(article_id, _user(app, as_user), change, note)
    out.print(f"{revision.article_id}: revision {revision.revision} ({revision.note})")


@review_cli.command("stale")
def review_stale(as_user: AsUser = None) -> None:
    """Flag articles whose cited documents changed or that have new guidelines."""
    app = state.app()
    flagged = app.editorial.check_stale(_viewer(app, as_user))
    for record, reason in flagged:
        out.print(f"{record.article_id}: needs re-review: {reason}", soft_wrap=True)
    total = len(app.articles.list_records(needs_rereview=True, limit=100_000))
    out.print(f"{len(flagged)} newly flagged; {total} articles need re-review")


@articles_cli.command("list")
def articles_list(
    status: Annotated[
        list[ReviewStatus] | None, typer.Option("--status", help="Only this state (repeatable).")
    ] = None,
    stale: Annotated[
        bool, typer.Option("--needs-rereview", help="Only articles flagged for re-review.")
    ] = False,
    limit: Annotated[int, typer.Option(help="Show at most this many.")] = 50,
    as_user: AsUser = None,
) -> None:
    """List saved articles, most recently changed first."""
    app = state.app()
    records = app.editorial.list_articles(
        _viewer(app, as_user), status, True if stale else None, limit
    )
    _records_table(records)


@articles_cli.command("show")
def articles_show(
    article_id: ArticleId,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="terminal, markdown, html or json.")
    ] = OutputFormat.terminal,
    revision: Annotated[int | None, typer.Option(help="Show this revision.")] = None,
    as_user: AsUser = None,
) -> None:
    """Show a saved article with its review status, reviewer and dates."""
    app = state.app()
    stored = app.editorial.get(article_id, _viewer(app, as_user), revision)
    if output_format is OutputFormat.json:
        sys.stdout.write(
            json.dumps(render.to_json(stored.article), indent=2, ensure_ascii=False) + "\n"
        )
        return
    err.print(_record_line(stored.record), soft_wrap=True)
    if output_format is OutputFormat.terminal:
        out.print(render.to_terminal(stored.article), soft_wrap=True)
    elif output_format is OutputFormat.html:
        sys.stdout.write(render.to_html(stored.article) + "\n")
    else:
        sys.stdout.write(render.to_markdown(stored.article) + "\n")


@articles_cli.command("history")
def articles_history(article_id: ArticleId, as_user: AsUser = None) -> None:
    """Show an article's revisions and its audit log."""
    app = state.app()
    viewer = _viewer(app, as_user)
    for r in app.editorial.revisions(article_id, viewer):
        out.print(
            f"revision {r.revision} · {r.created_at:%Y-%m-%d %H:%M} · {r.author} · {r.note}",
            soft_wrap=True,
        )
    out.print("")
    for e in app.editorial.history(article_id, viewer):
        move = (
            f" {e.from_status} → {e.to_status}"
            if e.from_status != e.to_status and e.to_status
            else ""
        )
        where = f" on {e.target}" if e.target else ""
        said = f": {e.comment}" if e.comment else ""
        out.print(
            f"{e.created_at:%Y-%m-%d %H:%M:%S} {e.actor} {e.action}{where}{move}{said}",
            soft_wrap=True,
        )


@articles_cli.command("diff")
def articles_diff(
    article_id: ArticleId,
    old: Annotated[
        int | None, typer.Option("--from", help="Older revision (default: previous).")
    ] = None,
    new: Annotated[
        int | None, typer.Option("--to", help="Newer revision (default: current).")
    ] = None,
    as_user: AsUser = None,
) -> None:
    """Show what changed between two revisions (unified diff of the Markdown)."""
    app = state.app()
    sys.stdout.write(app.editorial.diff(article_id, _viewer(app, as_user), old, new))


@users_cli.command("create")
def users_create(
    name: Annotated[str, typer.Argument(help="The new user's name.")],
    role: Annotated[
        Role, typer.Option("--role", help="reader, author, reviewer, editor or admin.")
    ] = Role.READER,
    admin: Annotated[bool, typer.Option("--admin", help="Shorthand for --role admin.")] = False,
    as_user: AsUser = None,
) -> None:
    """Create a user and print their API token (shown only this once)."""
    app = state.app()
    user, token = app.create_user(name, Role.ADMIN if admin else role, actor=as_user or "operator")
    out.print(f"created {user.name} ({user.role.value}); API token (shown once, store it now):")
    sys.stdout.write(token + "\n")


@users_cli.command("list")
def users_list() -> None:
    """List users and their roles."""
    app = state.app()
    users = app.articles.list_users()
    if not users:
        out.print("No users. Create the first admin with `evident users create --admin NAME`.")
        return
    table = Table(show_edge=False)
    for column in ("name", "role", "tokens", "created"):
        table.add_column(column)
    for u in users:
        table.add_row(
            u.name, u.role.value, str(app.articles.count_tokens(u.user_id)), _day(u.created_at)
        )
    out.print(table)


@users_cli.command("token")
def users_token(
    name: Annotated[str, typer.Argument(help="The user to issue a token for.")],
    as_user: AsUser = None,
) -> None:
    """Issue a new API token for a user and print it (shown only this once)."""
    app = state.app()
    token = app.issue_token(name, actor=as_user or "operator")
    out.print(f"new API token for {name} (shown once, store it now):")
    sys.stdout.write(token + "\n")


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default: api.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default: api.port).")] = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
    public: Annotated[
        bool | None,
        typer.Option(
            "--public/--private", help="Let unauthenticated visitors read published articles."
        ),
    ] = None,
) -> None:
    """Serve the web app (/) and the REST API (/api/v1; OpenAPI at /openapi.json) with uvicorn."""
    import uvicorn

    settings = load_settings(library=state.library)
    # Workers rebuild the App from the environment, so pass the resolved settings on.
    os.environ["EVIDENT_LIBRARY"] = str(settings.library.resolve())
    if public is not None:
        os.environ["EVIDENT_API__PUBLIC"] = "true" if public else "false"
    uvicorn.run(
        "evident.api.main:app_from_env",
        factory=True,
        host=host or settings.api.host,
        port=port or settings.api.port,
        workers=workers,
        log_level="info",
    )


@cli.command()
def openapi(
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write here (e.g. docs/openapi.json), not stdout.")
    ] = None,
) -> None:
    """Print the REST API's OpenAPI schema (regenerates docs/openapi.json)."""
    from evident.api.main import openapi_text

    text = openapi_text()
    if out_file is None:
        sys.stdout.write(text)
    else:
        out_file.write_text(text, encoding="utf-8")
        err.print(f"wrote {out_file}")


# -- evaluation ----------------------------------------------------------------------------
eval_cli = typer.Typer(
    help="Measure answer quality and citation support against public expert judgements "
    "(data in $EVIDENT_SHARED_DATA, default ../shared/data; see docs/evaluation.md).",
    no_args_is_help=True,
)
cli.add_typer(eval_cli, name="eval")

EvalLimit = Annotated[
    int | None,
    typer.Option("--limit", min=1, help="Use at most N questions per split (a quick run)."),
]
EvalBm25 = Annotated[
    bool,
    typer.Option("--bm25-only", help="Use a BM25-only library and no embedder (fast, weaker)."),
]


def _eval_settings(bm25_only: bool):  # type: ignore[no-untyped-def]
    settings = load_settings(library=state.library)
    if bm25_only:
        settings.index.embedder = "none"
    return settings


def _run_evals(names: list[str], limit: int | None, out_dir: Path, bm25_only: bool) -> list[dict]:  # type: ignore[type-arg]
    from evident.eval.library import make_context
    from evident.eval.report import write_result
    from evident.eval.runner import run_suite
    from evident.eval.suites import SUITES

    context = make_context(_eval_settings(bm25_only), state.library)
    results = []
    with _progress() as progress:
        for name in names:
            task = progress.add_task(name, total=None)

            def advance(done: int, total: int, task: TaskID = task) -> None:
                progress.update(task, completed=done, total=total)

            result = run_suite(SUITES[name], context, limit, advance)
            paths = write_result(result, out_dir)
            progress.update(task, description=f"{name} done")
            results.append(result)
            err.print(f"wrote {paths['json']}, {paths['markdown']}", soft_wrap=True)
    for result in results:
        table = Table(title=result["title"], show_edge=False)
        table.add_column("metric")
        table.add_column("value", justify="right")
        from evident.eval.report import fmt

        for metric, value in result["metrics"].items():
            table.add_row(metric, fmt(value))
        out.print(table)
    return results


def _eval_command(name: str, summary: str) -> None:
    def command(
        limit: EvalLimit = None,
        out_dir: Annotated[
            Path, typer.Option("--out", help="Folder for the JSON, Markdown and PNG results.")
        ] = Path("var/eval"),
        bm25_only: EvalBm25 = False,
    ) -> None:
        _run_evals([name], limit, out_dir, bm25_only)

    command.__doc__ = summary + " Writes <suite>.json, .md and .png to --out."
    eval_cli.command(name=name)(command)


def _register_eval_commands() -> None:
    from evident.eval import CATALOG

    for name, summary in CATALOG.items():
        _eval_command(name, summary)


_register_eval_commands()


@eval_cli.command("all")
def eval_all(
    limit: EvalLimit = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Results folder (default docs/evaluation, or var/eval with --limit)."
        ),
    ] = None,
    docs: Annotated[
        bool | None,
        typer.Option(
            "--docs/--no-docs",
            help="Refresh docs/evaluation.md (default: yes for full runs, no with --limit).",
        ),
    ] = None,
    bm25_only: EvalBm25 = False,
) -> None:
    """Run every suite; a full run also refreshes docs/evaluation.md."""
    from evident.eval import CATALOG
    from evident.eval.report import DOC, update_doc

    target = out_dir or (DOC.parent / "evaluation" if limit is None else Path("var/eval"))
    results = _run_evals(list(CATALOG), limit, target, bm25_only)
    if docs if docs is not None else limit is None:
        err.print(f"updated {update_doc(results, target)}")


@eval_cli.command("report")
def eval_report(
    results_dir: Annotated[
        Path, typer.Argument(help="A folder of <suite>.json results from evident eval.")
    ],
) -> None:
    """Refresh docs/evaluation.md from saved results (e.g. suites run separately)."""
    from evident.eval import CATALOG
    from evident.eval.report import load_result, update_doc

    found = [results_dir / f"{name}.json" for name in CATALOG]
    results = [load_result(p) for p in found if p.exists()]
    if not results:
        fail(f"no <suite>.json results in {results_dir}; run `evident eval SUITE --out DIR` first")
    err.print(f"updated {update_doc(results, results_dir)} with {len(results)} suites")


@eval_cli.command("compare")
def eval_compare(
    a: Annotated[Path, typer.Argument(help="The first result (JSON from evident eval).")],
    b: Annotated[Path, typer.Argument(help="The second result.")],
) -> None:
    """Print the differences between two results: metrics, then settings and versions."""
    from evident.eval.report import compare, fmt, load_result

    diff = compare(load_result(a), load_result(b))
    table = Table(title=f"{a.name} → {b.name}", show_edge=False)
    for column in ("metric", "A", "B", "change"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for name, x, y, delta in diff["metrics"]:
        table.add_row(name, fmt(x), fmt(y), "" if delta is None else f"{delta:+.3f}")
    out.print(table)
    if diff["provenance"]:
        prov = Table(title="Run differences", show_edge=False)
        for column in ("field", "A", "B"):
            prov.add_column(column)
        for name, x, y, _ in diff["provenance"]:
            prov.add_row(name, str(x)[:60], str(y)[:60])
        out.print(prov)
    else:
        out.print("same versions, library and settings")


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
