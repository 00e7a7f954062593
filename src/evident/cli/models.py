"""evident's own models: `evident models train` and `evident models show`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from evident.cli.common import cli, err, out
from evident.errors import BackendUnavailable

models_cli = typer.Typer(
    help="The models evident trains itself (claim support): rebuild them, or show what "
    "the shipped ones were trained on and how they scored (see docs/models.md).",
    no_args_is_help=True,
)
cli.add_typer(models_cli, name="models")


@models_cli.command("train")
def models_train(
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Write the model here instead of over the shipped one."),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=8, help="Train on at most N pairs (a quick smoke run)."),
    ] = None,
) -> None:
    """Rebuild the claim-support model from the data in $EVIDENT_SHARED_DATA (needs torch:
    `pip install -r requirements-train.lock`); prints its held-out development metrics."""
    try:
        from evident.train.run import train_claim_support
    except ImportError as exc:
        raise BackendUnavailable(
            f"training needs torch, which is not installed ({exc}); install the training "
            "extra with `pip install -r requirements-train.lock` or run `make models`"
        ) from exc
    from evident.eval.data import require

    root = require("claim-support").parent
    stamp = train_claim_support(root, out_dir, limit, report=lambda m: err.print(m))
    out.print(json.dumps(stamp["dev_metrics"], indent=2))


@models_cli.command("show")
def models_show(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="A model folder (default: the shipped one).")
    ] = None,
) -> None:
    """Show the claim-support model's stamp: what trained it and its metrics (checked)."""
    from evident.verify.model import ClaimSupportModel

    stamp = ClaimSupportModel(directory).stamp
    out.print(json.dumps(stamp, indent=2))
