"""PubMedQA: answer yes / no / maybe from the abstract evident retrieves.

For each question evident searches the library and takes the first PubMedQA abstract it
returns. The library holds the abstracts without their conclusions (the reader leaves
out LONG_ANSWER and final_decision), so the answer has to come from the background,
methods and results, as in PubMedQA's reasoning-required setting.

The answer is a multinomial logistic regression (numpy) on a dozen transparent
features: counts of negative, positive and hedging cue words and of significant and
non-significant p-values, in the whole abstract and in its last sentences. It is fit on
the 500 development questions and reported on the 500 official test questions.
"""

from __future__ import annotations

import re
import time
from collections import Counter

import numpy as np
import numpy.typing as npt

from evident.eval.data import YesNoQuestion, pubmedqa_questions
from evident.eval.metrics import prf
from evident.eval.runner import EvalContext, Progress, Suite, SuiteOutput
from evident.eval.suites.common import sentences

CLASSES = ("yes", "no", "maybe")
PUBLISHED_MAJORITY = 0.552
PUBLISHED_HUMAN = 0.780

_NEG = re.compile(
    r"\b(no (?:significant|statistically|difference|association|effect|evidence|change|"
    r"correlation|benefit|improvement)|not (?:significantly|significant|associated|"
    r"different|statistically|related|correlated|predictive|improve)|did not|does not|"
    r"was not|were not|failed to|neither|similar|comparable|non-?significant|n\.?s\.)\b",
    re.I,
)
_POS = re.compile(
    r"\b(significantly|significant|associated with|correlated|improv\w*|increas\w*|"
    r"decreas\w*|reduc\w*|higher|lower|better|effective|predict\w*|independent)\b",
    re.I,
)
_HEDGE = re.compile(
    r"\b(may|might|could|unclear|trend|tended|however|although|limited|inconclusive|"
    r"controversial|further|possibl\w*|marginal\w*|partially)\b",
    re.I,
)
_P_SIG = re.compile(r"\bp\s*(?:<|=|≤|<=)\s*0?\.0(?:[0-4]\d*|5\b(?!\d))", re.I)
_P_NS = re.compile(r"\bp\s*(?:>|=|≥|>=)\s*0?\.(?:0[5-9]|[1-9])", re.I)


def cue_features(question: str, abstract: str, found: bool) -> npt.NDArray[np.float64]:
    """The features the yes/no/maybe model sees (all log-scaled counts or 0/1 flags)."""
    tail = " ".join(sentences(abstract)[-3:])

    def count(pattern: re.Pattern[str], text: str) -> float:
        return float(np.log1p(len(pattern.findall(text))))

    q = question.lower()
    return np.array(
        [
            1.0,
            count(_NEG, abstract),
            count(_POS, abstract),
            count(_HEDGE, abstract),
            count(_P_SIG, abstract),
            count(_P_NS, abstract),
            count(_NEG, tail),
            count(_POS, tail),
            count(_HEDGE, tail),
            1.0 if re.search(r"\b(not|no|without)\b", q) else 0.0,
            1.0 if re.search(r"\b(or|versus|vs)\b", q) else 0.0,
            1.0 if found else 0.0,
        ]
    )


def fit(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.int64],
    l2: float = 0.1,
    steps: int = 3000,
    rate: float = 0.5,
) -> npt.NDArray[np.float64]:
    """Multinomial logistic regression by gradient descent; returns the weight matrix."""
    mu = x[:, 1:].mean(axis=0)
    sd = x[:, 1:].std(axis=0) + 1e-9
    z = np.hstack([x[:, :1], (x[:, 1:] - mu) / sd])
    w = np.zeros((z.shape[1], len(CLASSES)))
    onehot = np.eye(len(CLASSES))[y]
    for _ in range(steps):
        logits = z @ w
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        grad = z.T @ (p - onehot) / len(z) + l2 * np.vstack([np.zeros((1, w.shape[1])), w[1:]])
        w -= rate * grad
    # Fold the standardisation into the weights so predict() takes raw features.
    raw = w.copy()
    raw[1:] = w[1:] / sd[:, None]
    raw[0] = w[0] - (mu / sd) @ w[1:]
    return raw


def predict(w: npt.NDArray[np.float64], x: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    result: npt.NDArray[np.int64] = np.argmax(x @ w, axis=1)
    return result


def _retrieve(ctx: EvalContext, q: YesNoQuestion) -> tuple[str, str, float]:
    """Return (pmid, abstract text) of the first PubMedQA abstract retrieved, and seconds."""
    app = ctx.app()
    start = time.perf_counter()
    hits = app.search(q.question, k=10)
    for hit in hits:
        if hit.document.extra.get("dataset") == "pubmedqa":
            text = " ".join(c.text for c in app.store.chunks_for(hit.document_id))
            return hit.document.pmid or "", text, time.perf_counter() - start
    return "", "", time.perf_counter() - start


def run(ctx: EvalContext, limit: int | None, progress: Progress) -> SuiteOutput:
    dev, test = pubmedqa_questions()
    if limit is not None:
        dev, test = dev[:limit], test[:limit]
    total = len(dev) + len(test)
    rows: dict[str, tuple[str, npt.NDArray[np.float64]]] = {}
    latencies = []
    for i, q in enumerate([*dev, *test], start=1):
        pmid, abstract, seconds = _retrieve(ctx, q)
        rows[q.pmid] = (pmid, cue_features(q.question, abstract, pmid == q.pmid))
        if i > len(dev):
            latencies.append(seconds)
        progress(i, total)
    x_dev = np.array([rows[q.pmid][1] for q in dev])
    y_dev = np.array([CLASSES.index(q.label) for q in dev])
    x_test = np.array([rows[q.pmid][1] for q in test])
    y_test = np.array([CLASSES.index(q.label) for q in test])
    w = fit(x_dev, y_dev)
    pred_test = predict(w, x_test)
    pred_dev = predict(w, x_dev)
    majority = Counter(q.label for q in dev).most_common(1)[0][0]
    macro = float(
        np.mean([prf(list(pred_test == c), list(y_test == c))["f1"] for c in range(len(CLASSES))])
    )
    confusion = {
        gold: {p: int(np.sum((y_test == gi) & (pred_test == pi))) for pi, p in enumerate(CLASSES)}
        for gi, gold in enumerate(CLASSES)
    }
    found = [rows[q.pmid][0] == q.pmid for q in test]
    metrics = {
        "accuracy": float(np.mean(pred_test == y_test)),
        "macro_f1": macro,
        "published_majority_baseline": PUBLISHED_MAJORITY,
        "published_single_human": PUBLISHED_HUMAN,
        "dev_majority_class_accuracy": float(np.mean([q.label == majority for q in test])),
        "dev_fit_accuracy": float(np.mean(pred_dev == y_dev)),
        "own_abstract_retrieved": float(np.mean(found)),
        "questions": float(len(test)),
    }
    descriptions = {
        "accuracy": "share of test questions answered with the expert yes/no/maybe label",
        "macro_f1": "mean F1 over yes, no and maybe",
        "published_majority_baseline": "PubMedQA paper: always 'yes' on the test set",
        "published_single_human": "PubMedQA paper: one human, reasoning-required setting",
        "dev_majority_class_accuracy": f"always '{majority}' (the dev majority) on these test "
        "questions",
        "dev_fit_accuracy": "accuracy on the development questions the model was fit on",
        "own_abstract_retrieved": "share of test questions whose first retrieved PubMedQA "
        "abstract is the question's own",
        "questions": "test questions",
    }
    return SuiteOutput(
        metrics=metrics,
        descriptions=descriptions,
        split="PubMedQA PQA-L official test split (test_ground_truth.json, 500 questions)",
        tuning="the 500 other PQA-L questions: the logistic-regression weights",
        distributions={"predicted class (0 yes, 1 no, 2 maybe)": [float(v) for v in pred_test]},
        latencies=latencies,
        # Ids and outcomes only: gold labels per PMID would copy the data set here.
        items=[
            {"pmid": q.pmid, "own_abstract": rows[q.pmid][0] == q.pmid, "correct": bool(ok)}
            for q, ok in zip(test, pred_test == y_test, strict=True)
        ],
        notes=[
            "The conclusions (LONG_ANSWER) and labels are not in the library: the answer "
            "comes from background, methods and results alone, like PubMedQA's "
            "reasoning-required setting, in which the published single-human figure was "
            "measured.",
            "Cue-word features cannot read what a result means for the question asked "
            "(which arm improved, whether 'higher' is good); they track the abstract's "
            "overall tone, which is why 'maybe' is rarely predicted.",
            f"Test confusion (gold → predicted): {confusion}.",
        ],
        extra={"weights": w.round(4).tolist(), "confusion": confusion},
    )


SUITE = Suite(
    name="pubmedqa",
    title="PubMedQA: yes / no / maybe from the retrieved abstract",
    summary="Retrieve the abstract, answer yes/no/maybe with a small cue-word model",
    run=run,
)
