"""The OpenAI-compatible generator against small real HTTP servers started by the test
(fake model servers): retries and backoff within the budget, timeouts, refusals, garbage,
the API key from the environment; and the article's fallback note when all of it fails."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from evident.app import App
from evident.config import GeneratorSettings
from evident.errors import GeneratorFailed
from evident.generate.openai import OpenAIChatGenerator
from evident.localserver import free_port

QUESTION = "How is a gout flare treated?"
SCHEMA: dict[str, Any] = {"type": "object"}
MESSAGES = [{"role": "user", "content": "hi"}]


def sse(*pieces: str) -> bytes:
    events = [
        "data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": p}}]}) + "\n\n"
        for p in pieces
    ]
    return ("".join(events) + "data: [DONE]\n\n").encode()


class FakeModelServer:
    """Answers each POST with the next scripted (status, headers, body, delay) step."""

    def __init__(self, steps: list[tuple[int, dict[str, str], bytes, float]]) -> None:
        self.steps = steps
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length))
                outer.requests.append((dict(self.headers), body))
                status, headers, payload, delay = outer.steps[
                    min(len(outer.requests), len(outer.steps)) - 1
                ]
                time.sleep(delay)
                try:
                    self.send_response(status)
                    for k, v in {"content-type": "text/event-stream", **headers}.items():
                        self.send_header(k, v)
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FakeModelServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake(request: pytest.FixtureRequest) -> Iterator[FakeModelServer]:
    with FakeModelServer(request.param) as server:
        yield server


def generator(base_url: str, **overrides: Any) -> OpenAIChatGenerator:
    values: dict[str, Any] = {"base_url": base_url, "model": "m", "timeout_s": 5.0, **overrides}
    return OpenAIChatGenerator(GeneratorSettings(**values))


@pytest.mark.parametrize(
    "fake",
    [[(429, {"retry-after": "0"}, b"slow down", 0.0), (200, {}, sse('{"a"', ": 1}"), 0.0)]],
    indirect=True,
)
def test_rate_limit_is_retried_and_the_reply_streams(
    fake: FakeModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_MODEL_KEY", "sekret")
    gen = generator(fake.base_url, api_key_env="TEST_MODEL_KEY", response_format="json_object")
    assert "".join(gen.stream(MESSAGES, SCHEMA)) == '{"a": 1}'
    assert len(fake.requests) == 2
    headers, body = fake.requests[-1]
    assert headers["Authorization"] == "Bearer sekret"
    assert body["stream"] is True and body["model"] == "m" and body["messages"] == MESSAGES
    assert body["response_format"] == {"type": "json_object", "schema": SCHEMA}
    assert "sekret" not in repr(gen.__dict__)


def test_unreachable_server_is_retried_within_the_budget_then_fails() -> None:
    gen = generator(f"http://127.0.0.1:{free_port()}/v1", retries=2, budget_s=10)
    started = time.monotonic()
    with pytest.raises(GeneratorFailed, match=r"after 3 attempt\(s\).*ConnectError"):
        list(gen.stream(MESSAGES, SCHEMA))
    assert 1.4 <= time.monotonic() - started < 5  # backoff 0.5 s + 1 s


def test_a_budget_shorter_than_the_backoff_stops_the_retries() -> None:
    gen = generator(f"http://127.0.0.1:{free_port()}/v1", retries=5, budget_s=0.7)
    started = time.monotonic()
    with pytest.raises(GeneratorFailed, match=r"after 2 attempt\(s\)"):
        list(gen.stream(MESSAGES, SCHEMA))
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize("fake", [[(200, {}, sse("{}"), 3.0)]], indirect=True)
def test_a_server_slower_than_the_timeout_is_given_up_on(fake: FakeModelServer) -> None:
    gen = generator(fake.base_url, timeout_s=0.5, retries=1, budget_s=20)
    started = time.monotonic()
    with pytest.raises(GeneratorFailed, match=r"after 2 attempt\(s\).*ReadTimeout"):
        list(gen.stream(MESSAGES, SCHEMA))
    # Two 3 s replies waited for in full would take 6 s.
    assert time.monotonic() - started < 4.5
    assert len(fake.requests) == 2


@pytest.mark.parametrize(
    "fake",
    [[(401, {"content-type": "application/json"}, b'{"error": "bad key"}', 0.0)]],
    indirect=True,
)
def test_a_refusal_is_not_retried(fake: FakeModelServer) -> None:
    with pytest.raises(GeneratorFailed, match=r"refused the request \(HTTP 401: .*bad key"):
        list(generator(fake.base_url).stream(MESSAGES, SCHEMA))
    assert len(fake.requests) == 1


@pytest.mark.parametrize("fake", [[(200, {}, b"data: <html>oops</html>\n\n", 0.0)]], indirect=True)
def test_an_event_stream_that_is_not_json_is_rejected(fake: FakeModelServer) -> None:
    with pytest.raises(GeneratorFailed, match="sent an event that is not JSON"):
        list(generator(fake.base_url).stream(MESSAGES, SCHEMA))


@pytest.mark.parametrize(
    "fake",
    [[(200, {}, sse("Sure! Colchicine treats ", "gout flares [1]."), 0.0)]],
    indirect=True,
)
def test_garbage_from_the_model_gives_the_extractive_article_with_a_note(
    lib: App, fake: FakeModelServer
) -> None:
    lib.settings.generator = GeneratorSettings(base_url=fake.base_url, model="m")
    lib.generator = OpenAIChatGenerator(lib.settings.generator)
    article = lib.ask(QUESTION)
    assert article.composer == "extractive" and article.bottom_line
    assert "the model's reply is not JSON" in article.fallback
    assert any(f"m at {fake.base_url}" in n and "draft was not used" in n for n in article.notes)


def test_server_down_gives_the_extractive_article_with_a_note(lib: App) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    lib.settings.generator = GeneratorSettings(base_url=url, retries=1, budget_s=5)
    lib.generator = OpenAIChatGenerator(lib.settings.generator)
    started = time.monotonic()
    article = lib.ask(QUESTION)
    assert time.monotonic() - started < 5
    assert article.composer == "extractive" and article.bottom_line
    assert "after 2 attempt(s)" in article.fallback and "ConnectError" in article.fallback
    assert any("check that it is running" in n for n in article.notes)


@pytest.mark.parametrize("fake", [[(200, {}, sse('{"b": 2}'), 0.0)]], indirect=True)
def test_the_default_asks_for_openai_structured_output_without_a_key(
    fake: FakeModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVIDENT_GENERATOR_KEY", raising=False)
    assert "".join(generator(fake.base_url).stream(MESSAGES, SCHEMA)) == '{"b": 2}'
    headers, body = fake.requests[0]
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "article", "schema": SCHEMA},
    }
    assert "Authorization" not in headers
