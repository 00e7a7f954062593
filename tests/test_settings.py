"""Settings: documented, and applied in order — defaults, TOML file, environment, CLI flags."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from evident.config import IndexSettings, Settings, load_settings
from evident.errors import InvalidInput


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start every test without EVIDENT_ variables from the caller's shell."""
    for name in list(os.environ):
        if name.startswith("EVIDENT_"):
            monkeypatch.delenv(name)


def leaf_settings(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, object]]:
    """Yield (dotted name, FieldInfo) for every setting, descending into sections."""
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from leaf_settings(annotation, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", info


LEAVES = dict(leaf_settings(Settings))


def test_the_walk_finds_settings_in_every_section() -> None:
    sections = {name.split(".")[0] for name in LEAVES if "." in name}
    assert sections == {
        "store",
        "ingest",
        "index",
        "compose",
        "verify",
        "api",
        "generator",
        "mcp",
        "cds",
    }
    assert {"library", "index.bm25_k1", "ingest.max_file_mb"} <= set(LEAVES)


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_every_setting_has_a_description_and_a_default(name: str) -> None:
    info = LEAVES[name]

    assert (info.description or "").strip(), f"setting {name} has no description"  # type: ignore[attr-defined]
    assert not info.is_required(), f"setting {name} has no default"  # type: ignore[attr-defined]


def test_defaults_without_any_source() -> None:
    settings = load_settings()

    assert settings.index.bm25_k1 == 0.6
    assert settings.index.embedder == "minilm"
    assert settings.ingest.max_file_mb == 25.0
    assert settings.library.name == "library"


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EVIDENT_INDEX__BM25_K1", "1.7")
    monkeypatch.setenv("EVIDENT_INDEX__EMBEDDER", "none")
    monkeypatch.setenv("EVIDENT_INGEST__MAX_FILE_MB", "0.5")
    monkeypatch.setenv("EVIDENT_API__PUBLIC", "true")
    monkeypatch.setenv("EVIDENT_LIBRARY", str(tmp_path / "env-library"))

    settings = load_settings()

    assert settings.index.bm25_k1 == 1.7
    assert settings.index.embedder == "none"
    assert settings.ingest.max_file_mb == 0.5
    assert settings.api.public is True
    assert settings.library == tmp_path / "env-library"
    # Only the named settings change; their neighbours keep the defaults.
    assert settings.index.bm25_b == IndexSettings().bm25_b
    assert settings.ingest.passage_chars == 900


def write_toml(path: Path, library: Path) -> Path:
    path.write_text(
        f'library = "{library}"\n'
        "[index]\n"
        "bm25_k1 = 1.5\n"
        'embedder = "none"\n'
        "[ingest]\n"
        "passage_chars = 500\n",
        encoding="utf-8",
    )
    return path


def test_toml_file_named_by_evident_config_is_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = write_toml(tmp_path / "evident.toml", tmp_path / "toml-library")
    monkeypatch.setenv("EVIDENT_CONFIG", str(config))

    settings = load_settings()

    assert settings.index.bm25_k1 == 1.5
    assert settings.index.embedder == "none"
    assert settings.ingest.passage_chars == 500
    assert settings.library == tmp_path / "toml-library"
    assert settings.index.bm25_b == 1.0


def test_environment_wins_over_the_toml_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("EVIDENT_CONFIG", str(write_toml(tmp_path / "e.toml", tmp_path / "t")))
    monkeypatch.setenv("EVIDENT_INDEX__BM25_K1", "1.9")
    monkeypatch.setenv("EVIDENT_LIBRARY", str(tmp_path / "env-library"))

    settings = load_settings()

    assert settings.index.bm25_k1 == 1.9
    assert settings.index.embedder == "none", "the rest of the TOML [index] table still applies"
    assert settings.ingest.passage_chars == 500
    assert settings.library == tmp_path / "env-library"


def test_cli_overrides_win_over_environment_and_toml(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("EVIDENT_CONFIG", str(write_toml(tmp_path / "e.toml", tmp_path / "t")))
    monkeypatch.setenv("EVIDENT_LIBRARY", str(tmp_path / "env-library"))

    assert load_settings(library=tmp_path / "flag-library").library == tmp_path / "flag-library"
    # A flag that was not given (None) leaves the environment's value in place.
    assert load_settings(library=None).library == tmp_path / "env-library"


# -- bad settings: one clear message, nothing silently ignored ---------------------------


def test_missing_config_file_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    monkeypatch.setenv("EVIDENT_CONFIG", str(missing))

    with pytest.raises(InvalidInput) as info:
        load_settings()

    assert str(info.value) == (
        f"EVIDENT_CONFIG names {str(missing)!r}, which is not a file; "
        "fix the path or unset EVIDENT_CONFIG"
    )


def test_unparseable_environment_value_names_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EVIDENT_INDEX__BM25_K1", "high")

    with pytest.raises(InvalidInput) as info:
        load_settings()

    assert str(info.value) == (
        "invalid settings: setting index.bm25_k1 = 'high': Input should be a valid number, "
        "unable to parse string as a number. Fix them in the EVIDENT_CONFIG file or the "
        "EVIDENT_ environment variables (e.g. EVIDENT_INDEX__BM25_K1)"
    )


@pytest.mark.parametrize("source", ["toml", "env"])
def test_misspelt_setting_is_an_error_not_ignored(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, source: str
) -> None:
    if source == "toml":
        config = tmp_path / "typo.toml"
        config.write_text("[index]\nbm25_kl = 1.5\n", encoding="utf-8")
        monkeypatch.setenv("EVIDENT_CONFIG", str(config))
    else:
        monkeypatch.setenv("EVIDENT_INDEX__BM25_KL", "1.5")

    with pytest.raises(InvalidInput) as info:
        load_settings()

    assert str(info.value) == (
        "invalid settings: unknown setting 'index.bm25_kl'; check its spelling. Fix them in "
        "the EVIDENT_CONFIG file or the EVIDENT_ environment variables "
        "(e.g. EVIDENT_INDEX__BM25_KL)"
    )
