"""The App container: backends built from settings, and the service functions front ends call."""

from __future__ import annotations

import inspect
import json
import logging
import os
import re
import shutil
import socket
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from evident import __version__
from evident.compose.article import (
    answerable,
    asked_questions,
    compose_article,
    evidence,
    on_condition,
)
from evident.compose.audience import adapt
from evident.compose.followup import candidate_follow_ups, resolve
from evident.compose.guard import screen, screen_note
from evident.compose.llm import LlmComposer, events_for
from evident.compose.question import QuestionFrame, analyse, validate_question
from evident.config import IndexSettings, Settings
from evident.errors import (
    BackendUnavailable,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from evident.index.build import (
    behind,
    embed_missing,
    open_index,
    open_milvus,
    sync_index,
    sync_milvus,
)
from evident.index.codes import ClinicalTerm, ConditionMatch, match_condition, medication_name
from evident.index.engine import IndexManifest, TantivyUsearchIndex
from evident.index.milvus import MilvusIndex
from evident.index.rerank import passage_for_model
from evident.index.retrieve import retrieve
from evident.index.vocab import Vocabulary, load_vocabulary
from evident.ingest.pipeline import ingest_path
from evident.ingest.readers import reader_for
from evident.models import (
    Article,
    ArticleReady,
    AskEvent,
    Audience,
    Filters,
    Hit,
    IngestReport,
    IngestStatus,
)
from evident.protocols import Embedder, Generator, RelevanceModel, SupportModel
from evident.registry import EMBEDDERS, GENERATORS, backend
from evident.relevance import MiniLmRelevanceModel
from evident.review.records import ANONYMOUS, Answer, ArticleRecord, Job, JobStatus, Role, User
from evident.review.suggest import Suggestion, suggest_articles
from evident.review.threads import Thread, Turn
from evident.review.users import (
    authenticate,
    create_user,
    end_session,
    issue_token,
    revoke_tokens,
    start_session,
)
from evident.review.workflow import Editorial
from evident.store.articles import ArticleStore, now
from evident.store.audit import ChainCheck, backup_database, integrity_problem, verify_chain
from evident.store.copy import CopyReport, copy_library
from evident.store.sql import Connection, SqlStore
from evident.store.sqlite import SqliteStore
from evident.store.threads import ThreadStore
from evident.verify.disagree import note_disagreements
from evident.verify.model import ClaimSupportModel
from evident.verify.support import verify_article

log = logging.getLogger(__name__)

# Candidates the relevance model reads when checking that a suggested follow-up has an
# answer: enough to find the best passage, a third of what an article reads.
FOLLOW_UP_RERANK_DEPTH = 5
# The second search every article makes, for the warning signs of its subject; the
# relevance model reads its best few candidates.
RED_FLAG_QUESTION = "When should {c} be referred urgently, and what are its red flags?"
RED_FLAG_PASSAGES = 5


@dataclass(frozen=True)
class Gathered:
    """The screened passages for a question, with each passage's relevance-model
    probability of answering it (None when no relevance
    model is configured)."""

    hits: list[Hit]
    flagged: list[Hit]
    relevance: dict[str, float] | None
    # Passages the red-flag search found: their warning sentences are evidence.
    warnings: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PatientSuggestions:
    """Articles offered for a patient: the conditions that mapped to the vocabulary, the
    ones that did not (as the record labels them), and the chosen articles."""

    matched: list[ConditionMatch]
    unmatched: list[str]
    suggestions: list[Suggestion]


@dataclass
class App:
    """Long-lived backends for one library. Build it with build_app(settings)."""

    settings: Settings
    store: SqlStore
    embedder: Embedder | None
    # Judges whether cited passages support a statement (verify.model).
    support_model: SupportModel = field(default_factory=lambda: ClaimSupportModel())
    # Judges whether a passage or sentence answers a question (evident.relevance); None
    # keeps fusion order and lets every on-condition passage count as evidence.
    relevance_model: RelevanceModel | None = field(default_factory=lambda: MiniLmRelevanceModel())
    # The language model that writes articles; None means extractive only (the default).
    generator: Generator | None = None
    # Bring a stale index up to date in a background thread (the server) rather than in
    # the thread that asks (a command line run, which should answer from the latest).
    background_sync: bool = False
    _index: TantivyUsearchIndex | MilvusIndex | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _syncing: threading.Lock = field(default_factory=threading.Lock)
    _ingest_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def index_dir(self) -> Path:
        return self.settings.library / "index"

    @property
    def vocabulary(self) -> Vocabulary:
        return load_vocabulary(tuple(self.settings.index.vocab_paths))

    # -- index ---------------------------------------------------------------
    def index(self) -> TantivyUsearchIndex | MilvusIndex:
        """Return the last committed index, switching to a newer commit when there is one.

        Never waits for a writer: while the library is being indexed (here or in another
        process) searches answer from the last committed version. When the library has
        changed and nobody is indexing it, it is brought up to date (in the background
        with background_sync).
        """
        current = self._index
        if current is None:
            with self._lock:  # the first open only (it builds a missing index)
                if self._index is None:
                    self._index = self._open_index()
                current = self._index
        current.reopen_if_committed()
        if behind(self.store, current.manifest) and not self._syncing.locked():
            if self.background_sync:
                threading.Thread(target=self._catch_up, daemon=True).start()
            else:
                self._catch_up()
        return current

    def _catch_up(self) -> None:
        if not self._syncing.acquire(blocking=False):
            return
        try:
            if self._sync_index(wait=False) is not None:
                self._reopen()
        except Exception:  # a background thread: log it, searches go on from the last commit
            log.exception("bringing the search index up to date failed")
        finally:
            self._syncing.release()

    def _reopen(self) -> TantivyUsearchIndex | MilvusIndex:
        with self._lock:
            if self._index is None:
                self._index = self._open_index()
            else:
                self._index.reopen_if_committed()
            return self._index

    def refresh_index(
        self,
        embed: bool = True,
        on_progress: Callable[[int, int], None] | None = None,
        rebuild: bool = False,
        on_index: Callable[[int, int], None] | None = None,
    ) -> TantivyUsearchIndex | MilvusIndex:
        """Embed passages that lack vectors (unless embed is False) and index the changes.

        Searches go on answering from the last committed index meanwhile; the new one is
        switched in when it is committed.

        Args:
            on_progress: called with (embedded, to embed) after each batch.
            rebuild: build the index from scratch (beside the current one, then swapped in).
            on_index: called with (indexed, to index) as passages are indexed.
        """
        if embed and self.embedder is not None:
            embed_missing(self.store, self.embedder, self.settings.index.embed_batch, on_progress)
        with self._syncing:
            self._sync_index(rebuild=rebuild, on_progress=on_index)
            if rebuild:
                with self._lock:
                    self._index = None
            return self._reopen()

    def _open_index(self) -> TantivyUsearchIndex | MilvusIndex:
        """Open the index.backend the settings name (building it when there is none)."""
        if self.settings.index.backend == "milvus":
            return open_milvus(
                self.store, self.settings.index, self.settings.library, self.embedder
            )
        return open_index(self.store, self.index_dir, self.embedder, self.settings.index)

    def _sync_index(
        self,
        *,
        rebuild: bool = False,
        wait: bool = True,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> IndexManifest | None:
        if self.settings.index.backend == "milvus":
            return sync_milvus(
                self.store,
                self.settings.index,
                self.settings.library,
                self.embedder,
                rebuild=rebuild,
                wait=wait,
                on_progress=on_progress,
            )
        return sync_index(
            self.store,
            self.index_dir,
            self.embedder,
            rebuild=rebuild,
            wait=wait,
            on_progress=on_progress,
        )

    # -- service functions -----------------------------------------------------
    def ingest(
        self,
        paths: Iterable[Path],
        on_file: Callable[[str], None] | None = None,
        force: bool = False,
    ) -> IngestReport:
        """Add files and folders to the library (the index is refreshed separately).

        force: read unchanged files again (after an upgrade that reads them better).
        """
        s = self.settings.ingest
        report = ingest_path(
            self.store,
            paths,
            max_file_mb=s.max_file_mb,
            passage_chars=s.passage_chars,
            passage_max_chars=s.passage_max_chars,
            on_file=on_file,
            force=force,
        )
        # Saved articles whose evidence changed are flagged for re-review.
        self.flag_stale()
        return report

    def search(
        self,
        query: str,
        k: int = 10,
        filters: Filters | None = None,
        methods: tuple[str, ...] = ("bm25", "dense"),
    ) -> list[Hit]:
        """Return the k best passages for a question."""
        return retrieve(
            self.store,
            self.index(),
            self.embedder,
            query,
            self.settings.index,
            k=k,
            filters=filters,
            vocabulary=self.vocabulary,
            methods=methods,
            reranker=self.relevance_model,
        )

    def ask(
        self,
        question: str,
        audience: Audience = Audience.PHYSICIAN,
        on_event: Callable[[AskEvent], None] | None = None,
    ) -> Article:
        """Answer a question with a cited, verified article (or an abstention).

        Args:
            on_event: called with each stream event as it happens (the web app streams
                verified statements to the reader while the article is written).
        """
        for event in self.ask_stream(question, audience):
            if on_event is not None:
                on_event(event)
            if isinstance(event, ArticleReady):
                return event.article
        raise AssertionError("ask_stream ended without an article")

    def ask_stream(
        self, question: str, audience: Audience = Audience.PHYSICIAN
    ) -> Iterator[AskEvent]:
        """Answer a question, yielding each statement once it is verified, then the article.

        With a generator configured the model writes the article (compose.llm); otherwise,
        or when its draft fails, the extractive composer does.
        """
        frame = analyse(question, self.vocabulary)
        found = self._gather(frame)
        article = compose_article(
            frame,
            found.hits,
            self.settings.compose,
            self.store.library_version(),
            model=self.relevance_model,
            relevance=found.relevance,
            warnings=found.warnings,
            searched=(frame.question, *map(str, frame.condition_terms()[:6])),
        )
        if found.flagged:
            article = replace(article, notes=(*article.notes, screen_note(found.flagged)))
        chunks = {h.chunk.chunk_id: h.chunk for h in found.hits}
        threshold = self.settings.verify.support_threshold

        def extractive() -> Article:
            verified = verify_article(article, chunks, threshold, self.support_model)
            verified = note_disagreements(verified, found.hits, self.support_model)
            return adapt(verified, audience, self.vocabulary)

        if self.generator is None or article.abstained:
            yield from events_for(extractive())
            return
        writer = LlmComposer(self.generator, self.settings.generator, threshold, self.support_model)
        usable, _ = evidence(frame, found.hits, self.settings.compose, found.relevance)
        library_version = self.store.library_version()
        yield from writer.write(frame, audience, usable, library_version, article.notes)
        for event in writer.finish(extractive, chunks):
            if isinstance(event, ArticleReady) and event.article.composer == "llm":
                # The model wrote for the reader; the reader's layout and glossary still apply.
                event = ArticleReady(adapt(event.article, audience, self.vocabulary))
            yield event

    def _gather(self, frame: QuestionFrame, rerank_depth: int | None = None) -> Gathered:
        """Retrieve and screen the passages an article about this question would use.

        Args:
            rerank_depth: read fewer (or more) fused candidates with the relevance model
                than index.rerank_depth; the follow-up gate reads only the best few.
        """
        index = self.index()
        settings = self.settings.index.model_copy(
            update={"mmr_lambda": self.settings.compose.mmr_lambda}
            | ({} if rerank_depth is None else {"rerank_depth": rerank_depth})
        )
        query_vector = None
        if self.embedder is not None and index.manifest.embedded > 0:
            query_vector = self.embedder.embed([frame.question])[0]
        hits = retrieve(
            self.store,
            index,
            self.embedder,
            frame.question,
            settings,
            k=self.settings.compose.passages,
            vocabulary=self.vocabulary,
            query_vector=query_vector,
            reranker=self.relevance_model,
        )
        # The article's red flags, judged against the red-flag question (full articles only).
        flags = self._red_flags(frame, settings) if rerank_depth is None and frame.named else []
        seen = {h.chunk.chunk_id for h in hits}
        hits += [h for h in flags if h.chunk.chunk_id not in seen]
        # Passages that address a language model are never evidence (compose.guard).
        hits, flagged = screen(hits)
        relevance = None
        if self.relevance_model is not None:
            # MMR can pick passages from below the rerank depth: the model reads those too
            # (all of them for an article; the follow-up gate needs only the best).
            unread = [h for h in hits if h.relevance is None and rerank_depth is None]
            scores = self.relevance_model.scores(
                frame.question, [passage_for_model(h.chunk, h.document) for h in unread]
            )
            relevance = {h.chunk.chunk_id: h.relevance for h in hits if h.relevance is not None}
            relevance.update(
                {h.chunk.chunk_id: float(p) for h, p in zip(unread, scores, strict=True)}
            )
            # A passage answers a question that asks two things ("X versus Y", "diagnosed
            # and treated") when it answers one of them: asked whole, each passage scores
            # low. The reranked passages are read once per part.
            asked = [q for variants in asked_questions(frame) for q in variants]
            read = [h for h in hits if h.relevance is not None]
            texts = [passage_for_model(h.chunk, h.document) for h in read]
            for part in [q for q in asked if q != frame.question] if texts else []:
                for h, p in zip(read, self.relevance_model.scores(part, texts), strict=True):
                    relevance[h.chunk.chunk_id] = max(relevance[h.chunk.chunk_id], float(p))
        return Gathered(hits, flagged, relevance, frozenset(h.chunk.chunk_id for h in flags))

    def _red_flags(self, frame: QuestionFrame, settings: IndexSettings) -> list[Hit]:
        """The best few passages on when the subject needs urgent referral.

        Warning signs rarely share the question's words ("management of a calf
        calcification" vs "a mass over 5 cm, deep to fascia, needs a sarcoma referral"),
        yet an article owes the reader its red flags: one more search, reranked with the
        red-flag question. Only their sentences in red-flag wording become evidence
        (compose.article.evidence), since the model's judgement is of another question.
        """
        return retrieve(
            self.store,
            self.index(),
            self.embedder,
            RED_FLAG_QUESTION.format(c=f"{frame.subject} {frame.site}".strip()),
            settings.model_copy(update={"rerank_depth": RED_FLAG_PASSAGES}),
            k=RED_FLAG_PASSAGES,
            vocabulary=self.vocabulary,
            reranker=self.relevance_model,
        )

    # -- editorial review ------------------------------------------------------------------
    @cached_property
    def articles(self) -> ArticleStore:
        """The review tables (users, articles, revisions, audit log, jobs)."""
        return ArticleStore(self.store)

    @cached_property
    def editorial(self) -> Editorial:
        """The review workflow over this library."""
        return Editorial(
            self.articles,
            self.store,
            self.settings.verify.support_threshold,
            self.support_model,
            self.embedder,
        )

    def answer(
        self,
        question: str,
        audience: Audience = Audience.PHYSICIAN,
        *,
        fresh: bool = False,
        save: bool = False,
        user: User | None = None,
        on_event: Callable[[AskEvent], None] | None = None,
    ) -> Answer:
        """Answer a question: the published article that matches it, else a fresh article.

        Args:
            fresh: compose a new article even when a published one matches.
            save: save a fresh article as a draft by `user` (needs the author role).
            on_event: passed to `ask` when a fresh article is composed.
        """
        self.check_can_save(save, user)
        if not fresh:
            published = self.published_answer(question, audience)
            if published is not None:
                return published
        article = self.ask(question, audience=audience, on_event=on_event)
        record = None
        if save and user is not None:
            record = self.editorial.save(article, user)
        return Answer(article, "fresh", record)

    def check_can_save(self, save: bool, user: User | None) -> None:
        """Raise unless `user` may save a fresh answer as a draft (when save is asked)."""
        if save and user is None:
            raise InvalidInput(
                "saving an article needs an author: pass --as NAME or set EVIDENT_USER"
            )
        if save and user is not None and not user.role.at_least(Role.AUTHOR):
            raise PermissionDenied(
                f"{user.name} ({user.role.value}) cannot save articles; it needs the author "
                "role or higher"
            )

    def published_answer(self, question: str, audience: Audience) -> Answer | None:
        """The published article that matches the question, if any."""
        frame = analyse(question, self.vocabulary)
        # The question is embedded only when no published question matches exactly.
        found = self.editorial.find_published(question, frame.qtype.value, audience.value)
        if found is None:
            return None
        stored, similarity = found
        return Answer(stored.article, "published", stored.record, round(similarity, 3))

    def answer_for(self, question: str, audience: Audience, viewer: User) -> Answer:
        """Answer a question for a viewer who may not be allowed to see drafts.

        The published article that matches comes first. A freshly composed article is a
        draft, pending human review, and only authors and up may see one.

        Raises:
            NotFound: no published article matches and the viewer is a reader.
        """
        published = self.published_answer(question, audience)
        if published is not None:
            return published
        if not viewer.role.at_least(Role.AUTHOR):
            raise NotFound(
                f"no published article answers {question!r} yet, and {viewer.name} "
                f"({viewer.role.value}) may see published articles only; search the library's "
                "passages instead, or ask an author to compose an article for review"
            )
        return self.answer(question, audience, fresh=True)

    # -- clinical decision support (CDS Hooks) --------------------------------------------
    def suggest_for_patient(
        self,
        conditions: Sequence[ClinicalTerm],
        medications: Sequence[ClinicalTerm] = (),
        *,
        require_mention: bool = False,
        actor: str = "cds",
        hook: str = "",
        limit: int = 3,
    ) -> PatientSuggestions:
        """Offer up to `limit` saved articles about a patient's conditions.

        Conditions map to the vocabulary by code (data/codes.yaml) or display text.
        Drafts are offered only when cds.allow_drafts is set. Each offered article gets
        an audit event naming the hook and the caller; nothing about the patient is kept.

        Args:
            medications: the patient's medications, or the ones being ordered.
            require_mention: offer only articles that name one of the medications.
        """
        matched: list[ConditionMatch] = []
        unmatched: list[str] = []
        for term in conditions:
            match = match_condition(term, self.vocabulary)
            if match is None:
                unmatched.append(term.label())
            else:
                matched.append(match)
        suggestions = suggest_articles(
            self.articles,
            self.vocabulary,
            matched,
            [medication_name(m) for m in medications],
            allow_drafts=self.settings.cds.allow_drafts,
            require_mention=require_mention,
            limit=limit,
        )
        for suggestion in suggestions:
            record = suggestion.stored.record
            self.articles.append_event(
                actor=actor,
                action="cds_card",
                article_id=record.article_id,
                revision=record.revision,
                comment=f"offered as a {hook or 'CDS'} card",
            )
        return PatientSuggestions(matched, unmatched, suggestions)

    # -- follow-up questions (threads) ----------------------------------------------------------
    @cached_property
    def thread_store(self) -> ThreadStore:
        return ThreadStore(self.store)

    def ask_in_thread(
        self,
        question: str,
        *,
        thread_id: str | None = None,
        audience: Audience = Audience.PHYSICIAN,
        user: User | None = None,
        save: bool = False,
        on_event: Callable[[AskEvent], None] | None = None,
    ) -> Turn:
        """Ask a question in a conversation: start a thread (thread_id None) or continue one.

        A follow-up is resolved against the thread's previous question before retrieval
        ("What if there is infection?" becomes a whole question about the thread's
        condition); the turn records both. A continued thread keeps its own audience.
        """
        thread = self.thread(thread_id) if thread_id is not None else None
        if thread is not None:
            audience = thread.audience
        previous = thread.turns[-1].resolved if thread is not None and thread.turns else None
        asked = validate_question(question)
        resolved = resolve(asked, previous, self.vocabulary)
        answer = self.answer(resolved, audience, save=save, user=user, on_event=on_event)
        suggestions = self.suggest_follow_ups(answer.article)
        if thread is None:
            new_id = uuid.uuid4().hex[:12]
            owner = user.name if user is not None else ""
            self.thread_store.create(new_id, audience, answer.article.condition, owner)
            turn = Turn(new_id, 1, asked, resolved, answer, suggestions)
        else:
            index = len(thread.turns) + 1
            turn = Turn(thread.thread_id, index, asked, resolved, answer, suggestions)
        self.thread_store.add_turn(turn)
        return turn

    def thread(self, thread_id: str, viewer: User | None = None) -> Thread:
        """Return a stored thread and its turns.

        A unique id prefix is enough for the command line (no viewer) and for editors and
        admins; anyone else must give the whole id, since an anonymous thread is shared by
        its link alone.

        Args:
            viewer: when given, the thread must be theirs, anonymous, or they must be an
                editor or admin.

        Raises:
            NotFound: no such thread (or not visible to the viewer).
        """
        exact = viewer is not None and not viewer.role.at_least(Role.EDITOR)
        found = self.thread_store.get(thread_id, self._record_or_none, exact=exact)
        if viewer is not None and not _may_see(viewer, found):
            raise NotFound(
                f"no thread {thread_id!r} visible to {viewer.name}; list your threads with "
                "GET /api/v1/threads"
            )
        return found

    def threads(self, limit: int = 20, viewer: User | None = None) -> list[Thread]:
        """Recent threads, newest activity first (without their turns).

        A viewer gets their own threads only (editors and admins everyone's): anonymous
        threads are never listed to anonymous callers, whose questions stay private.
        """
        found = self.thread_store.recent(limit if viewer is None else 10 * limit)
        return [t for t in found if viewer is None or _may_list(viewer, t)][:limit]

    def _record_or_none(self, article_id: str) -> ArticleRecord | None:
        try:
            return self.articles.get_record(article_id)
        except NotFound:
            return None

    def suggest_follow_ups(self, article: Article, k: int = 3) -> tuple[str, ...]:
        """Up to k follow-up questions the library can answer, from evidence the article
        did not use. Each passes the composer's evidence gate before it is offered, so none
        leads to an abstention."""
        if article.abstained or k <= 0:
            return ()
        frame = analyse(article.question, self.vocabulary)
        statements = [*article.statements(), *(r.statement for r in article.omitted)]
        used = {c.chunk_id for s in statements for c in s.citations}
        terms = frame.condition_terms()
        hits = self.search(f"{frame.subject} {frame.site}".strip(), k=30)
        unused = [
            h.chunk.text
            for h in hits
            if h.chunk.chunk_id not in used and (not terms or on_condition(h, terms))
        ]
        out: list[str] = []
        for candidate in candidate_follow_ups(frame, unused)[: k + 3]:
            if len(out) == k:
                break
            # The composer's own abstention gate on the candidate's evidence: the same
            # answer as asking it, without writing (or having a model write) the article.
            asked = analyse(candidate, self.vocabulary)
            # The gate needs the best answering passage, which is near the top of fusion.
            found = self._gather(asked, rerank_depth=FOLLOW_UP_RERANK_DEPTH)
            if answerable(asked, found.hits, self.settings.compose, found.relevance):
                out.append(candidate)
        return tuple(out)

    def flag_stale(self) -> int:
        """Flag saved articles whose cited documents changed or whose condition has new
        guidelines; return how many were newly flagged."""
        return len(self.editorial.flag_stale())

    def user(self, name: str) -> User:
        return self.articles.user_by_name(name)

    def authenticate(self, token: str) -> User | None:
        return authenticate(self.articles, token)

    def create_user(self, name: str, role: Role, actor: str) -> tuple[User, str]:
        """Create a user; returns the user and their first token (shown only once)."""
        return create_user(self.articles, name, role, actor, self.settings.api.token_days)

    def issue_token(self, name: str, actor: str) -> str:
        """Issue a user another API token; it expires after api.token_days."""
        return issue_token(self.articles, name, actor, self.settings.api.token_days)

    def revoke_tokens(self, name: str, actor: str) -> int:
        """Revoke every token of a user, web sign-ins included; return how many."""
        return revoke_tokens(self.articles, name, actor)

    def start_session(self, user: User) -> str:
        """A web sign-in token for the user, valid for api.session_hours."""
        return start_session(self.articles, user, self.settings.api.session_hours)

    def end_session(self, token: str) -> None:
        """Sign out: revoke the web sign-in token."""
        end_session(self.articles, token)

    # -- tamper evidence and backups ----------------------------------------------------------
    def verify_audit(self) -> ChainCheck:
        """Check the audit log against its hash chain."""
        return self.articles.verify_audit()

    def backup(self, destination: Path) -> dict[str, Any]:
        """Back the library up into a new or empty folder; safe while the server runs.

        SQLite: the database is copied with SQLite's online backup API (a consistent
        snapshot even while others write), checked with PRAGMA integrity_check and its
        audit chain verified. PostgreSQL: pg_dump writes library.dump, and the audit chain
        is verified in the snapshot pg_dump copies. The uploaded files are copied beside
        it. backup.json records what was copied and the audit chain's head hash. The search
        index is not copied: it is rebuilt from the database.

        Raises:
            Conflict: the destination exists and is not an empty folder.
            BackendUnavailable: the copy fails its integrity check, or pg_dump fails.
        """
        if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
            raise Conflict(
                f"{destination} is not an empty folder; back up into a new or empty folder "
                "so no earlier backup is overwritten"
            )
        destination.mkdir(parents=True, exist_ok=True)
        if isinstance(self.store, SqliteStore):
            database = destination / "library.sqlite"
            backup_database(self.store.path, database)
            problem = integrity_problem(database)
            if problem is not None:
                raise BackendUnavailable(
                    f"the backup copy {database} fails its integrity check ({problem}); check "
                    "the disk and back up again"
                )
            summary = _library_summary(database)
        else:
            from evident.store.postgres import PostgresStore

            assert isinstance(self.store, PostgresStore)
            summary = self.store.dump(destination / "library.dump", _summary_of)
        if self.uploads_dir.is_dir():
            shutil.copytree(self.uploads_dir, destination / "uploads")
        summary.update(
            created_at=now().isoformat(), evident_version=__version__, store=self.store.dialect
        )
        (destination / "backup.json").write_text(json.dumps(summary, indent=2) + "\n")
        return summary

    def restore(self, source: Path, force: bool = False) -> dict[str, Any]:
        """Replace this library's database and uploads with a backup made by `backup`.

        Run it with the server stopped. The backup must pass its integrity check and its
        audit chain must verify; the search index is rebuilt on next use. A SQLite backup
        restores into a SQLite library and a PostgreSQL one (library.dump) into a
        PostgreSQL library; `evident migrate` moves a library between them.

        Raises:
            NotFound: the folder holds no backup for this library's backend.
            Conflict: the backup is damaged or its audit log does not verify, or this
                library holds documents or articles and force is False.
        """
        postgres = not isinstance(self.store, SqliteStore)
        database = source / ("library.dump" if postgres else "library.sqlite")
        if not database.is_file():
            other = "library.sqlite" if postgres else "library.dump"
            hint = (
                f"; it holds {other}, a backup of a "
                f"{'SQLite' if postgres else 'PostgreSQL'} library: restore it into one of "
                "those, then move it with `evident migrate`"
                if (source / other).is_file()
                else "; give a folder written by `evident backup`"
            )
            raise NotFound(f"{source} holds no {database.name}{hint}")
        if postgres:
            summary = dict(json.loads((source / "backup.json").read_text()))
        else:
            problem = integrity_problem(database)
            if problem is not None:
                raise Conflict(f"the backup {database} is damaged ({problem}); use another backup")
            summary = _library_summary(database)
        if not summary["audit_intact"]:
            raise Conflict(
                f"the backup's audit log does not verify ({summary['audit_problem']}); it was "
                "not restored. Use another backup"
            )
        held = (self.store.count_documents(), len(self.articles.list_records(limit=1)))
        if any(held) and not force:
            raise Conflict(
                f"the library {self.store.describe() if postgres else self.settings.library} "
                "is not empty; back it up first "
                "(evident backup DEST), then pass --force to replace it"
            )
        if isinstance(self.store, SqliteStore):
            backup_database(database, self.store.path)
            self.store.close()
            SqliteStore(self.store.path).close()  # migrates a backup from an older version
        else:
            from evident.store.postgres import PostgresStore

            assert isinstance(self.store, PostgresStore)
            self.store.restore(database)
            check = self.verify_audit()
            if check.head != summary["audit_head"] or not check.intact:
                raise Conflict(
                    f"the restored audit log does not match the backup (head {check.head}, "
                    f"backup.json says {summary['audit_head']}); restore again from a backup "
                    "whose archive and backup.json belong together"
                )
        if (source / "uploads").is_dir():
            shutil.rmtree(self.uploads_dir, ignore_errors=True)
            shutil.copytree(source / "uploads", self.uploads_dir)
        shutil.rmtree(self.index_dir, ignore_errors=True)
        self._index = None
        return summary

    def migrate(
        self,
        target: str,
        on_table: Callable[[str, int], None] | None = None,
        *,
        milvus: bool = False,
    ) -> CopyReport:
        """Copy this library's records into another backend: a postgresql:// URL, or a
        folder for a new SQLite library (its uploads are copied too).

        The copy is checked (rows per table, library version, audit chain head) and the
        target must be empty. With milvus, the passages and their vectors are also loaded
        into the Milvus collection the index.milvus_* settings name, for the target. The
        source is left as it was; point store.url (or --library) at the target to use it.
        """
        postgres = target.startswith(("postgresql://", "postgres://"))
        if postgres:
            from evident.store.postgres import PostgresStore

            destination: SqlStore = PostgresStore(target, pool_size=2)
        else:
            destination = SqliteStore(Path(target) / "library.sqlite")
        try:
            report = copy_library(self.store, destination, on_table)
            if milvus:
                sync_milvus(
                    destination,
                    self.settings.index,
                    self.settings.library if postgres else Path(target),
                    self.embedder,
                    rebuild=True,
                )
        finally:
            destination.close()
        if not postgres and self.uploads_dir.is_dir():
            shutil.copytree(self.uploads_dir, Path(target) / "uploads", dirs_exist_ok=True)
        return report

    # -- uploads -----------------------------------------------------------------------------
    @property
    def uploads_dir(self) -> Path:
        return self.settings.library / "uploads"

    def accept_upload(self, filename: str, data: bytes, user: User) -> Job:
        """Keep an uploaded file under uploads/ and queue its ingest; run it with run_job.

        Raises:
            PermissionDenied: the user is not an author, reviewer, editor or admin.
            InvalidInput: the file is empty.
            UnsupportedFormat: no reader handles the file type (nothing is stored).
        """
        if not user.role.at_least(Role.AUTHOR):
            raise PermissionDenied(
                f"{user.name} ({user.role.value}) cannot add documents; it needs the author "
                "role or higher"
            )
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(filename or "upload").name).strip("._")
        name = name[-120:] or "upload"
        if not data:
            raise InvalidInput(f"the upload {filename!r} is empty; nothing to ingest")
        reader_for(Path(name), data[:4096])  # raises UnsupportedFormat before anything is kept
        job_id = uuid.uuid4().hex[:16]
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        # Each upload gets its own file, so a second upload of the same content is
        # reported as a duplicate of the first rather than as unchanged.
        path = self.uploads_dir / f"{job_id}-{name}"
        path.write_bytes(data)
        stamp = now()
        job = Job(
            job_id,
            "ingest",
            JobStatus.QUEUED,
            name,
            str(path),
            user.name,
            stamp,
            stamp,
            runner=_runner(),
        )
        self.articles.add_job(job)
        return job

    def recover_jobs(self) -> list[Job]:
        """Mark failed the jobs a stopped server left queued or running; return them.

        Run at server start-up. A job whose process ("host:pid") is still alive belongs to
        another worker and is left alone; the rest were interrupted and can be retried.
        """
        recovered: list[Job] = []
        for job in self.articles.unfinished_jobs():
            if _runner_alive(job.runner):
                continue
            reason = (
                f"interrupted: the server stopped while this job was {job.status.value}; "
                f"retry it with POST /api/v1/jobs/{job.job_id}/retry or the Retry button on "
                "the Sources page"
            )
            if self.articles.move_job(job, JobStatus.FAILED, error=reason):
                log.warning("ingest job %s was %s when its server stopped", job.job_id, job.status)
                recovered.append(self.articles.get_job(job.job_id))
        return recovered

    def retry_job(self, job_id: str, user: User) -> Job:
        """Queue a failed job again (run it with run_job); its uploaded file was kept.

        Raises:
            PermissionDenied: the user is not an author or higher.
            NotFound: no such job.
            Conflict: the job is not failed, or its file is gone.
        """
        if not user.role.at_least(Role.AUTHOR):
            raise PermissionDenied(
                f"{user.name} ({user.role.value}) cannot retry ingest jobs; it needs the "
                "author role or higher"
            )
        job = self.articles.get_job(job_id)
        if job.status is not JobStatus.FAILED:
            raise Conflict(f"job {job_id} is {job.status.value}; only a failed job can be retried")
        if not Path(job.path).exists():
            raise Conflict(
                f"job {job_id}'s uploaded file {job.filename!r} is no longer in the library; "
                "upload it again"
            )
        if not self.articles.move_job(job, JobStatus.QUEUED, runner=_runner()):
            raise Conflict(f"job {job_id} changed meanwhile; reload and retry")
        return self.articles.get_job(job_id)

    def run_job(self, job_id: str) -> Job:
        """Ingest a queued upload and refresh the index; the job records the outcome."""
        job = self.articles.get_job(job_id)
        if not self.articles.move_job(job, JobStatus.RUNNING, runner=_runner()):
            return self.articles.get_job(job_id)  # another process took it
        try:
            with self._ingest_lock:
                report = self.ingest([Path(job.path)])
                self.refresh_index()
        except Exception as exc:  # batch boundary: the job records every failure
            log.exception("ingest job %s failed", job_id)
            self.articles.update_job(job_id, JobStatus.FAILED, error=f"ingest failed: {exc}")
            return self.articles.get_job(job_id)
        results: list[dict[str, Any]] = [
            {
                "status": r.status.value,
                "document_id": r.document_id,
                "title": r.title,
                "reason": r.reason,
                "passages": r.chunks,
            }
            for r in report.results
        ]
        summary: dict[str, Any] = {s.value: report.count(s) for s in IngestStatus}
        summary["results"] = results
        failed = "; ".join(r.reason for r in report.failed)
        status = JobStatus.FAILED if failed else JobStatus.DONE
        self.articles.update_job(job_id, status, report=summary, error=failed)
        return self.articles.get_job(job_id)


def _library_summary(database: Path) -> dict[str, Any]:
    """What a SQLite library database holds, and whether its audit chain verifies."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return _summary_of(conn)
    finally:
        conn.close()


def _summary_of(conn: Connection) -> dict[str, Any]:
    """What a library database holds, and whether its audit chain verifies."""
    check = verify_chain(conn)
    documents = conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    articles = conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    return {
        "documents": int(documents),
        "articles": int(articles),
        "audit_events": check.events,
        "audit_head": check.head,
        "audit_intact": check.intact,
        "audit_problem": check.problems[0] if check.problems else "",
    }


def _runner() -> str:
    """Who runs a job ("host:pid"): jobs live in the process that accepted them."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _runner_alive(runner: str) -> bool:
    """Whether the process that holds a job still runs (unknown hosts count as alive)."""
    host, _, pid = runner.rpartition(":")
    if not host or not pid.isdigit():
        return False  # jobs from before runners were recorded
    if host != socket.gethostname():
        return True
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _may_see(viewer: User, thread: Thread) -> bool:
    return not thread.owner or thread.owner == viewer.name or viewer.role.at_least(Role.EDITOR)


def _may_list(viewer: User, thread: Thread) -> bool:
    if viewer.role.at_least(Role.EDITOR):
        return True
    return viewer is not ANONYMOUS and bool(thread.owner) and thread.owner == viewer.name


def make_store(settings: Settings) -> SqlStore:
    """The library database: the SQLite file in the library directory, or the
    PostgreSQL database store.url names."""
    if settings.store.url:
        from evident.store.postgres import PostgresStore  # psycopg loads only when asked

        return PostgresStore(settings.store.url, settings.store.pool_size)
    return SqliteStore(settings.library / "library.sqlite")


def make_embedder(name: str, runtime: str = "onnx-int8") -> Embedder | None:
    """Return the embedder registered under name, or None for 'none' (BM25 only).

    runtime goes to embedders that take one (the bundled MiniLM: index.embed_runtime).
    """
    if name == "none":
        return None
    factory = backend(EMBEDDERS, name)
    takes_runtime = "runtime" in inspect.signature(factory).parameters
    embedder: Embedder = factory(runtime=runtime) if takes_runtime else factory()
    return embedder


def make_support_model(settings: Settings) -> SupportModel:
    """The claim-support model: the bundled one, or the folder verify.model_dir names."""
    folder = settings.verify.model_dir
    return ClaimSupportModel(Path(folder) if folder else None)


def make_relevance_model(settings: Settings) -> RelevanceModel | None:
    """The relevance model: the bundled one, or the folder index.relevance_model_dir names."""
    folder = settings.index.relevance_model_dir
    return MiniLmRelevanceModel(Path(folder) if folder else None)


def make_generator(settings: Settings) -> Generator | None:
    """Return the configured generator, or None when no model endpoint is set: evident
    never calls a network service the settings do not name."""
    g = settings.generator
    if not g.base_url or g.backend == "none":
        return None
    generator: Generator = backend(GENERATORS, g.backend)(g)
    return generator


def build_app(settings: Settings) -> App:
    """Create the backends the settings name; nothing is opened before this is called."""
    settings.library.mkdir(parents=True, exist_ok=True)
    store = make_store(settings)
    return App(
        settings=settings,
        store=store,
        embedder=make_embedder(settings.index.embedder, settings.index.embed_runtime),
        support_model=make_support_model(settings),
        relevance_model=make_relevance_model(settings),
        generator=make_generator(settings),
    )
