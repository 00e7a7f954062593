"""The web pages: ask, article, library, document, review board, sources, sign-in.

Every route calls the same App and Editorial service functions as the REST API and renders
a Jinja2 template (autoescaped). Routes hold no business logic: they read the form, call
one service function, and render or redirect.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from pydantic import BaseModel, Field

from evident import __version__
from evident.api.deps import AppDep
from evident.api.errors import status_for
from evident.api.routers.stream import encode, error_event, sse
from evident.api.uploads import UPLOAD_BODY, read_upload
from evident.app import App
from evident.compose.phrasebook import GROUP_HEADINGS
from evident.compose.render import (
    GROUP_HEADING,
    STATUS_LABEL,
    bottom_line_heading,
    disclaimer,
    number,
    reference_line,
    to_json,
    to_markdown,
)
from evident.errors import EvidentError, InvalidInput
from evident.models import ArticleReady, AskEvent, Audience, ReviewStatus
from evident.review.records import ANONYMOUS, Role, User
from evident.review.threads import Turn
from evident.review.workflow import StatementEdit, numbered_statements
from evident.web import session
from evident.web.views import AUDIENCES, REVIEWED, STEPS, marks, side_by_side, step_index

router = APIRouter(include_in_schema=False)

_TEMPLATES = str(resources.files("evident.web").joinpath("templates"))
templates = Jinja2Templates(
    env=Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=True, trim_blocks=True)
)
S = ReviewStatus


def page(
    request: Request, app: App, name: str, user: User, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render a template with what every page shows (user, CSRF token, library version)."""
    context.update(
        request=request,
        user=user,
        signed_in=user is not ANONYMOUS,
        is_staff=user.role.at_least(Role.REVIEWER),
        can_upload=user.role.at_least(Role.EDITOR),
        csrf=session.csrf_token(request),
        version=__version__,
        library_version=app.store.library_version(),
        status_label=STATUS_LABEL,
        status_code=status_code,
    )
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# -- ask ----------------------------------------------------------------------------------
@router.get("/", response_class=HTMLResponse)
def ask_page(request: Request, app: AppDep) -> HTMLResponse:
    """The question box, recently published articles, library size and version."""
    user = session.require_reader(request, app)
    recent = app.editorial.list_articles(ANONYMOUS, [S.PUBLISHED], limit=8)
    return page(
        request,
        app,
        "ask.html",
        user,
        recent=recent,
        documents=app.store.count_documents(),
        passages=app.store.count_chunks(),
        audiences=AUDIENCES,
    )


class AskForm(BaseModel):
    """The question box and the follow-up box (POST /ask and /ask/stream)."""

    question: str = Field(max_length=2000)
    audience: Audience = Audience.PHYSICIAN
    thread: str = Field("", max_length=64)
    csrf: str = ""


def _asker(request: Request, app: App, form: AskForm) -> User:
    """Who answers are saved for; only a thread's owner may continue it."""
    session.check_post(request, form.csrf)
    author = session.author_for(app, session.require_reader(request, app))
    if form.thread:
        app.thread(form.thread, viewer=author)
    return author


def _answer(
    app: App, form: AskForm, author: User, on_event: Callable[[AskEvent], None] | None = None
) -> Turn:
    """Answer in the form's thread (a new one when it has none), saved as a draft."""
    return app.ask_in_thread(
        form.question,
        thread_id=form.thread or None,
        audience=form.audience,
        user=author,
        save=True,
        on_event=on_event,
    )


def _article_url(turn: Turn) -> str:
    record = turn.answer.record
    assert record is not None, "a saved or published answer always has a record"
    return f"/articles/{record.article_id}?thread={turn.thread_id}&turn={turn.index}"


@router.post("/ask")
def ask(request: Request, app: AppDep, form: Annotated[AskForm, Form()]) -> RedirectResponse:
    """Answer a question, or a follow-up in a thread, and redirect to the article's stable
    URL (a fresh answer is saved as a draft; a published match is reused)."""
    return see_other(_article_url(_answer(app, form, _asker(request, app, form))))


@router.post("/ask/stream")
def ask_stream(
    request: Request, app: AppDep, form: Annotated[AskForm, Form()]
) -> StreamingResponse:
    """POST /ask as server-sent events: each statement once it has passed verification
    (`statement`, `dropped`, `fallback`, as in the API's /ask/stream), then `done` with the
    article's address, or `error`. The ask page's script shows them and follows `done`."""
    author = _asker(request, app, form)
    events: queue.Queue[str | None] = queue.Queue()

    def forward(event: AskEvent) -> None:
        if not isinstance(event, ArticleReady):  # the article itself is saved, not sent
            events.put(sse(*encode(event)))

    def work() -> None:
        try:
            turn = _answer(app, form, author, forward)
            events.put(sse("done", {"url": _article_url(turn), "resolved": turn.resolved}))
        except Exception as exc:  # the stream has begun: end it with a message, log the cause
            events.put(error_event(exc))
        finally:
            events.put(None)

    # The answer is composed in its own thread so statements reach the reader as they pass.
    threading.Thread(target=work, name="evident-web-ask", daemon=True).start()

    def stream() -> Iterator[str]:
        while (item := events.get()) is not None:
            yield item

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


# -- articles ------------------------------------------------------------------------------
def _stored(request: Request, app: App, article_id: str) -> tuple[User, Any]:
    user = session.require_reader(request, app)
    record = app.articles.get_record(article_id, exact=user is ANONYMOUS)
    # A visitor's draft is shared by its link: only the whole id opens it, never a prefix.
    exact = record.article_id == article_id
    viewer = session.viewer_for(app, user, record.author) if exact else user
    return user, app.editorial.get(record.article_id, viewer)


@router.get("/articles/{article_id}", response_class=HTMLResponse)
def article_page(
    request: Request, app: AppDep, article_id: str, thread: str = "", turn: int = 0
) -> HTMLResponse:
    """An article with its review status, citations with the quoted passages, references;
    reached from a thread, also the resolved question and suggested follow-ups."""
    user, stored = _stored(request, app, article_id)
    article = stored.article
    numbered = number(article)
    chunks = app.store.get_chunks([c.chunk_id for s in article.statements() for c in s.citations])
    heading, intro = bottom_line_heading(article)
    return page(
        request,
        app,
        "article.html",
        user,
        a=article,
        record=stored.record,
        n=numbered,
        marks=lambda s: marks(numbered, s, chunks),
        line=reference_line,
        group_heading={**GROUP_HEADING, **GROUP_HEADINGS.get(article.audience, {})},
        bottom_heading=heading,
        bottom_intro=intro,
        turn=session.thread_turn(app, user, thread, turn, stored.record.article_id),
        disclaimer=disclaimer(article),
        steps=STEPS,
        step=step_index(stored.record.status),
        reviewed=stored.record.status in REVIEWED,
        audiences=AUDIENCES,
    )


@router.get("/articles/{article_id}/export.{fmt}")
def export(request: Request, app: AppDep, article_id: str, fmt: str) -> Response:
    """The article as Markdown or JSON (the same renderers as the CLI and the API)."""
    _, stored = _stored(request, app, article_id)
    name = f"evident-{stored.record.article_id}"
    if fmt == "md":
        body, media = to_markdown(stored.article), "text/markdown; charset=utf-8"
    elif fmt == "json":
        body = json.dumps(to_json(stored.article), indent=2, ensure_ascii=False) + "\n"
        media = "application/json"
    else:
        raise InvalidInput(f"cannot export as {fmt!r}; choose export.md or export.json")
    headers = {"Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
    return Response(body, media_type=media, headers=headers)


# -- library -------------------------------------------------------------------------------
@router.get("/library", response_class=HTMLResponse)
def library(
    request: Request,
    app: AppDep,
    q: Annotated[str, Query(max_length=2000)] = "",
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    """Browse documents and published articles; search both with q."""
    user = session.require_reader(request, app)
    q = q.strip()
    published = app.editorial.list_articles(user, [S.PUBLISHED], limit=500)
    hits = []
    if q:
        words = q.lower().split()
        published = [
            r for r in published if all(w in f"{r.question} {r.condition}".lower() for w in words)
        ]
        hits = app.search(q, k=20)
    per_page = 50
    documents = app.store.list_documents(limit=per_page, offset=offset)
    return page(
        request,
        app,
        "library.html",
        user,
        q=q,
        published=published,
        hits=hits,
        documents=documents,
        total=app.store.count_documents(),
        offset=offset,
        per_page=per_page,
    )


@router.get("/documents/{document_id}", response_class=HTMLResponse)
def document_page(request: Request, app: AppDep, document_id: str) -> HTMLResponse:
    """One source document: its metadata and its passages (all text escaped)."""
    user = session.require_reader(request, app)
    document = app.store.get_document(document_id)
    return page(
        request,
        app,
        "document.html",
        user,
        doc=document,
        chunks=app.store.chunks_for(document.document_id),
    )


# -- sign-in -------------------------------------------------------------------------------
@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, app: AppDep, next: str = "/") -> HTMLResponse:
    return page(request, app, "signin.html", session.current_user(request, app), next=next)


@router.post("/signin", response_model=None)
def signin(
    request: Request,
    app: AppDep,
    token: Annotated[str, Form(max_length=500)],
    next: Annotated[str, Form()] = "/",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Check the API token and start a web session: a token of its own, kept in an
    HttpOnly, SameSite=Strict cookie, that expires after api.session_hours and that
    signing out revokes. Failed attempts are limited per client address."""
    session.check_post(request, csrf)
    limits = app.settings.api
    limiter: session.SignInLimiter = request.app.state.signin_limiter
    client = session.client_address(request)
    limiter.check(client, limits.signin_attempts, limits.signin_window_s)
    user = app.authenticate(token)
    if user is None:
        limiter.failed(client, limits.signin_window_s)
        return page(
            request,
            app,
            "signin.html",
            ANONYMOUS,
            status_code=401,
            next=next,
            error="That token is not valid; ask an admin for a new one (evident users token NAME).",
        )
    # Only local paths, so the form cannot be used to send people elsewhere.
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = see_other(target)
    response.set_cookie(
        session.COOKIE,
        app.start_session(user),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=int(limits.session_hours * 3600),
    )
    return response


@router.post("/signout")
def signout(request: Request, app: AppDep, csrf: Annotated[str, Form()] = "") -> RedirectResponse:
    """Sign out: the session's token is revoked, so a copy of the cookie stops working."""
    session.check_post(request, csrf)
    token = session.session_token(request)
    if token:
        app.end_session(token)
    response = see_other("/")
    response.delete_cookie(session.COOKIE)
    return response


# -- review board --------------------------------------------------------------------------
@router.get("/review", response_class=HTMLResponse)
def review_board(request: Request, app: AppDep) -> HTMLResponse:
    """The queue (submitted, under review), drafts to submit, approved to publish; and,
    apart from them, the questions the library could not answer (refusals, never reviewed)."""
    user = session.require_role(request, app, Role.REVIEWER, "open the review board")
    drafts = app.editorial.list_articles(user, [S.DRAFT, S.CHANGES_REQUESTED], limit=200)
    return page(
        request,
        app,
        "review.html",
        user,
        queue=app.editorial.queue(user),
        drafts=[r for r in drafts if r.author != session.VISITOR],
        visitor_drafts=[r for r in drafts if r.author == session.VISITOR][:20],
        approved=app.editorial.list_articles(user, [S.APPROVED], limit=50),
        published=app.editorial.list_articles(user, [S.PUBLISHED], limit=20),
        refused=app.editorial.list_articles(user, limit=20, abstained=True),
    )


def _review_page(
    request: Request,
    app: App,
    user: User,
    article_id: str,
    error: str = "",
    status_code: int = 200,
    old: int | None = None,
) -> HTMLResponse:
    stored = app.editorial.get(article_id, user)
    record = stored.record
    revisions = app.editorial.revisions(record.article_id, user)
    rows = []
    new_no = record.revision
    old_no = old if old is not None and 1 <= old < new_no else new_no - 1
    if old_no >= 1:
        before = app.editorial.get(record.article_id, user, old_no).article
        rows = side_by_side(
            to_markdown(replace(before, status=record.status)), to_markdown(stored.article)
        )
    return page(
        request,
        app,
        "review_article.html",
        user,
        status_code=status_code,
        a=stored.article,
        record=record,
        statements=numbered_statements(stored.article),
        revisions=revisions,
        rows=rows,
        old_no=old_no,
        new_no=new_no,
        events=app.editorial.history(record.article_id, user),
        actions=app.editorial.actions_for(record, user),
        error=error,
    )


@router.get("/review/{article_id}", response_class=HTMLResponse)
def review_article(
    request: Request, app: AppDep, article_id: str, old: int | None = None
) -> HTMLResponse:
    """One article on the review board: statements, diff, actions, audit trail."""
    user = session.require_role(request, app, Role.REVIEWER, "review articles")
    return _review_page(request, app, user, article_id, old=old)


def _attempt(request: Request, app: App, article_id: str, run: Any) -> Response:
    """Run a review action; on a refusal show the board page with the reason."""
    user = session.require_role(request, app, Role.REVIEWER, "review articles")
    try:
        run(user)
    except EvidentError as exc:
        return _review_page(
            request, app, user, article_id, error=str(exc), status_code=status_for(exc)
        )
    return see_other(f"/review/{article_id}")


@router.post("/review/{article_id}/act", response_model=None)
def act(
    request: Request,
    app: AppDep,
    article_id: str,
    action: Annotated[str, Form()],
    comment: Annotated[str, Form(max_length=2000)] = "",
    revision: Annotated[int | None, Form(ge=1)] = None,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Submit, claim, approve, request changes, reject, publish or retract the revision the
    page showed (refused if the article was revised since)."""
    session.check_post(request, csrf)
    return _attempt(
        request,
        app,
        article_id,
        lambda u: app.editorial.act(action, article_id, u, comment, revision),
    )


@router.post("/review/{article_id}/comment", response_model=None)
def comment(
    request: Request,
    app: AppDep,
    article_id: str,
    comment: Annotated[str, Form(max_length=2000)],
    target: Annotated[str, Form(max_length=20)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Comment on the article or on one statement."""
    session.check_post(request, csrf)
    return _attempt(
        request,
        app,
        article_id,
        lambda u: app.editorial.comment(article_id, u, comment, target),
    )


@router.post("/review/{article_id}/edit", response_model=None)
def edit(
    request: Request,
    app: AppDep,
    article_id: str,
    target: Annotated[str, Form(max_length=20)],
    text: Annotated[str, Form(max_length=5000)] = "",
    delete: Annotated[bool, Form()] = False,
    note: Annotated[str, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Edit or delete a statement; the edited text is re-verified against its citations."""
    session.check_post(request, csrf)
    change = StatementEdit(target=target, text=None if delete else text, delete=delete)
    return _attempt(
        request, app, article_id, lambda u: app.editorial.edit(article_id, u, change, note)
    )


# -- sources -------------------------------------------------------------------------------
@router.get("/sources", response_class=HTMLResponse)
def sources(request: Request, app: AppDep, error: str = "") -> HTMLResponse:
    """Upload documents and follow their ingest jobs (editors and admins)."""
    user = session.require_role(request, app, Role.EDITOR, "add documents")
    return page(
        request,
        app,
        "sources.html",
        user,
        jobs=app.articles.list_jobs(),
        failed=app.store.failed_sources(),
        limit_mb=app.settings.api.max_upload_mb,
    )


@router.post("/sources", response_model=None, openapi_extra=UPLOAD_BODY)
async def upload(request: Request, app: AppDep, background: BackgroundTasks) -> Response:
    """Keep the uploaded file and ingest it in the background.

    The sign-in, the origin and the declared size are checked before the body is read.
    """
    session.check_origin(request)
    user = session.require_role(request, app, Role.EDITOR, "add documents")
    name, data, form = await read_upload(request, app.settings.api.max_upload_mb)
    csrf = form.get("csrf")
    session.check_post(request, csrf if isinstance(csrf, str) else "")
    job = app.accept_upload(name, data, user)
    background.add_task(app.run_job, job.job_id)
    return see_other(f"/sources#job-{job.job_id}")


@router.post("/sources/{job_id}/retry", response_model=None)
def retry(
    request: Request,
    app: AppDep,
    job_id: str,
    background: BackgroundTasks,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Run a failed ingest job again (its uploaded file was kept)."""
    session.check_post(request, csrf)
    user = session.require_role(request, app, Role.EDITOR, "add documents")
    job = app.retry_job(job_id, user)
    background.add_task(app.run_job, job.job_id)
    return see_other(f"/sources#job-{job.job_id}")
