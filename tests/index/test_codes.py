"""Coded conditions and medications mapped onto the condition vocabulary."""

from __future__ import annotations

import pytest

from evident.index.codes import (
    ICD10,
    SNOMED,
    ClinicalTerm,
    Coding,
    code_table,
    concept_named,
    match_condition,
    medication_name,
)
from evident.index.vocab import load_vocabulary

VOCAB = load_vocabulary()


def coded(system: str, code: str, display: str = "", text: str = "") -> ClinicalTerm:
    return ClinicalTerm((Coding(system, code, display),), text)


def test_every_code_in_the_table_names_a_known_condition() -> None:
    for system, entries in code_table().items():
        for code, name in entries.items():
            assert concept_named(VOCAB, name) is not None, f"{system} {code}: {name!r}"


@pytest.mark.parametrize(
    ("term", "condition", "via"),
    [
        (coded(SNOMED, "90560007", "Gout"), "gout", "SNOMED CT 90560007"),
        (coded(ICD10[0], "M10.9", "Gout, unspecified"), "gout", "ICD-10 M10.9"),
        # ICD-10-CM, without the dot, and a display text that names no condition.
        (coded(ICD10[1], "M10071", "Idiopathic, right ankle"), "gout", "ICD-10 M10071"),
        (
            coded(ICD10[1], "E11.621", "Type 2 DM with foot ulcer"),
            "diabetic foot ulcer",
            "ICD-10 E11.621",
        ),
        # An unlisted code is read through its display text.
        (
            coded(ICD10[1], "M86.171", "Other acute osteomyelitis, right ankle and foot"),
            "diabetic foot osteomyelitis",
            "display text",
        ),
        (
            coded("urn:local", "17", "", text="Pseudogout"),
            "calcium pyrophosphate deposition disease",
            "display text",
        ),
    ],
)
def test_conditions_map_by_code_then_by_display_text(
    term: ClinicalTerm, condition: str, via: str
) -> None:
    match = match_condition(term, VOCAB)

    assert match is not None
    assert (match.concept.name, match.via) == (condition, via)


def test_a_condition_the_library_does_not_cover_maps_to_nothing() -> None:
    assert match_condition(coded(SNOMED, "38341003", "Hypertensive disorder"), VOCAB) is None
    assert match_condition(ClinicalTerm(()), VOCAB) is None


@pytest.mark.parametrize(
    ("display", "name"),
    [
        ("colchicine 0.6 MG Oral Tablet", "colchicine"),
        ("Allopurinol 100 MG Oral Tablet", "allopurinol"),
        ("insulin glargine 100 UNT/ML Injectable Solution", "insulin glargine"),
        ("prednisolone", "prednisolone"),
    ],
)
def test_medication_names_drop_strength_and_form(display: str, name: str) -> None:
    assert (
        medication_name(coded("http://www.nlm.nih.gov/research/umls/rxnorm", "1", display)) == name
    )
