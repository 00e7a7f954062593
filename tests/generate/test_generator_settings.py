"""Choosing the composer: settings, the environment and `evident ask --generator`."""

from __future__ import annotations

from pathlib import Path

import pytest

from evident.app import build_app
from evident.config import load_settings
from evident.generate.openai import OpenAIChatGenerator
from evident.localserver import free_port

QUESTION = "How is a gout flare treated?"


def test_the_generator_comes_from_the_environment(
    library_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert build_app(load_settings(library=library_dir)).generator is None
    monkeypatch.setenv("EVIDENT_GENERATOR__BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("EVIDENT_GENERATOR__MODEL", "llama3.1:8b")
    generator = build_app(load_settings(library=library_dir)).generator
    assert isinstance(generator, OpenAIChatGenerator)
    assert generator.url == "http://127.0.0.1:9/v1/chat/completions"
    assert generator.describe() == "llama3.1:8b at http://127.0.0.1:9/v1"
    monkeypatch.setenv("EVIDENT_GENERATOR__BACKEND", "none")
    assert build_app(load_settings(library=library_dir)).generator is None


def test_ask_generator_flag(  # type: ignore[no-untyped-def]
    run_cli, sample_docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli("ingest", str(sample_docs)).exit_code == 0
    result = run_cli("ask", QUESTION, "--generator", "openai")
    assert result.exit_code == 1
    assert "--generator openai needs a model endpoint: set EVIDENT_GENERATOR__BASE_URL" in (
        result.stderr
    )
    # A configured server that is down: the answer falls back and says so on stderr.
    monkeypatch.setenv("EVIDENT_GENERATOR__BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    monkeypatch.setenv("EVIDENT_GENERATOR__RETRIES", "0")
    result = run_cli("ask", QUESTION, "--format", "markdown")
    assert result.exit_code == 0
    assert "note: the language model's draft was not used" in result.stderr
    assert "its draft was not used" in result.stdout and "colchicine" in result.stdout
    result = run_cli("ask", QUESTION, "--format", "json", "--generator", "none")
    assert result.exit_code == 0 and '"composer": "extractive"' in result.stdout
    assert '"fallback": ""' in result.stdout and "note:" not in result.stderr
