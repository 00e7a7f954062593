"""Run the real `evident` CLI and a real `evident serve` on 127.0.0.1 for end-to-end tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

EVIDENT = Path(sys.executable).parent / "evident"


@dataclass(frozen=True)
class Served:
    """A running server: its base URL and a token for each user by name."""

    base: str
    tokens: dict[str, str]
    library: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def evident(env: dict[str, str], *args: str) -> str:
    """Run `evident ARGS`; return its output (the test fails on a non-zero exit)."""
    done = subprocess.run(
        [str(EVIDENT), *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@contextmanager
def serving(env: dict[str, str], log_path: Path, *args: str) -> Iterator[str]:
    """Start `evident serve` on a free port, wait until it answers; yield its base URL."""
    port = free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(EVIDENT), "serve", "--host", "127.0.0.1", "--port", str(port), *args],
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
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "evident serve did not start within 60 s"
                time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=20)
