"""Users and API tokens. Tokens are random, shown once, and stored only as sha256 hashes."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from datetime import datetime, timedelta

from evident.errors import InvalidInput
from evident.review.records import Role, User
from evident.store.articles import ArticleStore, now

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def hash_token(token: str) -> str:
    """Return the stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise InvalidInput(f"unknown role {value!r}; choose one of: {choices}") from None


def _expiry(days: float) -> datetime | None:
    return now() + timedelta(days=days) if days > 0 else None


def create_user(
    articles: ArticleStore, name: str, role: Role, actor: str, token_days: float = 0
) -> tuple[User, str]:
    """Create a user with a first token; return the user and the token (shown only once).

    The token expires after token_days (0: never).

    Raises:
        InvalidInput: the name is not 1–64 letters, digits, dots, dashes or underscores.
        Conflict: a user with that name exists.
    """
    if not _NAME.match(name):
        raise InvalidInput(
            f"user name {name!r} is not allowed; use 1–64 letters, digits, '.', '-' or '_', "
            "starting with a letter or digit"
        )
    user = User(user_id=uuid.uuid4().hex[:16], name=name, role=role, created_at=now())
    token = new_token()
    articles.add_user(user, hash_token(token), _expiry(token_days))
    articles.append_event(actor=actor, action="create_user", target=name, comment=role.value)
    return user, token


def issue_token(articles: ArticleStore, name: str, actor: str, token_days: float = 0) -> str:
    """Issue another token for an existing user and return it (shown only once)."""
    user = articles.user_by_name(name)
    token = new_token()
    articles.add_token(user.user_id, hash_token(token), _expiry(token_days))
    articles.append_event(actor=actor, action="issue_token", target=name)
    return token


def revoke_tokens(articles: ArticleStore, name: str, actor: str) -> int:
    """Revoke every token of a user (API tokens and web sign-ins); return how many."""
    user = articles.user_by_name(name)
    count = articles.revoke_tokens(user.user_id)
    articles.append_event(actor=actor, action="revoke_tokens", target=name, comment=str(count))
    return count


def start_session(articles: ArticleStore, user: User, hours: float) -> str:
    """Issue a web sign-in token for a user, valid for `hours`; return it."""
    token = new_token()
    expires = now() + timedelta(hours=hours)
    articles.add_token(user.user_id, hash_token(token), expires, kind="session")
    return token


def end_session(articles: ArticleStore, token: str) -> None:
    """Revoke the token a web session signed in with (signing out)."""
    user = articles.user_by_token_hash(hash_token(token.strip()))
    if user is not None:
        articles.revoke_tokens(user.user_id, hash_token(token.strip()))


def authenticate(articles: ArticleStore, token: str) -> User | None:
    """Return the user a bearer token belongs to, or None when the token is unknown."""
    return articles.user_by_token_hash(hash_token(token.strip()))
