"""`evident chat` and the follow-up suggestions of `evident ask`, on the demo library."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evident.cli import cli

REPO = Path(__file__).resolve().parents[1]
SEED_000 = "What is the treatment for soft tissue calcifications near the metatarsal head?"


@pytest.fixture(scope="module")
def demo_bm25(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo library ingested BM25-only (fast) into a fresh directory."""
    library = tmp_path_factory.mktemp("chat") / "library"
    result = CliRunner().invoke(
        cli,
        ["--library", str(library), "ingest", "--no-embed", str(REPO / "library")],
        env={"EVIDENT_INDEX__EMBEDDER": "none"},
    )
    assert result.exit_code == 0, result.output
    return library


def run(library: Path, *args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    env = {"EVIDENT_INDEX__EMBEDDER": "none"}
    return CliRunner().invoke(
        cli, ["--library", str(library), *args], input=stdin, env=env, catch_exceptions=False
    )


def test_chat_shows_the_resolved_follow_up_and_stores_the_thread(demo_bm25: Path) -> None:
    result = run(demo_bm25, "chat", stdin=f"{SEED_000}\nWhat if there is infection?\n")
    assert result.exit_code == 0, result.output
    assert f"Answering: {SEED_000}" in result.output
    assert (
        "Answering: What is the treatment for soft tissue calcifications near the metatarsal "
        "head in a patient with infection?" in result.output
    )
    assert "Follow-up questions the library can answer" in result.output
    listed = run(demo_bm25, "chat", "--list")
    thread_id = listed.output.split()[0]
    resumed = run(demo_bm25, "chat", "--thread", thread_id, stdin="And in children?\n")
    assert resumed.exit_code == 0
    assert "resuming thread" in resumed.output
    assert "in children?" in resumed.output.split("Answering:")[1].splitlines()[0]


def test_chat_answers_a_suggestion_by_its_number(demo_bm25: Path) -> None:
    result = run(demo_bm25, "chat", stdin=f"{SEED_000}\n1\n")
    suggestions = result.output.split("Follow-up questions the library can answer")[1]
    first = suggestions.splitlines()[1].strip().removeprefix("1. ")
    assert f"Answering: {first}" in result.output


def test_chat_reports_a_bad_line_and_carries_on(demo_bm25: Path) -> None:
    result = run(demo_bm25, "chat", stdin=f"???\n{SEED_000}\n")
    assert result.exit_code == 1
    assert "is not a question" in result.output
    assert f"Answering: {SEED_000}" in result.output


def test_ask_prints_follow_ups_and_json_has_them(demo_bm25: Path) -> None:
    terminal = run(demo_bm25, "ask", SEED_000, "--audience", "patient")
    assert "for patients" in terminal.output
    assert "Follow-up questions the library can answer" in terminal.output
    data = json.loads(run(demo_bm25, "ask", SEED_000, "--format", "json").stdout)
    assert 1 <= len(data["follow_ups"]) <= 3
    assert data["audience"] == "physician"
    plain = json.loads(
        run(demo_bm25, "ask", SEED_000, "--format", "json", "--no-follow-ups").stdout
    )
    assert plain["follow_ups"] == []
