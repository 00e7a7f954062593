"""The evaluation suites, by name."""

from __future__ import annotations

from evident.eval.runner import Suite
from evident.eval.suites import abstain, bioasq, expertqa, mediqa, medlfqa, pubmedqa

SUITES: dict[str, Suite] = {
    s.name: s
    for s in (
        bioasq.SUITE,
        medlfqa.SUITE,
        mediqa.SUITE,
        expertqa.SUITE,
        pubmedqa.SUITE,
        abstain.SUITE,
    )
}
