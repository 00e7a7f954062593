"""Evaluation: `evident eval` suites, reports and comparisons."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    TaskID,
)
from rich.table import Table

from evident.cli.common import (
    _progress,
    cli,
    err,
    fail,
    out,
    state,
)
from evident.config import load_settings

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
