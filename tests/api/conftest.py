"""Fixtures for the REST API: an in-process client on a small BM25 library, with users."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from evident.api import create_api
from evident.app import App
from evident.review.records import Role

ROLES = {
    "ann": Role.AUTHOR,
    "amir": Role.AUTHOR,
    "bob": Role.REVIEWER,
    "bea": Role.REVIEWER,
    "eve": Role.EDITOR,
    "ada": Role.ADMIN,
    "rita": Role.READER,
}


@pytest.fixture
def tokens(lib: App) -> dict[str, str]:
    """A bearer token for a user of each role, by user name."""
    return {name: lib.create_user(name, role, actor="test")[1] for name, role in ROLES.items()}


@pytest.fixture
def client(lib: App) -> Iterator[TestClient]:
    with TestClient(create_api(lib), raise_server_exceptions=False) as test_client:
        yield test_client
