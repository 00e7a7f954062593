"""What every command shares: the typer apps, consoles, the lazily built App, helpers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from evident.config import load_settings
from evident.review.records import Role, User

if TYPE_CHECKING:
    from evident.app import App

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
            # Imported here: the App brings every stage, which --help never needs.
            from evident.app import build_app

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


OPERATOR = User(user_id="", name="operator", role=Role.ADMIN, created_at=datetime.min)


def _user(app: App, name: str | None) -> User:
    if not name:
        fail("say who is acting: pass --as NAME or set EVIDENT_USER")
    return app.user(name)


def _viewer(app: App, name: str | None) -> User:
    return app.user(name) if name else OPERATOR


def _day(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d}" if moment else "—"


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )
