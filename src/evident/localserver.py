"""Servers run as local subprocesses on 127.0.0.1: a free port, waiting until one answers,
and stopping it. Used for the model server and for `evident serve` in tests and benchmarks."""

from __future__ import annotations

import socket
import subprocess
import time

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_answering(
    url: str, process: subprocess.Popen[bytes], timeout_s: float, interval_s: float = 0.3
) -> bool:
    """Poll url until it returns 200 (True), or the process exits or time runs out (False)."""
    deadline = time.monotonic() + timeout_s
    while process.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(interval_s)
    return False


def stop(process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Terminate the process; kill it if it has not exited within timeout_s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
