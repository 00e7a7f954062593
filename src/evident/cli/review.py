"""Editorial review, saved articles, users and tokens."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from evident.cli.answers import OutputFormat
from evident.cli.common import (
    ArticleId,
    AsUser,
    Comment,
    _day,
    _user,
    _viewer,
    articles_cli,
    err,
    out,
    review_cli,
    state,
    users_cli,
)
from evident.compose import render
from evident.models import ReviewStatus
from evident.review.records import ArticleRecord, Role
from evident.review.workflow import CitationSpec, StatementEdit, numbered_statements


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


def _act(
    action: str, article_id: str, as_user: str | None, comment: str, revision: int | None
) -> None:
    app = state.app()
    record = app.editorial.act(action, article_id, _user(app, as_user), comment, revision)
    out.print(f"{record.article_id}: {record.status.value} ({render.STATUS_LABEL[record.status]})")


@review_cli.command("queue")
def review_queue(as_user: AsUser = None) -> None:
    """List articles waiting for review: submitted, and under review."""
    app = state.app()
    _records_table(app.editorial.queue(_viewer(app, as_user)))


# Workflow actions that take only an article, an actor and a comment: one command each.
Revision = Annotated[
    int | None,
    typer.Option(
        "--revision",
        min=1,
        help="The revision you read (see `evident review show`); refused if the article was "
        "revised since.",
    ),
]

_ACTIONS = (
    ("submit", "submit", "Submit a draft (or a changed article) for review."),
    ("claim", "claim", "Claim a submitted article to review it."),
    ("approve", "approve", "Approve an article you are reviewing."),
    (
        "request-changes",
        "request_changes",
        "Send an article you are reviewing back to its author (needs --comment).",
    ),
    ("reject", "reject", "Reject an article you are reviewing (needs --comment)."),
    ("publish", "publish", "Publish an approved article (editors)."),
    ("retract", "retract", "Retract an article in any state (editors; needs --comment)."),
)


def _action_command(command: str, action: str, help_text: str) -> None:
    def run(
        article_id: ArticleId,
        as_user: AsUser = None,
        comment: Comment = "",
        revision: Revision = None,
    ) -> None:
        _act(action, article_id, as_user, comment, revision)

    review_cli.command(command, help=help_text)(run)


for _command, _action, _help in _ACTIONS:
    _action_command(_command, _action, _help)


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
    refused: Annotated[
        bool,
        typer.Option(
            "--refused",
            help="Only refusals: questions the library had not enough evidence for (left "
            "out otherwise; they are never reviewed).",
        ),
    ] = False,
    limit: Annotated[int, typer.Option(help="Show at most this many.")] = 50,
    as_user: AsUser = None,
) -> None:
    """List saved articles, most recently changed first."""
    app = state.app()
    records = app.editorial.list_articles(
        _viewer(app, as_user), status, True if stale else None, limit, abstained=refused
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


@users_cli.command("revoke")
def users_revoke(
    name: Annotated[str, typer.Argument(help="The user whose tokens to revoke.")],
    as_user: AsUser = None,
) -> None:
    """Revoke every token of a user: API tokens and web sign-ins stop working at once.

    Issue a fresh one afterwards with `evident users token NAME`.
    """
    app = state.app()
    count = app.revoke_tokens(name, actor=as_user or "operator")
    out.print(f"revoked {count} token{'s' if count != 1 else ''} of {name}")
