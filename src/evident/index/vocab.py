"""Condition vocabularies: our own synonym list plus OBO ontologies (Disease Ontology, HPO).

pronto and fastobo reject the 2016 Disease Ontology release (a url with an escaped colon
in a def line), so this reads only what it needs from OBO: names, synonyms, obsolete flags.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from evident.errors import InvalidInput

_SYNONYM = re.compile(r'^synonym:\s*"((?:[^"\\]|\\.)*)"\s+(\w+)(?:\s+(\w+))?')
_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    """Lower-case alphanumeric words of a text."""
    return _WORD.findall(text.lower())


def _singular(word: str) -> str:
    # Enough for matching condition names ("calcifications" ~ "calcification").
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def term_key(text: str) -> str:
    """Normalise a term for lookup: lower-case, singular words, single spaces."""
    return " ".join(_singular(w) for w in words(text))


@dataclass(frozen=True, slots=True)
class Concept:
    """A condition with its preferred name and synonyms.

    narrower: subtypes; evidence about a subtype is evidence about the condition.
    lay: layperson synonyms (HPO marks them), used to explain terms to patients.
    """

    concept_id: str
    name: str
    synonyms: tuple[str, ...]
    lay: tuple[str, ...] = ()
    narrower: tuple[str, ...] = ()


@dataclass
class Vocabulary:
    """Term lookup over concepts; the longest match in a text wins."""

    concepts: dict[str, Concept] = field(default_factory=dict)
    by_term: dict[str, list[str]] = field(default_factory=dict)
    max_words: int = 1

    def add(self, concept: Concept) -> None:
        existing = self.concepts.get(concept.concept_id)
        if existing is not None:
            concept = Concept(
                concept.concept_id,
                existing.name,
                tuple(dict.fromkeys(existing.synonyms + concept.synonyms)),
                tuple(dict.fromkeys(existing.lay + concept.lay)),
                tuple(dict.fromkeys(existing.narrower + concept.narrower)),
            )
        self.concepts[concept.concept_id] = concept
        for term in (concept.name, *concept.synonyms, *concept.lay):
            key = term_key(term)
            if not key:
                continue
            ids = self.by_term.setdefault(key, [])
            if concept.concept_id not in ids:
                ids.append(concept.concept_id)
            self.max_words = max(self.max_words, key.count(" ") + 1)

    def find(self, text: str) -> list[tuple[str, Concept]]:
        """Return (matched text, concept) for terms in text, longest first, no overlaps."""
        tokens = [_singular(w) for w in words(text)]
        found: list[tuple[str, Concept]] = []
        i = 0
        while i < len(tokens):
            for n in range(min(self.max_words, len(tokens) - i), 0, -1):
                key = " ".join(tokens[i : i + n])
                ids = self.by_term.get(key)
                if ids and (n > 1 or len(key) > 3):
                    found.extend((key, self.concepts[c]) for c in ids)
                    i += n
                    break
            else:
                i += 1
        return found

    def terms_for(self, concept: Concept) -> list[str]:
        return list(dict.fromkeys([concept.name, *concept.synonyms, *concept.lay]))


def read_obo(path: Path) -> Iterator[Concept]:
    """Yield the non-obsolete terms of an OBO file (plain or .gz) with their synonyms."""
    if not path.exists():
        raise InvalidInput(f"vocabulary file {path} does not exist; fix index.vocab_paths")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        stanza: list[str] = []
        for line in handle:
            line = line.rstrip("\n")
            if line.startswith("["):
                if stanza:
                    concept = _parse_stanza(stanza)
                    if concept:
                        yield concept
                stanza = [line]
            elif stanza:
                stanza.append(line)
        if stanza:
            concept = _parse_stanza(stanza)
            if concept:
                yield concept


def _parse_stanza(lines: list[str]) -> Concept | None:
    if lines[0] != "[Term]":
        return None
    concept_id = name = ""
    synonyms: list[str] = []
    lay: list[str] = []
    for line in lines[1:]:
        if line.startswith("id:"):
            concept_id = line[3:].strip()
        elif line.startswith("name:"):
            name = line[5:].strip()
        elif line.startswith("is_obsolete:") and "true" in line:
            return None
        elif line.startswith("synonym:"):
            match = _SYNONYM.match(line)
            # Only EXACT synonyms: BROAD/NARROW/RELATED would pull in other conditions.
            if match and match.group(2) == "EXACT":
                text = match.group(1).replace('\\"', '"')
                (lay if match.group(3) == "layperson" else synonyms).append(text)
    if not concept_id or not name:
        return None
    return Concept(concept_id, name, tuple(synonyms), tuple(lay))


def _builtin_concepts() -> Iterator[Concept]:
    raw = resources.files("evident").joinpath("data/conditions.yaml").read_text("utf-8")
    for entry in yaml.safe_load(raw):
        yield Concept(
            concept_id=f"evident:{term_key(entry['name']).replace(' ', '_')}",
            name=entry["name"],
            synonyms=tuple(entry.get("synonyms", [])),
            lay=tuple(entry.get("lay", [])),
            narrower=tuple(entry.get("narrower", [])),
        )


@lru_cache(maxsize=4)
def load_vocabulary(paths: tuple[Path, ...] = ()) -> Vocabulary:
    """Return our built-in condition list merged with any configured OBO files."""
    vocab = Vocabulary()
    for concept in _builtin_concepts():
        vocab.add(concept)
    for path in paths:
        for concept in read_obo(path):
            vocab.add(concept)
    return vocab


def expand_query(query: str, vocab: Vocabulary, per_concept: int = 4) -> list[str]:
    """Return synonyms of the conditions named in a query (not already in it)."""
    present = set(term_key(query).split())
    extra: list[str] = []
    for _, concept in vocab.find(query):
        added = 0
        for term in vocab.terms_for(concept):
            key = term_key(term)
            if key and not set(key.split()) <= present and term not in extra:
                extra.append(term)
                added += 1
            if added >= per_concept:
                break
    return extra


@dataclass(frozen=True, slots=True)
class Topic:
    """A subject the vocabulary does not know ("the 4D-CHAINS algorithm"), as key words.

    A text is about it when it holds at least `quorum` of the words: requiring the
    exact phrase misses most sentences on a named method, drug or gene, while any one
    word ("algorithm") would let in everything.
    """

    words: tuple[str, ...]
    quorum: int

    @classmethod
    def of(cls, phrase: str, ignore: Iterable[str] = ()) -> Topic:
        skip = set(ignore)
        keys = tuple(dict.fromkeys(_singular(w) for w in words(phrase) if w not in skip))
        # Half the words, rounded up, and both of two: 1 of 1, 2 of 2 to 4, 3 of 5 or 6.
        return cls(keys, (len(keys) + 1) // 2 if len(keys) != 2 else 2)

    def __str__(self) -> str:
        return " ".join(self.words)

    def found_in(self, key_words: set[str]) -> bool:
        return bool(self.words) and sum(w in key_words for w in self.words) >= self.quorum


Term = str | Topic


def mentions(text: str, terms: Iterable[Term]) -> bool:
    """Return True if text contains any of the terms (as whole, singularised words)."""
    key = term_key(text)
    haystack = f" {key} "
    key_words: set[str] | None = None
    for t in terms:
        if isinstance(t, Topic):
            key_words = set(key.split()) if key_words is None else key_words
            if t.found_in(key_words):
                return True
        elif term_key(t) and f" {term_key(t)} " in haystack:
            return True
    return False
