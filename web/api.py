"""The JSON API (/api/v1): every read and command of the contract, for partners and scripts.

Routes stay thin: parse the body (pydantic models in web/api_models.py), call one use case of the
application service, wait until the read models include the new event (read-your-writes), answer.
Errors are answered in one place (`error_response`), always as {"error": {"code", "message"}}:
the domain's refusals, FastAPI's validation errors, unknown routes, anonymous calls, big bodies.
"""

# No `from __future__ import annotations` here: the command routes are built from a table, and
# FastAPI must see each body model as a real class in the endpoint's signature.

from collections.abc import Callable, Coroutine
from contextlib import suppress
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import AwareDatetime
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, TransitionRefused
from domain.lifecycle import is_overdue
from projections.readmodels import ReadModels
from tracker.application import CommandResult, Principal
from tracker.settings import Settings
from web import api_models as m
from web.audit import Auditor
from web.deps import (
    CurrentPrincipal,
    FreshReadModelsDep,
    NotSignedIn,
    ProofsDep,
    ReadModelsDep,
    SettingsDep,
    TrackerDep,
)
from web.reading import ledger_summary, party_filter
from web.security import CSRFError

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 1_000_000

# --- errors ----------------------------------------------------------------------------------------

DOMAIN_STATUS: dict[type[DomainError], int] = {
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    InvalidInput: 422,
    TransitionRefused: 409,
}
HTTP_CODES = {400: "bad_request", 401: "not_signed_in", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "bad_media_type",
              422: "invalid"}


def error_json(status: int, code: str, message: str, field: str | None = None,
               headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> tuple[int, str, str, str | None]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, "bad_request", "the request body is not valid JSON", None
    parts, field = [], None
    for error in errors[:3]:
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "header")]
        where = ".".join(loc) or "body"
        field = field or (loc[-1] if loc else None)
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return 422, "invalid", "; ".join(parts) + more, field


def error_response(exc: Exception, request: Request | None = None) -> JSONResponse | None:
    """The JSON answer for an error raised while serving an API request (None: not ours)."""
    if isinstance(exc, CSRFError):
        signed_in = request is not None and "session" in request.scope and \
            request.session.get("account_id")
        if not signed_in:  # no session to protect: the caller simply is not signed in
            return error_response(NotSignedIn())
        return error_json(403, "csrf", "a request signed in by the session cookie must carry "
                          "the CSRF token (X-CSRF-Token); scripts should use a bearer token")
    if isinstance(exc, DomainError):
        status = next((s for cls, s in DOMAIN_STATUS.items() if isinstance(exc, cls)), 422)
        return error_json(status, exc.code, exc.message, getattr(exc, "field", None))
    if isinstance(exc, NotSignedIn):
        return error_json(401, "not_signed_in",
                          "sign in or send an API token as 'Authorization: Bearer TOKEN'",
                          headers={"WWW-Authenticate": "Bearer"})
    if isinstance(exc, RequestValidationError):
        status, code, message, field = _validation_message(exc)
        return error_json(status, code, message, field)
    if isinstance(exc, StarletteHTTPException) and 400 <= exc.status_code < 500:
        message = exc.detail if isinstance(exc.detail, str) else "the request was refused"
        return error_json(exc.status_code, HTTP_CODES.get(exc.status_code, "refused"), message,
                          headers=dict(exc.headers or {}))
    return None


async def _body_too_large(request: Request) -> bool:
    """Read the body up to the limit (it stays cached on the request); True if it is bigger."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        return True
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return False
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return True
        chunks.append(chunk)
    request._body = b"".join(chunks)  # what request.body() returns from now on
    return False


class ApiRoute(APIRoute):
    """An API route whose errors, body-size limit included, are answered by `error_response`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            if await _body_too_large(request):
                return error_json(413, "too_large",
                                  f"the request body is over the limit of {MAX_BODY_BYTES} bytes")
            try:
                return await handler(request)
            except Exception as exc:
                response = error_response(exc, request)
                if response is None:
                    raise
                return response

        return guarded


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": m.ErrorBody, "description": description}
    for status, description in (
        (400, "the body is not valid JSON"),
        (401, "no valid session or token"),
        (403, "this account may not do this"),
        (404, "no such record"),
        (409, "stale expected_version, or the action is not allowed in this status"),
        (413, "the body is too large"),
        (422, "a value is missing or not acceptable"),
    )
}

# --- helpers ---------------------------------------------------------------------------------------

COMMAND_FIELDS = {"expected_version", "occurred_on", "note"}


def _meta_of(body: m.Command) -> dict[str, Any]:
    return {"expected_version": body.expected_version, "occurred_on": body.occurred_on,
            "note": body.note}


def _fields_of(body: m.Command) -> dict[str, Any]:
    return body.model_dump(exclude=COMMAND_FIELDS, exclude_none=True)


def _answer(result: CommandResult, read_models: ReadModels, settings: Settings) -> dict[str, Any]:
    """Wait until the read models include the command's event, then answer what it did."""
    # If the views lag, the change is still stored: answer anyway, the position says where to look.
    with suppress(TimeoutError):
        read_models.wait_for(result.position, timeout=settings.read_your_writes_timeout)
    return {"id": result.id, "version": result.version, "position": result.position,
            **result.extra}


def _check_reader(principal: Principal, dialogue_id: str) -> None:
    if not principal.can_read(dialogue_id):
        raise Forbidden("you are not a member of this dialogue")


def _readable_dialogue(read_models: ReadModels, principal: Principal, slug: str) -> dict[str, Any]:
    dialogue = read_models.dialogue(slug)
    if dialogue is None:
        raise NotFound(f"no dialogue is called {slug[:60]!r}")
    _check_reader(principal, dialogue["id"])
    return dialogue


def commitment_out(state: dict[str, Any], dialogue: dict[str, Any] | None,
                   today: date) -> dict[str, Any]:
    """A commitment's state (now or in the past) in the contract's shape."""
    parties = {p["id"]: p["name"] for p in (dialogue or {}).get("parties", [])}
    return {
        **state,
        "dialogue": {"id": state["dialogue_id"], "slug": (dialogue or {}).get("slug"),
                     "name": (dialogue or {}).get("name")},
        "responsible_party_name": parties.get(state.get("responsible_party") or ""),
        "overdue": is_overdue(state["status"], state.get("due_date"), today),
    }


# --- the routers -----------------------------------------------------------------------------------

v1 = APIRouter(prefix=API_PREFIX, route_class=ApiRoute, responses=ERROR_RESPONSES)
router = APIRouter()  # v1 plus the JSON 404 for every other path under /api


# dialogues ------------------------------------------------------------------------------------------

@v1.get("/dialogues", response_model=list[m.DialogueOut], tags=["dialogues"])
def list_dialogues(principal: CurrentPrincipal, read_models: FreshReadModelsDep) -> list[dict[str, Any]]:
    """The dialogues this account can read (every one for auditors and admins)."""
    return [d for d in read_models.dialogues() if principal.can_read(d["id"])]


@v1.get("/dialogues/{slug}", response_model=m.DialogueOut, tags=["dialogues"])
def get_dialogue(slug: str, principal: CurrentPrincipal, read_models: FreshReadModelsDep) -> dict[str, Any]:
    return _readable_dialogue(read_models, principal, slug)


@v1.post("/dialogues", response_model=m.CommandAnswer, status_code=201, tags=["dialogues"])
def create_dialogue(body: m.DialogueCreate, principal: CurrentPrincipal, tracker: TrackerDep,
                    read_models: ReadModelsDep, settings: SettingsDep) -> dict[str, Any]:
    """Start a dialogue (administrators)."""
    result = tracker.create_dialogue(principal, slug=body.slug, name=body.name, country=body.country,
                                     locality=body.locality, description=body.description,
                                     occurred_on=body.occurred_on, note=body.note)
    return _answer(result, read_models, settings)


@v1.post("/dialogues/{slug}/parties", response_model=m.PartyAdded, status_code=201,
         tags=["dialogues"])
def add_party(slug: str, body: m.PartyAdd, principal: CurrentPrincipal, tracker: TrackerDep,
              read_models: ReadModelsDep, settings: SettingsDep) -> dict[str, Any]:
    """Add a party to a dialogue (administrators)."""
    result = tracker.add_party(principal, slug, name=body.name, kind=body.kind, **_meta_of(body))
    return _answer(result, read_models, settings)


# cases ----------------------------------------------------------------------------------------------

@v1.post("/dialogues/{slug}/cases", response_model=m.CommandAnswer, status_code=201, tags=["cases"])
def raise_case(slug: str, body: m.CaseRaise, principal: CurrentPrincipal, tracker: TrackerDep,
               read_models: ReadModelsDep, settings: SettingsDep) -> dict[str, Any]:
    result = tracker.raise_case(principal, slug, title=body.title, category=body.category,
                                description=body.description, raised_by=body.raised_by,
                                occurred_on=body.occurred_on, note=body.note)
    return _answer(result, read_models, settings)


@v1.get("/cases/{case_id}", response_model=m.CaseOut, tags=["cases"])
def get_case(case_id: str, principal: CurrentPrincipal, read_models: FreshReadModelsDep) -> dict[str, Any]:
    case = read_models.case(case_id)
    if case is None:
        raise NotFound(f"no case has the id {case_id[:60]!r}")
    _check_reader(principal, case["dialogue_id"])
    return case


def _case_action_route(action: str, body_model: type[m.Command]) -> None:
    def endpoint(case_id: str, body: body_model, principal: CurrentPrincipal,  # type: ignore[valid-type]
                 tracker: TrackerDep, read_models: ReadModelsDep,
                 settings: SettingsDep) -> dict[str, Any]:
        meta = _meta_of(body)
        result = tracker.case_action(principal, case_id, action, _fields_of(body), **meta)
        return _answer(result, read_models, settings)

    v1.add_api_route(f"/cases/{{case_id}}/{action}", endpoint, methods=["POST"],
                     response_model=m.CommandAnswer, tags=["cases"], name=f"case_{action}",
                     summary=f"Case: {action}", operation_id=f"case_{action.replace('-', '_')}")


for _action, _body in m.CASE_ACTION_BODIES.items():
    _case_action_route(_action, _body)


# commitments ----------------------------------------------------------------------------------------

@v1.get("/dialogues/{slug}/commitments", response_model=m.CommitmentPage, tags=["commitments"])
def list_commitments(
    slug: str, principal: CurrentPrincipal, read_models: FreshReadModelsDep, tracker: TrackerDep,
    status: m.StatusName | None = None,
    party: Annotated[str | None, Query(max_length=100,
                                       description="responsible party: its id or its name")] = None,
    overdue: bool | None = None,
    q: Annotated[str | None, Query(max_length=200, description="words in the title or description")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    dialogue = _readable_dialogue(read_models, principal, slug)
    items, total = read_models.commitments(dialogue["id"], today=tracker.today(), status=status,
                                           party=party_filter(dialogue, party), overdue=overdue,
                                           q=q, limit=limit, offset=offset)
    return {"items": items, "total": total}


@v1.post("/dialogues/{slug}/commitments", response_model=m.CommandAnswer, status_code=201,
         tags=["commitments"])
def propose_commitment(slug: str, body: m.CommitmentPropose, principal: CurrentPrincipal,
                       tracker: TrackerDep, read_models: ReadModelsDep,
                       settings: SettingsDep) -> dict[str, Any]:
    result = tracker.propose_commitment(
        principal, slug, title=body.title, required_parties=body.required_parties,
        description=body.description, case_id=body.case_id, proposed_by=body.proposed_by,
        public=body.public, private_note=body.private_note, occurred_on=body.occurred_on,
        note=body.note)
    return _answer(result, read_models, settings)


@v1.get("/commitments/{commitment_id}", response_model=m.CommitmentOut, tags=["commitments"])
def get_commitment(
    commitment_id: str, principal: CurrentPrincipal, tracker: TrackerDep, read_models: FreshReadModelsDep,
    version: Annotated[int | None, Query(ge=1, description="its state at this version")] = None,
    as_of: Annotated[AwareDatetime | None, Query(description="its state at this recorded time")] = None,
    as_of_date: Annotated[date | None, Query(description="its state on this business date")] = None,
) -> dict[str, Any]:
    """A commitment now, or as it was at a version, a recorded time (`as_of`) or a business date."""
    asked = [name for name, value in (("version", version), ("as_of", as_of),
                                      ("as_of_date", as_of_date)) if value is not None]
    if len(asked) > 1:
        raise InvalidInput(f"ask for one point in time, not {' and '.join(asked)}", asked[1])
    today = tracker.today()
    state = tracker.commitment(commitment_id).state()  # NotFound unless it is a commitment
    _check_reader(principal, state["dialogue_id"])
    if asked:
        state = tracker.state_as_of(commitment_id, version=version, as_of=as_of,
                                    as_of_date=as_of_date)
        today = as_of_date or (as_of.date() if as_of else today)
    return commitment_out(state, read_models.dialogue_by_id(state["dialogue_id"]), today)


@v1.get("/commitments/{commitment_id}/history", response_model=m.History, tags=["commitments"])
def commitment_history(commitment_id: str, principal: CurrentPrincipal, tracker: TrackerDep,
                       read_models: FreshReadModelsDep) -> dict[str, Any]:
    """Every event of the commitment, oldest first, with its position in the log."""
    row = read_models.commitment(commitment_id, today=tracker.today())
    if row is None:
        raise NotFound(f"no commitment has the id {commitment_id[:60]!r}")
    _check_reader(principal, row["dialogue_id"])
    return {"events": [history_event(e) for e in read_models.timeline(commitment_id)]}


def history_event(entry: dict[str, Any]) -> dict[str, Any]:
    """A timeline entry in the contract's shape (actor and party as id and name)."""
    actor = {"id": entry.get("actor_id"), "name": entry.get("actor_name")}
    party = {"id": entry.get("party_id"), "name": entry.get("party_name")}
    return {**entry, "actor": actor if actor["id"] or actor["name"] else None,
            "party": party if party["id"] else None}


COMMITMENT_ANSWERS: dict[str, type[m.CommandAnswer]] = {
    "add-milestone": m.MilestoneAdded,
    "attach-evidence": m.EvidenceAttached,
}


def _commitment_action_route(action: str, body_model: type[m.Command]) -> None:
    def endpoint(commitment_id: str, body: body_model, principal: CurrentPrincipal,  # type: ignore[valid-type]
                 tracker: TrackerDep, read_models: ReadModelsDep,
                 settings: SettingsDep) -> dict[str, Any]:
        result = tracker.commitment_action(principal, commitment_id, action, _fields_of(body),
                                           **_meta_of(body))
        return _answer(result, read_models, settings)

    v1.add_api_route(f"/commitments/{{commitment_id}}/{action}", endpoint, methods=["POST"],
                     response_model=COMMITMENT_ANSWERS.get(action, m.CommandAnswer),
                     tags=["commitments"], name=f"commitment_{action}",
                     summary=f"Commitment: {action}",
                     operation_id=f"commitment_{action.replace('-', '_')}")


for _action, _body in m.COMMITMENT_ACTION_BODIES.items():
    _commitment_action_route(_action, _body)


# public and ledger ----------------------------------------------------------------------------------

@v1.get("/public/dialogues", response_model=m.PublicDialogueList, tags=["public"])
def public_dialogues(read_models: FreshReadModelsDep) -> dict[str, Any]:
    """Public fields only; no sign-in."""
    return {"items": read_models.public.dialogues(), "ledger": ledger_summary(read_models)}


@v1.get("/public/dialogues/{slug}", response_model=m.PublicDialogue, tags=["public"])
def public_dialogue(slug: str, read_models: FreshReadModelsDep, tracker: TrackerDep) -> dict[str, Any]:
    dialogue = read_models.public.dialogue(slug)
    if dialogue is None:
        raise NotFound(f"no public dialogue is called {slug[:60]!r}")
    today = tracker.today()
    return {**dialogue,
            "commitments": read_models.public.commitments(dialogue["id"], today=today),
            "scorecards": read_models.public.scorecards(dialogue["id"], today=today),
            "ledger": ledger_summary(read_models)}


@v1.get("/ledger/head", response_model=m.LedgerHead, tags=["ledger"])
def ledger_head(read_models: FreshReadModelsDep) -> dict[str, Any]:
    """The ledger's position and head hash, and its latest signed checkpoint (or null)."""
    return ledger_summary(read_models)


# proofs (RFC 9162): inclusion, consistency, tree heads, witnesses' cosignatures -----------------------

Since = Annotated[int | None, Query(ge=1, description="also prove that the head extends the "
                                                       "tree of this size (a head you kept)")]


@v1.get("/public/commitments/{commitment_id}/proof", response_model=m.ProofBundle,
        response_model_exclude_none=True, tags=["proofs"])
def commitment_proof(commitment_id: str, proofs: ProofsDep, since: Since = None) -> dict[str, Any]:
    """The latest signed tree head and the inclusion proof of each public event of a public
    commitment (404 for a private one); no sign-in."""
    return proofs.commitment_bundle(commitment_id, since=since)


@v1.get("/public/ledger/consistency", response_model=m.Consistency, tags=["proofs"])
def consistency_proof(first: int, second: int, proofs: ProofsDep) -> dict[str, Any]:
    """The RFC 9162 §2.1.4 proof that the tree of `second` leaves extends the tree of `first`
    (0 < first < second <= the current size), with the latest signed head of each size, if any."""
    return proofs.consistency(first, second)


@v1.get("/public/ledger/tree-head", response_model=m.TreeHead, tags=["proofs"])
def tree_head(proofs: ProofsDep) -> dict[str, Any]:
    """The latest signed tree head with its cosignatures; the current tree is signed first when
    the log has grown since the last head (what witnesses fetch)."""
    return proofs.current_head()


@v1.post("/public/ledger/cosignatures", response_model=m.Cosignature, status_code=201,
         tags=["proofs"])
def add_cosignature(body: m.CosignatureIn, proofs: ProofsDep, response: Response) -> dict[str, Any]:
    """A witness's cosignature of a tree head this tracker signed, from a registered witness key
    (TRACKER_WITNESS_KEYS; else 403). The signature itself is the authority: no sign-in. 200 when
    this witness had already cosigned that head."""
    found, created = proofs.add_cosignature(body.model_dump(exclude_none=True))
    if not created:
        response.status_code = 200
    return found


@v1.get("/ledger/proof", response_model=m.ProofBundle, response_model_exclude_none=True,
        tags=["proofs"])
def events_proof(principal: Auditor, proofs: ProofsDep,
                 position: Annotated[list[int], Query(description="log positions (1 to 100)")],
                 since: Since = None) -> dict[str, Any]:
    """Auditors and administrators: the inclusion proof of any events by log position, private
    ones included, with each event's stored bytes (`state`, base64) to check against its leaf."""
    return proofs.events_bundle(position, since=since)


# unknown paths under /api -----------------------------------------------------------------------------

router.include_router(v1)

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]


def api_not_found(request: Request) -> JSONResponse:
    """A JSON 404 for any other path under /api, or 405 if the path exists for another method."""
    path_only = request.url.path
    allowed = sorted({method for route in v1.routes if isinstance(route, APIRoute)
                      and route.path_regex.match(path_only) for method in (route.methods or ())})
    if allowed:
        return error_json(405, "method_not_allowed",
                          f"{request.method} is not allowed here; use {', '.join(allowed)}",
                          headers={"Allow": ", ".join(allowed)})
    return error_json(404, "not_found", f"there is no API route at {path_only[:100]}")


# A plain route (no app-wide dependencies such as the CSRF check): it only ever answers an error.
for _path in ("/api", "/api/{path:path}"):
    router.add_route(_path, api_not_found, methods=ALL_METHODS, include_in_schema=False)

