"""Offer saved articles for a patient's conditions (clinical decision support cards).

Only reviewed (published) articles are offered unless the caller allows drafts; a draft
keeps its status so every front end can label it "pending human review".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from evident.index.codes import ConditionMatch
from evident.index.vocab import Vocabulary, mentions
from evident.models import ReviewStatus
from evident.review.records import ArticleRecord, StoredArticle
from evident.store.articles import ArticleStore

S = ReviewStatus
# Not yet published, still live: what allow_drafts adds (rejected, superseded and
# retracted articles are never offered).
UNPUBLISHED = (S.APPROVED, S.UNDER_REVIEW, S.SUBMITTED, S.CHANGES_REQUESTED, S.DRAFT)


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A saved article offered for one of the patient's conditions.

    mentions: the patient's medications that the article's statements name.
    """

    stored: StoredArticle
    match: ConditionMatch
    mentions: tuple[str, ...] = ()


def suggest_articles(
    articles: ArticleStore,
    vocab: Vocabulary,
    conditions: Sequence[ConditionMatch],
    medications: Sequence[str] = (),
    *,
    allow_drafts: bool = False,
    require_mention: bool = False,
    limit: int = 3,
) -> list[Suggestion]:
    """Choose up to `limit` articles about the patient's conditions.

    Conditions take turns, so one condition does not fill every place. Within a
    condition, published articles come first, then articles that name one of the
    medications, then articles for physicians, then the most recently updated.

    Args:
        medications: drug names (the medications the patient takes, or is being ordered).
        require_mention: offer only articles that name one of the medications (an order
            is being placed: only evidence about that drug is worth interrupting for).
    """
    statuses = [S.PUBLISHED, *(UNPUBLISHED if allow_drafts else ())]
    records = articles.list_records(statuses, limit=100_000)
    per_condition: list[list[Suggestion]] = []
    for match in dict((m.concept.concept_id, m) for m in conditions).values():
        found = []
        for record in records:
            if match.concept.concept_id not in _concepts(record, vocab):
                continue
            article = articles.get_revision(record.article_id).article
            if article.abstained:
                continue
            text = " ".join(s.text for s in article.statements())
            named = tuple(m for m in medications if m and mentions(text, [m]))
            if require_mention and not named:
                continue
            stored = StoredArticle(record, replace(article, status=record.status))
            found.append(Suggestion(stored, match, named))
        found.sort(key=_rank)
        per_condition.append(found)
    chosen: list[Suggestion] = []
    seen: set[str] = set()
    while len(chosen) < limit and any(per_condition):
        for found in per_condition:
            while found and found[0].stored.record.article_id in seen:
                found.pop(0)
            if found and len(chosen) < limit:
                suggestion = found.pop(0)
                seen.add(suggestion.stored.record.article_id)
                chosen.append(suggestion)
    return chosen


def _concepts(record: ArticleRecord, vocab: Vocabulary) -> set[str]:
    """The vocabulary concepts an article is about: its condition, else its question's."""
    found = vocab.find(record.condition) or vocab.find(record.question)
    return {concept.concept_id for _, concept in found}


def _rank(s: Suggestion) -> tuple[bool, bool, bool, float]:
    record = s.stored.record
    return (
        record.status is not S.PUBLISHED,
        not s.mentions,
        record.audience != "physician",
        -record.updated_at.timestamp(),
    )
