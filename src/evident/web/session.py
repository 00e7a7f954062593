"""Who is asking, for the web pages: the sign-in cookie, CSRF checks and the visitor author.

Sign-in stores the user's API token in an HttpOnly, SameSite=Strict cookie; the pages
authenticate it exactly as the API authenticates a bearer token. POST forms are protected
twice: the browser never sends the SameSite=Strict cookie on a cross-site request, and every
POST must come from this origin (Origin, or Referer when Origin is absent) and, when signed
in, carry a CSRF token derived from the session token (an attacker can neither read the
cookie nor compute the token).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from urllib.parse import urlsplit

from fastapi import Request

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
    """Refuse a POST from another origin (checked from the headers, before the body)."""
    origin = request.headers.get("origin") or request.headers.get("referer") or ""
    if origin and origin != "null":
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
