"""Clinical terms as record systems send them (SNOMED CT and ICD-10 codes with display
text, drug names) mapped onto the condition vocabulary.

A code from the small table in data/codes.yaml maps directly; any other term is read
through its display text with the vocabulary's own matching, as a question would be.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from evident.index.vocab import Concept, Vocabulary, term_key

SNOMED = "http://snomed.info/sct"
# ICD-10 (WHO) and its national modifications carry the same category codes.
ICD10 = (
    "http://hl7.org/fhir/sid/icd-10",
    "http://hl7.org/fhir/sid/icd-10-cm",
    "http://hl7.org/fhir/sid/icd-10-uk",
    "http://hl7.org/fhir/sid/icd-10-de",
    "http://hl7.org/fhir/sid/icd-10-nl",
)
# Words of a medication's display text that are not its name ("colchicine 0.6 MG Oral Tablet").
_FORM = re.compile(r"\d|\b(?:oral|tablet|capsule|injection|solution|extended|release)\b", re.I)


@dataclass(frozen=True, slots=True)
class Coding:
    """One code of a term: the code system's URI, the code and its display text."""

    system: str
    code: str
    display: str = ""


@dataclass(frozen=True, slots=True)
class ClinicalTerm:
    """A condition or a medication as a record system codes it.

    text: the free text the record holds for it (FHIR CodeableConcept.text).
    """

    codings: tuple[Coding, ...]
    text: str = ""

    def label(self) -> str:
        """The words a clinician would read: the text, else the first display, else a code."""
        for value in (self.text, *(c.display for c in self.codings), *self.code_names()):
            if value.strip():
                return value.strip()
        return ""

    def code_names(self) -> list[str]:
        return [f"{system_name(c.system)} {c.code}" for c in self.codings if c.code]


@dataclass(frozen=True, slots=True)
class ConditionMatch:
    """A patient's condition mapped to a vocabulary concept.

    via: how it was mapped: by a code ("SNOMED CT 90560007") or by "display text".
    """

    term: ClinicalTerm
    concept: Concept
    via: str


def system_name(system: str) -> str:
    if system == SNOMED:
        return "SNOMED CT"
    if system in ICD10:
        return "ICD-10"
    return system or "code"


@lru_cache(maxsize=1)
def code_table() -> dict[str, dict[str, str]]:
    """The certain codes: {"snomed": {code: condition}, "icd10": {code or category: condition}}."""
    raw = resources.files("evident").joinpath("data/codes.yaml").read_text("utf-8")
    table: dict[str, dict[str, str]] = {
        system: {str(code): str(name) for code, name in entries.items()}
        for system, entries in yaml.safe_load(raw).items()
    }
    return table


def concept_named(vocab: Vocabulary, name: str) -> Concept | None:
    """The concept whose preferred name is `name` (case and plural folded)."""
    key = term_key(name)
    for concept_id in vocab.by_term.get(key, []):
        concept = vocab.concepts[concept_id]
        if term_key(concept.name) == key:
            return concept
    return None


def _coded(coding: Coding) -> str | None:
    table = code_table()
    if coding.system == SNOMED:
        return table["snomed"].get(coding.code.strip())
    if coding.system in ICD10:
        # With or without the dot (M10.9, M109); the most specific entry wins.
        code = coding.code.strip().upper().replace(".", "")
        for prefix in sorted(table["icd10"], key=len, reverse=True):
            if code.startswith(prefix.replace(".", "")):
                return table["icd10"][prefix]
    return None


def match_condition(term: ClinicalTerm, vocab: Vocabulary) -> ConditionMatch | None:
    """Map a coded condition to the vocabulary: by the code table, else by display text."""
    for coding in term.codings:
        name = _coded(coding)
        concept = concept_named(vocab, name) if name else None
        if concept is not None:
            return ConditionMatch(term, concept, f"{system_name(coding.system)} {coding.code}")
    for text in dict.fromkeys([term.text, *(c.display for c in term.codings)]):
        found = vocab.find(text) if text.strip() else []
        if found:
            return ConditionMatch(term, found[0][1], "display text")
    return None


def medication_name(term: ClinicalTerm) -> str:
    """The drug's name without strength or form: "colchicine 0.6 MG Oral Tablet" -> "colchicine"."""
    label = term.label()
    cut = _FORM.search(label)
    name = (label[: cut.start()] if cut else label).strip(" ,-/")
    return name.lower()
