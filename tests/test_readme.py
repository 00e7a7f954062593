"""Every `evident` command shown in the README runs as shown.

Placeholders in the README stand for the reader's own files; the test maps them onto its
own data: `var/demo-library` is the demo library built by the session fixture,
`~/clinic-library` a fresh library, `~/Documents/guidelines/` the synthetic test documents
and `3f2a1c` the id of a document in that library. `evident serve` runs until stopped, so
it is started, asked for /api/v1/health and stopped; `evident mcp` is sent a client's
opening handshake on stdin and must answer it. `make` commands are exercised by CI.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from evident.app import App
from evident.localserver import free_port, stop, wait_until_answering

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = REPO / "tests" / "data"
EVIDENT = str(Path(sys.executable).parent / "evident")
MCP_HELLO = (
    '{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": '
    '"2025-06-18", "capabilities": {}, "clientInfo": {"name": "readme", "version": "0"}}}\n'
)


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            if line.startswith("$ evident "):
                commands.append(line[2:].split("  #", 1)[0].strip())
    return commands


def test_readme_shows_commands() -> None:
    commands = readme_commands()
    assert any(" ask " in c for c in commands) and any(" ingest " in c for c in commands)


def test_every_readme_command_runs(demo_app: App, tmp_path: Path) -> None:
    clinic = tmp_path / "clinic-library"
    env = {**os.environ, "EVIDENT_USER": "readme"}
    # Ingest first so `library show <prefix>` has a document to show.
    subprocess.run(
        [EVIDENT, "--library", str(clinic), "ingest", str(TEST_DATA / "library")],
        check=True,
        capture_output=True,
        env=env,
    )
    listing = subprocess.run(
        [EVIDENT, "--library", str(clinic), "library"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    prefix = re.search(r"\b([0-9a-f]{10})\b", listing)
    assert prefix, listing
    for command in readme_commands():
        command = (
            command.replace("var/demo-library", str(demo_app.settings.library))
            .replace("~/clinic-library", str(clinic))
            .replace("~/Documents/guidelines/", str(TEST_DATA / "library"))
            .replace(" 3f2a1c", f" {prefix.group(1)[:6]}")
        )
        args = shlex.split(command)[1:]
        if "serve" in args:
            port = free_port()
            proc = subprocess.Popen(
                [EVIDENT, *args, "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                health = f"http://127.0.0.1:{port}/api/v1/health"
                if not wait_until_answering(health, proc, 60, 0.5):
                    pytest.fail(f"`{command}` did not answer /api/v1/health")
            finally:
                stop(proc, 30)
            continue
        if args[-1] == "mcp":
            # The MCP server talks JSON-RPC on stdin and stdout and stops at end of input:
            # it must answer the handshake a client opens with.
            result = subprocess.run(
                [EVIDENT, *args], input=MCP_HELLO, capture_output=True, text=True, env=env
            )
            assert result.returncode == 0, f"`{command}` failed: {result.stderr[-500:]}"
            assert '"serverInfo":{"name":"evident"' in result.stdout, result.stdout[:500]
            continue
        result = subprocess.run([EVIDENT, *args], capture_output=True, text=True, env=env)
        assert result.returncode == 0, f"`{command}` failed: {result.stderr[-500:]}"
