"""A scripted stand-in for the language model (not for any evident component): it replies
with fixed or prompt-dependent JSON, in small pieces as a streaming server would."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from evident.config import GeneratorSettings

Reply = str | Callable[[str], str]


class ScriptedModel:
    """Replies with `reply` (or reply(user_message)); records every prompt it is sent."""

    name = "scripted"

    def __init__(self, reply: Reply, piece: int = 7) -> None:
        self.reply = reply
        self.piece = piece
        self.prompts: list[list[dict[str, str]]] = []

    def describe(self) -> str:
        return "scripted test model"

    def stream(self, messages: Sequence[dict[str, str]], schema: dict[str, Any]) -> Iterator[str]:
        self.prompts.append(list(messages))
        text = self.reply(messages[-1]["content"]) if callable(self.reply) else self.reply
        for i in range(0, len(text), self.piece):
            yield text[i : i + self.piece]


def passage_number(user_message: str, needle: str) -> int:
    """The number of the prompt passage whose text contains needle."""
    for match in re.finditer(r'<passage n="(\d+)"[^>]*>\n(.*?)\n</passage>', user_message, re.S):
        if needle.lower() in match.group(2).lower():
            return int(match.group(1))
    raise AssertionError(f"no passage in the prompt contains {needle!r}")


def statement(text: str, *cites: int) -> dict[str, Any]:
    return {"text": text, "cites": list(cites)}


def reply(bottom: list[dict[str, Any]], sections: dict[str, list[dict[str, Any]]]) -> str:
    return json.dumps(
        {
            "bottom_line": bottom,
            "sections": [{"heading": h, "statements": s} for h, s in sections.items()],
        }
    )


def settings(**overrides: Any) -> GeneratorSettings:
    return GeneratorSettings(base_url="http://scripted.invalid/v1", **overrides)
