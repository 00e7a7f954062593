"""The relevance model at run time: how well a passage or sentence answers a question.

Shared by retrieval (reranking the fused candidates) and composition (which sentences
lead an article, and whether the library can answer at all). Trained by
`evident models train` from BioASQ 7B-9B, MedQuAD, PubMedQA and COVID-QA; see
docs/models.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from evident.crossencoder import MODELS, CrossEncoderModel
from evident.protocols import FloatMatrix

LABELS: tuple[str, ...] = ("answers", "does_not_answer")
BUNDLED = MODELS / "relevance"


class MiniLmRelevanceModel(CrossEncoderModel):
    """A RelevanceModel: calibrated P(the text answers the question)."""

    name = "relevance"
    labels = LABELS

    def scores(self, question: str, texts: Sequence[str]) -> FloatMatrix:
        """Return P(answers) for each text, in order."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        return self.probabilities([(question, t) for t in texts])[:, 0].copy()
