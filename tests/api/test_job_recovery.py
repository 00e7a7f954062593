"""A server killed while it ingests an upload: the job is failed at the next start-up, with
the reason, and can be retried. Real `evident serve` processes on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from evident.localserver import free_port, stop, wait_until_answering
from serving import EVIDENT, evident

# Enough text that ingesting it takes a few seconds, so the kill lands mid-job.
BIG = "".join(
    f"Heel pain note {i}. Calf stretching twice daily eased pain in case {i}. "
    f"Review at week {i % 7 + 1} if it persists.\n\n"
    for i in range(15_000)
).encode()


def start(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with log.open("a") as out:
        process = subprocess.Popen(
            [str(EVIDENT), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    assert wait_until_answering(f"{base}/api/v1/health", process, 60, 0.2), log.read_text()
    return process, base + "/api/v1"


def poll(http: httpx.Client, job_id: str, until: set[str], seconds: float = 120) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = http.get(f"/jobs/{job_id}").json()
        if job["status"] in until:
            return job  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {until}: {job}")


def test_a_job_interrupted_by_a_killed_server_is_failed_at_start_up_and_retryable(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVIDENT_")}
    env.update(EVIDENT_LIBRARY=str(tmp_path / "library"), EVIDENT_INDEX__EMBEDDER="none")
    token = evident(env, "users", "create", "--admin", "ada").strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    log = tmp_path / "serve.log"

    process, base = start(env, log)
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            queued = http.post("/documents", files={"file": ("notes.txt", BIG, "text/plain")})
            assert queued.status_code == 202, queued.text
            job_id = queued.json()["job_id"]
            assert poll(http, job_id, {"running", "done", "failed"})["status"] == "running"
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
    finally:
        stop(process, 5)

    process, base = start(env, log)
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            job = http.get(f"/jobs/{job_id}").json()
            assert (job["status"], job["error"]) == (
                "failed",
                "interrupted: the server stopped while this job was running; retry it with "
                f"POST /api/v1/jobs/{job_id}/retry or the Retry button on the Sources page",
            )
            retried = http.post(f"/jobs/{job_id}/retry")
            assert retried.status_code == 202, retried.text
            done = poll(http, job_id, {"done", "failed"})
            assert (done["status"], done["error"], done["report"]["added"]) == ("done", "", 1)
            again = http.post(f"/jobs/{job_id}/retry").json()
            assert again["error"] == f"job {job_id} is done; only a failed job can be retried"
    finally:
        stop(process, 20)
