"""Which sections an article has for each kind of question, and which sentences go where."""

from __future__ import annotations

import re
from dataclasses import dataclass

from evident.models import QuestionType


@dataclass(frozen=True)
class SectionRule:
    """A section and the wording that marks a sentence as belonging to it.

    requires: wording a sentence must also have (treatment steps need an action, so
    "HO follows surgery" is not filed under surgery).
    excludes: wording that sends a sentence to another fitting section first ("is treated
    by …" is not assessment, even when it names a serum target).
    """

    heading: str
    cue: re.Pattern[str]
    requires: re.Pattern[str] | None = None
    excludes: re.Pattern[str] | None = None


def _cue(*words: str) -> re.Pattern[str]:
    return re.compile(r"\b(" + "|".join(words) + r")", re.I)


ASSESS = _cue(
    r"assess",
    r"evaluat",
    r"examin",
    r"history",
    r"palpat",
    r"inspect",
    r"clinical features?",
    r"present(s|ation|ing)?\b",
    r"symptom",
    r"signs?\b",
    r"tender",
    r"classif",
)
LABS = _cue(
    r"serum",
    r"laborator",
    r"blood test",
    r"c-reactive",
    r"crp\b",
    r"esr\b",
    r"erythrocyte sedimentation",
    r"white (blood )?cell count",
    r"phosphate level",
    r"calcium level",
    r"urate level",
    r"culture",
    r"aspirat",
    r"synovial fluid",
    r"crystal analysis",
    r"renal function",
)
IMAGING = _cue(
    r"radiograph",
    r"x-ray",
    r"imaging",
    r"ultrasound",
    r"ultrasonograph",
    r"\bmri\b",
    r"magnetic resonance",
    r"\bct\b",
    r"computed tomography",
    r"bone scan",
    r"scintigraph",
    r"\bpet\b",
    r"white (blood )?cell scan",
)
CONSERVATIVE = _cue(
    r"conservative",
    r"non-?surgical",
    r"non-?operative",
    r"\brest\b",
    r"\bice\b",
    r"cryotherap",
    r"nsaid",
    r"anti-inflammator",
    r"ibuprofen",
    r"naproxen",
    r"indomethacin",
    r"colchicine",
    r"physiotherap",
    r"physical therap",
    r"exercise",
    r"eccentric",
    r"stretch",
    r"loading",
    r"footwear",
    r"shoe",
    r"orthos[ie]s",
    r"orthotic",
    r"insole",
    r"padding",
    r"\bpads?\b",
    r"offload",
    r"off-load",
    r"heel lift",
    r"activity modification",
    r"self-limit",
    r"resolve[sd]? (spontaneously|on (its|their) own|without)",
    r"observation",
    r"watchful",
    r"phosphate binder",
    r"low-phosphate diet",
    r"dialysis",
    r"analgesi",
    r"medication",
    r"urate-lowering",
    r"glucocorticoid",
    r"allopurinol",
    r"febuxostat",
    r"first-line",
)
PROCEDURE = _cue(
    r"surg",
    r"excis",
    r"resect",
    r"osteotom",
    r"debride",
    r"lavage",
    r"barbotage",
    r"aspiration",
    r"injection",
    r"shockwave",
    r"shock wave",
    r"eswt",
    r"operat",
    r"arthrodesis",
    r"arthroplast",
    r"cheilectomy",
    r"tenotomy",
    r"lengthening",
    r"amputat",
    r"radiation therap",
    r"radiotherap",
    r"second-line",
)
ESCALATE = _cue(
    r"refer(ral|red|ring)?\b",
    r"specialist",
    r"sarcoma (centre|center|service|unit)",
    r"multidisciplinary",
    r"fail",
    r"persist",
    r"recalcitrant",
    r"refractory",
    r"despite",
    r"urgent",
    r"red flag",
    r"escalat",
    r"no improvement",
    r"does not (improve|respond)",
)
SPECIAL = _cue(
    r"child",
    r"paediatric",
    r"pediatric",
    r"pregnan",
    r"older (adult|people|patient)",
    r"elderly",
    r"diabet",
    r"kidney",
    r"renal",
    r"dialysis",
    r"infect",
    r"immunocompromis",
    r"athlete",
    r"in people with",
    r"in patients with",
    r"vascular",
    r"ischaemi",
    r"ischemi",
    r"peripheral arter",
)
# Patient groups whose care differs. A sentence about one of them answers for that
# group, so it should not lead an answer to a question that does not name the group.
GROUPS = {
    "children": _cue(r"child", r"paediatric", r"pediatric", r"adolescen", r"infant"),
    "pregnancy": _cue(r"pregnan"),
    "older adults": _cue(r"older (adult|people|patient)", r"elderly"),
    "diabetes": _cue(r"diabet"),
    "kidney disease": _cue(r"kidney", r"renal", r"dialysis", r"uraemi", r"uremi"),
    "immunocompromise": _cue(r"immunocompromis", r"immunosuppress"),
    "athletes": _cue(r"athlete"),
}


def patient_groups(text: str) -> frozenset[str]:
    """Return the patient groups a text names."""
    return frozenset(name for name, cue in GROUPS.items() if cue.search(text))


FOLLOW_UP = _cue(
    r"follow-?up",
    r"monitor",
    r"review(ed)? (at|after|every|in)\b",
    r"repeat (imaging|radiograph)",
    r"serial",
    r"recurren",
    r"recur\b",
    r"reassess",
    r"surveillance",
    r"return to",
)
CAUTION = _cue(
    r"avoid",
    r"should not",
    r"must not",
    r"not recommended",
    r"do not",
    r"caution",
    r"pitfall",
    r"complication",
    r"risk of",
    r"rupture",
    r"misdiagnos",
    r"mistaken",
    r"contraindicat",
    r"harm",
    r"adverse",
    r"transfer (lesion|metatarsalgia)",
    r"whoops",
    r"unplanned excision",
    r"not a treatment",
)
DEFINE = _cue(
    r"\bis an?\b",
    r"\bare\b",
    r"refers to",
    r"defined as",
    r"describes",
    r"consists of",
    r"is the (deposition|formation|presence)",
)
CAUSE = _cue(r"cause", r"risk factor", r"associated with", r"occur", r"result", r"follow(s|ing)")
OUTCOME = _cue(
    r"prognos",
    r"outcome",
    r"heal",
    r"surviv",
    r"recover",
    r"natural history",
    r"resolve",
    r"improv",
    r"rate\b",
    r"rates\b",
    r"recurren",
)
DOSE = _cue(r"\bmg\b", r"\bdose", r"dosing", r"dosage", r"daily", r"twice", r"per day", r"\bkg\b")
PREVENT = _cue(r"prevent", r"prophyla", r"reduc\w* (the )?risk", r"screen")
RECOMMEND = _cue(
    r"recommend",
    r"should",
    r"first-line",
    r"treatment of choice",
    r"mainstay",
    r"is indicated",
    r"are indicated",
    r"consider",
    r"suggest",
)

ACTION = _cue(
    r"treat",
    r"manag",
    r"excis",
    r"resect",
    r"injection",
    r"inject",
    r"recommend",
    r"should",
    r"first-line",
    r"second-line",
    r"reserved",
    r"indicated",
    r"option",
    r"therap",
    r"reliev",
    r"relief",
    r"improv",
    r"lavage",
    r"barbotage",
    r"used",
    r"use of",
    r"settle",
    r"resolv",
    r"consider",
    r"offer",
    r"give",
    r"prescrib",
    r"refer(ral|red|ring)?\b",
    r"advis",
)

# Wording that says how a condition is treated.
TREATED = _cue(
    r"(is|are) treated",
    r"treatment (of|for|is)",
    r"(is|are) managed",
    r"management (of|is)",
    r"first-line",
    r"mainstay",
    r"treated (with|by)",
)

SPECIAL_HEADING = "Special considerations"

TREATMENT_SECTIONS = [
    SectionRule(
        "Assessment and initial management",
        _cue(ASSESS.pattern, IMAGING.pattern, LABS.pattern),
        excludes=TREATED,
    ),
    SectionRule("Treatment algorithm — step 1: conservative care", CONSERVATIVE, ACTION),
    # A medicine given "orally or by injection" is medical care, not a procedure.
    SectionRule(
        "Treatment algorithm — step 2: procedures and surgery",
        PROCEDURE,
        ACTION,
        excludes=_cue(r"orally", r"by mouth", r"oral\b", r"intramuscular"),
    ),
    SectionRule("Treatment algorithm — when to escalate or refer", ESCALATE, ACTION),
    SectionRule(SPECIAL_HEADING, SPECIAL),
    SectionRule("Follow-up", FOLLOW_UP),
    SectionRule("Cautions and pitfalls", CAUTION),
]

SECTIONS: dict[QuestionType, list[SectionRule]] = {
    QuestionType.TREATMENT: TREATMENT_SECTIONS,
    QuestionType.DIAGNOSIS: [
        SectionRule("Clinical assessment", ASSESS),
        SectionRule("Laboratory tests", LABS),
        SectionRule("Imaging", IMAGING),
        SectionRule("Biopsy and referral", _cue(r"biops", ESCALATE.pattern)),
        SectionRule("Cautions and pitfalls", CAUTION),
    ],
    QuestionType.DIFFERENTIAL: [
        SectionRule("Clinical features", ASSESS),
        SectionRule("Laboratory tests", LABS),
        SectionRule("Imaging", IMAGING),
        SectionRule("Management", _cue(CONSERVATIVE.pattern, PROCEDURE.pattern, PREVENT.pattern)),
        SectionRule("Cautions and pitfalls", CAUTION),
    ],
    QuestionType.PROGNOSIS: [
        SectionRule("Natural history and outcomes", OUTCOME),
        SectionRule("Factors that affect outcome", _cue(CAUSE.pattern, SPECIAL.pattern)),
        SectionRule("Follow-up", FOLLOW_UP),
        SectionRule("Cautions and pitfalls", CAUTION),
    ],
    QuestionType.DRUG: [
        SectionRule("Dosing", DOSE),
        SectionRule("Indications", RECOMMEND),
        SectionRule(
            "Adverse effects and interactions",
            _cue(r"adverse", r"side effect", r"interact", r"toxic"),
        ),
        SectionRule("Monitoring", FOLLOW_UP),
        SectionRule("Cautions", CAUTION),
    ],
    QuestionType.DEFINITION: [
        SectionRule("Definition", DEFINE),
        SectionRule("Causes and risk factors", CAUSE),
        SectionRule("Clinical features and diagnosis", _cue(ASSESS.pattern, IMAGING.pattern)),
        SectionRule("Treatment overview", _cue(CONSERVATIVE.pattern, PROCEDURE.pattern)),
    ],
    QuestionType.PREVENTION: [
        SectionRule("Who is at risk", CAUSE),
        SectionRule("Preventive measures", PREVENT),
        SectionRule("Screening and follow-up", FOLLOW_UP),
        SectionRule("Cautions", CAUTION),
    ],
}


def place(sentence: str, rules: list[SectionRule]) -> int | None:
    """Return the index of the section a sentence belongs to (most cue hits, then order).

    A rule's excludes is a preference: such a sentence goes elsewhere when another section
    fits, and is still shown under this one when none does.
    """
    best, best_hits = None, 0
    fallback, fallback_hits = None, 0
    for i, rule in enumerate(rules):
        if rule.requires is not None and not rule.requires.search(sentence):
            continue
        hits = len(rule.cue.findall(sentence))
        if rule.excludes is not None and rule.excludes.search(sentence):
            if hits > fallback_hits:
                fallback, fallback_hits = i, hits
        elif hits > best_hits:
            best, best_hits = i, hits
    return best if best is not None else fallback
