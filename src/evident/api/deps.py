"""Request dependencies: the App and the calling user (from the bearer token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from evident.api.errors import Unauthenticated
from evident.app import App
from evident.review.records import ANONYMOUS, User

_bearer = HTTPBearer(auto_error=False, description="An API token from `evident users token`.")


def get_app(request: Request) -> App:
    app: App = request.app.state.evident
    return app


def get_user(
    app: Annotated[App, Depends(get_app)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """Return the caller; anonymous readers are let in only when api.public is set."""
    if credentials is None:
        if app.settings.api.public:
            return ANONYMOUS
        raise Unauthenticated(
            "authentication required: send 'Authorization: Bearer TOKEN' "
            "(an admin creates tokens with `evident users token NAME`)"
        )
    user = app.authenticate(credentials.credentials)
    if user is None:
        raise Unauthenticated(
            "the API token is not valid; ask an admin for a new one (`evident users token NAME`)"
        )
    return user


AppDep = Annotated[App, Depends(get_app)]
UserDep = Annotated[User, Depends(get_user)]
