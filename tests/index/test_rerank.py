"""Reranking with the relevance model: it reads question and passage together."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evident.app import App
from evident.crossencoder import ModelMismatch
from evident.relevance import BUNDLED, MiniLmRelevanceModel


def test_a_passage_that_answers_outranks_one_on_another_subject() -> None:
    model = MiniLmRelevanceModel()
    question = "What is the first-line treatment for a gout flare?"
    answers = (
        "For a gout flare the guideline strongly recommends colchicine, a non-steroidal "
        "anti-inflammatory drug or a glucocorticoid as first-line options."
    )
    other = "Plantar warts are caused by human papillomavirus infection of the skin."
    scores = model.scores(question, [answers, other])
    assert scores[0] >= 0.5 > 0.1 > scores[1]
    # Asked the other way round, the judgement follows the question, not the passage.
    flipped = model.scores("How do people get plantar warts?", [answers, other])
    # Above the bar a question naming a known condition must clear to be answered.
    assert flipped[1] >= 0.3 and flipped[1] > 3 * flipped[0]


def test_search_hits_carry_the_models_judgement(demo_app: App) -> None:
    hits = demo_app.search("How is a gout flare treated?", k=5)
    read = [h for h in hits if h.relevance is not None]
    # The first hit is one the model read; every hit it read says so in its ranks.
    assert hits and hits[0].relevance is not None and read
    assert all(0 <= (h.relevance or 0) <= 1 and "rerank" in h.ranks for h in read)
    assert all("rerank" not in h.ranks for h in hits if h.relevance is None)
    assert max(h.relevance or 0 for h in read) >= 0.5


def test_rerank_depth_zero_keeps_fusion_order(demo_app: App) -> None:
    original = demo_app.settings.index
    try:
        demo_app.settings.index = original.model_copy(update={"rerank_depth": 0})
        hits = demo_app.search("How is a gout flare treated?", k=5)
    finally:
        demo_app.settings.index = original
    assert hits and all(h.relevance is None and "rerank" not in h.ranks for h in hits)


def test_a_relevance_model_that_does_not_match_its_stamp_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "relevance"
    shutil.copytree(BUNDLED, folder)
    stamp = json.loads((folder / "stamp.json").read_text())
    stamp["labels"] = ["supports", "contradicts", "does_not_address"]
    (folder / "stamp.json").write_text(json.dumps(stamp))
    with pytest.raises(ModelMismatch) as info:
        MiniLmRelevanceModel(folder).scores("q", ["p"])
    message = str(info.value)
    assert "the relevance model" in message and "make models" in message
    assert "labels ['supports', 'contradicts', 'does_not_address']" in message


def test_the_int8_runtime_agrees_with_the_exact_numpy_one() -> None:
    question = "How is a gout flare treated?"
    passages = [
        "Colchicine, an NSAID or a glucocorticoid is first-line for a gout flare.",
        "Gout flares are more common in men than in women.",
        "Plantar warts are caused by human papillomavirus.",
        "Eccentric calf loading is the first treatment for midportion Achilles tendinopathy.",
    ]
    fast = MiniLmRelevanceModel().scores(question, passages)
    exact = MiniLmRelevanceModel(runtime="numpy").scores(question, passages)
    assert abs(fast - exact).max() < 0.1
    assert list(fast.argsort()) == list(exact.argsort())
