"""`evident eval SUITE` writes JSON, Markdown and a PNG; `evident eval compare` diffs two."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evident.cli import cli


@pytest.mark.shared_data
def test_eval_writes_results_and_compare_prints_differences(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVIDENT_LIBRARY", str(tmp_path / "library"))
    runner = CliRunner()
    first = runner.invoke(
        cli, ["eval", "mediqa2019", "--limit", "4", "--bm25-only", "--out", str(tmp_path / "a")]
    )
    assert first.exit_code == 0, first.output
    for suffix in ("json", "md", "png"):
        assert (tmp_path / "a" / f"mediqa2019.{suffix}").stat().st_size > 0
    data = json.loads((tmp_path / "a" / "mediqa2019.json").read_text())
    assert data["limit"] == 4 and data["run"]["settings"]["index"]["embedder"] == "none"
    second = runner.invoke(
        cli, ["eval", "mediqa2019", "--limit", "6", "--bm25-only", "--out", str(tmp_path / "b")]
    )
    assert second.exit_code == 0, second.output
    diff = runner.invoke(
        cli,
        [
            "eval",
            "compare",
            str(tmp_path / "a" / "mediqa2019.json"),
            str(tmp_path / "b" / "mediqa2019.json"),
        ],
    )
    assert diff.exit_code == 0, diff.output
    assert "mrr" in diff.output and "limit" in diff.output


def test_compare_rejects_a_file_that_is_not_a_result(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"schema": "something/1"}')
    result = CliRunner().invoke(cli, ["eval", "compare", str(bad), str(bad)])
    assert result.exit_code != 0
