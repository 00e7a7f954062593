"""Shared helpers for the review tests: the user cast and a driver through the workflow."""

from __future__ import annotations

from dataclasses import dataclass

from evident.app import App
from evident.models import ReviewStatus
from evident.review.records import ArticleRecord, Role, User

QUESTION = "How is a gout flare treated?"


@dataclass(frozen=True)
class Cast:
    author: User
    other_author: User
    reviewer: User
    other_reviewer: User
    editor: User
    admin: User
    reader: User

    def by_role(self, role: Role) -> User:
        return {
            Role.READER: self.reader,
            Role.AUTHOR: self.author,
            Role.REVIEWER: self.reviewer,
            Role.EDITOR: self.editor,
            Role.ADMIN: self.admin,
        }[role]


# The path from draft to each state, as (action, who) steps.
PATH: dict[ReviewStatus, list[tuple[str, str]]] = {
    ReviewStatus.DRAFT: [],
    ReviewStatus.SUBMITTED: [("submit", "author")],
    ReviewStatus.UNDER_REVIEW: [("submit", "author"), ("claim", "reviewer")],
    ReviewStatus.CHANGES_REQUESTED: [
        ("submit", "author"),
        ("claim", "reviewer"),
        ("request_changes", "reviewer"),
    ],
    ReviewStatus.REJECTED: [("submit", "author"), ("claim", "reviewer"), ("reject", "reviewer")],
    ReviewStatus.APPROVED: [("submit", "author"), ("claim", "reviewer"), ("approve", "reviewer")],
    ReviewStatus.PUBLISHED: [
        ("submit", "author"),
        ("claim", "reviewer"),
        ("approve", "reviewer"),
        ("publish", "editor"),
    ],
    ReviewStatus.RETRACTED: [("retract", "editor")],
}


def drive(lib: App, cast: Cast, article_id: str, status: ReviewStatus) -> ArticleRecord:
    """Take a draft to `status` along the normal path."""
    record = lib.articles.get_record(article_id)
    for action, who in PATH[status]:
        record = lib.editorial.act(action, article_id, getattr(cast, who), "because")
    assert record.status is status
    return record
