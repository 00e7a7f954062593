"""Render one verified article for a reader: physician, nurse, student or patient.

The evidence is the same for every reader; only the arrangement and the words evident
adds around it change. Quoted statements stay verbatim and keep their citations. What
evident adds comes only from the fixed phrasebook (compose/phrasebook.py), our glossary
(data/glossary.yaml) and, when an HPO file is configured, HPO's layperson synonyms, so a
rendering never gains a medical claim that is not in the library.

- Patient: the bottom line first with a plain lead-in; warning signs gathered into "When
  to seek care urgently"; statements with drug doses or surgical technique left out and
  replaced by a pointer to discuss them with a clinician (the pointer carries their
  citations; the article records them in `omitted`); medical words explained on first use.
- Student: short definitions on first use, and a line under each step saying why it
  comes where it does.
- Nurse: assessment, warning signs (when to escalate), monitoring and patient education
  first, each framed for the care plan.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources

import yaml

from evident.compose import phrasebook as pb
from evident.compose.readability import reading_grade
from evident.index.vocab import Vocabulary, term_key
from evident.models import Article, ArticleSection, Audience, RemovedStatement, Statement

# A drug dose: an amount with a unit, a per-weight dose, or a dosing frequency.
DOSE = re.compile(
    r"\b\d+(?:[.,]\d+)?\s*(?:(?:-|–|to)\s*\d+(?:[.,]\d+)?\s*)?"
    r"(?:mg|mcg|µg|μg|micrograms?|milligrams?|g|grams?|units?|IU|ml|mL|mmol|mEq)\b"
    r"|\b(?:mg|mcg|ml|units?)\s*/\s*(?:kg|day|d|m2|dose)\b"
    r"|\b(?:once|twice|three times|four times)\s+(?:a\s+|per\s+)?(?:day|daily|week|weekly)\b"
    r"|\b(?:bd|tds|qds|bid|tid|qid|q\d+h)\b",
    re.I,
)
# How an operation or procedure is done, as opposed to whether it is indicated.
TECHNIQUE = re.compile(
    r"\b(?:incision\w*|portals?|burrs?|screws?|k-?wires?|kirschner|fixation|fixed with|"
    r"sutur\w*|tourniquet|fluoroscop\w*|under (?:local|general|regional) an(?:a)?esthe\w*|"
    r"needling|the needle|gauge|dissect\w*|retract\w*|wound closure|closed in layers|"
    r"osteotomy (?:cut|angle)|degrees?|surgical approach|approached through|"
    r"plantar digital nerves|debrid\w*|reattach\w*|curett\w*)\b",
    re.I,
)
# Warning signs: statements that say care is needed urgently ("needs urgent assessment",
# "get urgent medical help", "contact the team urgently", fever, sepsis, red flags).
URGENT = re.compile(
    r"\b(?:(?:very )?urgent(?:ly)?\s+(?:[\w-]+\s+){0,3}?(?:help|assessment|referral|review|"
    r"care|attention|appointment|ultrasound|imaging|scan|x-ray|surgery|drainage)|"
    r"(?:refer\w*|contact|seek\w*|see|assess\w*)\s+(?:[\w-]+\s+){0,5}?urgently|"
    r"needs? urgent|red[- ]flags?|sepsis|septic|fever|hot and shivery|spreading redness|"
    r"suspected\s+(?:[\w-]+\s+){0,2}?(?:cancer|sarcoma|malignan\w*)|"
    r"gangren\w*|limb[- ]threatening|necroti[sz]ing)\b",
    re.I,
)
# A sentence that says urgency is NOT needed is not a warning sign.
_NOT_URGENT = re.compile(
    r"\b(?:no need|does not (?:meet|need|apply)|do not apply|not needing|not urgent)\b", re.I
)
# Patient-education content, gathered for nurses.
EDUCATION = re.compile(
    r"\b(?:advis\w*|educat\w*|explain\w*|teach\w*|reassur\w*|self-care|footwear|shoes?|"
    r"at home|home exercise\w*|daily foot (?:check|inspection)|inspect (?:their|the) feet)\b",
    re.I,
)
CAUTION = re.compile(r"\b(?:should not|must not|avoid\w*|do not|not be|caution)\b", re.I)
_MAX_EXPLAINED = 4  # per statement, so explanations never bury the evidence


@dataclass(frozen=True, slots=True)
class GlossaryEntry:
    """One glossary word: its forms, a plain meaning (patients) and a short one (students)."""

    term: str
    forms: tuple[str, ...]
    plain: str
    short: str


@dataclass(frozen=True)
class Glossary:
    """Our lay glossary, matched as whole words, longest form first."""

    entries: tuple[GlossaryEntry, ...]
    pattern: re.Pattern[str]
    by_form: dict[str, GlossaryEntry]

    def find(self, text: str) -> list[tuple[str, GlossaryEntry]]:
        """Return (words as written, entry) for glossary words in text, in order."""
        return [(m.group(0), self.by_form[m.group(0).lower()]) for m in self.pattern.finditer(text)]


@lru_cache(maxsize=1)
def load_glossary() -> Glossary:
    """Read data/glossary.yaml (shipped inside the package)."""
    raw = resources.files("evident").joinpath("data/glossary.yaml").read_text("utf-8")
    entries = tuple(
        GlossaryEntry(
            term=str(e["term"]),
            forms=tuple(dict.fromkeys([str(e["term"]), *map(str, e.get("also", []))])),
            plain=str(e["plain"]),
            short=str(e["short"]),
        )
        for e in yaml.safe_load(raw)
    )
    by_form = {form.lower(): entry for entry in entries for form in entry.forms}
    forms = sorted(by_form, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, forms)) + r")(?![\w-])", re.I)
    return Glossary(entries, pattern, by_form)


def adapt(article: Article, audience: Audience, vocabulary: Vocabulary | None = None) -> Article:
    """Return the article arranged and explained for one reader (see the module docstring).

    The physician rendering is the composed article itself.
    """
    article = replace(article, audience=audience)
    if audience is Audience.PHYSICIAN:
        return _measured(article)
    if article.abstained:
        notes = (*article.notes, pb.ABSTAIN_NOTE) if audience is Audience.PATIENT else article.notes
        return _measured(replace(article, notes=notes))

    bottom = list(article.bottom_line)
    sections = list(article.sections)
    omitted: list[RemovedStatement] = []
    if audience is Audience.PATIENT:
        bottom = _leave_out(bottom, omitted)
        sections = [
            replace(s, statements=tuple(_leave_out(s.statements, omitted))) for s in sections
        ]
        bottom, sections = _quoted_first(bottom, sections)
    if audience in (Audience.PATIENT, Audience.NURSE):
        sections = _gather(sections, is_warning, "red_flags", pb.RED_FLAG_HEADING[audience])
    if audience is Audience.NURSE:
        sections = _gather(
            sections, lambda t: bool(EDUCATION.search(t)), "education", pb.EDUCATION_HEADING
        )
        sections = sorted(sections, key=_nurse_priority)
    intros = pb.INTROS[audience]
    sections = [
        replace(s, intro=intros.get(s.group if s.group in intros else s.heading, ""))
        for s in sections
        if s.statements
    ]
    if audience is Audience.PATIENT:
        bottom = [
            replace(s, lead=pb.LEADS["bottom_first" if i == 0 else "bottom_next"])
            if not s.generated
            else s
            for i, s in enumerate(bottom)
        ]
        sections = [_patient_section(s) for s in sections]
    if audience in (Audience.PATIENT, Audience.STUDENT):
        bottom, sections = _explain(bottom, sections, audience, vocabulary)
    return _measured(
        replace(
            article,
            bottom_line=tuple(bottom),
            sections=tuple(sections),
            omitted=(*article.omitted, *omitted),
        )
    )


def _leave_out(statements: Iterable[Statement], omitted: list[RemovedStatement]) -> list[Statement]:
    """Drop dosed and technique statements; one pointer per reason takes their place."""
    out: list[Statement] = []
    pointers: dict[str, int] = {}
    for statement in statements:
        reason = (
            "dose"
            if DOSE.search(statement.text)
            else "technique"
            if TECHNIQUE.search(statement.text)
            else None
        )
        if reason is None or statement.generated:
            out.append(statement)
            continue
        omitted.append(RemovedStatement(statement, pb.OMITTED_REASON[reason]))
        if reason in pointers:
            at = pointers[reason]
            out[at] = replace(out[at], citations=out[at].citations + statement.citations)
        else:
            pointers[reason] = len(out)
            out.append(
                Statement(pb.POINTERS[reason], statement.citations, support=1.0, generated=True)
            )
    return out


# "no fever", "without spreading redness", "absence of sepsis": the sign is ruled out.
_NEGATED_SIGN = re.compile(
    r"\b(?:no|without|nor|absence of|absent|free of|lack of|lacks?|rather than|unlike)\b"
    r"(?:[^\w,;.]+\w+){0,3}?[^\w,;.]*$",
    re.I,
)


def _quoted_first(
    bottom: list[Statement], sections: list[ArticleSection]
) -> tuple[list[Statement], list[ArticleSection]]:
    """The main point is always a quoted statement, never a phrasebook pointer: quoted
    bottom-line statements go first, and when none is left the best quoted statement of
    the sections (not a warning sign, which keeps its own heading) moves up."""
    quoted = [s for s in bottom if not s.generated]
    pointers = [s for s in bottom if s.generated]
    if not quoted:
        for i, section in enumerate(sections):
            pick = next(
                (s for s in section.statements if not s.generated and not is_warning(s.text)),
                None,
            )
            if pick is not None:
                quoted = [pick]
                rest = tuple(s for s in section.statements if s is not pick)
                sections = [*sections[:i], replace(section, statements=rest), *sections[i + 1 :]]
                break
    return quoted + pointers, sections


def is_warning(text: str) -> bool:
    """True when a statement says care is needed urgently (a red flag).

    A sign that the sentence rules out ("a quiet, painless mass without fever") does not
    count: describing the benign case is not a warning sign.
    """
    if _NOT_URGENT.search(text):
        return False
    return any(not _NEGATED_SIGN.search(text[: m.start()]) for m in URGENT.finditer(text))


def _gather(
    sections: Sequence[ArticleSection], test: Callable[[str], bool], group: str, heading: str
) -> list[ArticleSection]:
    """Move statements that pass test into one new first section (group marks its kind)."""
    picked: list[Statement] = []
    kept: list[ArticleSection] = []
    for section in sections:
        matching = [s for s in section.statements if not s.generated and test(s.text)]
        picked += matching
        kept.append(
            replace(section, statements=tuple(s for s in section.statements if s not in matching))
        )
    if not picked:
        return kept
    return [ArticleSection(heading, tuple(picked), group), *kept]


_NURSE_ORDER = (
    ("red_flags",),
    ("assess", "clinical"),
    ("follow-up", "monitor"),
    ("education",),
    ("escalate", "refer"),
    ("caution",),
)


def _nurse_priority(section: ArticleSection) -> int:
    name = f"{section.group} {section.heading}".lower()
    for rank, words in enumerate(_NURSE_ORDER):
        if any(w in name for w in words):
            return rank
    return len(_NURSE_ORDER)


def _patient_section(section: ArticleSection) -> ArticleSection:
    heading = pb.PATIENT_HEADINGS.get(section.heading, section.heading)
    statements = []
    for s in section.statements:
        lead = ""
        if s.generated:
            pass
        elif section.group == "red_flags":
            lead = pb.LEADS["red_flag"]
        elif CAUTION.search(s.text):
            lead = pb.LEADS["caution"]
        statements.append(replace(s, lead=lead))
    return replace(section, heading=heading, statements=tuple(statements))


def _explain(
    bottom: list[Statement],
    sections: list[ArticleSection],
    audience: Audience,
    vocabulary: Vocabulary | None,
) -> tuple[list[Statement], list[ArticleSection]]:
    """Explain each glossary word (and HPO layperson name) where the reader first meets it."""
    glossary = load_glossary()
    seen: set[str] = set()

    def explain(statement: Statement) -> Statement:
        if statement.generated:
            return statement
        found: list[tuple[str, str]] = []
        for written, entry in glossary.find(statement.text):
            if entry.term not in seen and len(found) < _MAX_EXPLAINED:
                seen.add(entry.term)
                found.append(
                    (written, entry.plain if audience is Audience.PATIENT else entry.short)
                )
        if audience is Audience.PATIENT and vocabulary is not None:
            # Layperson names from our condition list and HPO (when configured).
            glossed = {term_key(w) for w, _ in found} | {term_key(t) for t in seen}
            for matched, concept in vocabulary.find(statement.text):
                lay = [t for t in concept.lay if term_key(t) != matched]
                overlaps = any(matched in g or g in matched for g in glossed)
                written = _as_written(statement.text, matched)
                if lay and written and not overlaps and len(found) < _MAX_EXPLAINED:
                    seen.add(matched)
                    glossed.add(matched)
                    found.append((written, f"in everyday words, {lay[0].lower()}"))
        return replace(statement, explain=tuple(found)) if found else statement

    new_bottom = [explain(s) for s in bottom]
    new_sections = [
        replace(sec, statements=tuple(explain(s) for s in sec.statements)) for sec in sections
    ]
    return new_bottom, new_sections


def _as_written(text: str, key: str) -> str:
    """The words of text that term_key folded into key (plurals and case as written)."""
    pattern = r"\W+".join(re.escape(w) + r"\w*" for w in key.split())
    match = re.search(r"\b" + pattern, text, re.I)
    return match.group(0) if match else ""


def generated_text(article: Article) -> list[str]:
    """Every sentence evident wrote for this rendering (not quotes), each ending in a stop.

    Headings count when they were rewritten for the reader; the terms a glossary entry
    explains are quoted from the evidence, so only their meanings count.
    """
    parts: list[str] = []
    if article.audience is Audience.PATIENT:
        parts.append(pb.BOTTOM_LINE_HEADING[Audience.PATIENT])
        parts += [s.heading for s in article.sections]
    parts += [s.intro for s in article.sections]
    for statement in article.statements():
        parts.append(statement.lead)
        parts += [meaning for _, meaning in statement.explain]
        if statement.generated:
            parts.append(statement.text)
    if article.abstained and article.audience is Audience.PATIENT:
        parts.append(pb.ABSTAIN_NOTE)
    return [_sentence(p) for p in parts if p.strip()]


def _sentence(text: str) -> str:
    text = text.strip().rstrip(":")
    text = text[:1].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def _measured(article: Article) -> Article:
    """Record reading grades: evident's own words, and the whole rendered text."""
    generated = generated_text(article)
    quoted = [s.text for s in article.statements() if not s.generated]
    metrics = dict(article.metrics)
    metrics["reading_grade_generated"] = reading_grade(" ".join(generated))
    metrics["reading_grade_all"] = reading_grade(" ".join(generated + quoted))
    metrics["omitted_for_audience"] = float(len(article.omitted))
    return replace(article, metrics=metrics)
