"""Edits of a library sentence that keep or change its meaning, for training and testing.

Each edit returns the new sentence or None when the sentence offers no place for it.
Meaning-changing edits model what a careless or hostile reviewer does to a quoted
statement; faithful edits model what an editor does when tightening one. The same
functions make the training pairs and the held-out reversal benchmark, on disjoint
documents.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

SUPPORTS, CONTRADICTS, UNRELATED = 0, 1, 2

_NEGATE_AUX = [
    (r"\bis not\b", "is"),
    (r"\bare not\b", "are"),
    (r"\bwas not\b", "was"),
    (r"\bwere not\b", "were"),
    (r"\bcannot\b", "can"),
    (r"\bshould not\b", "should"),
    (r"\bdoes not\b", "does"),
    (r"\bdo not\b", "do"),
    (r"\bdid not\b", "did"),
    (r"\bmay not\b", "may"),
    (r"\bwill not\b", "will"),
    (r"\bmust not\b", "must"),
    (r"\bnot recommended\b", "recommended"),
]
_AFFIRM_AUX = [
    (r"\bis\b", "is not"),
    (r"\bare\b", "are not"),
    (r"\bwas\b", "was not"),
    (r"\bwere\b", "were not"),
    (r"\bcan\b", "cannot"),
    (r"\bshould\b", "should not"),
    (r"\bmay\b", "may never"),
    (r"\bwill\b", "will not"),
    (r"\bmust\b", "must not"),
    (r"\bdoes\b", "does not"),
    (r"\bhas been\b", "has not been"),
    (r"\bhave been\b", "have not been"),
]
# Pairs read both ways: each side replaced by the other.
_OPPOSITES = [
    ("increased", "decreased"),
    ("increase", "decrease"),
    ("increases", "decreases"),
    ("higher", "lower"),
    ("more", "less"),
    ("improved", "worsened"),
    ("improves", "worsens"),
    ("reduced", "increased"),
    ("reduces", "increases"),
    ("reduce", "increase"),
    ("greater", "smaller"),
    ("elevated", "reduced"),
    ("effective", "ineffective"),
    ("safe", "unsafe"),
    ("benefit", "harm"),
    ("beneficial", "harmful"),
    ("before", "after"),
    ("above", "below"),
    ("larger", "smaller"),
    ("longer", "shorter"),
    ("positive", "negative"),
    ("superior", "inferior"),
    ("first-line", "last-resort"),
    ("recommended", "discouraged"),
    ("rises", "falls"),
    ("high", "low"),
    ("early", "late"),
    ("acute", "chronic"),
    ("benign", "malignant"),
]
_QUANTIFIERS = [
    ("always", "never"),
    ("never", "always"),
    ("all", "no"),
    ("most", "few"),
    ("commonly", "rarely"),
    ("common", "rare"),
    ("frequently", "rarely"),
    ("usually", "rarely"),
    ("often", "rarely"),
    ("rarely", "often"),
    ("rare", "common"),
    ("can", "can never"),
    ("may", "must never"),
    ("should", "should never"),
]
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w.]*\d)")
# Qualifiers whose removal turns a bounded claim into a general one.
_QUALIFIER = re.compile(
    r",?\s*\b(?:(?:in|among|for) (?:patients|adults|children|people|those|women|men|infants"
    r"|individuals|participants|subjects|cases)(?: (?:with|who|without|aged|older|younger"
    r"|under|over))?"
    r"|unless|except|only (?:if|when|in|after)|provided that|if there is|when there is"
    r"|in the absence of|in selected|in some|in most|in severe|in mild|when|if|after|before"
    r"|during|until|within)\b[^,;.]*",
    re.IGNORECASE,
)
_REWORDINGS = [
    ("patients", "people"),
    ("approximately", "about"),
    ("utilize", "use"),
    ("utilized", "used"),
    ("administered", "given"),
    ("administer", "give"),
    ("demonstrated", "showed"),
    ("is recommended", "is advised"),
    ("individuals", "people"),
    ("physicians", "doctors"),
    ("in addition,", "also,"),
    ("however, ", ""),
    ("therefore, ", ""),
    ("additionally, ", ""),
    ("subsequently", "later"),
    ("prior to", "before"),
    ("following", "after"),
    ("numerous", "many"),
    ("sufficient", "enough"),
    ("commence", "start"),
]


def _sub_once(pattern: str, repl: str, text: str, rng: random.Random) -> str | None:
    matches = list(re.finditer(pattern, text, flags=re.IGNORECASE))
    if not matches:
        return None
    m = rng.choice(matches)
    word = m.group(0)
    new = repl[0].upper() + repl[1:] if word[0].isupper() else repl
    return text[: m.start()] + new + text[m.end() :]


def negate(text: str, rng: random.Random) -> str | None:
    """Add a negation where there is none, or take one away."""
    for pattern, repl in rng.sample(_NEGATE_AUX, len(_NEGATE_AUX)):
        out = _sub_once(pattern, repl, text, rng)
        if out:
            return out
    for pattern, repl in rng.sample(_AFFIRM_AUX, len(_AFFIRM_AUX)):
        out = _sub_once(pattern, repl, text, rng)
        if out:
            return out
    return None


def flip_direction(text: str, rng: random.Random) -> str | None:
    """Swap a direction or value word for its opposite (increased -> decreased)."""
    pairs = [(a, b) for a, b in _OPPOSITES] + [(b, a) for a, b in _OPPOSITES]
    rng.shuffle(pairs)
    for a, b in pairs:
        out = _sub_once(rf"\b{re.escape(a)}\b", b, text, rng)
        if out:
            return out
    return None


def swap_quantifier(text: str, rng: random.Random) -> str | None:
    """Replace a frequency or modal word by its opposite (always -> never)."""
    for a, b in rng.sample(_QUANTIFIERS, len(_QUANTIFIERS)):
        out = _sub_once(rf"\b{re.escape(a)}\b", b, text, rng)
        if out:
            return out
    return None


def change_number(text: str, rng: random.Random) -> str | None:
    """Change one number (a dose, a duration, a rate) to another value."""
    matches = list(_NUMBER.finditer(text))
    if not matches:
        return None
    m = rng.choice(matches)
    value = m.group(1)
    if "." in value:
        new = f"{float(value) * rng.choice((2, 3, 0.5)):.{len(value.split('.')[1])}f}"
    else:
        n = int(value)
        new = str(rng.choice((n * 2, n * 3, n + rng.randint(1, 9), max(n // 2, n + 10))))
    if new == value:
        return None
    return text[: m.start(1)] + new + text[m.end(1) :]


def swap_term(text: str, rng: random.Random, terms: list[str]) -> str | None:
    """Replace a drug or condition named in the sentence by another one from `terms`."""
    present = [t for t in terms if re.search(rf"\b{re.escape(t)}\b", text, re.IGNORECASE)]
    if not present:
        return None
    old = rng.choice(present)
    others = [t for t in terms if t.lower() != old.lower() and t.lower() not in text.lower()]
    if not others:
        return None
    return re.sub(rf"\b{re.escape(old)}\b", rng.choice(others), text, flags=re.IGNORECASE)


class Lexicon:
    """Condition and drug names with their synonyms, looked up by word n-grams.

    swap_term uses it to put another condition or drug in a sentence (the source no longer
    says it); swap_synonym puts another name for the same one (the source still says it).
    """

    def __init__(self, groups: list[list[str]]) -> None:
        self.group_of: dict[str, int] = {}
        self.groups: list[list[str]] = []
        for names in groups:
            # Names of four letters or fewer are mostly abbreviations that collide with
            # words ("ALL", "AIDS" read in "aids").
            clean = [n for n in dict.fromkeys(x.strip() for x in names) if 5 <= len(n) <= 60]
            if not clean:
                continue
            index = len(self.groups)
            self.groups.append(clean)
            for name in clean:
                self.group_of.setdefault(name.lower(), index)
        self.max_words = max((len(k.split()) for k in self.group_of), default=1)

    def find(self, text: str) -> list[tuple[int, int, int]]:
        """(start, end, group) of each name in text, longest first, not overlapping."""
        words = list(re.finditer(r"[A-Za-z0-9][\w'-]*", text))
        found: list[tuple[int, int, int]] = []
        taken: set[int] = set()
        for n in range(self.max_words, 0, -1):
            for i in range(len(words) - n + 1):
                if any(j in taken for j in range(i, i + n)):
                    continue
                start, end = words[i].start(), words[i + n - 1].end()
                group = self.group_of.get(text[start:end].lower())
                if group is not None:
                    found.append((start, end, group))
                    taken.update(range(i, i + n))
        return found


def swap_term_lexicon(text: str, rng: random.Random, lexicon: Lexicon) -> str | None:
    """Replace a condition or drug name by a different condition or drug."""
    found = lexicon.find(text)
    if not found:
        return None
    start, end, group = rng.choice(found)
    other = rng.randrange(len(lexicon.groups))
    if other == group:
        return None
    new = lexicon.groups[other][0]
    if new.lower() in text.lower():
        return None
    return text[:start] + new + text[end:]


def swap_synonym(text: str, rng: random.Random, lexicon: Lexicon) -> str | None:
    """Replace a condition or drug name by another name for the same thing."""
    found = [f for f in lexicon.find(text) if len(lexicon.groups[f[2]]) > 1]
    if not found:
        return None
    start, end, group = rng.choice(found)
    current = text[start:end].lower()
    others = [n for n in lexicon.groups[group] if n.lower() != current]
    return text[:start] + rng.choice(others) + text[end:] if others else None


def drop_qualifier(text: str, rng: random.Random) -> str | None:
    """Drop a clause that limits who or when the statement applies to."""
    matches = list(_QUALIFIER.finditer(text))
    if not matches:
        return None
    # A clause that opens the sentence leaves a fragment when dropped.
    matches = [m for m in matches if m.start() > 3]
    if not matches:
        return None
    m = rng.choice(matches)
    out = (text[: m.start()] + text[m.end() :]).strip()
    out = re.sub(r"\s+([,.;])", r"\1", out)
    return out if len(out.split()) >= 5 and out != text else None


def sub_span(text: str, rng: random.Random) -> str | None:
    """A faithful shorter statement: one clause of a compound sentence, or the sentence
    without a parenthesis or a trailing example."""
    options: list[str] = []
    no_paren = re.sub(r"\s*\([^()]*\)", "", text)
    if no_paren != text:
        options.append(no_paren)
    for sep in ("; ", ", but ", ", and ", ", whereas "):
        if sep in text:
            head = text.split(sep)[0].strip().rstrip(",")
            if len(head.split()) >= 6:
                options.append(head + ".")
    example = re.sub(r",?\s*(?:such as|e\.g\.|including)\b[^;.]*", "", text)
    if example != text and len(example.split()) >= 6:
        options.append(example)
    return rng.choice(options) if options else None


def reword(text: str, rng: random.Random) -> str | None:
    """A light rewording that keeps the meaning (patients -> people)."""
    done = text
    for a, b in rng.sample(_REWORDINGS, len(_REWORDINGS)):
        out = _sub_once(rf"\b{re.escape(a)}", b, done, rng) if a[-1].isalpha() else None
        if out is None and a in done.lower():
            i = done.lower().index(a)
            out = done[:i] + b + done[i + len(a) :]
        if out:
            done = out[0].upper() + out[1:] if out else out
    return done if done != text else None


def reorder(text: str, rng: random.Random) -> str | None:
    """Move a leading phrase to the end, or swap the two items of an 'A and B' pair."""
    m = re.match(r"^((?:In|For|Among|During|After|Before) [^,]{3,60}), (.+?)([.!?]?)$", text)
    if m:
        rest = m.group(2)
        return rest[0].upper() + rest[1:] + " " + m.group(1)[0].lower() + m.group(1)[1:] + "."
    # Two content words joined by "and" ("signs and symptoms"); function words would
    # turn the swap into nonsense ("relapse and this").
    pairs = [
        p
        for p in re.finditer(r"\b([a-z]{4,}) and ([a-z]{4,})\b(?= [a-z]+ |[,.;])", text)
        if not {p.group(1), p.group(2)} & _FUNCTION_WORDS and p.group(1) != p.group(2)
    ]
    if not pairs:
        return None
    p = rng.choice(pairs)
    a, b = p.group(1), p.group(2)
    return text[: p.start()] + f"{b} and {a}" + text[p.end() :]


_FUNCTION_WORDS = frozenset(
    [
        "this",
        "that",
        "these",
        "those",
        "which",
        "with",
        "from",
        "were",
        "have",
        "been",
        "will",
        "would",
        "could",
        "should",
        "their",
        "there",
        "then",
        "than",
        "when",
        "where",
        "what",
        "also",
        "into",
        "over",
        "after",
        "before",
        "more",
        "less",
        "both",
        "each",
        "other",
        "such",
        "only",
        "very",
        "most",
        "some",
    ]
)

Edit = Callable[[str, random.Random], "str | None"]

# Kind name -> (edit, label it earns).
REVERSALS: dict[str, tuple[Edit, int]] = {
    "negation": (negate, CONTRADICTS),
    "direction": (flip_direction, CONTRADICTS),
    "always_never": (swap_quantifier, CONTRADICTS),
    "number": (change_number, CONTRADICTS),
    "qualifier_dropped": (drop_qualifier, UNRELATED),
}
FAITHFUL: dict[str, tuple[Edit, int]] = {
    "sub_span": (sub_span, SUPPORTS),
    "rewording": (reword, SUPPORTS),
    "reordering": (reorder, SUPPORTS),
}
