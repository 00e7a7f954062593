"""Fixtures for the web app: a real `evident serve` on 127.0.0.1 over a copy of the demo
library (BM25 only, to start fast), users of each role, and headless Debian Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from serving import Served, evident, serving

CHROMIUM = Path(os.environ.get("EVIDENT_CHROMIUM", "/usr/bin/chromium"))
DEMO = Path(__file__).resolve().parents[2] / "library"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`evident serve --public` over the demo library, with a reviewer, an editor and an admin."""
    root = tmp_path_factory.mktemp("web")
    env = dict(os.environ)
    env.update(EVIDENT_LIBRARY=str(root / "library"), EVIDENT_INDEX__EMBEDDER="none")
    env.pop("EVIDENT_USER", None)
    evident(env, "ingest", str(DEMO))
    tokens = {"ada": evident(env, "users", "create", "--admin", "ada").strip().splitlines()[-1]}
    for name, role in [("rosa", "reviewer"), ("ed", "editor"), ("rick", "reader")]:
        out = evident(env, "users", "create", name, "--role", role, "--as", "ada")
        tokens[name] = out.strip().splitlines()[-1]
    with serving(env, root / "serve.log", "--public") as base:
        yield Served(base, tokens, root / "library")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Debian Chromium driven by Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: run `apt-get install -y chromium` (make test does this) "
            "or point EVIDENT_CHROMIUM at a Chromium binary"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()
