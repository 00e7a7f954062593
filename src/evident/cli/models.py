"""evident's own models: `evident models train` and `evident models show`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from evident.cli.common import cli, err, out
from evident.errors import BackendUnavailable, InvalidInput

MODEL_NAMES = ("claim-support", "relevance")

models_cli = typer.Typer(
    help="The models evident trains itself (claim support, relevance): rebuild them, or "
    "show what the shipped ones were trained on and how they scored (see docs/models.md).",
    no_args_is_help=True,
)
cli.add_typer(models_cli, name="models")


@models_cli.command("train")
def models_train(
    model: Annotated[
        str,
        typer.Option(
            "--model", help="Which model to train: claim-support, relevance or all (default)."
        ),
    ] = "all",
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write the model here instead of over the shipped one (a folder per model "
            "when training all).",
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=8, help="Train on at most N pairs (a quick smoke run)."),
    ] = None,
) -> None:
    """Rebuild evident's models from the data in $EVIDENT_SHARED_DATA (needs torch:
    `pip install -r requirements-train.lock`); prints their held-out development metrics."""
    if limit is not None and out_dir is None:
        raise InvalidInput(
            "a --limit run makes a smoke-test model; give it --out DIR so it does not "
            "replace the shipped weights"
        )
    names = MODEL_NAMES if model == "all" else (model,)
    if any(n not in MODEL_NAMES for n in names):
        raise InvalidInput(
            f"no model called {model!r}; choose one of {', '.join(MODEL_NAMES)} or all"
        )
    try:
        from evident.train.run import train_claim_support, train_relevance
    except ImportError as exc:
        raise BackendUnavailable(
            f"training needs torch, which is not installed ({exc}); install the training "
            "extra with `pip install -r requirements-train.lock` or run `make models`"
        ) from exc
    from evident.eval.data import require

    root = require("claim-support").parent
    trainers = {"claim-support": train_claim_support, "relevance": train_relevance}
    metrics = {}
    for name in names:
        folder = out_dir / name if out_dir is not None and len(names) > 1 else out_dir
        stamp = trainers[name](root, folder, limit, report=lambda m: err.print(m))
        metrics[name] = stamp["dev_metrics"]
    out.print(json.dumps(metrics if len(names) > 1 else metrics[names[0]], indent=2))


@models_cli.command("show")
def models_show(
    model: Annotated[
        str, typer.Option("--model", help="Which model: claim-support or relevance.")
    ] = "claim-support",
    directory: Annotated[
        Path | None, typer.Option("--dir", help="A model folder (default: the shipped one).")
    ] = None,
) -> None:
    """Show a model's stamp: what trained it and its metrics (checked against its weights)."""
    from evident.relevance import MiniLmRelevanceModel
    from evident.verify.model import ClaimSupportModel

    kinds = {"claim-support": ClaimSupportModel, "relevance": MiniLmRelevanceModel}
    if model not in kinds:
        raise InvalidInput(f"no model called {model!r}; choose claim-support or relevance")
    stamp = kinds[model](directory).stamp
    out.print(json.dumps(stamp, indent=2))
