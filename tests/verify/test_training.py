"""Training: one command rebuilds a model whose numpy runtime matches torch."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the train extra (make train-env)")

from evident.train.pairs import held_out, training_pairs  # noqa: E402
from evident.verify.model import ClaimSupportModel  # noqa: E402


@pytest.mark.shared_data
def test_models_train_writes_a_stamped_model_that_loads_and_matches_torch(
    shared_data: Path, tmp_path: Path, run_cli
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "model"
    result = run_cli(
        "models", "train", "--model", "claim-support", "--limit", "24", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["pairs"] >= 6
    stamp = json.loads((out / "stamp.json").read_text())
    assert stamp["train_pairs"] == 24 and len(stamp["data_sha256"]) == 64

    from safetensors.numpy import load_file

    from evident.bert import model_dir, pair_tokenizer
    from evident.train.torch_bert import load_base

    numpy_model = ClaimSupportModel(out)
    pairs = [("Gout is treated with colchicine.", "Colchicine treats acute gout flares.")]
    ours = numpy_model.probabilities(pairs)

    weights = load_file(str(out / "weights.safetensors"))
    reference = load_base(model_dir(), 3)
    merged = load_file(str(model_dir() / "model.safetensors"))
    merged.update(weights)
    reference.load_checkpoint(merged)
    reference.head.weight.data = torch.tensor(weights["head.weight"].astype(np.float32))
    reference.head.bias.data = torch.tensor(weights["head.bias"].astype(np.float32))
    reference.eval()
    enc = pair_tokenizer(128).encode(*pairs[0])
    ids = torch.tensor([enc.ids])
    logits = reference(ids, torch.tensor([enc.type_ids]), torch.ones_like(ids))
    theirs = torch.softmax(logits / stamp["temperature"], -1).detach().numpy()
    assert np.allclose(ours, theirs, atol=1e-4)


@pytest.mark.shared_data
def test_generated_pairs_are_split_by_document_and_eval_only_sets_are_never_read(
    shared_data: Path,
) -> None:
    train, dev = training_pairs(shared_data)
    generated_train = {p.group for p in train if p.source == "generated"}
    generated_dev = {p.group for p in dev if p.source == "generated"}
    assert generated_train and generated_dev and not generated_train & generated_dev
    assert all(held_out(g) for g in generated_dev)
    assert not {p.source for p in train} & {"healthver", "nli4ct", "expertqa"}


@pytest.mark.shared_data
def test_relevance_model_trains_with_the_same_command_and_runs_in_numpy(
    shared_data: Path, tmp_path: Path, run_cli
) -> None:  # type: ignore[no-untyped-def]
    from evident.relevance import MiniLmRelevanceModel

    out = tmp_path / "relevance"
    result = run_cli("models", "train", "--model", "relevance", "--limit", "24", "--out", str(out))
    assert result.exit_code == 0, result.output
    stamp = json.loads((out / "stamp.json").read_text())
    assert stamp["labels"] == ["answers", "does_not_answer"] and stamp["train_pairs"] == 24
    scores = MiniLmRelevanceModel(out).scores("How is gout treated?", ["Colchicine.", "Rain."])
    assert scores.shape == (2,) and ((scores >= 0) & (scores <= 1)).all()


@pytest.mark.shared_data
def test_relevance_pairs_never_use_held_out_questions(shared_data: Path) -> None:
    from evident.train.relevance import medquad_heldout, relevance_pairs

    train, dev = relevance_pairs(shared_data)
    bioasq_ids = set()
    for year in ("10B", "11B"):
        for path in (shared_data / "bioasq-golden-7b-11b").glob(f"Task{year}*/*_golden.json"):
            bioasq_ids |= {q["id"] for q in json.loads(path.read_text())["questions"]}
    test_pmids = set(json.loads((shared_data / "pubmedqa" / "test_ground_truth.json").read_text()))
    for pair in [*train, *dev]:
        assert not (pair.source.startswith("bioasq") and pair.group in bioasq_ids)
        assert not (pair.source.startswith("medquad") and medquad_heldout(pair.group))
        assert not (pair.source.startswith("pubmedqa") and pair.group in test_pmids)
    assert {p.source for p in train} == {
        "bioasq",
        "bioasq-ideal",
        "medquad",
        "medquad-sentences",
        "pubmedqa",
        "pubmedqa-sentences",
        "covid-qa",
        "ngc",
    }
    assert not {(p.source, p.group) for p in train} & {(p.source, p.group) for p in dev}


def test_relevance_pairs_teach_what_answers_within_one_topic(shared_data: Path) -> None:
    """The sentence-level negatives come from the same document as the positive: the
    model must learn which sentence answers, not only which document is on topic."""
    from evident.train.relevance import (
        ANSWERS,
        NOT,
        medquad_sentence_pairs,
        ngc_pairs,
        pubmedqa_sentence_pairs,
    )

    for pairs in (
        list(medquad_sentence_pairs(shared_data)),
        list(pubmedqa_sentence_pairs(shared_data)),
        list(ngc_pairs(shared_data)),
    ):
        answers = {p.group for p in pairs if p.label == ANSWERS}
        negatives = {p.group for p in pairs if p.label == NOT}
        # Most documents give both an answering and a non-answering sentence.
        assert len(answers & negatives) > 0.5 * len(answers), pairs[0].source
        # Sentences, not passages.
        assert sum(len(p.evidence.split()) <= 60 for p in pairs) > 0.95 * len(pairs)
    ngc = list(ngc_pairs(shared_data))
    scope = [p.evidence for p in ngc if p.label == NOT]
    assert any(re.search(r"systematic review|literature|search", s, re.I) for s in scope)
