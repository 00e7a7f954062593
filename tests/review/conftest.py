"""Fixtures for the review stage: a small BM25 library, a user of every role, a draft."""

from __future__ import annotations

import pytest
from review_helpers import QUESTION, Cast

from evident.app import App
from evident.review.records import ArticleRecord, Role, User


@pytest.fixture
def cast(lib: App) -> Cast:
    def make(name: str, role: Role) -> User:
        return lib.create_user(name, role, actor="test")[0]

    return Cast(
        author=make("ann", Role.AUTHOR),
        other_author=make("amir", Role.AUTHOR),
        reviewer=make("bob", Role.REVIEWER),
        other_reviewer=make("bea", Role.REVIEWER),
        editor=make("eve", Role.EDITOR),
        admin=make("ada", Role.ADMIN),
        reader=make("rita", Role.READER),
    )


@pytest.fixture
def draft(lib: App, cast: Cast) -> ArticleRecord:
    answer = lib.answer(QUESTION, fresh=True, save=True, user=cast.author)
    assert answer.record is not None and not answer.article.abstained
    return answer.record
