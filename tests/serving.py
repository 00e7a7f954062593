"""Run the real `evident` CLI and a real `evident serve` on 127.0.0.1 for end-to-end tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from evident.localserver import free_port, stop, wait_until_answering

EVIDENT = Path(sys.executable).parent / "evident"


@dataclass(frozen=True)
class Served:
    """A running server: its base URL and a token for each user by name."""

    base: str
    tokens: dict[str, str]
    library: Path


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
            answering = wait_until_answering(f"{base}/api/v1/health", process, 60, 0.2)
            assert process.poll() is None, log_path.read_text()
            assert answering, "evident serve did not start within 60 s"
            yield base
        finally:
            stop(process, 20)
