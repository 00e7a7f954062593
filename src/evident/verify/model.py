"""The claim-support model at run time (see evident.crossencoder for the runtime)."""

from __future__ import annotations

from evident.crossencoder import MODELS, CrossEncoderModel

LABELS: tuple[str, ...] = ("supports", "contradicts", "does_not_address")
BUNDLED = MODELS / "claim-support"


class ClaimSupportModel(CrossEncoderModel):
    """A SupportModel: P(supports), P(contradicts), P(does not address) per
    (statement, evidence) pair."""

    name = "claim-support"
    labels = LABELS
    # Exact numpy by default: int8 moves its probabilities by up to about 0.05, enough to
    # flip a statement sitting at the support threshold.
    default_runtime = "numpy"
