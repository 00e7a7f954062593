"""The fixed phrasebook: every word evident adds to an article for a particular reader.

Audience renderings may add only these phrases, glossary explanations and the fixed
pointers below; none of them states a medical fact. tests/compose/test_audience.py checks
that every phrase meant for patients reads at grade 8 or below.
"""

from __future__ import annotations

from evident.models import Audience

# Section headings in everyday words, for patients.
PATIENT_HEADINGS: dict[str, str] = {
    "Assessment and initial management": "How it is checked",
    "Treatment algorithm — step 1: conservative care": "First things to try",
    "Treatment algorithm — step 2: procedures and surgery": "If the first steps do not help",
    "Treatment algorithm — when to escalate or refer": "When to see a specialist",
    "Special considerations": "Special cases",
    "Follow-up": "Check-ups",
    "Cautions and pitfalls": "Things to be careful about",
    "Clinical assessment": "How it is checked",
    "Laboratory tests": "Blood and lab tests",
    "Imaging": "Scans and X-rays",
    "Biopsy and referral": "Tissue tests and seeing a specialist",
    "Clinical features": "Signs to look for",
    "Management": "How it is treated",
    "Natural history and outcomes": "What usually happens",
    "Factors that affect outcome": "What can change the outlook",
    "Dosing": "Medicine details",
    "Indications": "When it is used",
    "Adverse effects and interactions": "Side effects",
    "Monitoring": "Check-ups",
    "Cautions": "Things to be careful about",
    "Definition": "What it is",
    "Causes and risk factors": "What causes it",
    "Clinical features and diagnosis": "Signs and how it is found",
    "Treatment overview": "How it is treated",
    "Who is at risk": "Who is at risk",
    "Preventive measures": "How to lower the risk",
    "Screening and follow-up": "Checks",
}

GROUP_HEADINGS: dict[Audience, dict[str, str]] = {
    Audience.PATIENT: {"guidelines": "What guidelines say", "research": "What studies say"},
}

# The section made from statements with urgent-care cues, by audience.
RED_FLAG_HEADING: dict[Audience, str] = {
    Audience.PATIENT: "When to seek care urgently",
    Audience.NURSE: "When to escalate",
    Audience.STUDENT: "Red flags",
    Audience.PHYSICIAN: "Red flags",
}
EDUCATION_HEADING = "Patient education"

BOTTOM_LINE_HEADING: dict[Audience, str] = {
    Audience.PATIENT: "In short",
    Audience.STUDENT: "Bottom line",
    Audience.NURSE: "Bottom line",
}

# Framing lines shown under a section heading. Keys are the composer's headings (or the
# special sections above); they say why a step comes where it does, never what to do.
INTROS: dict[Audience, dict[str, str]] = {
    Audience.PATIENT: {
        "bottom": "Here is the main point from the sources we found.",
        "red_flags": "Get help from a doctor soon if any of these apply to you.",
        "Assessment and initial management": "These are the checks a doctor may use.",
        "Clinical assessment": "These are the checks a doctor may use.",
        "Treatment algorithm — step 1: conservative care": (
            "Simple care like this is often the first step."
        ),
        "Treatment algorithm — step 2: procedures and surgery": (
            "These steps are for when simple care is not enough."
        ),
        "Cautions and pitfalls": "Your care team keeps these points in mind.",
    },
    Audience.STUDENT: {
        "bottom": "Read this first, then the steps below in order.",
        "red_flags": "Why these come first: they change how fast you must act.",
        "Assessment and initial management": (
            "Why this comes first: the history, examination and tests tell the causes "
            "apart, and the cause decides the treatment."
        ),
        "Clinical assessment": (
            "Why this comes first: the history and examination guide every test."
        ),
        "Laboratory tests": "Why this test: lab results help tell one cause from another.",
        "Imaging": "Why this test: imaging shows what the examination cannot.",
        "Biopsy and referral": "Why this step: tissue gives the final answer when imaging cannot.",
        "Treatment algorithm — step 1: conservative care": (
            "Why this step: low-risk care is tried before anything invasive."
        ),
        "Treatment algorithm — step 2: procedures and surgery": (
            "Why this step: procedures carry more risk, so they follow simpler care."
        ),
        "Treatment algorithm — when to escalate or refer": (
            "Why this step: some findings need a specialist's view."
        ),
        "Special considerations": "Why this matters: other conditions can change the plan.",
        "Follow-up": "Why this step: follow-up shows whether the plan is working.",
        "Cautions and pitfalls": "Why this matters: these are the mistakes to avoid.",
        "Clinical features": "Why this comes first: the features point to the likely cause.",
        "Management": "Why this step: treatment follows once the cause is clear.",
    },
    Audience.NURSE: {
        "bottom": "The key point for the care plan.",
        "red_flags": "Escalate to the responsible clinician if any of these are present.",
        "education": "Points to explain to the patient and family.",
        "Assessment and initial management": "What to assess and record.",
        "Clinical assessment": "What to assess and record.",
        "Follow-up": "What to monitor.",
        "Monitoring": "What to monitor.",
        "Treatment algorithm — when to escalate or refer": "When to escalate.",
        "Cautions and pitfalls": "Safety points.",
        "Treatment algorithm — step 1: conservative care": "Care the plan may include.",
        "Treatment algorithm — step 2: procedures and surgery": (
            "Procedures the plan may include; prepare the patient for them."
        ),
    },
}

# Lead-ins shown before a quoted statement (patients only).
LEADS: dict[str, str] = {
    "bottom_first": "The main point:",
    "bottom_next": "Another source says:",
    "caution": "Something to be careful about:",
    "red_flag": "A warning sign:",
}

# Fixed pointers that stand in for statements left out of a patient's rendering. Each
# carries the citations of the statements it replaces, so no reference is lost.
POINTERS: dict[str, str] = {
    "dose": (
        "We left out medicine doses here. Ask your doctor or pharmacist which dose is right "
        "for you."
    ),
    "technique": (
        "We left out how an operation or procedure is done. Ask your surgeon to talk you "
        "through it."
    ),
}
OMITTED_REASON: dict[str, str] = {
    "dose": "left out for patients: gives a drug dose or amount (to discuss with a clinician)",
    "technique": "left out for patients: describes surgical or procedural technique",
}

ABSTAIN_NOTE = (
    "Our library does not hold enough to answer this yet. Please ask your doctor or nurse."
)


def patient_phrases() -> list[str]:
    """Every sentence the phrasebook can add for a patient (for the reading-level tests)."""
    return [
        *INTROS[Audience.PATIENT].values(),
        *LEADS.values(),
        *POINTERS.values(),
        ABSTAIN_NOTE,
    ]
