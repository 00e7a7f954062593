"""Settings: defaults, then a TOML file, then EVIDENT_* environment variables, then CLI flags."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from evident.errors import InvalidInput


def default_library_dir() -> Path:
    """Return the user's data directory for the library (EVIDENT_LIBRARY overrides it)."""
    return Path(platformdirs.user_data_dir("evident")) / "library"


class IngestSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt setting is an error

    max_file_mb: float = Field(25.0, description="Files larger than this are refused (MB).")
    passage_chars: int = Field(900, description="Target passage length in characters.")
    passage_max_chars: int = Field(1400, description="A passage never grows past this.")


class StoreSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt setting is an error

    url: str = Field(
        "",
        description="Where the library's records live: empty for the SQLite file in the "
        "library directory, or postgresql://USER:PASSWORD@HOST:PORT/DATABASE (needs the "
        "postgres extra).",
    )
    pool_size: int = Field(
        10, ge=1, description="Most PostgreSQL connections one evident process holds."
    )

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if value and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "use an empty url for the SQLite file in the library directory, or "
                "postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
            )
        return value


class IndexSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt setting is an error

    embedder: str = Field(
        "minilm", description="Embedder backend name ('minilm', or 'none' for BM25 only)."
    )
    embed_batch: int = Field(64, description="Passages embedded per batch.")
    embed_runtime: Literal["onnx-int8", "onnx", "numpy"] = Field(
        "onnx-int8",
        description="How the bundled MiniLM runs: 'onnx-int8' (onnxruntime, int8 weight "
        "products; fastest), 'onnx' (float) or 'numpy' (the reference; slowest).",
    )
    # k1 0.6 and b 1.0 (were 1.2 and 0.75): a term repeated within a passage counts for
    # less and a long passage does not win on length alone. Chosen on BioASQ 7B-9B
    # together with the stop words in index/lexical.py; see docs/benchmarks.md.
    bm25_k1: float = Field(0.6, description="BM25 term-frequency saturation.")
    bm25_b: float = Field(1.0, description="BM25 length normalisation.")
    # 300 rather than 100: score fusion scales each list between its best and its last
    # score, and a deeper list gives a steadier floor (BioASQ 7B-9B nDCG@10 +0.003).
    candidates: int = Field(300, description="Passages each retriever hands to fusion.")
    fusion: Literal["scores", "rrf"] = Field(
        "scores",
        description="How rankings combine: 'scores' (weighted sum of min-max scaled "
        "scores, keeps score gaps) or 'rrf' (reciprocal-rank fusion with rrf_k).",
    )
    rrf_k: int = Field(60, description="Reciprocal-rank-fusion constant (fusion 'rrf').")
    dense_feedback: float = Field(
        0.7,
        description="Pseudo-relevance feedback: weight of the top hits' mean vector added "
        "to the query vector for a second dense search (0 switches it off).",
    )
    lexical_weight: float = Field(1.0, description="Weight of the BM25 ranking in fusion.")
    dense_weight: float = Field(1.0, description="Weight of the dense ranking in fusion.")
    kind_prior: float = Field(
        0.1, description="How strongly evidence kind reorders hits (0 switches it off)."
    )
    recency_prior: float = Field(
        0.05, description="How strongly recent documents are preferred (0 switches it off)."
    )
    # 0.6: a second passage from a document already listed must beat the next document's
    # best passage clearly; spreading across studies is what a reader of the top ten wants
    # (BioASQ 7B-9B nDCG@10 +0.004 over 0.75).
    mmr_lambda: float = Field(
        0.6, description="MMR trade-off: 1 is pure relevance, lower spreads across documents."
    )
    max_per_document: int = Field(3, description="At most this many hits from one document.")
    # The relevance cross-encoder reads question and passage together; it costs about as
    # much per passage as embedding one, so it sees only the best fused candidates. 10, not
    # 30: on 300 BioASQ questions depth 30 added 0.006 nDCG@10 over BM25 for 1.8 s a search
    # on two cores (bench/results/rerank.json); depth 10 costs 0.4 s.
    rerank_depth: int = Field(
        10,
        description="Fused candidates the relevance model reranks before the priors and "
        "MMR (0 switches reranking off).",
    )
    relevance_model_dir: str = Field(
        "",
        description="Folder of the relevance model (weights.safetensors and stamp.json); "
        "empty uses the model shipped with evident.",
    )
    vocab_paths: list[Path] = Field(
        default_factory=list,
        description="OBO vocabularies (Disease Ontology, HPO) used for query expansion.",
    )
    backend: Literal["embedded", "milvus"] = Field(
        "embedded",
        description="Where passages, BM25 and vectors are searched: 'embedded' (an index "
        "folder in the library) or 'milvus' (a Milvus collection; the milvus extra).",
    )
    milvus_uri: str = Field(
        "",
        description="Milvus server for backend 'milvus' (http://HOST:19530); empty means "
        "Milvus Lite in the file milvus.db in the library directory.",
    )
    milvus_collection: str = Field(
        "evident_passages", description="The Milvus collection that holds the passages."
    )
    milvus_shards: int = Field(
        1, ge=1, description="Shards of a new Milvus collection (spreads writes over nodes)."
    )
    milvus_replicas: int = Field(
        1, ge=1, description="In-memory replicas Milvus loads (spreads searches over nodes)."
    )
    milvus_index_type: str = Field(
        "AUTOINDEX",
        description="Milvus vector index type (AUTOINDEX, HNSW, IVF_FLAT, FLAT, ...).",
    )


class ComposeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt setting is an error

    passages: int = Field(30, description="Passages retrieved to write an article.")
    # The search list spreads its ten hits across documents (index.mmr_lambda). An article
    # reads thirty passages, and at that depth the same strong spreading pushed the second
    # passage of the most relevant document (the treatment section of the chapter that
    # answers the question) behind passages from thirty weaker documents.
    mmr_lambda: float = Field(
        0.8,
        description="MMR trade-off when gathering an article's passages (index.mmr_lambda "
        "is for search lists); index.max_per_document still caps each document.",
    )
    min_passages: int = Field(
        2, description="Fewer on-condition passages than this and the article abstains."
    )
    # Probabilities from the relevance model (evident.relevance), calibrated on held-out
    # question-passage pairs; see docs/models.md.
    min_relevance: float = Field(
        0.2,
        description="Relevance-model probability that a passage answers the question, "
        "needed for it to count as evidence when the question names no condition the "
        "vocabulary knows (named conditions hold passages to themselves instead).",
    )
    answer_threshold: float = Field(
        0.5,
        description="The best passage must reach this relevance-model probability, or the "
        "article abstains (the library cannot answer).",
    )
    named_answer_threshold: float = Field(
        0.3,
        description="The answer threshold when the question names a condition the "
        "vocabulary knows (its passages must also be about that condition).",
    )
    scored_sentences: int = Field(
        40, description="Candidate sentences the relevance model reads per question part."
    )
    bullets_per_section: int = Field(5, description="At most this many statements a section.")


class VerifySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt setting is an error

    support_threshold: float = Field(
        0.5,
        description="Probability of 'supports' (from the claim-support model) a statement "
        "needs to stay in the article or for an edit to be accepted.",
    )
    model_dir: str = Field(
        "",
        description="Folder of a claim-support model built by `evident models train`; "
        "empty means the model that ships with evident.",
    )


class ApiSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt setting is an error

    host: str = Field("127.0.0.1", description="Address evident serve binds to.")
    port: int = Field(8000, description="Port evident serve listens on.")
    public: bool = Field(False, description="Let unauthenticated visitors read published articles.")
    max_upload_mb: float = Field(20.0, description="Largest document upload accepted (MB).")
    token_days: float = Field(
        90.0,
        description="API tokens issued from now on expire after this many days (0: never); "
        "issue a new one with `evident users token NAME`.",
    )
    session_hours: float = Field(
        12.0, description="A web sign-in lasts this many hours; signing out ends it at once."
    )
    signin_attempts: int = Field(
        10,
        description="Failed web sign-ins allowed from one client address within "
        "signin_window_s; further attempts are refused with 429 until the window passes.",
    )
    signin_window_s: float = Field(
        300.0, description="The window (seconds) over which failed sign-ins are counted."
    )


class McpSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt setting is an error

    host: str = Field(
        "127.0.0.1", description="Address `evident mcp --http` binds to (stdio needs none)."
    )
    port: int = Field(8765, description="Port `evident mcp --http` listens on.")
    path: str = Field("/mcp", description="URL path of the streamable HTTP endpoint.")


class CdsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt setting is an error

    allow_drafts: bool = Field(
        False,
        description="Let CDS Hooks cards show articles that no reviewer has approved yet "
        "(labelled 'pending human review'); off, only published articles become cards.",
    )
    web_base_url: str = Field(
        "",
        description="Base URL of the web app that card links point to (e.g. "
        "https://evident.example.org); empty uses the address the request came to.",
    )


class GeneratorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt setting is an error

    base_url: str = Field("", description="OpenAI-compatible endpoint; empty means extractive.")
    model: str = Field("", description="Model name sent to the endpoint.")
    api_key_env: str = Field(
        "EVIDENT_GENERATOR_KEY", description="Environment variable holding the API key."
    )
    timeout_s: float = Field(60.0, description="Timeout for one model call (seconds).")
    retries: int = Field(2, description="Retries after a timeout or rate limit.")
    budget_s: float = Field(
        180.0,
        description="Total time for one article's generation, retries and backoff included; "
        "past it the article is composed extractively.",
    )
    backend: str = Field("openai", description="Generator backend used when base_url is set.")
    response_format: Literal["json_schema", "json_object", "none"] = Field(
        "json_schema",
        description="How the reply's JSON shape is requested: 'json_schema' (OpenAI, vLLM, "
        "Ollama, llama.cpp llama-server), 'json_object' with the schema attached "
        "(llama-cpp-python's server), or 'none' (the prompt alone).",
    )
    max_tokens: int = Field(1024, description="Most tokens the model may write per article.")
    temperature: float = Field(0.0, description="Sampling temperature.")
    passages: int = Field(8, description="Numbered evidence passages given to the model.")
    passage_chars: int = Field(1000, description="Each passage is cut to this many characters.")
    min_statements: int = Field(
        2,
        description="Fewer verified statements than this (or no verified bottom line) and "
        "the article is composed extractively instead.",
    )


class Settings(BaseSettings):
    """All settings, one section per stage."""

    model_config = SettingsConfigDict(
        env_prefix="EVIDENT_", env_nested_delimiter="__", extra="forbid"
    )

    library: Path = Field(
        default_factory=default_library_dir,
        description="Library directory (EVIDENT_LIBRARY); holds the database and indexes.",
    )
    store: StoreSettings = Field(default_factory=StoreSettings)  # type: ignore[arg-type]
    ingest: IngestSettings = Field(default_factory=IngestSettings)  # type: ignore[arg-type]
    index: IndexSettings = Field(default_factory=IndexSettings)  # type: ignore[arg-type]
    compose: ComposeSettings = Field(default_factory=ComposeSettings)  # type: ignore[arg-type]
    verify: VerifySettings = Field(default_factory=VerifySettings)  # type: ignore[arg-type]
    api: ApiSettings = Field(default_factory=ApiSettings)  # type: ignore[arg-type]
    generator: GeneratorSettings = Field(default_factory=GeneratorSettings)  # type: ignore[arg-type]
    mcp: McpSettings = Field(default_factory=McpSettings)  # type: ignore[arg-type]
    cds: CdsSettings = Field(default_factory=CdsSettings)  # type: ignore[arg-type]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Highest priority first: CLI flags (init), environment, then the TOML file.
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml = os.environ.get("EVIDENT_CONFIG")
        if toml:
            if not Path(toml).is_file():
                raise InvalidInput(
                    f"EVIDENT_CONFIG names {toml!r}, which is not a file; "
                    "fix the path or unset EVIDENT_CONFIG"
                )
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml)))
        return tuple(sources)


def load_settings(**overrides: Any) -> Settings:
    """Build settings; keyword overrides (from CLI flags) win over every other source."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)
    except ValidationError as exc:
        raise InvalidInput(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    """One line naming each bad setting, its value and where it can be fixed."""
    problems = []
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"])
        env = "EVIDENT_" + "__".join(str(part) for part in error["loc"]).upper()
        if error["type"] == "extra_forbidden":
            problems.append(f"unknown setting {name!r}; check its spelling")
        else:
            problems.append(f"setting {name} = {error['input']!r}: {error['msg']}")
    return (
        "invalid settings: " + "; ".join(problems) + ". Fix them in the EVIDENT_CONFIG file "
        f"or the EVIDENT_ environment variables (e.g. {env})"
    )
