"""Evaluation against public expert judgements: suites, metrics and reports.

Run with `evident eval SUITE` (or `evident eval all`); see docs/evaluation.md.
CATALOG names the suites without importing them, so the CLI starts fast.
"""

CATALOG: dict[str, str] = {
    "bioasq-summary": "BioASQ summary questions: ROUGE-L, statement recall, gold citations.",
    "medlfqa": "MedLFQA medication questions: must-have recall, unsupported share (proxies).",
    "mediqa2019": "MEDIQA 2019: rank expert-graded consumer answers (accuracy, MRR, Spearman).",
    "expertqa": "ExpertQA: verifier vs. expert citation-support labels; calibrates threshold.",
    "pubmedqa": "PubMedQA: yes/no/maybe from the retrieved abstract (accuracy).",
    "abstain": "Abstention with gold evidence removed, and out-of-scope demo questions.",
}
