"""Follow-up questions: resolve an elliptical follow-up against the thread, and propose
follow-ups from evidence an article did not use.

Resolution is rule-based. A follow-up that names no condition ("What if there is
infection?", "And in children?", "What about surgery?", "How is it diagnosed?") is
rewritten as a whole question about the thread's condition, body site and question type,
so retrieval and the condition-match rule see the same condition as the earlier turn.
Front ends show the resolved question so the user can correct it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from evident.compose.question import QuestionFrame, analyse, validate_question
from evident.index.vocab import Vocabulary, term_key
from evident.models import QuestionType

_LEAD = r"^(?:and|but|so|ok(?:ay)?|also|then)?[\s,]*"
# "And in children?", "What about in pregnancy?", "For athletes?"
_CONTEXT_ONLY = re.compile(
    _LEAD + r"(?:(?:what|how) about\s+)?(?P<prep>in|for)\s+(?P<who>[^?]+?)[\s?.!]*$", re.I
)
# "What if there is infection?", "And if the patient has diabetes?", "With infection?"
_IF = re.compile(
    _LEAD + r"(?:(?:what|how about)\s+)?(?:if|when|with)\s+"
    r"(?:there\s+(?:is|are)|there's|(?:the\s+)?(?:patient|person|child|he|she|they)\s+"
    r"(?:has|have|had|is|are)|it\s+is|it's|it\s+gets|it\s+becomes)?\s*(?:an?\s+|the\s+)?"
    r"(?P<what>[^?]+?)[\s?.!]*$",
    re.I,
)
# "What about surgery?", "How about injections?", "And surgery?"
_TOPIC = re.compile(_LEAD + r"(?:(?:what|how) about\s+|and\s+)?(?P<topic>[^?]+?)[\s?.!]*$", re.I)
_PRONOUN = re.compile(r"\b(?:it|this|that|they|them|these|this condition|the condition)\b", re.I)
_ELLIPTICAL = re.compile(r"^(?:and|but|so|what about|how about|what if|if|with|in|for)\b", re.I)
# Question-type words that on their own switch the question's type.
_TYPE_WORDS: list[tuple[QuestionType, re.Pattern[str]]] = [
    (QuestionType.DIAGNOSIS, re.compile(r"\b(diagnos\w*|work-?up|tests?|imaging|scans?)\b", re.I)),
    (
        QuestionType.PROGNOSIS,
        re.compile(r"\b(prognosis|outlook|outcomes?|come back|recur\w*)\b", re.I),
    ),
    (QuestionType.PREVENTION, re.compile(r"\b(prevent\w*|avoid getting)\b", re.I)),
    (QuestionType.DEFINITION, re.compile(r"\b(causes?|why does)\b", re.I)),
    (QuestionType.TREATMENT, re.compile(r"\b(treat\w*|manag\w*|therapy|cure)\b", re.I)),
]
_PEOPLE = re.compile(
    r"^(?:children|kids|adolescents|teenagers|adults|older adults|older people|the elderly|"
    r"elderly people|athletes|runners|women|men|pregnancy|pregnant women|infants)$",
    re.I,
)


@dataclass(frozen=True)
class Focus:
    """The parts of a question a follow-up can change."""

    qtype: QuestionType
    condition: str
    site: str = ""
    preposition: str = "in"
    context: str = ""
    topic: str = ""

    @classmethod
    def of(cls, frame: QuestionFrame) -> Focus:
        return cls(frame.qtype, frame.subject, frame.site, frame.site_preposition, frame.context)

    def question(self) -> str:
        """Phrase the focus as a whole question that analyse() reads back the same way."""
        subject = self.condition
        if self.site:
            subject += f" {self.preposition} the {self.site}"
        if self.context:
            subject += f" {self.context}"
        if self.topic:
            subject += f" with {self.topic}"
        templates = {
            QuestionType.DIAGNOSIS: "What is the diagnosis of {s}?",
            QuestionType.PROGNOSIS: "What is the prognosis of {s}?",
            QuestionType.PREVENTION: "What is the prevention of {s}?",
            QuestionType.DEFINITION: "What causes {s}?",
        }
        return templates.get(self.qtype, "What is the treatment for {s}?").format(s=subject)


def resolve(follow_up: str, previous: str | None, vocabulary: Vocabulary) -> str:
    """Return the question a follow-up asks, made whole against the previous question.

    A follow-up that names a condition and reads as a whole question stands alone; one
    that names a condition elliptically ("What about gout?") keeps the previous type.
    """
    text = validate_question(follow_up)
    if not previous:
        return text
    asked_before = analyse(previous, vocabulary)
    if not asked_before.named:
        return text  # nothing from the earlier question to carry over
    before = Focus.of(asked_before)
    own = [c for _, c in vocabulary.find(text)]
    if own:
        match = _TOPIC.match(text)
        if _ELLIPTICAL.match(text) and match:
            return Focus(before.qtype, match.group("topic").strip()).question()
        return text
    match = _CONTEXT_ONLY.match(text)
    if match and (
        _PEOPLE.match(match.group("who").strip()) or len(match.group("who").split()) <= 4
    ):
        who = match.group("who").strip()
        if not _PEOPLE.match(who) and not who.lower().startswith(
            ("a ", "an ", "people", "patients")
        ):
            who = f"a patient with {who}"
        return _with(before, context=f"{match.group('prep').lower()} {who}").question()
    match = _IF.match(text)
    if match and _ELLIPTICAL.match(text):
        what = match.group("what").strip()
        linked = what if re.match(r"(?:on|in|after|taking|using)\b", what, re.I) else f"with {what}"
        return _with(before, context=f"in a patient {linked}").question()
    for qtype, pattern in _TYPE_WORDS:
        short = _PRONOUN.search(text) or len(text.split()) <= 5
        if pattern.search(text) and short and qtype is not before.qtype:
            return _with(before, qtype=qtype).question()
    match = _TOPIC.match(text)
    if match and _ELLIPTICAL.match(text) and len(match.group("topic").split()) <= 4:
        return _with(before, topic=match.group("topic").strip().lower()).question()
    if _PRONOUN.search(text):
        subject = Focus(before.qtype, before.condition, before.site, before.preposition).question()
        name = analyse(subject, vocabulary).conditions[0]
        if before.site:
            name += f" {before.preposition} the {before.site}"
        return _PRONOUN.sub(name, text, count=1)
    # A question with no condition of its own is about the thread's condition.
    return (
        text.rstrip("?.! ")
        + f" in {before.condition}"
        + (f" {before.preposition} the {before.site}?" if before.site else "?")
    )


def _with(focus: Focus, **changes: object) -> Focus:
    values: dict[str, object] = {
        "qtype": focus.qtype,
        "condition": focus.condition,
        "site": focus.site,
        "preposition": focus.preposition,
        "context": focus.context,
        "topic": "",
    }
    values.update(changes)
    return Focus(**values)  # type: ignore[arg-type]


# Aspects of a condition a follow-up can turn to, and the wording in unused evidence that
# shows the library holds something on them.
_ASPECTS: list[tuple[str, re.Pattern[str], dict[str, object]]] = [
    (
        "diagnosis",
        re.compile(r"\b(radiograph|ultrasound|imaging|mri|ct|diagnos|biops)", re.I),
        {"qtype": QuestionType.DIAGNOSIS},
    ),
    (
        "treatment",
        re.compile(r"\b(treat|manag|first-line|therap)", re.I),
        {"qtype": QuestionType.TREATMENT},
    ),
    (
        "surgery",
        re.compile(r"\b(surg|excis|resect|operat)", re.I),
        {"qtype": QuestionType.TREATMENT, "topic": "surgery"},
    ),
    (
        "children",
        re.compile(r"\b(child|children|paediatric|pediatric|adolescen)", re.I),
        {"context": "in children"},
    ),
    ("infection", re.compile(r"\binfect", re.I), {"context": "in a patient with infection"}),
    ("diabetes", re.compile(r"\bdiabet", re.I), {"context": "in a patient with diabetes"}),
    (
        "kidney",
        re.compile(r"\b(kidney|renal|dialysis)", re.I),
        {"context": "in a patient with kidney failure"},
    ),
    (
        "prognosis",
        re.compile(r"\b(prognos|outcome|natural history|resolv|recur)", re.I),
        {"qtype": QuestionType.PROGNOSIS},
    ),
    (
        "causes",
        re.compile(r"\b(cause|risk factor|results from)", re.I),
        {"qtype": QuestionType.DEFINITION},
    ),
]


def candidate_follow_ups(frame: QuestionFrame, unused: Sequence[str]) -> list[str]:
    """Follow-up questions about the frame's condition, best supported first.

    Args:
        unused: texts of on-condition passages the article did not cite; an aspect is
            proposed only when some of them speak to it, ranked by how many do.
    """
    if not frame.named:
        return []  # nothing to put in "What causes …?"
    base = Focus.of(frame)
    scored: list[tuple[int, int, str]] = []
    for order, (_, cue, changes) in enumerate(_ASPECTS):
        support = sum(1 for text in unused if cue.search(text))
        if not support:
            continue
        # A new topic drops the earlier patient context, so a suggestion stays one question.
        context = "" if "topic" in changes else base.context
        focus = _with(base, **{"context": context, **changes})
        if focus.qtype is base.qtype and focus.context == base.context and not focus.topic:
            continue  # the question already asked
        scored.append((-support, order, focus.question()))
    asked = term_key(frame.question)
    out = [q for _, _, q in sorted(scored) if term_key(q) != asked]
    return list(dict.fromkeys(out))
