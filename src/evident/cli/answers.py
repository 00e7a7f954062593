"""Answers: `evident ask` and the follow-up conversation `evident chat`."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from evident.cli.common import (
    AsUser,
    _day,
    _user,
    cli,
    err,
    fail,
    out,
    state,
)
from evident.compose import render
from evident.errors import EvidentError
from evident.models import Audience


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
