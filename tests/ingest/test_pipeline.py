"""Batch ingest as a user sees it: added, unchanged, duplicate, failed — nothing lost."""

from __future__ import annotations

import json
import shutil
import time
import tracemalloc
from pathlib import Path

import pytest

from evident.app import App
from evident.errors import NotFound
from evident.ingest.readers import all_readers, markdown
from evident.models import IngestReport, IngestStatus

SAMPLE_TITLES = {
    "Synthetic randomised trial of eccentric loading for Achilles tendinopathy",
    "Synthetic guideline on gout flares of the big toe",
    "Heel pain: a synthetic patient leaflet",
}


def statuses(report: IngestReport) -> dict[str, IngestStatus]:
    return {Path(r.origin).name: r.status for r in report.results}


def titles(app: App) -> set[str]:
    return {meta.title for _, meta, _ in app.store.list_documents()}


def source_ids(app: App, path: Path) -> list[str]:
    record = app.store.source_record(str(path.resolve()))
    assert record is not None, f"no ledger row for {path}"
    return list(json.loads(record["document_ids"]))


# -- the happy path ---------------------------------------------------------------


def test_ingest_adds_the_sample_documents(bm25_app: App, sample_docs: Path) -> None:
    report = bm25_app.ingest([sample_docs])

    assert statuses(report) == {
        "achilles-trial.md": IngestStatus.ADDED,
        "gout-flare-guideline.md": IngestStatus.ADDED,
        "heel-pain-leaflet.txt": IngestStatus.ADDED,
    }
    assert not report.failed
    assert bm25_app.store.count_documents() == 3
    assert titles(bm25_app) == SAMPLE_TITLES
    for result in report.results:
        assert result.chunks >= 1
        assert result.document_id is not None
        assert bm25_app.store.get_document(result.document_id).origin == result.origin


def test_rerun_reports_unchanged_and_adds_nothing(bm25_app: App, sample_docs: Path) -> None:
    bm25_app.ingest([sample_docs])
    version = bm25_app.store.library_version()
    chunks = bm25_app.store.count_chunks()

    report = bm25_app.ingest([sample_docs])

    assert set(statuses(report).values()) == {IngestStatus.UNCHANGED}
    assert len(report.results) == 3
    assert bm25_app.store.count_documents() == 3
    assert bm25_app.store.count_chunks() == chunks
    assert bm25_app.store.library_version() == version


def test_byte_identical_copy_is_a_duplicate(bm25_app: App, sample_docs: Path) -> None:
    bm25_app.ingest([sample_docs])
    version = bm25_app.store.library_version()
    original = sample_docs / "achilles-trial.md"
    copy = sample_docs.parent / "elsewhere" / "copy-of-trial.md"
    copy.parent.mkdir()
    shutil.copy(original, copy)

    [result] = bm25_app.ingest([copy]).results

    assert result.status is IngestStatus.DUPLICATE
    assert result.reason == f"same content as {original.resolve()}"
    assert bm25_app.store.count_documents() == 3
    assert bm25_app.store.library_version() == version
    # A rerun of the copy is quiet: it was seen and reported already.
    [again] = bm25_app.ingest([copy]).results
    assert again.status is IngestStatus.UNCHANGED


def test_duplicates_within_one_batch_are_stored_once(bm25_app: App, sample_docs: Path) -> None:
    shutil.copy(sample_docs / "heel-pain-leaflet.txt", sample_docs / "zz-leaflet-copy.txt")

    report = bm25_app.ingest([sample_docs])

    assert statuses(report)["zz-leaflet-copy.txt"] is IngestStatus.DUPLICATE
    assert report.count(IngestStatus.ADDED) == 3
    assert bm25_app.store.count_documents() == 3


def test_same_content_with_other_whitespace_is_a_duplicate(
    bm25_app: App, sample_docs: Path
) -> None:
    bm25_app.ingest([sample_docs])
    original = sample_docs / "achilles-trial.md"
    text = original.read_text(encoding="utf-8")
    # Windows line ends, trailing spaces, doubled spaces and extra blank lines.
    variant = text.replace("eccentric calf", "eccentric   calf").replace("\n", "  \r\n")
    variant = variant.replace("## Results", "\r\n\r\n## Results")
    other = sample_docs.parent / "windows-copy.md"
    other.write_bytes(variant.encode("utf-8"))
    assert other.read_bytes() != original.read_bytes()

    [result] = bm25_app.ingest([other]).results

    assert result.status is IngestStatus.DUPLICATE
    assert result.reason == f"same content as {original.resolve()}"
    assert bm25_app.store.count_documents() == 3


def test_editing_a_file_replaces_its_document(bm25_app: App, sample_docs: Path) -> None:
    path = sample_docs / "achilles-trial.md"
    [first] = bm25_app.ingest([path]).results
    old_id = first.document_id
    assert old_id is not None
    path.write_text(
        path.read_text(encoding="utf-8").replace("twelve weeks", "eight weeks"), encoding="utf-8"
    )

    [second] = bm25_app.ingest([path]).results

    assert second.status is IngestStatus.ADDED
    assert second.document_id is not None
    assert second.document_id != old_id
    assert not bm25_app.store.has_document(old_id)
    with pytest.raises(NotFound):
        bm25_app.store.get_document(old_id)
    new = bm25_app.store.get_document(second.document_id)
    assert "eight weeks" in new.text
    assert bm25_app.store.count_documents() == 1
    assert source_ids(bm25_app, path) == [second.document_id]
    assert all(
        c.document_id == second.document_id for c in bm25_app.store.chunks_for(new.document_id)
    )
    assert bm25_app.store.count_chunks() == len(bm25_app.store.chunks_for(new.document_id))


WRAPPED = """# Gout flares in dialysis

Most flares settle with colchicine. People on dialysis are an exception, because
colchicine builds up when the kidneys do not clear it.
"""


def sentences(app: App) -> list[str]:
    return [
        c.text[a:b]
        for doc_id, _, _ in app.store.list_documents()
        for c in app.store.chunks_for(doc_id)
        for a, b in c.sentences
    ]


def test_force_reads_an_unchanged_file_again_with_the_current_reader(
    bm25_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "wrapped.md"
    path.write_text(WRAPPED, encoding="utf-8")
    # An earlier release read each wrapped line end as the end of a paragraph.
    with monkeypatch.context() as old_release:
        old_release.setattr(markdown, "unwrap_paragraphs", lambda body: body)
        [old] = bm25_app.ingest([path]).results
    whole = (
        "People on dialysis are an exception, because colchicine builds up when the kidneys "
        "do not clear it."
    )
    assert whole not in sentences(bm25_app)

    [plain] = bm25_app.ingest([path]).results
    assert plain.status is IngestStatus.UNCHANGED
    assert whole not in sentences(bm25_app)

    [forced] = bm25_app.ingest([path], force=True).results

    assert forced.status is IngestStatus.ADDED
    assert whole in sentences(bm25_app)
    assert old.document_id is not None and not bm25_app.store.has_document(old.document_id)
    assert bm25_app.store.count_documents() == 1
    assert source_ids(bm25_app, path) == [forced.document_id]


def test_rerun_after_a_kill_before_the_ledger_write_is_not_a_duplicate(
    bm25_app: App, sample_docs: Path
) -> None:
    # A kill between storing a document and marking its file done leaves exactly this.
    path = sample_docs / "achilles-trial.md"
    [first] = bm25_app.ingest([path]).results
    bm25_app.store.conn.execute("DELETE FROM sources")

    [again] = bm25_app.ingest([path]).results

    assert again.status is IngestStatus.UNCHANGED
    assert again.reason == ""
    assert source_ids(bm25_app, path) == [first.document_id]
    # The file owns its document again, so an edit still replaces it.
    path.write_text(path.read_text(encoding="utf-8") + "\nA new closing line.\n")
    [edited] = bm25_app.ingest([path]).results
    assert edited.status is IngestStatus.ADDED
    assert first.document_id is not None
    assert not bm25_app.store.has_document(first.document_id)
    assert bm25_app.store.count_documents() == 1


# -- bad input: recorded as failed, the rest of the batch still goes in ------------


def supported() -> str:
    return " ".join(sorted({s for r in all_readers() for s in getattr(r, "suffixes", ())}))


YAML_BOMB = (
    b"---\ntitle: Laughs\n"
    b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    b"b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    b"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    b"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    b"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    b"f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    b"g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    b"h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    b"i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
    b"---\n# Laughs\n\nBody.\n"
)
YAML_ALIAS_REASON = (
    "the YAML front matter uses the alias *a (line 4); evident does not expand YAML "
    "aliases, which can blow a few bytes up to gigabytes. Write the value out in full and "
    "ingest again"
)

BAD_INPUTS: dict[str, tuple[str, bytes | None, str]] = {
    # name: (file name, content or None for "does not exist", expected reason after "<path>: ")
    "missing": (
        "not-there.md",
        None,
        "no such file or folder; check the path and try again",
    ),
    "empty": ("empty.txt", b"", "the file is empty; nothing to ingest"),
    "blank": ("blank.md", b"  \n\n\t \n", "the file is empty; nothing to ingest"),
    "docx": (
        "notes.docx",
        b"PK\x03\x04 not really a word document",
        "no reader for '.docx' files; supported: {supported}. "
        "Convert the file to Markdown or PDF and ingest again.",
    ),
    "latin1": (
        "latin.txt",
        "Café au lait spots\n\nNot UTF-8.".encode("latin-1"),
        "not UTF-8 text (bad byte at offset 3); "
        "convert it first, e.g. `iconv -f latin1 -t utf-8 latin.txt`",
    ),
    "nul": (
        "nul.md",
        b"# Title\n\n" + b"\x00" * 1000,
        "not text (a NUL byte at offset 9: a binary or UTF-16 file); convert it to UTF-8 text "
        "first, e.g. `iconv -f utf-16 -t utf-8 nul.md`",
    ),
    "yaml": (
        "bad-yaml.md",
        b"---\ntitle: [unclosed\nkind: guideline\n---\n# Gout\n\nBody text about gout.\n",
        "the YAML front matter is malformed (did not find expected ',' or ']' at line 3); "
        "fix the block between the --- lines and ingest again",
    ),
    # 374 bytes that expand to 10^9 strings when the aliases are followed ("billion laughs").
    "yaml-alias-bomb": ("laughs.md", YAML_BOMB, YAML_ALIAS_REASON),
    "yaml-too-deep": (
        "deep.md",
        b"---\ntitle: Deep\nx: " + b"[" * 5_000 + b"]" * 5_000 + b"\n---\n# Deep\n\nBody.\n",
        "the YAML front matter nests lists or mappings more than 32 levels deep (line 3); "
        "front matter is a few flat fields. Flatten it and ingest again",
    ),
    "html-too-many-elements": (
        "table.html",
        b"<html><body><table>" + b"<tr><td>1</td></tr>" * 60_000 + b"</table></body></html>",
        "the page has 120,003 HTML elements, over the 100,000 limit; save the article's "
        "reader or print view, or convert it to Markdown, and ingest again",
    ),
    "yaml-too-long": (
        "long-front-matter.md",
        b"---\ntitle: Gout\nnote: " + b"x" * 70_000 + b"\n---\n# Gout\n\nBody text.\n",
        "the front matter is 70,020 characters long, over the 65,536 limit; keep it to a few "
        "fields, move long text into the body and ingest again",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_file_is_recorded_as_failed_and_the_batch_goes_on(
    bm25_app: App, sample_docs: Path, tmp_path: Path, case: str
) -> None:
    name, content, reason = BAD_INPUTS[case]
    bad = tmp_path / "incoming" / name
    bad.parent.mkdir()
    if content is not None:
        bad.write_bytes(content)
    expected = f"{bad}: " + reason.format(supported=supported())

    report = bm25_app.ingest([bad, sample_docs])

    [failed] = report.failed
    assert failed.reason == expected
    assert "\n" not in failed.reason
    assert failed.document_id is None
    assert report.count(IngestStatus.ADDED) == 3
    assert bm25_app.store.count_documents() == 3
    assert titles(bm25_app) == SAMPLE_TITLES
    # Nothing lost: the failure is in the ledger and the user's file is untouched.
    assert bm25_app.store.failed_sources() == [(failed.origin, expected)]
    if content is not None:
        assert failed.origin == str(bad.resolve())
        assert bad.read_bytes() == content
    else:
        assert not bad.exists()


def test_yaml_alias_bomb_is_refused_quickly_and_in_little_memory(
    bm25_app: App, tmp_path: Path
) -> None:
    bomb = tmp_path / "laughs.md"
    bomb.write_bytes(YAML_BOMB)
    tracemalloc.start()
    started = time.perf_counter()

    [failed] = bm25_app.ingest([bomb]).results

    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert failed.status is IngestStatus.FAILED
    assert failed.reason == f"{bomb}: {YAML_ALIAS_REASON}"
    assert elapsed < 2.0
    assert peak < 20_000_000


def test_symlinks_leaving_the_folder_looping_or_dangling_are_refused_and_recorded(
    bm25_app: App, sample_docs: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("Private notes that must never become a document.\n", encoding="utf-8")
    (sample_docs / "passwd.txt").symlink_to("/etc/passwd")
    (sample_docs / "secret.txt").symlink_to(secret)
    (sample_docs / "outside").symlink_to(tmp_path, target_is_directory=True)
    (sample_docs / "loop.md").symlink_to(sample_docs / "loop.md")
    (sample_docs / "gone.md").symlink_to(sample_docs / "deleted.md")
    (sample_docs / "alias.md").symlink_to(sample_docs / "achilles-trial.md")

    report = bm25_app.ingest([sample_docs])

    reasons = {Path(r.origin).name: r.reason for r in report.failed}
    assert reasons == {
        "passwd.txt": f"{sample_docs}/passwd.txt: a symbolic link to /etc/passwd, outside the "
        f"folder {sample_docs} being ingested; refused. Copy the file into the folder to "
        "ingest it",
        "secret.txt": f"{sample_docs}/secret.txt: a symbolic link to {secret}, outside the "
        f"folder {sample_docs} being ingested; refused. Copy the file into the folder to "
        "ingest it",
        "outside": f"{sample_docs}/outside: a symbolic link to {tmp_path}, outside the "
        f"folder {sample_docs} being ingested; refused. Copy the file into the folder to "
        "ingest it",
        "loop.md": f"{sample_docs}/loop.md: a symbolic link that loops ({sample_docs}/loop.md); "
        "fix or remove the link and ingest again",
        "gone.md": f"{sample_docs}/gone.md: a symbolic link to {sample_docs}/deleted.md, which "
        "does not exist; fix or remove the link and ingest again",
    }
    # The link inside the folder is the same file: no failure, no second document.
    assert titles(bm25_app) == SAMPLE_TITLES
    assert bm25_app.store.count_documents() == 3
    assert len(bm25_app.store.failed_sources()) == 5
    assert all("Private notes" not in text for text in _all_text(bm25_app))


def _all_text(app: App) -> list[str]:
    return [
        app.store.get_document(document_id).text for document_id, _, _ in app.store.list_documents()
    ]


def test_bad_file_inside_a_folder_fails_alone(bm25_app: App, sample_docs: Path) -> None:
    bad = sample_docs / "broken.txt"
    bad.write_bytes(b"\xff\xfe\x00broken")

    report = bm25_app.ingest([sample_docs])

    assert statuses(report)["broken.txt"] is IngestStatus.FAILED
    assert report.count(IngestStatus.ADDED) == 3
    assert [o for o, _ in bm25_app.store.failed_sources()] == [str(bad.resolve())]


def test_file_over_the_size_limit_is_refused(
    bm25_app: App, sample_docs: Path, tmp_path: Path
) -> None:
    bm25_app.settings.ingest.max_file_mb = 0.001
    big = tmp_path / "big.txt"
    big.write_text("Gout is common. " * 12_500, encoding="utf-8")  # 200 kB

    report = bm25_app.ingest([big])

    [failed] = report.failed
    assert failed.reason == (
        f"{big}: the file is 0.2 MB, over the 0.001 MB limit; "
        "split it or raise ingest.max_file_mb (EVIDENT_INGEST__MAX_FILE_MB)"
    )
    assert bm25_app.store.count_documents() == 0
    assert bm25_app.store.failed_sources() == [(str(big.resolve()), failed.reason)]


def test_a_50_mb_file_is_refused_fast_without_being_read(
    bm25_app: App, sample_docs: Path, tmp_path: Path
) -> None:
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as f:
        f.truncate(50_000_000)  # sparse: no 50 MB written to disk

    tracemalloc.start()
    started = time.perf_counter()
    try:
        report = bm25_app.ingest([huge, sample_docs])
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    [failed] = report.failed
    assert failed.reason == (
        f"{huge}: the file is 50.0 MB, over the 25 MB limit; "
        "split it or raise ingest.max_file_mb (EVIDENT_INGEST__MAX_FILE_MB)"
    )
    assert peak < 10_000_000, f"peak {peak} bytes: the file was read into memory"
    assert elapsed < 10
    assert bm25_app.store.count_documents() == 3
    record = bm25_app.store.source_record(str(huge.resolve()))
    assert record is not None
    assert (record["status"], record["content_hash"]) == ("failed", "")


def test_failed_file_is_retried_once_fixed(bm25_app: App, sample_docs: Path) -> None:
    bad = sample_docs / "latin.txt"
    bad.write_bytes("Café au lait spots\n\nSeen in neurofibromatosis.".encode("latin-1"))
    first = bm25_app.ingest([sample_docs])
    assert statuses(first)["latin.txt"] is IngestStatus.FAILED

    # Still broken: retried and failed again (not skipped as done).
    again = bm25_app.ingest([sample_docs])
    assert statuses(again)["latin.txt"] is IngestStatus.FAILED

    bad.write_text("Café au lait spots\n\nSeen in neurofibromatosis.", encoding="utf-8")
    fixed = bm25_app.ingest([sample_docs])

    assert statuses(fixed) == {
        "achilles-trial.md": IngestStatus.UNCHANGED,
        "gout-flare-guideline.md": IngestStatus.UNCHANGED,
        "heel-pain-leaflet.txt": IngestStatus.UNCHANGED,
        "latin.txt": IngestStatus.ADDED,
    }
    assert bm25_app.store.failed_sources() == []
    assert bm25_app.store.count_documents() == 4
    assert "Café au lait spots" in titles(bm25_app)


def test_missing_path_is_added_once_it_exists(bm25_app: App, tmp_path: Path) -> None:
    later = tmp_path / "later.txt"
    assert bm25_app.ingest([later]).failed

    later.write_text("Later note\n\nGout flares need early treatment.", encoding="utf-8")
    [result] = bm25_app.ingest([later]).results

    assert result.status is IngestStatus.ADDED
    assert bm25_app.store.count_documents() == 1


# -- through the CLI ------------------------------------------------------------------


def summary(output: str) -> dict[str, int]:
    """Read the counts out of the ingest summary table."""
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if "added" in line and "failed" in line)
    names = [c.strip() for c in lines[header].replace("┃", "│").split("│")]
    values = next(
        line for line in lines[header + 1 :] if line.strip() and line.strip()[0].isdigit()
    )
    counts = [int(c) for c in values.split("│")]
    return dict(zip(names, counts, strict=True))


def test_cli_summary_counts_and_exit_zero(run_cli, sample_docs: Path) -> None:  # type: ignore[no-untyped-def]
    first = run_cli("ingest", str(sample_docs))
    assert first.exit_code == 0, first.output
    assert summary(first.stdout) == {"added": 3, "unchanged": 0, "duplicate": 0, "failed": 0}
    assert "library: 3 documents" in first.stdout

    shutil.copy(sample_docs / "achilles-trial.md", sample_docs / "trial-copy.md")
    second = run_cli("ingest", str(sample_docs))

    assert second.exit_code == 0, second.output
    assert summary(second.stdout) == {"added": 0, "unchanged": 3, "duplicate": 1, "failed": 0}
    original = (sample_docs / "achilles-trial.md").resolve()
    copy = (sample_docs / "trial-copy.md").resolve()
    assert f"duplicate: {copy} (same content as {original})" in second.stdout
    assert "failed:" not in second.output


def test_cli_force_keeps_documents_read_the_same(run_cli, sample_docs: Path) -> None:  # type: ignore[no-untyped-def]
    run_cli("ingest", str(sample_docs))
    before = run_cli("library").stdout

    forced = run_cli("ingest", "--force", str(sample_docs))

    assert forced.exit_code == 0, forced.output
    assert summary(forced.stdout) == {"added": 0, "unchanged": 3, "duplicate": 0, "failed": 0}
    assert run_cli("library").stdout == before


def test_cli_prints_failures_and_exits_one(run_cli, sample_docs: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = sample_docs / "notes.docx"
    bad.write_bytes(b"PK\x03\x04")
    missing = tmp_path / "nowhere.md"

    result = run_cli("ingest", str(sample_docs), str(missing))

    assert result.exit_code == 1
    assert summary(result.stdout) == {"added": 3, "unchanged": 0, "duplicate": 0, "failed": 2}
    failures = [line for line in result.stderr.splitlines() if line.startswith("failed: ")]
    assert failures == [
        f"failed: {bad}: no reader for '.docx' files; supported: {supported()}. "
        "Convert the file to Markdown or PDF and ingest again.",
        f"failed: {missing}: no such file or folder; check the path and try again",
    ]
    assert "library: 3 documents" in result.stdout

    # Fixed and rerun: the failures are retried and the exit code is 0.
    bad.unlink()
    missing.write_text("Nowhere note\n\nHeel pain after a fall needs an X-ray.", encoding="utf-8")
    fixed = run_cli("ingest", str(sample_docs), str(missing))
    assert fixed.exit_code == 0, fixed.output
    assert summary(fixed.stdout) == {"added": 1, "unchanged": 3, "duplicate": 0, "failed": 0}
