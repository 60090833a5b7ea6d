"""The JSON API (/api/v1): every read and command of the contract, for partners and scripts.

Routes stay thin: the body is the command itself (a class of the catalogue, tracker/commands.py:
its fields, validation and OpenAPI schema), given to the application service, which asks the
policy table; then wait until the read models include the new event (read-your-writes), answer.
The command routes on cases and commitments are made from the catalogue, one per command.
Errors are answered in one place (`web.errors.error_response`), always as
{"error": {"code", "message", "field"?}}: the domain's refusals, FastAPI's validation errors,
unknown routes, anonymous calls, big bodies.
"""

# No `from __future__ import annotations` here: the command routes are built from a table, and
# FastAPI must see each body model as a real class in the endpoint's signature.

import logging
from collections.abc import Callable, Coroutine
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import AwareDatetime, TypeAdapter
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from domain.errors import InvalidInput, NotFound
from domain.lifecycle import is_overdue
from projections.readmodels import ReadModels
from tracker import commands as c
from tracker import policy
from tracker.application import CommandResult, Principal
from tracker.photos import attach_photo, read_upload
from tracker.sheets import XLSX_TYPE, read_table
from web import api_models as m
from web.audit import Auditor
from web.deps import (
    NOT_KEPT,
    CurrentPrincipal,
    DeferredPrincipal,
    FreshReadModelsDep,
    NotSignedIn,
    PhotosDep,
    ProofsDep,
    TrackerDep,
    bearer_token,
    command_hop,
    fresh_read_models,
    get_read_models,
    kept_principal,
    log_head,
    read_hop,
    token_identifies_no_one,
)
from web.errors import error_json, error_response
from web.forms import command_from_form
from web.public import figures_cache
from web.reading import ledger_summary, party_filter, readable_dialogue, table_download
from web.routing import QuickRoute

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 1_000_000
# Evidence with a photo (multipart, on `.../attach-evidence`): the photo's limit and room for the
# form around it; the photo's own limit is checked with a message of its own (tracker/photos.py).
MAX_UPLOAD_BYTES = 10 * 1024 * 1024 + 256 * 1024
UPLOAD_PATH_END = "/attach-evidence"


def body_limit(path: str, content_type: str) -> int:
    """The largest body this request may send (pages, forms and the API alike)."""
    if path.endswith(UPLOAD_PATH_END) and content_type.lower().startswith("multipart/form-data"):
        return MAX_UPLOAD_BYTES
    return MAX_BODY_BYTES

# --- errors (the table and the shape: web/errors.py) ---------------------------------------------

async def _body_too_large(request: Request) -> bool:
    """Read the body up to the limit (it stays cached on the request); True if it is bigger."""
    limit = body_limit(request.url.path, request.headers.get("content-type", ""))
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        return True
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return False
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return True
        chunks.append(chunk)
    request._body = b"".join(chunks)  # what request.body() returns from now on
    return False


class ApiRoute(QuickRoute):
    """An API route whose errors, body-size limit included, are answered by `error_response`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            if await _body_too_large(request):
                limit = body_limit(request.url.path, request.headers.get("content-type", ""))
                return error_json(413, "too_large",
                                  f"the request body is over the limit of {limit} bytes")
            try:
                response = await handler(request)
            except Exception as exc:
                if isinstance(exc, RequestValidationError) and bearer_token(request) and \
                        await run_in_threadpool(token_identifies_no_one, request):
                    exc = NotSignedIn()  # (the credentials come before the body)
                response = error_response(exc, request)
                if response is None:
                    raise
                return response
            if request.method == "POST" and response.status_code < 300 and response.background is None:
                response.background = BackgroundTask(catch_up_after_command, request)
            return response

        return guarded


async def catch_up_after_command(request: Request) -> None:
    """After an API command's answer is sent: the read models take its event (with those of
    the commands that arrived meanwhile, in one batch). The answer does not wait for them: it
    carries the event's position, and every read first brings the read models to the log's end,
    so what a command did shows in the next read all the same. While a round is under way (it
    gathers for 20 ms first) this only asks it to go round again, on the event loop: no thread
    is woken for it."""
    read_models = get_read_models(request)
    if not read_models.join_running_catch_up():
        await run_in_threadpool(catch_up_soon, read_models)


def catch_up_soon(read_models: ReadModels) -> None:
    try:
        read_models.catch_up_coalesced()
    except Exception:  # the next read catches up again and answers the cause
        logger.exception("the read models could not take the last command's event yet")


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

def _answer(result: CommandResult) -> dict[str, Any]:
    """What the command did, once its event is stored (the read models take it right after
    the answer: `catch_up_after_command`)."""
    return {"id": result.id, "version": result.version, "position": result.position,
            **result.extra}


def _check_reader(principal: Principal, dialogue_id: str) -> None:
    policy.require_read(principal, dialogue_id)


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
router = APIRouter(route_class=QuickRoute)  # the JSON 404 for every other path under /api


# dialogues ------------------------------------------------------------------------------------------

@v1.get("/dialogues", response_model=list[m.DialogueOut], tags=["dialogues"])
def list_dialogues(principal: CurrentPrincipal, read_models: FreshReadModelsDep) -> list[dict[str, Any]]:
    """The dialogues this account can read (every one for auditors and admins)."""
    return [d for d in read_models.dialogues() if principal.can_read(d["id"])]


@v1.get("/dialogues/{slug}", response_model=m.DialogueOut, tags=["dialogues"])
def get_dialogue(slug: str, principal: CurrentPrincipal, read_models: FreshReadModelsDep) -> dict[str, Any]:
    return readable_dialogue(read_models, principal, slug)


@v1.post("/dialogues", response_model=m.CommandAnswer, status_code=201, tags=["dialogues"])
def create_dialogue(body: c.StartDialogue, principal: CurrentPrincipal,
                    tracker: TrackerDep) -> dict[str, Any]:
    """Start a dialogue (administrators)."""
    return _answer(tracker.execute(principal, None, body))


@v1.post("/dialogues/{slug}/parties", response_model=m.PartyAdded, status_code=201,
         tags=["dialogues"])
def add_party(slug: str, body: c.AddParty, principal: CurrentPrincipal,
              tracker: TrackerDep) -> dict[str, Any]:
    """Add a party to a dialogue (administrators)."""
    return _answer(tracker.execute(principal, slug, body))


# meetings and their decisions -------------------------------------------------------------------------

@v1.post("/dialogues/{slug}/meetings", response_model=m.MeetingRecorded, status_code=201,
         tags=["meetings"])
def record_meeting(slug: str, body: c.RecordMeeting, principal: CurrentPrincipal,
                   tracker: TrackerDep) -> dict[str, Any]:
    """Record a meeting of the dialogue: held on (its business date), place, people present per
    party (`{party_id: count}`; a party's name is accepted too), summary, and whether the summary
    is public. Its decisions are entered with `POST .../import?meeting=ID`."""
    return _answer(tracker.execute(principal, slug, body))


@v1.get("/dialogues/{slug}/meetings", response_model=list[m.MeetingOut], tags=["meetings"])
def list_meetings(slug: str, principal: CurrentPrincipal,
                  read_models: FreshReadModelsDep) -> list[dict[str, Any]]:
    return readable_dialogue(read_models, principal, slug)["meetings"]


@v1.get("/dialogues/{slug}/meetings/{meeting_id}", response_model=m.MeetingWithDecisions,
        tags=["meetings"])
def get_meeting(slug: str, meeting_id: str, principal: CurrentPrincipal,
                read_models: FreshReadModelsDep) -> dict[str, Any]:
    """The meeting with its decisions: every event recorded as decided there, in log order."""
    dialogue = readable_dialogue(read_models, principal, slug)
    meeting = read_models.meeting(dialogue["id"], meeting_id)
    if meeting is None:
        raise NotFound(f"this dialogue has no meeting {meeting_id[:60]!r}")
    return {**meeting, "decisions": [history_event(e) for e in
                                     read_models.meeting_decisions(meeting_id)]}


TABLE_BODY = {"requestBody": {"required": True, "content": {
    "text/csv": {"schema": {"type": "string"}},
    XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}}}}}


@v1.post("/dialogues/{slug}/import", response_model=m.ImportAnswer, tags=["meetings"],
         openapi_extra=TABLE_BODY)
async def import_decisions(
    slug: str, request: Request, principal: CurrentPrincipal, tracker: TrackerDep,
    dry_run: Annotated[bool, Query(description="check every row and say what it would do; "
                                               "write nothing")] = False,
    meeting: Annotated[str | None, Query(max_length=60, description="the meeting where these "
                                         "were decided (its id)")] = None,
    party: Annotated[str | None, Query(max_length=100, description="the party you act for (an "
                                       "administrator's choice; a member acts for their own)")] = None,
) -> dict[str, Any]:
    """A table of decisions (CSV or XLSX body; columns ref, title, description,
    required_parties, responsible_party, due_date, progress, public; parties by name or id,
    `;`-separated): each row proposes a commitment (a new ref) or changes a known one as the
    single forms would, each change under the policy table's rule. All rows or none: any
    problem is a 422 naming every row and column, and nothing is written. The same table again
    changes nothing (`unchanged`)."""
    data = await request.body()
    command = c.ImportDecisions.parse({"meeting_id": meeting, "party_id": party})

    def run() -> dict[str, Any]:
        rows = read_table(data, request.headers.get("content-type"))
        result = tracker.import_decisions(principal, slug, command, rows, dry_run=dry_run)
        return {**result.counts(), "dry_run": result.dry_run, "position": result.position,
                "rows": [vars(p) for p in result.rows]}

    return await run_in_threadpool(run)


@v1.get("/dialogues/{slug}/export", tags=["meetings"],
        responses={200: {"content": {"text/csv": {}, XLSX_TYPE: {}}}})
def export_decisions(slug: str, principal: CurrentPrincipal, read_models: FreshReadModelsDep,
                     format: Annotated[Literal["csv", "xlsx"], Query()] = "csv") -> Response:  # noqa: A002
    """The dialogue's commitments as a table of decisions, in the format the import reads: edit
    it and send it back to `POST .../import`."""
    dialogue = readable_dialogue(read_models, principal, slug)
    return table_download(read_models.decision_rows(dialogue["id"]), format, f"{slug}-decisions")


# cases ----------------------------------------------------------------------------------------------

@v1.post("/dialogues/{slug}/cases", response_model=m.CommandAnswer, status_code=201, tags=["cases"])
def raise_case(slug: str, body: c.RaiseCase, principal: CurrentPrincipal,
               tracker: TrackerDep) -> dict[str, Any]:
    """Raise a case, for your own party (an administrator names the party)."""
    return _answer(tracker.execute(principal, slug, body))


@v1.get("/cases/{case_id}", response_model=m.CaseOut, tags=["cases"])
def get_case(case_id: str, principal: CurrentPrincipal, read_models: FreshReadModelsDep) -> dict[str, Any]:
    case = read_models.case(case_id)
    if case is None:
        raise NotFound(f"no case has the id {case_id[:60]!r}")
    _check_reader(principal, case["dialogue_id"])
    return case


def _command_route(command: type[c.Command], tag: str) -> None:
    """`POST /{tag}s/{id}/{action}` taking the command as its body, answered as the command says
    (`answer`); its description says who may give it (the policy's rule)."""
    path = f"/{tag}s/{{{tag}_id}}/{command.action}"

    async def endpoint(target: Annotated[str, Path(alias=f"{tag}_id")],
                       body: command,  # type: ignore[valid-type]
                       request: Request, principal: DeferredPrincipal,
                       tracker: TrackerDep) -> dict[str, Any]:
        return _answer(await command_hop(request, lambda: tracker.execute(principal(), target,
                                                                          body)))

    rule = policy.POLICY[command]
    name = f"{tag}_{command.action.replace('-', '_')}"
    v1.add_api_route(path, endpoint, methods=["POST"], tags=[f"{tag}s"], name=name,
                     operation_id=name, summary=f"{tag.capitalize()}: {command.action}",
                     description=f"{command.__doc__ or ''}\n\nWho may: {rule.says}.".strip(),
                     response_model=m.ANSWER_WITH_EXTRA.get(command.answer or "",
                                                            m.CommandAnswer))


for _command in c.CASE_COMMANDS.values():
    _command_route(_command, "case")


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
    dialogue = readable_dialogue(read_models, principal, slug)
    items, total = read_models.commitments(dialogue["id"], today=tracker.today(), status=status,
                                           party=party_filter(dialogue, party), overdue=overdue,
                                           q=q, limit=limit, offset=offset)
    return {"items": items, "total": total}


@v1.post("/dialogues/{slug}/commitments", response_model=m.CommandAnswer, status_code=201,
         tags=["commitments"])
def propose_commitment(slug: str, body: c.ProposeCommitment, principal: CurrentPrincipal,
                       tracker: TrackerDep) -> dict[str, Any]:
    """Propose a commitment, for your own party (an administrator names the party)."""
    return _answer(tracker.execute(principal, slug, body))


@v1.get("/commitments/{commitment_id}", response_model=m.CommitmentOut, tags=["commitments"])
async def get_commitment(
    commitment_id: str, request: Request, principal: DeferredPrincipal, tracker: TrackerDep,
    version: Annotated[int | None, Query(ge=1, description="its state at this version")] = None,
    as_of: Annotated[AwareDatetime | None, Query(description="its state at this recorded time")] = None,
    as_of_date: Annotated[date | None, Query(description="its state on this business date")] = None,
) -> dict[str, Any]:
    """A commitment now, or as it was at a version, a recorded time (`as_of`) or a business date."""
    asked = [name for name, value in (("version", version), ("as_of", as_of),
                                      ("as_of_date", as_of_date)) if value is not None]
    if len(asked) > 1:
        raise InvalidInput(f"ask for one point in time, not {' and '.join(asked)}", asked[1])

    answers = figures_cache(request, "commitment_answers", PRESENT_ANSWERS)

    def present_key(today: date) -> tuple[str, int, date]:  # (one answer per log position)
        return commitment_id, log_head(request), today

    def answer(reader: Principal, kept: tuple[str, bytes]) -> Response:
        _check_reader(reader, kept[0])
        return Response(kept[1], media_type="application/json")

    def read() -> dict[str, Any] | Response:  # (the database work, who asks included, one hop)
        reader = principal()
        read_models = fresh_read_models(request)
        today = tracker.today()
        if not asked:  # the present: one answer per position of the log, for every reader
            return answer(reader, answers.get(present_key(today), lambda: present_answer(
                read_models, commitment_id, today)))
        state, dialogue = present_state(read_models, commitment_id)
        _check_reader(reader, state["dialogue_id"])
        state = tracker.state_as_of(commitment_id, version=version, as_of=as_of,
                                    as_of_date=as_of_date)
        return commitment_out(state, dialogue, as_of_date or (as_of.date() if as_of else today))

    def from_memory() -> Response | None:  # the present, kept, for a reader known at this head
        reader = kept_principal(request)
        kept = None if asked or reader is NOT_KEPT else answers.peek(present_key(tracker.today()))
        if kept is None:
            return None
        if reader is None:
            raise NotSignedIn()
        return answer(reader, kept)  # type: ignore[arg-type]

    return await read_hop(request, read, from_memory)


PRESENT_ANSWERS = 256  # commitments whose present answer is kept (each a few KB)
COMMITMENT_OUT = TypeAdapter(m.CommitmentOut)


def present_state(read_models: ReadModels, commitment_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A commitment's present state and its dialogue's names, from the read models (or 404)."""
    found = read_models.views["states"].present(commitment_id)  # type: ignore[attr-defined]
    if found is None:
        raise NotFound(f"no commitment has the id {commitment_id[:60]!r}")
    return found


def present_answer(read_models: ReadModels, commitment_id: str, today: date) -> tuple[str, bytes]:
    """(its dialogue's id, the JSON answer) for a commitment now, as the response model encodes
    it. Kept per log position and date, so readers between two changes share one read; the
    reader's right to see it is checked on every request."""
    state, dialogue = present_state(read_models, commitment_id)
    return state["dialogue_id"], COMMITMENT_OUT.dump_json(
        COMMITMENT_OUT.validate_python(commitment_out(state, dialogue, today)))


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


for _command in c.COMMITMENT_COMMANDS.values():
    if _command is not c.AttachEvidence:
        _command_route(_command, "commitment")


EVIDENCE_BODY = {"required": True, "content": {
    "application/json": {"schema": c.AttachEvidence.model_json_schema()},
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary",
                                "description": "a JPEG, PNG or WebP photo, at most 10 MB; "
                                               "kept re-encoded, without EXIF or GPS"},
                       **{name: {"type": "string"} for name in c.AttachEvidence.model_fields}},
    }},
}}


@v1.post("/commitments/{commitment_id}/attach-evidence", response_model=m.EvidenceAttached,
         tags=["commitments"], operation_id="commitment_attach_evidence",
         name="commitment_attach_evidence", summary="Commitment: attach-evidence",
         openapi_extra={"requestBody": EVIDENCE_BODY},
         description=f"{c.AttachEvidence.__doc__ or ''}A JSON body, or a multipart form with "
                     "`file` (a photo: its SHA-256 as stored is recorded) and the same fields."
                     f"\n\nWho may: {policy.POLICY[c.AttachEvidence].says}.")
async def attach_evidence(commitment_id: str, request: Request, principal: CurrentPrincipal,
                          tracker: TrackerDep, photos: PhotosDep) -> dict[str, Any]:
    """Evidence as JSON (a description, a link, a digest) or as a multipart form with a photo."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("send the photo as the multipart field 'file'", "file")
        command = command_from_form(c.AttachEvidence, form)
        data = await run_in_threadpool(read_upload, upload)
        result = await run_in_threadpool(attach_photo, tracker, photos, principal, commitment_id,
                                         command, data)
    else:
        try:
            body = await request.json()
        except ValueError:
            raise RequestValidationError([{"type": "json_invalid", "loc": ("body",),
                                           "msg": "not JSON"}]) from None
        if not isinstance(body, dict):
            raise InvalidInput("the body is a JSON object of the evidence's fields")
        command = c.AttachEvidence.parse(body)
        result = await run_in_threadpool(tracker.act, principal, commitment_id, command)
    return _answer(result)


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
# (`router` holds only these; the app includes `v1` itself and then `router`: FastAPI tries the
# routes of an included router once more for each level of inclusion.)

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

