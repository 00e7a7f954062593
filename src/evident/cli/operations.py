"""Operating a library: verify the audit log, back up and restore, move to another backend."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evident.cli.common import cli, err, fail, out, state
from evident.store.postgres import redact

audit_cli = typer.Typer(help="The audit log of review actions.", no_args_is_help=True)
cli.add_typer(audit_cli, name="audit")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Check the audit log against its hash chain; exit 1 if any event was changed,
    deleted or added outside evident. Note the head hash it prints: a later run that
    shows another head for the same events means the log was rewritten."""
    check = state.app().verify_audit()
    if check.intact:
        out.print(
            f"audit log intact: {check.events} events, chain head {check.head}", soft_wrap=True
        )
        return
    for problem in check.problems:
        out.print(problem, soft_wrap=True)
    fail(
        f"the audit log does not verify: {len(check.problems)} problem"
        f"{'s' if len(check.problems) != 1 else ''} in {check.events} events; restore the "
        "library from a backup whose audit log verifies (evident restore SRC)"
    )


@cli.command("backup")
def backup(
    destination: Annotated[
        Path, typer.Argument(help="A new or empty folder to write the backup into.")
    ],
) -> None:
    """Back up the library (database, uploaded files) into DEST; safe while serving.

    SQLite: the online backup API, with the copy's integrity checked. PostgreSQL
    (store.url): pg_dump, in the same snapshot the summary is taken in. Either way the
    audit chain is verified and its head recorded in DEST/backup.json.
    """
    summary = state.app().backup(destination)
    out.print(
        f"backed up {summary['documents']} documents, {summary['articles']} articles and "
        f"{summary['audit_events']} audit events to {destination}; audit chain head "
        f"{summary['audit_head']}",
        soft_wrap=True,
    )


@cli.command("restore")
def restore(
    source: Annotated[Path, typer.Argument(help="A folder written by `evident backup`.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a library that is not empty.")
    ] = False,
) -> None:
    """Replace the library with a backup made by `evident backup`. Stop the server first.

    The backup must pass its integrity check and its audit log must verify; the search
    index is rebuilt on next use.
    """
    summary = state.app().restore(source, force=force)
    out.print(
        f"restored {summary['documents']} documents, {summary['articles']} articles and "
        f"{summary['audit_events']} audit events from {source}; audit chain head "
        f"{summary['audit_head']}",
        soft_wrap=True,
    )


@cli.command("migrate")
def migrate(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="postgresql://USER:PASSWORD@HOST:PORT/DATABASE (an empty database), or a "
            "folder for a new SQLite library.",
        ),
    ],
    index: Annotated[
        str,
        typer.Option(
            "--index",
            help="'milvus' also loads the passages and vectors into the Milvus collection "
            "the index.milvus_* settings name; 'embedded' (the default) leaves the index be.",
        ),
    ] = "embedded",
) -> None:
    """Copy the library's records (documents, passages, vectors, articles, the audit log,
    users, threads, jobs) into another backend, checked table by table; the library
    itself is left as it was. Then set store.url (and index.backend) to use the copy."""
    if index not in ("embedded", "milvus"):
        fail(f"--index {index!r} is not a search backend; use 'embedded' or 'milvus'")
    app = state.app()
    report = app.migrate(
        to, on_table=lambda table, n: err.print(f"{table}: {n} rows"), milvus=index == "milvus"
    )
    counts = report.counts
    out.print(
        f"moved {counts['documents']} documents, {counts['chunks']} passages, "
        f"{counts['embeddings']} vectors, {counts['articles']} articles and "
        f"{counts['review_events']} audit events to {redact(to)}; every table's row count, "
        f"the library version {report.library_version} and the audit chain head "
        f"{report.audit_head} match",
        soft_wrap=True,
    )
