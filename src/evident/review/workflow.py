"""The editorial workflow: save, submit, claim, comment, edit, approve, publish, retract.

    draft ─submit→ submitted ─claim→ under_review ─approve→ approved ─publish→ published
                        ↑                 ├─request_changes→ changes_requested ─submit┘
                        │                 └─reject→ rejected
    published ─(a newer revision of it is published)→ superseded;  any ─retract→ retracted

Every action is checked against the actor's role and the article's state, refused with
PermissionDenied or Conflict when it does not fit, and appended to the audit log.

Edits create revisions. An edited or added statement is re-verified with verify_article
against the library passages it cites; an edit its citations do not support is refused
(InvalidInput naming the support score and the threshold), so every revision's rendered
text stays fully supported and nothing is dropped silently.
"""

from __future__ import annotations

import difflib
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

from evident.compose.render import to_markdown
from evident.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from evident.models import (
    Article,
    ArticleSection,
    Citation,
    QuestionType,
    Reference,
    RemovedStatement,
    ReviewStatus,
    Statement,
)
from evident.protocols import Embedder, FloatMatrix, PassageStore, SupportModel
from evident.review.match import Candidate, best_match, question_key
from evident.review.records import (
    ANONYMOUS,
    ArticleRecord,
    ReviewEvent,
    Revision,
    Role,
    StoredArticle,
    User,
)
from evident.store.articles import ArticleStore, now
from evident.verify.support import verify_article

S = ReviewStatus


@dataclass(frozen=True, slots=True)
class Transition:
    """A workflow action: where it may start, where it ends, and who may take it.

    need: the state the article must be in, as words for the refusal message.
    who: "author" (the article's author or an editor), "other" (anyone but the author),
    "claimant" (the reviewer who claimed it) or "any".
    """

    verb: str
    sources: frozenset[ReviewStatus]
    target: ReviewStatus
    role: Role
    need: str
    who: str = "any"
    needs_comment: bool = False


TRANSITIONS: dict[str, Transition] = {
    "submit": Transition(
        "submit", frozenset({S.DRAFT, S.CHANGES_REQUESTED}), S.SUBMITTED, Role.AUTHOR,
        "a draft or have changes requested", who="author",
    ),
    "claim": Transition(
        "claim", frozenset({S.SUBMITTED}), S.UNDER_REVIEW, Role.REVIEWER, "submitted",
        who="other",
    ),
    "approve": Transition(
        "approve", frozenset({S.UNDER_REVIEW}), S.APPROVED, Role.REVIEWER, "under review",
        who="claimant",
    ),
    "request_changes": Transition(
        "request changes on", frozenset({S.UNDER_REVIEW}), S.CHANGES_REQUESTED, Role.REVIEWER,
        "under review", who="claimant", needs_comment=True,
    ),
    "reject": Transition(
        "reject", frozenset({S.UNDER_REVIEW}), S.REJECTED, Role.REVIEWER, "under review",
        who="claimant", needs_comment=True,
    ),
    "publish": Transition(
        "publish", frozenset({S.APPROVED}), S.PUBLISHED, Role.EDITOR, "approved",
    ),
    "retract": Transition(
        "retract", frozenset(set(S) - {S.RETRACTED}), S.RETRACTED, Role.EDITOR, "not retracted",
        needs_comment=True,
    ),
}  # fmt: skip

# States in which an article is still a live answer, so staleness matters.
ACTIVE = (S.DRAFT, S.SUBMITTED, S.UNDER_REVIEW, S.CHANGES_REQUESTED, S.APPROVED, S.PUBLISHED)

_TARGET = re.compile(r"^(?:(b)(\d+)?|s(\d+)(?:\.(\d+))?)$")


def words(status: ReviewStatus) -> str:
    return status.value.replace("_", " ")


@dataclass(frozen=True, slots=True)
class CitationSpec:
    """A citation to add: a library passage and a character span of it.

    quote: optional; when given it must equal the passage text at the span.
    """

    chunk_id: str
    start: int
    end: int
    quote: str | None = None


@dataclass(frozen=True, slots=True)
class StatementEdit:
    """A change to one statement, or a new statement.

    target: "b2" (bottom line, statement 2) or "s3.1" (section 3, statement 1) to change
    or delete a statement; "b" or "s3" to add a new one there. Numbers start at 1.
    remove_citations: 1-based positions of the statement's citations to drop.
    """

    target: str
    text: str | None = None
    add_citations: tuple[CitationSpec, ...] = ()
    remove_citations: tuple[int, ...] = ()
    delete: bool = False


@dataclass(frozen=True, slots=True)
class Place:
    """Where a target points: the bottom line (section None) or a section; statement None
    means the list itself."""

    section: int | None
    statement: int | None


def locate(article: Article, target: str) -> Place:
    """Resolve a target such as "b1", "s2.3", "s2" or "b" against an article.

    Raises:
        InvalidInput: the target is malformed or points past the article's statements.
    """
    match = _TARGET.match(target.strip().lower())
    if match is None:
        raise InvalidInput(
            f"statement {target!r} is not a valid target; use b1 (bottom line, statement 1), "
            "s2.3 (section 2, statement 3), or s2 / b for a whole section"
        )
    bottom, b_index, s_index, st_index = match.groups()
    if bottom:
        statements = article.bottom_line
        section = None
        index = b_index
    else:
        section = int(s_index) - 1
        if not 0 <= section < len(article.sections):
            raise InvalidInput(
                f"statement {target!r}: the article has {len(article.sections)} sections; "
                "run `evident review show ID` to see the numbering"
            )
        statements = article.sections[section].statements
        index = st_index
    if index is None:
        return Place(section, None)
    position = int(index) - 1
    if not 0 <= position < len(statements):
        raise InvalidInput(
            f"statement {target!r} does not exist: that list has {len(statements)} "
            "statements; run `evident review show ID` to see the numbering"
        )
    return Place(section, position)


def numbered_statements(article: Article) -> list[tuple[str, Statement]]:
    """Every statement with its target label (b1, s1.1, …), in display order."""
    out = [(f"b{i}", s) for i, s in enumerate(article.bottom_line, start=1)]
    for n, section in enumerate(article.sections, start=1):
        out += [(f"s{n}.{i}", s) for i, s in enumerate(section.statements, start=1)]
    return out


@dataclass
class Editorial:
    """The review service over one library. Front ends call these methods and nothing else.

    Args:
        articles: the review tables.
        library: the document store (passages for citations, documents for staleness).
        support_threshold: the verify stage's threshold for edited statements.
        support_model: re-verifies edited statements against their citations.
        embedder: used to match questions (None: lexical only).
    """

    articles: ArticleStore
    library: PassageStore
    support_threshold: float
    support_model: SupportModel
    embedder: Embedder | None = None

    # -- reading -------------------------------------------------------------------
    def can_view(self, record: ArticleRecord, user: User) -> bool:
        if record.status is S.PUBLISHED or user.role.at_least(Role.REVIEWER):
            return True
        return user.role.at_least(Role.AUTHOR) and record.author == user.name

    def record(self, article_id: str, viewer: User) -> ArticleRecord:
        """Return an article's record; articles the viewer may not see do not exist for them.

        Anonymous viewers must give the whole id: a prefix finds nothing for them.
        """
        record = self.articles.get_record(article_id, exact=viewer is ANONYMOUS)
        if not self.can_view(record, viewer):
            raise NotFound(
                f"no article {article_id!r}; run `evident articles list` to see article ids"
            )
        return record

    def get(self, article_id: str, viewer: User, revision: int | None = None) -> StoredArticle:
        record = self.record(article_id, viewer)
        found = self.articles.get_revision(record.article_id, revision)
        return StoredArticle(record, replace(found.article, status=record.status))

    def list_articles(
        self,
        viewer: User,
        statuses: Sequence[ReviewStatus] | None = None,
        needs_rereview: bool | None = None,
        limit: int = 100,
        offset: int = 0,
        abstained: bool | None = False,
    ) -> list[ArticleRecord]:
        """List the articles the viewer may see, most recently changed first.

        Args:
            abstained: refusals (the library had not enough evidence) are no articles to
                review, so they are left out unless asked for: True lists only them (the
                questions the library could not answer), None lists everything.
        """
        records = self.articles.list_records
        if viewer.role.at_least(Role.REVIEWER):
            return records(statuses, None, needs_rereview, limit, offset, abstained)
        allowed = [S.PUBLISHED] if statuses is None else [s for s in statuses if s is S.PUBLISHED]
        mine: list[ArticleRecord] = []
        if viewer.role.at_least(Role.AUTHOR):
            mine = records(statuses, viewer.name, needs_rereview, limit, 0, abstained)
        public = records(allowed, None, needs_rereview, limit, 0, abstained) if allowed else []
        merged = {r.article_id: r for r in [*mine, *public]}
        ordered = sorted(merged.values(), key=lambda r: r.updated_at, reverse=True)
        return ordered[offset : offset + limit]

    def queue(self, viewer: User) -> list[ArticleRecord]:
        """Articles waiting for a reviewer: submitted, and under review (oldest first)."""
        self._require(viewer, Role.REVIEWER, "see the review queue")
        records = self.articles.list_records([S.SUBMITTED, S.UNDER_REVIEW], limit=1000)
        return sorted(records, key=lambda r: r.updated_at)

    def revisions(self, article_id: str, viewer: User) -> list[Revision]:
        record = self.record(article_id, viewer)
        return self.articles.list_revisions(record.article_id)

    def history(self, article_id: str, viewer: User) -> list[ReviewEvent]:
        """The audit log of one article (not shown to readers)."""
        record = self.record(article_id, viewer)
        if not (viewer.role.at_least(Role.REVIEWER) or record.author == viewer.name):
            raise PermissionDenied(
                f"{viewer.name} ({viewer.role.value}) cannot see the review history; "
                "it is open to the article's author, reviewers and editors"
            )
        return self.articles.events(record.article_id)

    def diff(
        self, article_id: str, viewer: User, old: int | None = None, new: int | None = None
    ) -> str:
        """Unified diff of two revisions' rendered Markdown (default: previous vs current)."""
        record = self.record(article_id, viewer)
        new = record.revision if new is None else new
        old = new - 1 if old is None else old
        if old < 1:
            raise InvalidInput(
                f"article {record.article_id} has only revision {record.revision}; "
                "there is nothing to compare yet"
            )
        before = self.articles.get_revision(record.article_id, old).article
        after = self.articles.get_revision(record.article_id, new).article
        # Render both with the same status so the diff shows only the edits.
        texts = [to_markdown(replace(a, status=record.status)) for a in (before, after)]
        return "".join(
            difflib.unified_diff(
                texts[0].splitlines(keepends=True),
                texts[1].splitlines(keepends=True),
                fromfile=f"{record.article_id} revision {old}",
                tofile=f"{record.article_id} revision {new}",
            )
        )

    # -- saving ----------------------------------------------------------------------
    def save(
        self,
        article: Article,
        author: User,
        note: str = "generated by evident",
        supersedes: str | None = None,
        question_vector: FloatMatrix | None = None,
    ) -> ArticleRecord:
        """Save an article as a draft (revision 1) and return its record."""
        self._require(author, Role.AUTHOR, "save articles")
        stamp = now()
        record = ArticleRecord(
            article_id=uuid.uuid4().hex[:12],
            question=article.question,
            question_key=question_key(article.question),
            question_type=article.question_type.value,
            audience=article.audience.value,
            condition=article.condition,
            status=S.DRAFT,
            author=author.name,
            reviewer=None,
            revision=1,
            library_version=article.library_version,
            created_at=stamp,
            updated_at=stamp,
            supersedes=supersedes,
            abstained=article.abstained,
        )
        self.articles.add_article(record, replace(article, status=S.DRAFT), note)
        self.articles.append_event(
            actor=author.name,
            action="create",
            article_id=record.article_id,
            revision=1,
            to_status=S.DRAFT.value,
            comment=note,
        )
        if question_vector is not None and self.embedder is not None:
            self.articles.put_question_vector(
                record.article_id, self.embedder.name, question_vector
            )
        return record

    def revise(self, article_id: str, actor: User, note: str = "") -> ArticleRecord:
        """Start a new draft from an approved or published article; publishing it later
        supersedes the original."""
        self._require(actor, Role.AUTHOR, "start a new revision")
        stored = self.get(article_id, actor)
        if stored.record.status not in (S.APPROVED, S.PUBLISHED):
            raise Conflict(
                f"cannot revise an article that is {words(stored.record.status)}; edit it "
                "in place while it is a draft or under review"
            )
        record = self.save(
            stored.article,
            actor,
            note=note or f"new revision of {stored.record.article_id}",
            supersedes=stored.record.article_id,
        )
        self.articles.append_event(
            actor=actor.name,
            action="revise",
            article_id=stored.record.article_id,
            revision=stored.record.revision,
            comment=f"new draft {record.article_id}" + (f": {note}" if note else ""),
        )
        return record

    # -- transitions -------------------------------------------------------------------
    def act(
        self,
        action: str,
        article_id: str,
        actor: User,
        comment: str = "",
        revision: int | None = None,
    ) -> ArticleRecord:
        """Take a workflow action (submit, claim, approve, request_changes, reject, publish,
        retract) and return the updated record.

        The action applies to the revision the actor read: `revision` names it (front ends
        send the one they showed), and the status change is refused in the same transaction
        if the article was revised since. The audit event records that revision, so an
        approval names exactly the text approved.

        Raises:
            PermissionDenied: the actor's role or relation to the article does not allow it.
            Conflict: the article is not in a state the action starts from.
            InvalidInput: the action needs a comment and none was given.
        """
        if action not in TRANSITIONS:
            raise InvalidInput(
                f"unknown review action {action!r}; choose one of: {', '.join(TRANSITIONS)}"
            )
        step = TRANSITIONS[action]
        self._require(actor, step.role, f"{step.verb} articles")
        record = self.record(article_id, actor)
        if revision is not None and revision != record.revision:
            raise Conflict(
                f"cannot {step.verb} revision {revision} of article {record.article_id}: it "
                f"is now at revision {record.revision}; reload it, read the changes and "
                "try again"
            )
        if record.status not in step.sources:
            if record.status is step.target and action == "retract":
                raise Conflict(
                    f"cannot retract article {record.article_id}: it is already retracted"
                )
            raise Conflict(
                f"cannot {step.verb} an article that is {words(record.status)}; "
                f"it must be {step.need} first"
            )
        if record.abstained and action != "retract":
            raise Conflict(
                f"cannot {step.verb} article {record.article_id}: it is a refusal (the library "
                "had not enough evidence), so there is nothing to review; add documents that "
                "answer the question and ask it again"
            )
        self._check_who(step, record, actor)
        comment = comment.strip()
        if step.needs_comment and not comment:
            raise InvalidInput(
                f"say why when you {step.verb} an article: add a comment (--comment TEXT)"
            )
        fields: dict[str, object] = {"status": step.target, "updated_at": now()}
        if action == "submit":
            fields["reviewer"] = None
        elif action == "claim":
            fields["reviewer"] = actor.name
        elif action in ("approve", "reject"):
            fields.update(reviewed_by=actor.name, reviewed_at=now())
            if action == "approve" and record.needs_rereview:
                fields.update(needs_rereview=0, rereview_reason="")
                comment = (comment + " " if comment else "") + (
                    f"(re-review flag cleared: {record.rereview_reason})"
                )
        elif action == "publish":
            fields["published_at"] = now()
        event = {
            "actor": actor.name,
            "action": action,
            "revision": record.revision,
            "from_status": record.status.value,
            "to_status": step.target.value,
            "comment": comment,
        }
        updated = self.articles.change_record(
            record.article_id,
            event=event,
            expect_status=record.status,
            expect_revision=record.revision,
            **fields,
        )
        if action == "publish":
            self._supersede_older(updated, actor)
            self._remember_question(updated)
        return updated

    def actions_for(self, record: ArticleRecord, actor: User) -> list[tuple[str, Transition]]:
        """The workflow actions the actor may take on the article now (a refusal: retract)."""
        return [
            (name, step)
            for name, step in TRANSITIONS.items()
            if record.status in step.sources
            and actor.role.at_least(step.role)
            and (name == "retract" or not record.abstained)
        ]

    def _check_who(self, step: Transition, record: ArticleRecord, actor: User) -> None:
        if (
            step.who == "author"
            and record.author != actor.name
            and not actor.role.at_least(Role.EDITOR)
        ):
            raise PermissionDenied(
                f"{actor.name} cannot {step.verb} article {record.article_id}: only its "
                f"author ({record.author}) or an editor may"
            )
        if step.who == "other" and record.author == actor.name:
            raise PermissionDenied(
                f"{actor.name} wrote article {record.article_id}, so another reviewer must "
                f"{step.verb} it"
            )
        if step.who == "claimant" and record.reviewer != actor.name:
            raise PermissionDenied(
                f"{actor.name} cannot {step.verb} article {record.article_id}: it is under "
                f"review by {record.reviewer}; only the reviewer who claimed it may"
            )

    def _supersede_older(self, published: ArticleRecord, actor: User) -> None:
        older = [
            r
            for r in self.articles.list_records([S.PUBLISHED], limit=1000)
            if r.article_id != published.article_id
            and (
                r.article_id == published.supersedes
                or (r.question_key == published.question_key and r.audience == published.audience)
            )
        ]
        for record in older:
            self.articles.change_record(
                record.article_id,
                event={
                    "actor": actor.name,
                    "action": "supersede",
                    "revision": record.revision,
                    "from_status": S.PUBLISHED.value,
                    "to_status": S.SUPERSEDED.value,
                    "comment": f"superseded by {published.article_id}",
                },
                status=S.SUPERSEDED,
                superseded_by=published.article_id,
                updated_at=now(),
            )

    def _remember_question(self, record: ArticleRecord) -> None:
        if self.embedder is None:
            return
        vector = self.embedder.embed([record.question])[0]
        self.articles.put_question_vector(record.article_id, self.embedder.name, vector)

    # -- comments and edits ---------------------------------------------------------------
    def comment(self, article_id: str, actor: User, text: str, target: str = "") -> int:
        """Comment on an article, or on one statement or section of it; returns the event id."""
        record = self.record(article_id, actor)
        if not (actor.role.at_least(Role.REVIEWER) or record.author == actor.name):
            raise PermissionDenied(
                f"{actor.name} ({actor.role.value}) cannot comment on article "
                f"{record.article_id}; comments are for its author, reviewers and editors"
            )
        if not text.strip():
            raise InvalidInput("the comment is empty; write what should change and why")
        if target:
            locate(self.articles.get_revision(record.article_id).article, target)
        return self.articles.append_event(
            actor=actor.name,
            action="comment",
            article_id=record.article_id,
            revision=record.revision,
            target=target.strip().lower(),
            comment=text.strip(),
        )

    def _check_can_edit(self, record: ArticleRecord, actor: User) -> None:
        if not actor.role.at_least(Role.AUTHOR):
            raise PermissionDenied(
                f"{actor.name} ({actor.role.value}) cannot edit articles; "
                "authors, reviewers and editors can"
            )
        editor = actor.role.at_least(Role.EDITOR)
        if record.status in (S.DRAFT, S.CHANGES_REQUESTED):
            if record.author != actor.name and not editor:
                raise PermissionDenied(
                    f"{actor.name} cannot edit article {record.article_id}: while it is "
                    f"{words(record.status)} only its author ({record.author}) or an editor may"
                )
        elif record.status is S.UNDER_REVIEW:
            if record.reviewer != actor.name and not editor:
                raise PermissionDenied(
                    f"{actor.name} cannot edit article {record.article_id}: it is under review "
                    f"by {record.reviewer}; only they or an editor may edit it"
                )
        else:
            hint = (
                "; start a new revision with `evident review revise ID`"
                if record.status in (S.APPROVED, S.PUBLISHED)
                else ""
            )
            raise Conflict(
                f"cannot edit an article that is {words(record.status)}; it must be a draft, "
                f"under review or have changes requested{hint}"
            )

    def edit(self, article_id: str, actor: User, change: StatementEdit, note: str = "") -> Revision:
        """Apply one statement edit as a new revision and return it.

        Raises:
            PermissionDenied, Conflict: the actor may not edit the article now.
            InvalidInput: the target or a citation is invalid, or the edited statement is
                not supported by its citations (the message gives score and threshold).
        """
        record = self.record(article_id, actor)
        self._check_can_edit(record, actor)
        current = self.articles.get_revision(record.article_id)
        article = current.article
        place = locate(article, change.target)
        statements = list(
            article.bottom_line
            if place.section is None
            else article.sections[place.section].statements
        )
        removed = list(article.removed)
        label = change.target.strip().lower()
        if place.statement is None:
            if change.delete or change.remove_citations:
                raise InvalidInput(
                    f"{label!r} names a whole list; to delete or change a statement name it "
                    "(e.g. b1 or s2.3)"
                )
            if not (change.text and change.text.strip()) or not change.add_citations:
                raise InvalidInput(
                    f"to add a statement to {label!r} give its text and at least one citation"
                )
            fresh = Statement(change.text.strip(), self._citations(change.add_citations))
            statements.append(self._verified(fresh, f"new statement in {label}"))
            summary = f"added a statement to {label}"
        elif change.delete:
            gone = statements.pop(place.statement)
            removed.append(
                RemovedStatement(gone, f"deleted by {actor.name}" + (f": {note}" if note else ""))
            )
            summary = f"deleted {label}"
        else:
            old = statements[place.statement]
            drop = set(change.remove_citations)
            bad = sorted(i for i in drop if not 1 <= i <= len(old.citations))
            if bad:
                raise InvalidInput(
                    f"statement {label} has {len(old.citations)} citations; there is no "
                    f"citation {bad[0]} to remove"
                )
            kept = [c for i, c in enumerate(old.citations, start=1) if i not in drop]
            added = list(self._citations(change.add_citations))
            text = change.text.strip() if change.text is not None else old.text
            if not text:
                raise InvalidInput(
                    f"the new text of {label} is empty; to remove the statement, delete it"
                )
            if text == old.text and not drop and not added:
                raise InvalidInput(f"the edit leaves {label} unchanged; nothing to save")
            citations = tuple(dict.fromkeys([*kept, *added]))
            if not citations:
                raise InvalidInput(
                    f"statement {label} would have no citations left; every statement needs "
                    "at least one citation to a library passage"
                )
            edited = replace(old, text=text, citations=citations)
            statements[place.statement] = self._verified(edited, f"statement {label}")
            summary = f"edited {label}"
        revised = self._rebuild(article, place.section, tuple(statements), tuple(removed))
        # One transaction, conditional on the status and revision this edit started from.
        number = self.articles.add_revision(
            record.article_id,
            current.revision,
            actor.name,
            note or summary,
            revised,
            expect_status=record.status,
            event={
                "actor": actor.name,
                "action": "edit",
                "from_status": record.status.value,
                "to_status": record.status.value,
                "target": label,
                "comment": note or summary,
            },
        )
        return self.articles.get_revision(record.article_id, number)

    def _citations(self, specs: Sequence[CitationSpec]) -> tuple[Citation, ...]:
        chunks = self.library.get_chunks([s.chunk_id for s in specs])
        out = []
        for spec in specs:
            chunk = chunks.get(spec.chunk_id)
            if chunk is None:
                raise InvalidInput(
                    f"passage {spec.chunk_id!r} is not in the library; cite a passage id "
                    "shown by `evident search` or `evident library show`"
                )
            if not 0 <= spec.start < spec.end <= len(chunk.text):
                raise InvalidInput(
                    f"span {spec.start}–{spec.end} is outside passage {spec.chunk_id}, which "
                    f"has {len(chunk.text)} characters"
                )
            quote = chunk.text[spec.start : spec.end]
            if spec.quote is not None and spec.quote != quote:
                raise InvalidInput(
                    f"the quote does not match passage {spec.chunk_id} at {spec.start}–"
                    f"{spec.end}: the passage says {quote!r}"
                )
            out.append(Citation(chunk.chunk_id, chunk.document_id, spec.start, spec.end, quote))
        return tuple(out)

    def _verified(self, statement: Statement, label: str) -> Statement:
        chunks = self.library.get_chunks([c.chunk_id for c in statement.citations])
        probe = Article(
            question="",
            title="",
            question_type=QuestionType.TREATMENT,
            condition="",
            bottom_line=(statement,),
            sections=(),
            references=(),
            abstained=False,
            generated_at=now(),
            library_version="",
        )
        result = verify_article(probe, chunks, self.support_threshold, self.support_model)
        if not result.bottom_line:
            reason = result.removed[-1].reason if result.removed else "not supported"
            raise InvalidInput(
                f"edit refused: {label}: {reason}; "
                "cite a passage that says it, or reword it to match the evidence"
            )
        return result.bottom_line[0]

    def _rebuild(
        self,
        article: Article,
        section: int | None,
        statements: tuple[Statement, ...],
        removed: tuple[RemovedStatement, ...],
    ) -> Article:
        if section is None:
            bottom, sections = statements, list(article.sections)
        else:
            bottom, sections = article.bottom_line, list(article.sections)
            sections[section] = ArticleSection(
                sections[section].heading, statements, sections[section].group
            )
        sections = [s for s in sections if s.statements]
        used = dict.fromkeys(
            c.document_id
            for st in [*bottom, *(x for s in sections for x in s.statements)]
            for c in st.citations
        )
        known = {r.document_id: r for r in article.references}
        metas = self.library.document_metas([d for d in used if d not in known])
        references = []
        for document_id in used:
            if document_id in known:
                references.append(known[document_id])
            elif document_id in metas:
                references.append(Reference(document_id[:10], document_id, metas[document_id]))
        return replace(
            article,
            bottom_line=bottom,
            sections=tuple(sections),
            references=tuple(references),
            removed=removed,
        )

    # -- staleness ----------------------------------------------------------------------
    def flag_stale(self, actor: str = "system") -> list[tuple[ArticleRecord, str]]:
        """Flag live articles whose evidence changed; return the newly flagged ones.

        An article needs re-review when a document it cites is no longer in the library
        (updated files get a new document id, so the old one disappears), or when a
        guideline about its condition was added after it was written or last approved.
        """
        flagged = []
        for record in self.articles.list_records(list(ACTIVE), limit=100_000):
            reason = self._stale_reason(record)
            if reason and (not record.needs_rereview or record.rereview_reason != reason):
                updated = self.articles.change_record(
                    record.article_id,
                    event={
                        "actor": actor,
                        "action": "flag_stale",
                        "revision": record.revision,
                        "comment": reason,
                    },
                    needs_rereview=1,
                    rereview_reason=reason,
                )
                flagged.append((updated, reason))
        return flagged

    def check_stale(self, actor: User) -> list[tuple[ArticleRecord, str]]:
        """Run flag_stale on request of a reviewer, editor or admin."""
        self._require(actor, Role.REVIEWER, "check articles for staleness")
        return self.flag_stale(actor.name)

    def _stale_reason(self, record: ArticleRecord) -> str:
        article = self.articles.get_revision(record.article_id).article
        reasons = []
        cited = {c.document_id for s in article.statements() for c in s.citations}
        present = self.library.document_metas(cited)
        titles = {r.document_id: r.meta.title for r in article.references}
        for document_id in sorted(cited - set(present)):
            reasons.append(
                f"cited document {document_id[:10]} ({titles.get(document_id, 'untitled')}) "
                "was updated or removed"
            )
        since = max(record.created_at, record.reviewed_at or record.created_at)
        for document_id, title, conditions in self.articles.guidelines_since(since):
            if document_id not in cited and about(article, title, conditions):
                reasons.append(
                    f"new guideline on {article.condition or 'its condition'}: "
                    f"{title} ({document_id[:10]})"
                )
        return "; ".join(reasons)

    # -- matching published articles ------------------------------------------------------
    def find_published(
        self,
        question: str,
        question_type: str,
        audience: str,
        question_vector: FloatMatrix | None = None,
    ) -> tuple[StoredArticle, float] | None:
        """Return the published article answering this question, with the similarity."""
        records = self.articles.list_records([S.PUBLISHED], limit=100_000)
        if not records:
            return None
        candidates = [
            Candidate(r.article_id, r.question, r.question_type, r.audience) for r in records
        ]
        vectors = None
        if self.embedder is not None:
            vectors = self.articles.question_vectors(
                [c.article_id for c in candidates], self.embedder.name
            )
        found = best_match(
            question, question_type, audience, candidates, self.embedder, vectors, question_vector
        )
        if found is None:
            return None
        article_id, similarity = found
        record = self.articles.get_record(article_id)
        article = self.articles.get_revision(article_id).article
        return StoredArticle(record, replace(article, status=record.status)), similarity

    @staticmethod
    def _require(user: User, role: Role, what: str) -> None:
        if not user.role.at_least(role):
            raise PermissionDenied(
                f"{user.name} ({user.role.value}) cannot {what}; it needs the "
                f"{role.value} role or higher"
            )


def about(article: Article, title: str, conditions: Sequence[str]) -> bool:
    """True when a document (by title and listed conditions) is about the article's condition."""
    text = (
        " "
        + re.sub(r"[\W_]+", " ", f"{article.question} {article.condition} {article.title}".lower())
        + " "
    )
    for condition in conditions:
        phrase = re.sub(r"[\W_]+", " ", condition.lower()).strip()
        if len(phrase) >= 3 and f" {phrase} " in text:
            return True
    subject = re.sub(r"[\W_]+", " ", article.condition.lower()).strip()
    folded_title = " " + re.sub(r"[\W_]+", " ", title.lower()) + " "
    return len(subject) >= 3 and f" {subject} " in folded_title
