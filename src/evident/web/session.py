"""Who is asking, for the web pages: the sign-in cookie, CSRF checks and the visitor author.

Sign-in checks the user's API token and issues a session token of its own (expiring after
api.session_hours, revoked by signing out), kept in an HttpOnly, SameSite=Strict cookie;
the pages authenticate it exactly as the API authenticates a bearer token. Failed sign-ins
are limited per client address (api.signin_attempts per api.signin_window_s).

POST forms are protected twice: the browser never sends the SameSite=Strict cookie on a
cross-site request, and every POST must come from this origin (Origin, or Referer when
Origin is absent; "Origin: null" is refused) and, when signed in, carry a CSRF token
derived from the session token (an attacker can neither read the cookie nor compute it).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
import uuid
from collections import deque
from urllib.parse import urlsplit

from fastapi import Request

from evident.api.errors import RateLimited
from evident.app import App
from evident.errors import Conflict, EvidentError, NotFound, PermissionDenied
from evident.review.records import ANONYMOUS, Role, User
from evident.review.threads import Turn
from evident.store.articles import now

COOKIE = "evident_session"
# Fresh answers asked by visitors who are not signed in (or are readers) are saved as drafts
# under this built-in author, so that every article has a stable, shareable URL. It has
# no usable token, and the author role cannot submit for review, approve or publish.
VISITOR = "web-visitor"


class SignInRequired(EvidentError):
    """The page needs a signed-in user (the server is private, or the page is for staff)."""


class ForbiddenOrigin(EvidentError):
    """A POST came from another site or without a valid CSRF token."""


def session_token(request: Request) -> str:
    return request.cookies.get(COOKIE, "")


def current_user(request: Request, app: App) -> User:
    """The signed-in user, or ANONYMOUS (no cookie, or a token that no longer works)."""
    token = session_token(request)
    if not token:
        return ANONYMOUS
    return app.authenticate(token) or ANONYMOUS


def csrf_token(request: Request) -> str:
    """The CSRF token for the signed-in session ("" when nobody is signed in)."""
    token = session_token(request)
    if not token:
        return ""
    return hmac.new(token.encode(), b"evident-csrf", hashlib.sha256).hexdigest()


def check_origin(request: Request) -> None:
    """Refuse a POST from another origin (checked from the headers, before the body).

    "Origin: null" is refused too: browsers send it from sandboxed frames, data: and file:
    pages and some cross-origin redirects, none of which is this site's own page.
    """
    origin = request.headers.get("origin") or request.headers.get("referer") or ""
    if origin.strip().lower() == "null":
        raise ForbiddenOrigin(
            "refused a form posted from an opaque origin (Origin: null, such as a sandboxed "
            "frame or a local file); submit the form from this site's own pages"
        )
    if origin:
        parts = urlsplit(origin)
        if parts.netloc != request.headers.get("host", ""):
            raise ForbiddenOrigin(
                f"refused a form posted from {parts.scheme}://{parts.netloc}; submit the form "
                "from this site's own pages"
            )


def check_post(request: Request, form_token: str) -> None:
    """Refuse a POST from another origin, or a signed-in POST without the CSRF token."""
    check_origin(request)
    expected = csrf_token(request)
    if expected and not hmac.compare_digest(expected, form_token):
        raise ForbiddenOrigin(
            "the form's security token is missing or out of date; reload the page and try again"
        )


class SignInLimiter:
    """Counts failed sign-ins per client address over a sliding window (one process)."""

    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str, attempts: int, window_s: float) -> None:
        """Refuse a sign-in from a client with too many recent failures.

        Raises:
            RateLimited: attempts failures within window_s; says how long to wait.
        """
        with self._lock:
            recent = self._recent(client, window_s)
            if len(recent) >= attempts:
                wait = max(1, int(recent[0] + window_s - time.monotonic()) + 1)
                raise RateLimited(
                    f"too many failed sign-ins from {client} ({len(recent)} in "
                    f"{window_s:g} s); wait {wait} s and try again, or ask an admin for a "
                    "new token (evident users token NAME)",
                    wait,
                )

    def failed(self, client: str, window_s: float) -> None:
        with self._lock:
            self._recent(client, window_s).append(time.monotonic())

    def _recent(self, client: str, window_s: float) -> deque[float]:
        recent = self._failures.setdefault(client, deque())
        while recent and recent[0] <= time.monotonic() - window_s:
            recent.popleft()
        return recent


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def require_reader(request: Request, app: App) -> User:
    """The visitor, who must sign in first when the server is not public."""
    user = current_user(request, app)
    if user is ANONYMOUS and not app.settings.api.public:
        raise SignInRequired("this evident server is private: sign in with your API token")
    return user


def require_role(request: Request, app: App, role: Role, what: str) -> User:
    user = current_user(request, app)
    if user is ANONYMOUS:
        raise SignInRequired(f"sign in to {what}")
    if not user.role.at_least(role):
        raise PermissionDenied(
            f"{user.name} ({user.role.value}) cannot {what}; it needs the {role.value} role "
            "or higher"
        )
    return user


def visitor_author(app: App) -> User:
    """The built-in author of drafts asked by visitors; created on first use."""
    try:
        return app.user(VISITOR)
    except NotFound:
        user = User(uuid.uuid4().hex[:16], VISITOR, Role.AUTHOR, now())
        try:
            # "!…" is never a sha256 hex digest, so no token signs in as the visitor.
            app.articles.add_user(user, "!" + uuid.uuid4().hex)
        except Conflict:  # another request created it first
            return app.user(VISITOR)
        return user


def author_for(app: App, user: User) -> User:
    """Who saves a fresh answer: the user when they may author articles, else the visitor."""
    return user if user.role.at_least(Role.AUTHOR) else visitor_author(app)


def thread_turn(app: App, user: User, thread_id: str, index: int, article_id: str) -> Turn | None:
    """The thread turn that answered with this article, when the viewer may see the thread."""
    if not thread_id:
        return None
    try:
        thread = app.thread(thread_id, viewer=author_for(app, user))
    except NotFound:
        return None
    for turn in thread.turns:
        record = turn.answer.record
        if turn.index == index and record is not None and record.article_id == article_id:
            return turn
    return None


def viewer_for(app: App, user: User, author: str) -> User:
    """Who reads an article: drafts asked by visitors are readable by anyone with the link."""
    if author == VISITOR and not user.role.at_least(Role.REVIEWER):
        return visitor_author(app)
    return user
