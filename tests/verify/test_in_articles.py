"""The claim-support model where a reviewer meets it: edits of a real article, and two
library sources that disagree."""

from __future__ import annotations

import random
from pathlib import Path

from evident.app import App
from evident.train.perturb import REVERSALS
from evident.verify.support import DISAGREE_HEADING, Verdict, judge

SEED_000 = "What is the treatment for soft tissue calcifications near the metatarsal head?"


def test_reversed_statements_of_the_seed_000_article_are_refused(demo_app: App) -> None:
    article = demo_app.ask(SEED_000)
    threshold = demo_app.settings.verify.support_threshold
    rng = random.Random(0)
    tried = []
    for statement in article.statements():
        chunks = demo_app.store.get_chunks([c.chunk_id for c in statement.citations])
        passages = [chunks[c.chunk_id].text for c in statement.citations]
        for kind in ("negation", "always_never"):
            edit, _ = REVERSALS[kind]
            edited = edit(statement.text, rng)
            if edited and edited != statement.text:
                verdict = judge(edited, passages, demo_app.support_model, threshold)
                tried.append((kind, edited, verdict.verdict))
                break
    assert len(tried) >= 10
    accepted = [(k, t) for k, t, v in tried if v is Verdict.SUPPORTS]
    # Before the model all ten of the reversals were accepted. A reversal inside a
    # sentence that states its point both ways can still slip through (docs/models.md).
    assert len(accepted) <= len(tried) // 10, accepted


COLCHICINE_FOR = """---
title: Colchicine for gout flares
kind: guideline
year: 2022
source: "Test Society of Rheumatology"
conditions: [gout]
---
# Treatment of gout flares
Low-dose colchicine is recommended as a first-line treatment for acute gout flares.
"""

COLCHICINE_AGAINST = """---
title: Colchicine in gout flares, a trial
kind: randomised_trial
year: 2023
source: "Test Journal of Rheumatology"
conditions: [gout]
---
# Results
Low-dose colchicine is not recommended as a first-line treatment for acute gout flares.
"""


def test_two_library_passages_that_contradict_each_other_are_shown_side_by_side(
    bm25_app: App, tmp_path: Path
) -> None:
    for name, text in (("for.md", COLCHICINE_FOR), ("against.md", COLCHICINE_AGAINST)):
        (tmp_path / name).write_text(text)
    assert not bm25_app.ingest([tmp_path / "for.md", tmp_path / "against.md"]).failed
    bm25_app.refresh_index()

    article = bm25_app.ask("What is the treatment of acute gout flares?")

    [section] = [s for s in article.sections if s.heading == DISAGREE_HEADING]
    texts = {s.text for s in section.statements}
    assert texts == {
        "Low-dose colchicine is recommended as a first-line treatment for acute gout flares.",
        "Low-dose colchicine is not recommended as a first-line treatment for acute gout flares.",
    }
    cited = {c.document_id for s in section.statements for c in s.citations}
    assert cited <= {r.document_id for r in article.references} and len(cited) == 2
