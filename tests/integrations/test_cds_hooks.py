"""CDS Hooks on a real `evident serve`: discovery, patient-view and order-select."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from evident.api import create_api
from evident.app import build_app
from evident.config import load_settings
from evident.web.session import COOKIE
from serving import PublishedDemo, serving

SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
PATIENT_ID = "patient-4471-xq"
HOOK_INSTANCE = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"


def condition(system: str, code: str, display: str, status: str = "active") -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": f"cond-{code}",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": status,
                }
            ]
        },
        "code": {"coding": [{"system": system, "code": code, "display": display}]},
    }


def medication(display: str, code: str = "197541", request_id: str = "med-1") -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": request_id,
        "status": "active",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": code, "display": display}]
        },
    }


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }


def request(
    hook: str,
    conditions: list[dict[str, Any]],
    medications: list[dict[str, Any]] = (),  # type: ignore[assignment]
    **context: Any,
) -> dict[str, Any]:
    return {
        "hook": hook,
        "hookInstance": HOOK_INSTANCE,
        "fhirServer": "https://ehr.example.org/fhir",
        "context": {"userId": "Practitioner/example", "patientId": PATIENT_ID, **context},
        "prefetch": {"conditions": bundle(*conditions), "medications": bundle(*medications)},
    }


GOUT = condition(SNOMED, "90560007", "Gout")
OSTEOMYELITIS = condition(ICD10CM, "M86.171", "Other acute osteomyelitis, right ankle and foot")
DIABETES = condition(
    ICD10CM, "E11.69", "Type 2 diabetes mellitus with other specified complication"
)
HYPERTENSION = condition(SNOMED, "38341003", "Hypertensive disorder, systemic arterial")
HALLUX_RIGIDUS = condition(ICD10CM, "M20.21", "Hallux rigidus, right foot")


@pytest.fixture(scope="module")
def served(
    published_demo: PublishedDemo, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    log = tmp_path_factory.mktemp("cds") / "serve.log"
    with serving(published_demo.env, log) as base:
        yield base
    # Nothing about the patient reaches the server log.
    assert PATIENT_ID not in log.read_text()


@pytest.fixture
def http(served: str, published_demo: PublishedDemo) -> Iterator[httpx.Client]:
    # The EHR is configured with a reader's API token.
    headers = {"Authorization": f"Bearer {published_demo.tokens['rita']}"}
    with httpx.Client(base_url=served, timeout=60, headers=headers) as client:
        yield client


def cards(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["cards"]
    return found


def test_discovery_lists_both_hooks_with_their_prefetch(http: httpx.Client) -> None:
    response = http.get("/cds-services", headers={"Authorization": ""})

    assert response.status_code == 200
    services = {s["id"]: s for s in response.json()["services"]}
    assert {s["hook"] for s in services.values()} == {"patient-view", "order-select"}
    for service in services.values():
        assert service["description"] and service["title"]
        assert service["prefetch"]["conditions"] == "Condition?patient={{context.patientId}}"
        assert service["prefetch"]["medications"].startswith("MedicationRequest?patient=")


def test_patient_view_for_gout_links_the_published_gout_article(
    http: httpx.Client, served: str, published_demo: PublishedDemo
) -> None:
    body = request(
        "patient-view", [GOUT, HYPERTENSION], [medication("colchicine 0.6 MG Oral Tablet")]
    )

    found = cards(http.post("/cds-services/evident-patient-view", json=body))

    assert len(found) == 1
    card = found[0]
    link = f"{served}/articles/{published_demo.published['gout']}"
    assert card["links"] == [
        {"label": "Open the full article in evident", "url": link, "type": "absolute"}
    ]
    assert card["source"] == {"label": "evident: Approved and published", "url": link}
    assert card["indicator"] == "info"
    assert card["summary"] == "Treatment of Gout Flare" and len(card["summary"]) <= 140
    detail = card["detail"]
    assert detail.startswith("**Bottom line:** ") and "[1]" in detail
    assert "**Review status:** Approved and published by bob on " in detail
    assert "the record lists 'Gout' (SNOMED CT 90560007), read as gout." in detail
    assert "The article names colchicine." in detail
    assert "**Sources:**" in detail and "\n1. " in detail
    # The link opens the article in the web app, for a clinician signed in to it.
    page = httpx.get(link, cookies={COOKIE: published_demo.tokens["rita"]}, timeout=30)
    assert page.status_code == 200 and "Treatment of Gout Flare" in page.text


def test_patient_view_for_diabetic_foot_osteomyelitis(
    http: httpx.Client, served: str, published_demo: PublishedDemo
) -> None:
    body = request("patient-view", [DIABETES, OSTEOMYELITIS])

    found = cards(http.post("/cds-services/evident-patient-view", json=body))

    links = [card["links"][0]["url"] for card in found]
    assert links == [f"{served}/articles/{published_demo.published['diabetic foot osteomyelitis']}"]
    assert found[0]["summary"] == "Treatment of Diabetic Foot Osteomyelitis"
    assert "read as diabetic foot osteomyelitis" in found[0]["detail"]


def test_both_conditions_give_one_card_each(
    http: httpx.Client, served: str, published_demo: PublishedDemo
) -> None:
    body = request("patient-view", [OSTEOMYELITIS, GOUT, DIABETES, HYPERTENSION])

    found = cards(http.post("/cds-services/evident-patient-view", json=body))

    assert [c["links"][0]["url"].rsplit("/", 1)[1] for c in found] == [
        published_demo.published["diabetic foot osteomyelitis"],
        published_demo.published["gout"],
    ]


def test_no_matching_condition_gives_no_cards(http: httpx.Client) -> None:
    body = request("patient-view", [HYPERTENSION])

    assert cards(http.post("/cds-services/evident-patient-view", json=body)) == []


def test_resolved_conditions_and_drafts_give_no_cards(http: httpx.Client) -> None:
    # Gout is resolved; hallux rigidus has only a draft article, which is never a card
    # unless cds.allow_drafts is set.
    body = request(
        "patient-view", [condition(SNOMED, "90560007", "Gout", "resolved"), HALLUX_RIGIDUS]
    )

    assert cards(http.post("/cds-services/evident-patient-view", json=body)) == []


def test_order_select_offers_the_article_that_names_the_selected_drug(
    http: httpx.Client, published_demo: PublishedDemo
) -> None:
    orders = bundle(medication("colchicine 0.6 MG Oral Tablet", request_id="order-1"))
    body = request(
        "order-select", [GOUT], selections=["MedicationRequest/order-1"], draftOrders=orders
    )
    other = bundle(medication("lisinopril 10 MG Oral Tablet", "314076", request_id="order-2"))
    unrelated = request(
        "order-select", [GOUT], selections=["MedicationRequest/order-2"], draftOrders=other
    )

    found = cards(http.post("/cds-services/evident-order-select", json=body))

    assert [c["links"][0]["url"].rsplit("/", 1)[1] for c in found] == [
        published_demo.published["gout"]
    ]
    assert "The article names colchicine." in found[0]["detail"]
    assert cards(http.post("/cds-services/evident-order-select", json=unrelated)) == []


def test_a_malformed_body_is_a_400_in_the_error_shape(http: httpx.Client) -> None:
    broken = http.post(
        "/cds-services/evident-patient-view",
        content=b'{"hook": "patient-view", "context": ',
        headers={"Content-Type": "application/json"},
    )
    missing = http.post("/cds-services/evident-patient-view", json={"hook": "patient-view"})

    assert broken.status_code == 400
    body = broken.json()
    assert set(body) == {"ok", "error", "errors", "status"}
    assert body["ok"] is False and body["status"] == 400
    assert body["error"].startswith("invalid CDS Hooks request: body: Invalid JSON")
    assert missing.status_code == 400
    assert missing.json() == {
        "ok": False,
        "error": "invalid CDS Hooks request: hookInstance: Field required; context: Field "
        "required; see GET /cds-services",
        "errors": [
            {"loc": ["hookInstance"], "message": "Field required", "type": "missing"},
            {"loc": ["context"], "message": "Field required", "type": "missing"},
        ],
        "status": 400,
    }


def test_a_wrong_hook_or_missing_prefetch_is_refused(http: httpx.Client) -> None:
    wrong = http.post("/cds-services/evident-order-select", json=request("patient-view", [GOUT]))
    no_prefetch = {**request("patient-view", [GOUT]), "prefetch": {}}
    missing = http.post("/cds-services/evident-patient-view", json=no_prefetch)

    assert wrong.status_code == 400
    assert wrong.json()["error"] == (
        "hook 'patient-view' was sent to evident-order-select, which serves 'order-select'"
    )
    assert missing.status_code == 412 and missing.json()["status"] == 412
    assert "prefetch 'conditions' is missing" in missing.json()["error"]
    unknown = http.post("/cds-services/other", json=request("patient-view", [GOUT]))
    assert unknown.status_code == 404
    assert unknown.json()["error"] == (
        "no CDS service 'other'; GET /cds-services lists: evident-patient-view, "
        "evident-order-select"
    )


def test_a_private_server_needs_a_token(served: str) -> None:
    response = httpx.post(
        f"{served}/cds-services/evident-patient-view",
        json=request("patient-view", [GOUT]),
        headers={"Authorization": "Bearer an.ehr.jwt"},
        timeout=30,
    )

    assert response.status_code == 401
    assert response.json()["error"].startswith("authentication required: configure the EHR")


def test_the_audit_keeps_which_article_was_offered_and_nothing_about_the_patient(
    http: httpx.Client, published_demo: PublishedDemo
) -> None:
    body = request("patient-view", [GOUT], [medication("colchicine 0.6 MG Oral Tablet")])
    assert cards(http.post("/cds-services/evident-patient-view", json=body))

    events = http.get(
        f"/api/v1/articles/{published_demo.published['gout']}/events",
        headers={"Authorization": f"Bearer {published_demo.tokens['bob']}"},
    ).json()["items"]
    offered = [e for e in events if e["action"] == "cds_card"]
    assert offered and offered[-1]["actor"] == "rita"
    assert offered[-1]["comment"] == "offered as a patient-view card"
    stored = b"".join(p.read_bytes() for p in published_demo.library.rglob("*") if p.is_file())
    for patient_data in (PATIENT_ID, HOOK_INSTANCE, "colchicine 0.6 MG", "SNOMED CT 90560007"):
        assert patient_data.encode() not in stored


def test_drafts_become_cards_only_when_allowed_and_say_pending_human_review(
    published_demo: PublishedDemo, tmp_path: Path
) -> None:
    body = request("patient-view", [HALLUX_RIGIDUS])
    token = {"Authorization": f"Bearer {published_demo.tokens['rita']}"}
    found: dict[bool, list[dict[str, Any]]] = {}
    for allow in (False, True):
        settings = load_settings(library=published_demo.library)
        settings.index.embedder = "none"
        settings.cds.allow_drafts = allow
        settings.cds.web_base_url = "https://evident.example.org/"
        app = build_app(settings)
        with TestClient(create_api(app)) as client:
            response = client.post("/cds-services/evident-patient-view", json=body, headers=token)
            assert response.status_code == 200, response.text
            found[allow] = response.json()["cards"]
        app.store.close()

    assert found[False] == []
    [card] = found[True]
    assert card["summary"].startswith("[Pending human review] ")
    assert card["indicator"] == "warning"
    assert card["source"]["label"] == "evident: pending human review"
    assert "**Review status:** Pending human review." in card["detail"]
    assert card["links"][0]["url"] == f"https://evident.example.org/articles/{published_demo.draft}"


def documented(marker: str) -> Any:
    """The JSON block that follows `<!-- marker -->` in docs/integrations.md."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "integrations.md").read_text()
    block = re.search(rf"<!-- {marker} -->\n```json\n(.*?)```", text, flags=re.S)
    assert block, marker
    return json.loads(block.group(1))


def test_the_documented_sample_request_gives_the_documented_cards(
    http: httpx.Client, served: str, published_demo: PublishedDemo
) -> None:
    expected = documented("cds-response")["cards"]

    found = cards(http.post("/cds-services/evident-patient-view", json=documented("cds-request")))

    assert [c["summary"] for c in found] == [c["summary"] for c in expected]
    assert [set(c) for c in found] == [set(c) for c in expected]
    assert [c["links"][0]["url"] for c in found] == [
        f"{served}/articles/{published_demo.published[name]}"
        for name in ("gout", "diabetic foot osteomyelitis")
    ]
    # The same text apart from the review date, which is the day the test library was built.
    assert [re.sub(r"on \d{4}-\d\d-\d\d", "", c["detail"]) for c in found] == [
        re.sub(r"on \d{4}-\d\d-\d\d", "", c["detail"]) for c in expected
    ]
