"""The review, articles and users commands, acting as users named with --as."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from evident.store.articles import ArticleStore
from evident.store.sqlite import SqliteStore

EVIDENT = Path(sys.executable).parent / "evident"
QUESTION = "How is a gout flare treated?"


def article_ids(library_dir: Path) -> list[str]:
    store = SqliteStore(library_dir / "library.sqlite")
    try:
        return [r.article_id for r in ArticleStore(store).list_records()]
    finally:
        store.close()


def test_a_review_session_from_the_command_line(
    run_cli, sample_docs: Path, library_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("ingest", str(sample_docs)).exit_code == 0
    admin = run_cli("users", "create", "--admin", "root")
    assert admin.exit_code == 0
    token = admin.stdout.strip().splitlines()[-1]
    assert len(token) >= 40 and "root (admin)" in admin.stdout
    for name, role in [("ann", "author"), ("bob", "reviewer"), ("eve", "editor")]:
        assert run_cli("users", "create", name, "--role", role).exit_code == 0
    users = run_cli("users", "list").stdout
    assert "root" in users and "reviewer" in users
    assert len(run_cli("users", "token", "bob").stdout.strip().splitlines()[-1]) >= 40

    saved = run_cli("ask", QUESTION, "--save", "--as", "ann")
    assert saved.exit_code == 0
    [article_id] = article_ids(library_dir)
    assert f"saved draft {article_id}" in saved.stderr

    steps = [
        ("review", "submit", article_id, "--as", "ann"),
        ("review", "claim", article_id, "--as", "bob"),
        ("review", "comment", article_id, "Tighten this.", "--on", "s1.1", "--as", "bob"),
        ("review", "edit", article_id, "s1.1", "--text",
         "Treatment of a gout flare works best when started within 24 hours.",
         "-m", "shorter", "--as", "bob"),
        ("review", "approve", article_id, "--as", "bob"),
        ("review", "publish", article_id, "--as", "eve"),
    ]  # fmt: skip
    for step in steps[:3]:
        result = run_cli(*step)
        assert result.exit_code == 0, (step, result.output)

    # A reviewer's edit that reverses the statement is refused, and says why.
    reversed_text = "Treatment of a gout flare does not work best when started within 24 hours."
    refused = cli_error(
        library_dir, "review", "edit", article_id, "s1.1", "--text", reversed_text, "--as", "bob"
    )
    assert refused.returncode == 1
    message = " ".join(refused.stderr.split())
    assert message.startswith(
        "error: edit refused: statement s1.1: the source says the opposite: passage "
    ), message
    assert message.endswith(
        "(the statement negates 'work', which the passage states); cite a passage that says "
        "it, or reword it to match the evidence"
    ), message

    for step in steps[3:]:
        result = run_cli(*step)
        assert result.exit_code == 0, (step, result.output)

    shown = run_cli("review", "show", article_id)
    assert "s1.1 Treatment of a gout flare works best when started within 24 hours." in shown.stdout
    assert "bob on s1.1 (rev 1): Tighten this." in shown.stdout
    listed = run_cli("articles", "list", "--status", "published")
    assert article_id in listed.stdout and "published" in listed.stdout
    history = run_cli("articles", "history", article_id).stdout
    assert "revision 2" in history and "bob edit on s1.1: shorter" in history
    assert "eve publish approved → published" in history
    diff = run_cli("articles", "diff", article_id).stdout
    assert "+- Treatment of a gout flare works best when started within 24 hours. [1]" in diff
    article = run_cli("articles", "show", article_id, "--format", "markdown")
    assert "Approved and published" in article.stdout
    assert "reviewed by bob on" in article.stderr

    again = run_cli("ask", "What is the treatment for a gout flare?", "--format", "markdown")
    assert f"published article {article_id}, reviewed by bob on" in again.stderr
    assert "*Approved and published" in again.stdout
    fresh = run_cli("ask", QUESTION, "--fresh", "--format", "markdown")
    assert "published article" not in fresh.stderr and "*Pending human review" in fresh.stdout


def cli_error(library_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, EVIDENT_LIBRARY=str(library_dir), EVIDENT_INDEX__EMBEDDER="none")
    env.pop("EVIDENT_USER", None)
    return subprocess.run(
        [str(EVIDENT), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_cli_refusals_are_one_line_and_exit_1(
    run_cli, sample_docs: Path, library_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    run_cli("ingest", str(sample_docs))
    run_cli("users", "create", "ann", "--role", "author")
    run_cli("users", "create", "bob", "--role", "reviewer")
    run_cli("ask", QUESTION, "--save", "--as", "ann")
    [article_id] = article_ids(library_dir)

    no_user = cli_error(library_dir, "review", "submit", article_id)
    approve = cli_error(library_dir, "review", "approve", article_id, "--as", "bob")
    stranger = cli_error(library_dir, "review", "claim", article_id, "--as", "zed")
    save = cli_error(library_dir, "ask", QUESTION, "--save")

    assert (no_user.returncode, no_user.stderr) == (
        1,
        "error: say who is acting: pass --as NAME or set EVIDENT_USER\n",
    )
    assert (approve.returncode, approve.stderr) == (
        1,
        "error: cannot approve an article that is draft; it must be under review first\n",
    )
    assert stranger.returncode == 1
    assert stranger.stderr.startswith("error: no user named 'zed'; run `evident users list`")
    assert save.stderr == "error: say who is acting: pass --as NAME or set EVIDENT_USER\n"


def test_review_stale_and_queue(run_cli, sample_docs: Path, library_dir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    run_cli("ingest", str(sample_docs))
    run_cli("users", "create", "ann", "--role", "author")
    monkeypatch.setenv("EVIDENT_USER", "ann")
    run_cli("ask", QUESTION, "--save")
    [article_id] = article_ids(library_dir)
    run_cli("review", "submit", article_id)
    monkeypatch.delenv("EVIDENT_USER")  # read commands default to the operator's full view

    assert article_id in run_cli("review", "queue").stdout
    guideline = sample_docs / "gout-flare-guideline.md"
    guideline.write_text(guideline.read_text() + "\nDoses are kept low.\n")
    run_cli("ingest", str(sample_docs))
    stale = run_cli("review", "stale")
    assert stale.stdout.strip().endswith("0 newly flagged; 1 articles need re-review")
    assert "re-review" in run_cli("articles", "list", "--needs-rereview").stdout
