"""Fixtures for the web app: a real `evident serve` on 127.0.0.1 over a copy of the demo
library (BM25 only, to start fast), users of each role, and headless Debian Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

EVIDENT = Path(sys.executable).parent / "evident"
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


@dataclass(frozen=True)
class Served:
    """A running server: its base URL and a token for each user by name."""

    base: str
    tokens: dict[str, str]
    library: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _evident(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(EVIDENT), *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`evident serve --public` over the demo library, with a reviewer, an editor and an admin."""
    root = tmp_path_factory.mktemp("web")
    env = dict(os.environ)
    env.update(EVIDENT_LIBRARY=str(root / "library"), EVIDENT_INDEX__EMBEDDER="none")
    env.pop("EVIDENT_USER", None)
    _evident(env, "ingest", str(DEMO))
    tokens = {"ada": _evident(env, "users", "create", "--admin", "ada").strip().splitlines()[-1]}
    for name, role in [("rosa", "reviewer"), ("ed", "editor"), ("rick", "reader")]:
        out = _evident(env, "users", "create", name, "--role", role, "--as", "ada")
        tokens[name] = out.strip().splitlines()[-1]
    port = _free_port()
    log = (root / "serve.log").open("w")
    process = subprocess.Popen(
        [str(EVIDENT), "serve", "--host", "127.0.0.1", "--port", str(port), "--public"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, (root / "serve.log").read_text()
            assert time.monotonic() < deadline, "evident serve did not start within 60 s"
            time.sleep(0.2)
        yield Served(base, tokens, root / "library")
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


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
