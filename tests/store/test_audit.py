"""Tamper evidence and backups: the audit log is hash-chained and every status change is
audited; `evident backup` copies a live library and `evident restore` brings it back."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from evident.app import App, build_app
from evident.config import load_settings
from evident.review.records import Role
from evident.store.audit import verify_chain
from evident.store.migrations import MIGRATIONS
from evident.store.sqlite import SqliteStore

QUESTION = "How is a gout flare treated?"
EVIDENT = Path(sys.executable).parent / "evident"


@pytest.fixture
def reviewed(lib: App) -> App:
    """The test library with one article taken through review to publication."""
    ann = lib.create_user("ann", Role.AUTHOR, actor="test")[0]
    bob = lib.create_user("bob", Role.REVIEWER, actor="test")[0]
    eve = lib.create_user("eve", Role.EDITOR, actor="test")[0]
    record = lib.answer(QUESTION, fresh=True, save=True, user=ann).record
    assert record is not None
    for action, who in [("submit", ann), ("claim", bob), ("approve", bob), ("publish", eve)]:
        lib.editorial.act(action, record.article_id, who, "ok")
    return lib


def tamper(app: App, *sql: str) -> None:
    """What someone with write access to the file can do: drop the guards and edit."""
    conn = sqlite3.connect(app.store.path, isolation_level=None)
    for statement in sql:
        conn.execute(statement)
    conn.close()


def test_a_status_change_without_its_review_event_is_refused(reviewed: App) -> None:
    [record] = reviewed.articles.list_records()

    with pytest.raises(sqlite3.IntegrityError) as refused:
        reviewed.store.conn.execute(
            "UPDATE articles SET status='draft' WHERE article_id=?", (record.article_id,)
        )

    assert str(refused.value) == "a status change needs the review event that records it"
    assert reviewed.articles.get_record(record.article_id).status.value == "published"


def test_audit_verify_reports_an_intact_log(reviewed: App, run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("audit", "verify")

    assert result.exit_code == 0, result.output
    events = len(reviewed.articles.events())
    assert re.fullmatch(
        rf"audit log intact: {events} events, chain head [0-9a-f]{{64}}\n", result.output
    )


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        (
            [
                "DROP TRIGGER review_events_no_update",
                "UPDATE review_events SET comment='rubber-stamped' WHERE action='approve'",
            ],
            r"event (\d+) \(approve by bob at [^)]+\) does not match its hash: it was changed "
            "after it was written",
        ),
        (
            [
                "DROP TRIGGER review_events_no_delete",
                "DELETE FROM review_events WHERE action='claim'",
            ],
            r"event (\d+) is in the hash chain but not in the log: it was deleted",
        ),
        (
            [
                "INSERT INTO review_events(article_id, revision, actor, action, comment, "
                "created_at) VALUES (NULL, NULL, 'mallory', 'comment', 'hi', '2026-01-01')",
            ],
            r"event (\d+) \(comment by mallory at 2026-01-01\) is not in the hash chain: it "
            "was added outside evident",
        ),
    ],
    ids=["changed", "deleted", "inserted"],
)
def test_audit_verify_finds_an_edited_log(
    reviewed: App,
    run_cli,  # type: ignore[no-untyped-def]
    sql: list[str],
    problem: str,
) -> None:
    tamper(reviewed, *sql)

    result = run_cli("audit", "verify")

    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert re.fullmatch(problem, lines[0]), lines[0]
    assert re.search(
        r"the audit log does not verify: \d+ problems? in \d+ events; restore the library "
        r"from a backup whose audit log verifies \(evident restore SRC\)",
        " ".join(result.output.split()),
    )


def test_events_written_before_the_chain_existed_are_sealed_by_the_migration(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    for number, migration in enumerate(MIGRATIONS[:5], start=1):
        for statement in migration.sqlite.split(";\n"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version={number}")
    for n in range(3):
        conn.execute(
            "INSERT INTO review_events(actor, action, created_at) VALUES (?, 'create_user', ?)",
            (f"user{n}", f"2026-01-0{n + 1}"),
        )
    conn.close()

    store = SqliteStore(path)

    check = verify_chain(store.conn)
    assert (check.events, check.intact) == (3, True)


def test_backup_while_writing_and_restore_into_a_fresh_library(
    reviewed: App,
    tmp_path: Path,
    run_cli,  # type: ignore[no-untyped-def]
) -> None:
    stop = threading.Event()

    def keep_writing() -> None:  # a server still recording review actions
        writer = build_app(load_settings(library=reviewed.settings.library))
        while not stop.is_set():
            writer.articles.append_event(actor="eve", action="comment", comment="still here")
        writer.store.close()

    worker = threading.Thread(target=keep_writing)
    worker.start()
    try:
        result = run_cli("backup", str(tmp_path / "backup"))
    finally:
        stop.set()
        worker.join()

    assert result.exit_code == 0, result.output
    found = re.fullmatch(
        r"backed up 3 documents, 1 articles and (\d+) audit events to (.+); audit chain head "
        r"([0-9a-f]{64})",
        " ".join(result.output.split()),
    )
    assert found is not None, result.output
    assert (tmp_path / "backup" / "library.sqlite").is_file()

    fresh = tmp_path / "fresh"
    restore = run_cli("--library", str(fresh), "restore", str(tmp_path / "backup"))

    assert restore.exit_code == 0, restore.output
    assert f"restored 3 documents, 1 articles and {found.group(1)} audit events" in " ".join(
        restore.output.split()
    )
    restored = build_app(load_settings(library=fresh))
    assert restored.store.count_documents() == 3
    assert [r.status.value for r in restored.articles.list_records()] == ["published"]
    check = restored.verify_audit()
    assert (check.intact, check.events, check.head) == (True, int(found.group(1)), found.group(3))
    restored.store.close()


def evident_cli(library: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real `evident` command (its errors are one line on stderr, exit 1)."""
    env = dict(os.environ, EVIDENT_LIBRARY=str(library), EVIDENT_INDEX__EMBEDDER="none")
    return subprocess.run(
        [str(EVIDENT), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_restore_refuses_to_overwrite_a_library_and_a_backup_that_does_not_verify(
    reviewed: App,
    tmp_path: Path,
    run_cli,  # type: ignore[no-untyped-def]
) -> None:
    backup = tmp_path / "backup"
    assert run_cli("backup", str(backup)).exit_code == 0
    again = evident_cli(reviewed.settings.library, "backup", str(backup))
    assert (again.returncode, again.stderr) == (
        1,
        f"error: {backup} is not an empty folder; back up into a new or empty folder so no "
        "earlier backup is overwritten\n",
    )

    refused = evident_cli(reviewed.settings.library, "restore", str(backup))
    assert (refused.returncode, refused.stderr) == (
        1,
        f"error: the library {reviewed.settings.library} is not empty; back it up first "
        "(evident backup DEST), then pass --force to replace it\n",
    )

    conn = sqlite3.connect(backup / "library.sqlite", isolation_level=None)
    conn.execute("DROP TRIGGER review_events_no_update")
    conn.execute("UPDATE review_events SET actor='mallory' WHERE action='publish'")
    conn.close()
    damaged = evident_cli(tmp_path / "fresh", "restore", str(backup))
    assert damaged.returncode == 1
    assert re.fullmatch(
        r"error: the backup's audit log does not verify \(event \d+ \(publish by mallory at "
        r"[^)]+\) does not match its hash: it was changed after it was written\); it was not "
        r"restored\. Use another backup\n",
        damaged.stderr,
    ), damaged.stderr
