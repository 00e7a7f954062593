"""The claim-support model: reversals refused, faithful statements kept, reasons named,
weights checked against their stamp, and no torch at run time."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from evident.errors import BackendUnavailable
from evident.verify.model import BUNDLED, ClaimSupportModel
from evident.verify.support import (
    Verdict,
    judge,
    missing_quantity,
    negation_clash,
    opposite_clash,
)

PASSAGE = (
    "Acute calcific periarthritis of the first metatarsophalangeal joint usually settles "
    "within two weeks with rest, ice and an NSAID. Surgical excision is reserved for deposits "
    "that stay painful for months."
)
FIRST = PASSAGE.index(". ") + 1  # the end of the first sentence
MODEL = ClaimSupportModel()


class NeverCalled:
    """A SupportModel seam that fails the test if the model runs at all."""

    name = "never"
    labels = ("supports", "contradicts", "does_not_address")

    def probabilities(self, pairs):  # type: ignore[no-untyped-def]
        raise AssertionError("the model ran for a statement a cheaper step decides")


def test_a_verbatim_quote_scores_one_without_running_the_model() -> None:
    j = judge(PASSAGE[:FIRST], [PASSAGE], NeverCalled(), 0.5)
    assert (j.verdict, j.score, j.check) == (Verdict.SUPPORTS, 1.0, "verbatim")


def test_a_number_the_passage_does_not_give_is_refused_before_the_model() -> None:
    j = judge("Surgical excision is reserved for deposits painful for 6 months.", [PASSAGE],
              NeverCalled(), 0.5)  # fmt: skip
    assert (j.verdict, j.check, j.detail) == (Verdict.NOT_ADDRESSED, "number", "6 month")
    assert j.reason("c1", 0.5) == "the source does not say this: passage c1 does not give 6 month"


def test_a_negation_on_one_side_only_is_the_opposite() -> None:
    statement = "Surgical excision is not reserved for deposits that stay painful for months."
    j = judge(statement, [PASSAGE], NeverCalled(), 0.5)
    assert (j.verdict, j.check) == (Verdict.CONTRADICTS, "negation")
    assert j.reason("c1", 0.5) == (
        "the source says the opposite: passage c1 says “Surgical excision is reserved for "
        "deposits that stay painful for months.” (the statement negates 'reserved', which "
        "the passage states)"
    )


def test_the_passages_own_words_with_one_swapped_for_its_opposite_is_the_opposite() -> None:
    statement = (
        "Acute calcific periarthritis of the first metatarsophalangeal joint rarely settles "
        "within two weeks with rest, ice and an NSAID."
    )
    j = judge(statement, [PASSAGE], NeverCalled(), 0.5)
    assert (j.verdict, j.check) == (Verdict.CONTRADICTS, "opposite")
    assert j.reason("c1", 0.5).endswith(
        "(the statement says 'rarely' where the passage says 'usually')"
    )


def test_exact_checks_leave_faithful_wording_alone() -> None:
    assert missing_quantity("It settles within 2 weeks.", "It settles within 2 weeks.") == ""
    assert missing_quantity("A dose of 500 mg.", "A dose of 500 mg twice daily.") == ""
    assert missing_quantity("A dose of 500 g.", "A dose of 500 mg.") == "500 g"
    # Dropping a negated clause is a sub-span, not a reversal.
    assert negation_clash("Rest helps.", "Rest helps, but ice does not help.") == ""
    # Keeping one of two directions the passage gives is no swap.
    assert opposite_clash("Rest reduced pain.", "Rest reduced pain and increased walking.") == ""


@pytest.mark.parametrize(
    ("statement", "verdict"),
    [
        # Reversals (the opposite-word check or the model).
        ("Acute calcific periarthritis of the first metatarsophalangeal joint rarely settles "
         "with rest, ice and an NSAID.", Verdict.CONTRADICTS),
        ("Acute calcific periarthritis of the first metatarsophalangeal joint usually worsens "
         "within two weeks with rest, ice and an NSAID.", Verdict.CONTRADICTS),
        # A statement about something the passage does not discuss.
        ("Colchicine prevents recurrence of calcific periarthritis.", Verdict.NOT_ADDRESSED),
        # Faithful rewording and reordering.
        ("Acute calcific periarthritis of the first metatarsophalangeal joint usually gets "
         "better within two weeks with rest, ice and an NSAID.", Verdict.SUPPORTS),
        ("With rest, ice and an NSAID, acute calcific periarthritis of the first "
         "metatarsophalangeal joint usually settles within two weeks.", Verdict.SUPPORTS),
    ],
)  # fmt: skip
def test_the_model_tells_supports_from_contradicts_from_not_addressed(
    statement: str, verdict: Verdict
) -> None:
    j = judge(statement, [PASSAGE], MODEL, 0.5)
    if verdict is Verdict.SUPPORTS:
        assert j.verdict is Verdict.SUPPORTS, j
    else:
        assert j.verdict is not Verdict.SUPPORTS, j


def test_probabilities_are_calibrated_rows() -> None:
    probs = MODEL.probabilities([("Rest helps.", PASSAGE), ("Ice is cold.", "Ice is cold.")])
    assert probs.shape == (2, 3)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_weights_with_a_wrong_stamp_fail_with_the_rebuild_command(tmp_path: Path) -> None:
    folder = tmp_path / "claim-support"
    shutil.copytree(BUNDLED, folder)
    stamp = json.loads((folder / "stamp.json").read_text())
    stamp["format"] = 0
    (folder / "stamp.json").write_text(json.dumps(stamp))
    with pytest.raises(BackendUnavailable) as wrong_format:
        ClaimSupportModel(folder).probabilities([("a", "b")])
    assert str(wrong_format.value) == (
        f"the claim-support model in {str(folder)!r} does not match its stamp: format 0, "
        "this evident reads 1; rebuild it with `make models`"
    )

    stamp["format"] = 1
    (folder / "stamp.json").write_text(json.dumps(stamp))
    with (folder / "weights.safetensors").open("r+b") as fh:
        fh.seek(-4, 2)
        fh.write(b"\0\0\0\1")
    with pytest.raises(
        BackendUnavailable, match=re.escape("(sha256 differs); rebuild it with `make models`")
    ):
        ClaimSupportModel(folder).probabilities([("a", "b")])


def test_the_shipped_stamp_says_what_made_the_weights() -> None:
    stamp = MODEL.stamp
    assert len(stamp["data_sha256"]) == 64 and stamp["code_version"]
    assert "eval-only" not in json.dumps(stamp["data_sources"])
    assert set(stamp["train_pairs_by_source"]) >= {"citation-integrity", "generated:negation"}


def test_the_runtime_never_imports_torch(demo_app) -> None:  # type: ignore[no-untyped-def]
    code = (
        "import sys\n"
        "from evident.verify.model import ClaimSupportModel\n"
        "from evident.verify.support import judge\n"
        "judge('Gout is never treated.', ['Gout is treated with colchicine.'], "
        "ClaimSupportModel(), 0.5)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr
