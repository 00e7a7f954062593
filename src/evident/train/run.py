"""`evident models train`: rebuild the shipped models from ../shared/data."""

from __future__ import annotations

import random
from pathlib import Path

from evident.train.pairs import Pair, training_pairs
from evident.train.relevance import LABELS as RELEVANCE_LABELS
from evident.train.relevance import RELEVANCE_SOURCES, relevance_pairs
from evident.train.trainer import Report, TrainConfig, train_cross_encoder

# Where the shipped weights live (inside the package, so an install carries them).
MODELS_DIR = Path(__file__).resolve().parent.parent / "data" / "models"

# What trained the claim-support model, with each set's licence (see docs/models.md).
CLAIM_SUPPORT_SOURCES = {
    "citation-integrity": "Citation-Integrity (MIT), train split; dev split for development",
    "evidence-inference": "Evidence Inference v2 (MIT; PMC open-access text), train articles",
    "negation-nli": "negation-and-nli benchmarks from SNLI, MNLI, RTE (MIT)",
    "fever-symmetric": "FEVER-Symmetric v0.1 and v0.2 (CC BY-SA 3.0, Wikipedia text)",
    "climate-fever": "Climate-FEVER (CC BY-SA, Wikipedia text)",
    "wice": "WiCE dev and test oracle chunks (CC BY-SA; Common Crawl terms)",
    "generated": "edits of sentences from PubMedQA abstracts (MIT), MedQuAD answers "
    "(CC BY 4.0) and NGC guideline summaries (US public domain); condition names and "
    "synonyms from evident's vocabulary and the Disease Ontology (CC BY 3.0)",
    "pubmedqa-conclusions": "PubMedQA (MIT): each abstract's conclusion against its results",
    "bioasq-answers": "BioASQ 7B-9B (CC BY 2.5): ideal answers against their gold snippets "
    "(10B-11B are never used)",
}

# Real claims written by people are rarer than generated edits but teach support in other
# words; each is seen twice per run.
_REPEAT = {
    "citation-integrity",
    "fever-symmetric",
    "wice",
    "pubmedqa-conclusions",
    "bioasq-answers",
}

# Caps that keep one run inside a session on two cores while keeping every kind of pair.
_CAPS = {
    "climate-fever:2": 2000,
    "generated:other_sentence": 4000,
    "generated:verbatim": 2000,
    "negation-nli:2": 1500,
}


def _capped(pairs: list[Pair], seed: int) -> list[Pair]:
    rng = random.Random(seed)
    pairs = pairs + [p for p in pairs if p.source in _REPEAT]
    rng.shuffle(pairs)
    counts: dict[str, int] = {}
    out = []
    for p in pairs:
        key = f"{p.source}:{p.kind or p.label}"
        counts[key] = counts.get(key, 0) + 1
        if counts[key] <= _CAPS.get(key, 10**9):
            out.append(p)
    return out


def train_claim_support(
    shared_data: Path,
    out_dir: Path | None = None,
    limit: int | None = None,
    config: TrainConfig | None = None,
    report: Report = print,
) -> dict[str, object]:
    """Build the pairs, train the claim-support model and write it to out_dir."""
    config = config or TrainConfig()
    train, dev = training_pairs(shared_data)
    train = _capped(train, config.seed)
    if limit is not None:
        train, dev = train[:limit], dev[: max(limit // 4, 50)]
    return train_cross_encoder(
        "claim-support",
        train,
        dev,
        out_dir or MODELS_DIR / "claim-support",
        config,
        report,
        CLAIM_SUPPORT_SOURCES,
    )


# Passages are longer than claims: 160 tokens hold a typical library passage with its
# question. One pass over the pairs; every question is seen with several passages.
RELEVANCE_CONFIG = TrainConfig(epochs=1.0, max_length=160)


def train_relevance(
    shared_data: Path,
    out_dir: Path | None = None,
    limit: int | None = None,
    config: TrainConfig | None = None,
    report: Report = print,
) -> dict[str, object]:
    """Build the question-passage pairs, train the relevance model and write it to out_dir."""
    config = config or RELEVANCE_CONFIG
    train, dev = relevance_pairs(shared_data)
    random.Random(config.seed).shuffle(train)
    if limit is not None:
        train, dev = train[:limit], dev[: max(limit // 4, 50)]
    return train_cross_encoder(
        "relevance",
        train,
        dev,
        out_dir or MODELS_DIR / "relevance",
        config,
        report,
        RELEVANCE_SOURCES,
        RELEVANCE_LABELS,
    )
