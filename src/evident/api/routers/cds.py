"""CDS Hooks: discovery, and the patient-view and order-select services.

The EHR sends the patient's conditions (FHIR Condition) and medications
(MedicationRequest) in `prefetch`; the service maps them to the library's conditions
(App.suggest_for_patient) and answers with at most three cards, each a reviewed
article's bottom line, its review status, its sources and a link to the article.

Nothing about the patient is stored or logged: the request is read in memory, and the
audit log records only which articles were offered, by which hook, to which caller.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evident.api.deps import AppDep
from evident.api.errors import error_response, validation_response
from evident.compose.render import STATUS_LABEL, number, reference_line
from evident.errors import InvalidInput, NotFound, Unauthenticated
from evident.index.codes import ClinicalTerm, Coding
from evident.models import ReviewStatus
from evident.review.records import ANONYMOUS, User
from evident.review.suggest import Suggestion

router = APIRouter(prefix="/cds-services", tags=["cds-hooks"])

_bearer = HTTPBearer(auto_error=False, description="An evident API token.")

PREFETCH = {
    "conditions": "Condition?patient={{context.patientId}}",
    "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
}
SERVICES: dict[str, dict[str, Any]] = {
    "evident-patient-view": {
        "hook": "patient-view",
        "id": "evident-patient-view",
        "title": "evident: reviewed articles on this patient's conditions",
        "description": "Up to three published evident articles about the patient's active "
        "conditions (SNOMED CT or ICD-10 with display text): each card gives the "
        "article's bottom line with its sources, its review status and a link to it.",
        "prefetch": PREFETCH,
    },
    "evident-order-select": {
        "hook": "order-select",
        "id": "evident-order-select",
        "title": "evident: reviewed articles on the selected medication",
        "description": "When a medication is selected, up to three published evident "
        "articles about the patient's conditions that name that medication.",
        "prefetch": PREFETCH,
    },
}
# Conditions that are not current, or were recorded in error, are not the patient's.
_INACTIVE = {"inactive", "remission", "resolved"}
_REFUTED = {"refuted", "entered-in-error"}


class _Fhir(BaseModel):
    model_config = ConfigDict(extra="allow")


class FhirCoding(_Fhir):
    system: str = ""
    code: str = ""
    display: str = ""


class FhirConcept(_Fhir):
    coding: list[FhirCoding] = Field(default_factory=list)
    text: str = ""

    def term(self) -> ClinicalTerm:
        codings = tuple(Coding(c.system, c.code, c.display) for c in self.coding)
        return ClinicalTerm(codings, self.text)


class FhirReference(_Fhir):
    concept: FhirConcept | None = None


class FhirResource(_Fhir):
    """The parts of a FHIR resource the services read (Bundle, Condition, MedicationRequest)."""

    resourceType: str  # FHIR field names, as sent
    id: str = ""
    entry: list[FhirEntry] = Field(default_factory=list)
    code: FhirConcept | None = None
    clinicalStatus: FhirConcept | None = None
    verificationStatus: FhirConcept | None = None
    medicationCodeableConcept: FhirConcept | None = None  # R4
    medication: FhirReference | None = None  # R5: a CodeableReference

    def resources(self) -> list[FhirResource]:
        """A Bundle's resources, or this resource alone."""
        if self.resourceType == "Bundle":
            return [e.resource for e in self.entry if e.resource is not None]
        return [self]


class FhirEntry(_Fhir):
    resource: FhirResource | None = None


FhirResource.model_rebuild()


class CdsContext(_Fhir):
    patientId: str = ""
    selections: list[str] | None = None
    draftOrders: FhirResource | None = None


class CdsRequest(_Fhir):
    """A CDS Hooks request; fields the services do not read are accepted and ignored."""

    hook: str
    hookInstance: str
    context: CdsContext
    prefetch: dict[str, FhirResource | None] = Field(default_factory=dict)


def cds_user(
    app: AppDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The caller: the user of an evident API token, else (on a public server) anyone.

    An EHR sends its own JWT, which is not an evident token; a public server answers it
    as an anonymous reader, a private one asks for an evident token.
    """
    user = app.authenticate(credentials.credentials) if credentials is not None else None
    if user is not None:
        return user
    if app.settings.api.public:
        return ANONYMOUS
    raise Unauthenticated(
        "authentication required: configure the EHR to send 'Authorization: Bearer TOKEN' "
        "with an evident API token (`evident users token NAME`), or serve with --public"
    )


CdsUser = Annotated[User, Depends(cds_user)]


@router.get("")
def discovery() -> dict[str, Any]:
    """CDS Hooks discovery: the services this server offers and the prefetch they need."""
    return {"services": list(SERVICES.values())}


# The body is parsed by the service itself (a malformed request is a 400, as CDS clients
# expect, not the API's 422), so its schema is given to OpenAPI here.
_REQUEST_SCHEMA = {
    "type": "object",
    "required": ["hook", "hookInstance", "context"],
    "properties": {
        "hook": {"type": "string", "enum": ["patient-view", "order-select"]},
        "hookInstance": {"type": "string"},
        "fhirServer": {"type": "string"},
        "context": {
            "type": "object",
            "description": "patientId; for order-select also selections and draftOrders.",
        },
        "prefetch": {
            "type": "object",
            "description": "conditions (a Bundle of Condition) and medications (a Bundle of "
            "MedicationRequest), as the discovery templates name them.",
        },
    },
}


@router.post(
    "/{service_id}",
    response_model=None,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _REQUEST_SCHEMA}},
        }
    },
)
async def call_service(
    service_id: str, request: Request, app: AppDep, user: CdsUser
) -> dict[str, Any] | JSONResponse:
    """Answer a patient-view or order-select request with at most three cards."""
    service = SERVICES.get(service_id)
    if service is None:
        raise NotFound(
            f"no CDS service {service_id!r}; GET /cds-services lists: {', '.join(SERVICES)}"
        )
    body = await request.body()
    try:
        parsed = CdsRequest.model_validate_json(body)
    except ValidationError as exc:
        return _invalid(exc)
    if parsed.hook != service["hook"]:
        raise InvalidInput(
            f"hook {parsed.hook!r} was sent to {service_id}, which serves {service['hook']!r}"
        )
    resources = parsed.prefetch.get("conditions")
    if resources is None:
        return error_response(
            412,
            "prefetch 'conditions' is missing: send the patient's Condition resources as "
            f"prefetch (template {PREFETCH['conditions']!r}); this service does not query "
            "the FHIR server itself",
        )
    conditions = [
        r.code.term()
        for r in resources.resources()
        if r.resourceType == "Condition" and r.code is not None and _current(r)
    ]
    if service["hook"] == "order-select":
        medications = _selected(parsed.context)
    else:
        medications = _medications(parsed.prefetch.get("medications"))
    found = app.suggest_for_patient(
        conditions,
        medications,
        require_mention=service["hook"] == "order-select",
        actor=user.name,
        hook=service["hook"],
    )
    base = app.settings.cds.web_base_url.rstrip("/") or str(request.base_url).rstrip("/")
    return {"cards": [_card(s, base) for s in found.suggestions]}


def _invalid(exc: ValidationError) -> JSONResponse:
    errors = exc.errors(include_input=False, include_url=False)
    return validation_response(
        400, list(errors), "invalid CDS Hooks request", hint="; see GET /cds-services"
    )


def _codes(concept: FhirConcept | None) -> set[str]:
    return {c.code for c in concept.coding} if concept is not None else set()


def _current(condition: FhirResource) -> bool:
    return not (
        _codes(condition.clinicalStatus) & _INACTIVE
        or _codes(condition.verificationStatus) & _REFUTED
    )


def _drug(resource: FhirResource) -> ClinicalTerm | None:
    if resource.resourceType != "MedicationRequest":
        return None
    concept = resource.medicationCodeableConcept or (
        resource.medication.concept if resource.medication is not None else None
    )
    return concept.term() if concept is not None else None


def _medications(bundle: FhirResource | None) -> list[ClinicalTerm]:
    if bundle is None:
        return []
    return [term for r in bundle.resources() if (term := _drug(r)) is not None]


def _selected(context: CdsContext) -> list[ClinicalTerm]:
    """The draft medication orders the clinician selected (all of them without selections)."""
    if context.draftOrders is None:
        return []
    chosen = set(context.selections or ())
    return [
        term
        for r in context.draftOrders.resources()
        if (not chosen or f"{r.resourceType}/{r.id}" in chosen) and (term := _drug(r)) is not None
    ]


def _card(suggestion: Suggestion, base: str) -> dict[str, Any]:
    """A CDS Hooks card: the bottom line with its sources, the review status and a link."""
    record, article = suggestion.stored.record, suggestion.stored.article
    label = STATUS_LABEL[record.status]
    reviewed = record.status in (ReviewStatus.PUBLISHED, ReviewStatus.APPROVED)
    n = number(article)
    lines = []
    cited: list[int] = []
    for statement in article.bottom_line:
        marks = n.marks(statement)
        cited += [m for m in marks if m not in cited]
        lines.append(f"{statement.text} {' '.join(f'[{m}]' for m in marks)}".strip())
    # Every unreviewed state's label already says "pending human review".
    status = label
    if record.reviewed_by and reviewed:
        status += f" by {record.reviewed_by}"
        if record.reviewed_at:
            status += f" on {record.reviewed_at:%Y-%m-%d}"
    match = suggestion.match
    detail = [
        "**Bottom line:** " + " ".join(lines),
        "",
        f"**Review status:** {status}.",
        "",
        f"**Why this card:** the record lists {match.term.label()!r} ({match.via}), "
        f"read as {match.concept.name}.",
    ]
    if suggestion.mentions:
        detail += ["", f"The article names {', '.join(suggestion.mentions)}."]
    references = {num: ref for _, members in n.groups for num, ref in members}
    if cited:
        detail += ["", "**Sources:**", ""]
        detail += [f"{m}. {reference_line(references[m])}" for m in sorted(cited)]
    link = f"{base}/articles/{record.article_id}"
    prefix = "" if reviewed else "[Pending human review] "
    summary = f"{prefix}{article.title}"
    if len(summary) > 140:
        summary = summary[:139].rstrip() + "…"
    return {
        "uuid": str(uuid.uuid4()),
        "summary": summary,
        "detail": "\n".join(detail),
        "indicator": "info" if reviewed else "warning",
        "source": {
            "label": f"evident: {label}" if reviewed else "evident: pending human review",
            "url": link,
        },
        "links": [{"label": "Open the full article in evident", "url": link, "type": "absolute"}],
    }
