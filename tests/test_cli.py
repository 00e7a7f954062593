"""The `evident` command line: help everywhere, readable output, the right library, exit codes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from evident.cli import cli
from evident.store.sqlite import SqliteStore

EVIDENT = Path(sys.executable).parent / "evident"


# typer vendors click (typer._click), so groups are recognised by their `commands`.
def walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from walk(sub, (*path, name))


def resolve(root: Any, path: tuple[str, ...]) -> Any:
    command = root
    for name in path:
        command = command.commands[name]
    return command


ROOT = typer.main.get_command(cli)
COMMANDS = list(walk(ROOT))


def test_the_command_tree_has_every_command() -> None:
    assert set(COMMANDS) >= {
        (),
        ("ingest",),
        ("index",),
        ("search",),
        ("ask",),
        ("library",),
        ("library", "show"),
    }


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "evident")
def test_every_command_and_option_has_help(path: tuple[str, ...], run_cli) -> None:  # type: ignore[no-untyped-def]
    command = resolve(ROOT, path)

    assert (command.help or "").strip(), f"`evident {' '.join(path)}` has no help text"
    for param in command.params:
        assert (getattr(param, "help", None) or "").strip(), (
            f"`evident {' '.join(path)}` parameter {param.name!r} has no help text"
        )

    result = run_cli(*path, "--help")
    assert result.exit_code == 0, result.output
    first_line = command.help.strip().splitlines()[0]
    assert " ".join(first_line.split()) in " ".join(result.stdout.split())


def test_search_prints_document_section_kind_year_and_ranks(run_cli, sample_docs: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("ingest", str(sample_docs)).exit_code == 0

    result = run_cli("search", "eccentric loading for Achilles tendon pain", "-k", "2")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        "1. Synthetic randomised trial of eccentric loading for Achilles tendinopathy  "
        "randomised_trial · Journal of Test Medicine · 2015 · doc "
    )
    assert lines[1].split()[:2] in (["section:", "Methods"], ["section:", "Results"])
    # BM25 found it; the relevance model reread it and put it first.
    assert re.search(r"ranks: bm25 #\d+, rerank #1\b", lines[1]), lines[1]
    assert [line[:3] for line in lines if line[:1].isdigit()] == ["1. ", "2. "]


def test_search_with_no_match_says_what_to_do(run_cli, sample_docs: Path) -> None:  # type: ignore[no-untyped-def]
    run_cli("ingest", str(sample_docs))

    result = run_cli("search", "zygomycosis")

    assert result.exit_code == 0
    assert result.stdout.strip() == (
        "No passages match. Try other words, or add documents with `evident ingest`."
    )


def test_search_filters_by_kind_and_year(run_cli, sample_docs: Path) -> None:  # type: ignore[no-untyped-def]
    run_cli("ingest", str(sample_docs))

    guideline = run_cli("search", "pain in a gout flare", "--kind", "guideline")
    old = run_cli("search", "pain in a gout flare", "--year-to", "2016")

    assert "guideline · Test Society of Rheumatology · 2021" in guideline.stdout
    assert "randomised_trial" not in guideline.stdout
    assert "Heel pain" not in guideline.stdout
    assert "randomised_trial · Journal of Test Medicine · 2015" in old.stdout
    assert "2021" not in old.stdout


def test_library_lists_documents(run_cli, sample_docs: Path, library_dir: Path) -> None:  # type: ignore[no-untyped-def]
    run_cli("ingest", str(sample_docs))
    store = SqliteStore(library_dir / "library.sqlite")
    ids = {meta.title: document_id for document_id, meta, _ in store.list_documents()}
    version = store.library_version()
    store.close()

    result = run_cli("library")

    assert result.exit_code == 0, result.output
    for document_id in ids.values():
        assert document_id[:10] in result.stdout
    assert "guideline" in result.stdout
    assert "2015" in result.stdout and "2021" in result.stdout
    assert f"3 documents, version {version}" in result.stdout
    only = run_cli("library", "--kind", "guideline")
    assert ids["Synthetic guideline on gout flares of the big toe"][:10] in only.stdout
    assert ids["Heel pain: a synthetic patient leaflet"][:10] not in only.stdout


def test_library_show_prints_metadata_and_passages(run_cli, sample_docs: Path) -> None:  # type: ignore[no-untyped-def]
    run_cli("ingest", str(sample_docs))
    listing = run_cli("library", "--kind", "randomised_trial").stdout
    prefix = next(line.split()[0] for line in listing.splitlines() if "2015" in line)

    result = run_cli("library", "show", prefix[:8])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Synthetic randomised trial of eccentric loading for Achilles tendinopathy"
    assert lines[1].startswith(f"  id: {prefix}")
    for line in (
        "  kind: randomised_trial",
        "  source: Journal of Test Medicine",
        "  year: 2015",
        "  pmid: 99999991",
        "  conditions: achilles tendinopathy",
        f"  origin: {(sample_docs / 'achilles-trial.md').resolve()}",
    ):
        assert line in lines
    assert any(line.startswith("passage 1 Methods · chars ") for line in lines)
    assert any(line.startswith("passage 2 Results · chars ") for line in lines)
    assert (
        "Adults with midportion Achilles tendinopathy were randomised to twelve weeks of "
        "eccentric calf loading or to a wait-and-see approach." in lines
    )


def test_library_flag_and_environment_choose_the_library(  # type: ignore[no-untyped-def]
    run_cli, sample_docs: Path, library_dir: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other-library"

    flagged = run_cli("--library", str(other), "ingest", str(sample_docs))

    assert flagged.exit_code == 0, flagged.output
    assert "library: 3 documents" in flagged.stdout
    assert "\n0 documents, version" in "\n" + run_cli("library").stdout  # $EVIDENT_LIBRARY
    assert "3 documents, version" in run_cli("--library", str(other), "library").stdout

    # And the other way round: the environment's library gets the next ingest.
    leaflet = sample_docs / "heel-pain-leaflet.txt"
    assert run_cli("ingest", str(leaflet)).exit_code == 0
    assert "1 documents, version" in run_cli("library").stdout
    assert "3 documents, version" in run_cli("--library", str(other), "library").stdout
    assert (library_dir / "library.sqlite").exists()
    assert (other / "library.sqlite").exists()


# -- through the real entry point (exit codes, one-line errors) ---------------------------


def evident(*args: str, library: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVIDENT_")}
    env["EVIDENT_INDEX__EMBEDDER"] = "none"
    env["EVIDENT_LIBRARY"] = str(library)
    return subprocess.run(
        [str(EVIDENT), *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_unknown_document_id_prints_one_line_and_exits_1(
    library_dir: Path, sample_docs: Path
) -> None:
    assert evident("ingest", str(sample_docs / "heel-pain-leaflet.txt"), library=library_dir)

    result = evident("library", "show", "nosuchdoc", library=library_dir)

    assert result.returncode == 1
    assert result.stderr == (
        "error: no document 'nosuchdoc' in the library; "
        "run `evident library` to list document ids\n"
    )
    assert result.stdout == ""


def test_empty_question_exits_1_and_debug_shows_the_traceback(library_dir: Path) -> None:
    plain = evident("search", "  ", library=library_dir)
    debug = evident("--debug", "search", "  ", library=library_dir)

    assert plain.returncode == 1
    assert plain.stderr == "error: the question is empty; type a clinical question\n"
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr
    assert "InvalidInput: the question is empty; type a clinical question" in debug.stderr


def test_ingest_exit_codes_through_the_entry_point(library_dir: Path, tmp_path: Path) -> None:
    good = tmp_path / "note.txt"
    good.write_text("A note\n\nGout flares need early treatment.", encoding="utf-8")
    missing = tmp_path / "missing.md"

    failed = evident("ingest", str(good), str(missing), "--no-embed", library=library_dir)
    fine = evident("ingest", str(good), "--no-embed", library=library_dir)

    assert failed.returncode == 1
    assert (
        f"failed: {missing}: no such file or folder; check the path and try again"
        in failed.stderr.splitlines()
    )
    assert "library: 1 documents" in failed.stdout
    assert fine.returncode == 0, fine.stderr


def test_usage_errors_print_usage_not_a_traceback(library_dir: Path) -> None:
    missing = evident("search", library=library_dir)
    bad_kind = evident("search", "gout", "--kind", "opinion", library=library_dir)

    assert missing.returncode == 2
    assert missing.stderr.splitlines()[-1] == "Error: Missing argument 'query'."
    assert bad_kind.returncode == 2
    assert bad_kind.stderr.splitlines()[-1].startswith("Error: Invalid value for '--kind': ")
    assert "'opinion' is not one of 'guideline'" in bad_kind.stderr
    for result in (missing, bad_kind):
        assert "Traceback" not in result.stderr
        assert "Try 'evident search --help' for help." in result.stderr


def test_bad_setting_prints_one_line_and_exits_1(library_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVIDENT_")}
    env["EVIDENT_INDEX__BM25_K1"] = "high"

    result = subprocess.run(
        [str(EVIDENT), "--library", str(library_dir), "library"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1
    assert result.stderr == (
        "error: invalid settings: setting index.bm25_k1 = 'high': Input should be a valid "
        "number, unable to parse string as a number. Fix them in the EVIDENT_CONFIG file or "
        "the EVIDENT_ environment variables (e.g. EVIDENT_INDEX__BM25_K1)\n"
    )
