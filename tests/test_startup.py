"""`evident` starts fast: heavy libraries are imported where they are used, not at start.

Timing belongs in the scale benchmark (CLI start, median of 10); this checks the cause
that made it slow (a module-level import of a heavy library) does not come back.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Each costs from a tenth of a second (bm25s via scipy.sparse) to a second (textstat via
# NLTK and scipy.stats); none is needed to parse a command line.
HEAVY_AT_START = (
    "textstat",
    "nltk",
    "scipy",
    "bm25s",
    "tantivy",
    "usearch",
    "onnxruntime",
    "fastapi",
    "uvicorn",
    "mcp",
    "torch",
    "tokenizers",
    "safetensors",
)
# Needed to search (tantivy, usearch, bm25s' tokenizer) but not to write or grade answers.
HEAVY_FOR_SEARCH = ("textstat", "nltk", "scipy.stats", "fastapi", "uvicorn", "mcp", "torch")


def _imported(code: str, names: tuple[str, ...]) -> list[str]:
    report = f"print(json.dumps([m for m in {list(names)!r} if m in sys.modules]))"
    probe = f"import json, sys\n{code}\n{report}"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    found: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def test_the_command_line_imports_no_heavy_library_to_start() -> None:
    assert _imported("import evident.cli", HEAVY_AT_START) == []


@pytest.mark.parametrize("argv", [["--help"], ["library", "--help"], ["search", "--help"]])
def test_help_imports_no_heavy_library(argv: list[str]) -> None:
    code = (
        "from evident.cli import cli\n"
        f"try:\n    cli({argv!r}, standalone_mode=False)\nexcept SystemExit:\n    pass"
    )
    assert _imported(code, HEAVY_AT_START) == []


def test_searching_loads_no_library_that_only_writing_answers_needs() -> None:
    assert _imported("import evident.app", HEAVY_FOR_SEARCH) == []
