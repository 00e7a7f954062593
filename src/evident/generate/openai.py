"""A generator for any OpenAI-compatible chat-completions endpoint (a hosted API, vLLM,
Ollama, llama.cpp's llama-server or llama-cpp-python's server).

The reply is streamed (server-sent events). Connection errors, timeouts, rate limits and
server errors before the first piece of the reply are retried with exponential backoff
while the budget (`generator.budget_s`) lasts; anything else raises GeneratorFailed at
once. The API key is read from the environment variable the settings name at each call
and is never stored.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from evident.config import GeneratorSettings
from evident.errors import GeneratorFailed

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
MAX_BACKOFF_S = 8.0


class OpenAIChatGenerator:
    """Streams chat completions from `{base_url}/chat/completions`."""

    name = "openai"

    def __init__(self, settings: GeneratorSettings) -> None:
        if not settings.base_url:
            raise GeneratorFailed(
                "no language model is configured: set generator.base_url "
                "(EVIDENT_GENERATOR__BASE_URL), e.g. http://127.0.0.1:11434/v1 for Ollama"
            )
        self.settings = settings
        self.url = settings.base_url.rstrip("/") + "/chat/completions"

    def describe(self) -> str:
        """The model and endpoint, for notes (never the key)."""
        return f"{self.settings.model or 'the model'} at {self.settings.base_url}"

    def _body(self, messages: Sequence[dict[str, str]], schema: dict[str, Any]) -> dict[str, Any]:
        s = self.settings
        body: dict[str, Any] = {
            "messages": list(messages),
            "stream": True,
            "max_tokens": s.max_tokens,
            "temperature": s.temperature,
        }
        if s.model:
            body["model"] = s.model
        if s.response_format == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "article", "schema": schema},
            }
        elif s.response_format == "json_object":
            body["response_format"] = {"type": "json_object", "schema": schema}
        return body

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream"}
        key = os.environ.get(self.settings.api_key_env, "") if self.settings.api_key_env else ""
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def stream(self, messages: Sequence[dict[str, str]], schema: dict[str, Any]) -> Iterator[str]:
        """Yield the reply's text as it arrives (see the module docstring for retries)."""
        s = self.settings
        started = time.monotonic()
        deadline = started + s.budget_s
        body = self._body(messages, schema)
        problem = ""
        for attempt in range(1, s.retries + 2):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            timeout = httpx.Timeout(min(s.timeout_s, remaining))
            retry_after: float | None = None
            received = False
            try:
                with (
                    httpx.Client(timeout=timeout, trust_env=False) as client,
                    client.stream("POST", self.url, json=body, headers=self._headers()) as reply,
                ):
                    if reply.status_code != 200:
                        detail = reply.read().decode("utf-8", "replace")[:200].strip()
                        problem = f"HTTP {reply.status_code}" + (f": {detail}" if detail else "")
                        if reply.status_code not in RETRY_STATUS:
                            raise GeneratorFailed(
                                f"the model server at {s.base_url} refused the request "
                                f"({problem}); check generator.base_url, generator.model "
                                f"and the key in ${s.api_key_env}"
                            )
                        retry_after = _seconds(reply.headers.get("retry-after"))
                    else:
                        for piece in _events(reply.iter_lines()):
                            if time.monotonic() > deadline:
                                raise GeneratorFailed(
                                    f"the model at {s.base_url} was still writing after the "
                                    f"{s.budget_s:g} s budget (generator.budget_s)"
                                )
                            received = True
                            yield piece
                        return
            except httpx.HTTPError as exc:
                if received:
                    raise GeneratorFailed(
                        f"the model server at {s.base_url} stopped mid-reply "
                        f"({type(exc).__name__}: {exc})"
                    ) from None
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if attempt > s.retries:
                break
            delay = min(MAX_BACKOFF_S, 0.5 * 2 ** (attempt - 1))
            if retry_after is not None:
                delay = retry_after
            if time.monotonic() + delay >= deadline:
                break
            time.sleep(delay)
        raise GeneratorFailed(
            f"the model server at {s.base_url} did not answer usefully after {attempt} "
            f"attempt(s) in {time.monotonic() - started:.1f} s ({problem or 'budget spent'}); "
            "check that it is running, or raise generator.timeout_s / generator.budget_s"
        )


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _events(lines: Iterator[str]) -> Iterator[str]:
    """The content pieces of a chat-completions event stream."""
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            event = json.loads(data)
        except json.JSONDecodeError:
            raise GeneratorFailed(
                f"the model server sent an event that is not JSON: {data[:120]!r}"
            ) from None
        if isinstance(event, dict) and "error" in event:
            raise GeneratorFailed(f"the model server reported an error: {event['error']!r}")
        try:
            choice = event["choices"][0]
        except (KeyError, IndexError, TypeError):
            raise GeneratorFailed(
                f"the model server sent an event without choices: {data[:120]!r}"
            ) from None
        content = (choice.get("delta") or {}).get("content")
        if content:
            yield str(content)
