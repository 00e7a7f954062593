"""Users and API tokens (admins), and the caller's own identity."""

from __future__ import annotations

from fastapi import APIRouter

from evident.api.deps import AppDep, UserDep
from evident.api.errors import Unauthenticated
from evident.api.schemas import ERRORS, TokenPublic, UserCreate, UserList, UserPublic
from evident.errors import PermissionDenied
from evident.review.records import Role, User

router = APIRouter(tags=["users"], responses=ERRORS)


def _admin(user: User, what: str) -> None:
    if not user.role.at_least(Role.ADMIN):
        raise PermissionDenied(f"{user.name} ({user.role.value}) cannot {what}; admins can")


@router.get("/me")
def me(user: UserDep) -> UserPublic:
    """Return the caller's name and role."""
    if not user.user_id:
        raise Unauthenticated("no token sent; you are browsing anonymously")
    return UserPublic.of(user)


@router.get("/users")
def list_users(app: AppDep, user: UserDep) -> UserList:
    """List users and their roles (admins only)."""
    _admin(user, "list users")
    return UserList(items=[UserPublic.of(u) for u in app.articles.list_users()])


@router.post("/users", status_code=201)
def create_user(body: UserCreate, app: AppDep, user: UserDep) -> TokenPublic:
    """Create a user (admins only); the response holds their token, shown only this once."""
    _admin(user, "create users")
    created, token = app.create_user(body.name, body.role, actor=user.name)
    return TokenPublic(user=UserPublic.of(created), token=token)


@router.post("/users/{name}/tokens", status_code=201)
def new_token(name: str, app: AppDep, user: UserDep) -> TokenPublic:
    """Issue another token for a user (admins, or the user for themselves)."""
    if name != user.name or not user.user_id:
        _admin(user, f"issue tokens for {name}")
    token = app.issue_token(name, actor=user.name)
    return TokenPublic(user=UserPublic.of(app.user(name)), token=token)
