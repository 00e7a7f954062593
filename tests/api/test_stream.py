"""POST /ask/stream: server-sent events, each statement after verification, article last."""

from __future__ import annotations

import json
from typing import Any

from api_helpers import API, QUESTION, auth
from fastapi.testclient import TestClient

from evident.app import App
from llm_helpers import ScriptedModel, passage_number, reply, settings, statement


def events(client: TestClient, token: str, **body: Any) -> list[tuple[str, dict[str, Any]]]:
    out = []
    with client.stream(
        "POST", f"{API}/ask/stream", headers=auth(token), json={"question": QUESTION, **body}
    ) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        name = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                out.append((name, json.loads(line[6:])))
    return out


def test_extractive_answer_streams_statements_then_the_article(
    client: TestClient, tokens: dict[str, str]
) -> None:
    got = events(client, tokens["rita"])
    names = [n for n, _ in got]
    assert names[-1] == "article" and set(names[:-1]) == {"statement"}
    article = got[-1][1]["article"]
    streamed = [d["statement"]["text"] for _, d in got[:-1]]
    in_article = [s["text"] for s in article["bottom_line"]] + [
        s["text"] for sec in article["sections"] for s in sec["statements"]
    ]
    assert streamed == in_article and article["composer"] == "extractive"
    assert got[0][1]["part"] == "bottom_line" and got[0][1]["statement"]["citations"]


def test_generated_answer_streams_verified_and_dropped_statements(
    lib: App, client: TestClient, tokens: dict[str, str]
) -> None:
    def write(user: str) -> str:
        n = passage_number(user, "colchicine")
        return reply(
            [statement("Gout flares are treated with colchicine, an NSAID or corticosteroid.", n)],
            {
                "Timing": [
                    statement(
                        "Treatment of a gout flare works best when started within 24 hours.", n
                    ),
                    statement("Gout flares are treated with leeches.", n),
                ]
            },
        )

    lib.generator = ScriptedModel(write)
    lib.settings.generator = settings()
    got = events(client, tokens["ann"], save=True)
    assert [n for n, _ in got] == ["statement", "statement", "dropped", "article"], got
    assert got[1][1]["heading"] == "Timing" and got[1][1]["part"] == "section"
    assert got[2][1]["text"] == "Gout flares are treated with leeches."
    assert "leeches" in got[2][1]["reason"]
    final = got[-1][1]
    assert final["article"]["composer"] == "llm" and final["info"]["status"] == "draft"
    assert final["article"]["removed"][0]["text"] == "Gout flares are treated with leeches."


def test_bad_input_is_an_ordinary_error_response(
    client: TestClient, tokens: dict[str, str]
) -> None:
    response = client.post(
        f"{API}/ask/stream", headers=auth(tokens["rita"]), json={"question": "???"}
    )
    assert response.status_code == 400
    assert "type a clinical question" in response.json()["error"]
    response = client.post(f"{API}/ask/stream", json={"question": QUESTION})
    assert response.status_code == 401
