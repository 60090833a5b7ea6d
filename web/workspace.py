"""The committee workspace: dialogues, cases, commitments and their actions, meetings.

Routes stay thin: parse the form, call one use case of the application service, wait for the read
models to include the new event (read-your-writes), render. A plain form post ends in a 303 redirect
(post/redirect/get); an htmx post gets the blocks that changed. Validation errors and stale versions
re-render the form with what was typed, next to the field concerned.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from starlette.datastructures import FormData, UploadFile

from domain.case import CASE_LIFECYCLE, CATEGORIES, CLOSED
from domain.commitment import Commitment
from domain.errors import Conflict, InvalidInput, NotFound
from domain.lifecycle import Status
from projections.readmodels import ReadModels
from tracker import notices, policy
from tracker.application import CommandResult, Principal, Tracker
from tracker.commands import (
    CASE_COMMANDS,
    COMMITMENT_COMMANDS,
    Command,
    LinkCommitment,
    ProposeCommitment,
    RaiseCase,
    RecordMeeting,
)
from tracker.photos import attach_photo, evidence_photo, read_upload
from web.deps import (
    CurrentPrincipal,
    FreshReadModelsDep,
    OptionalPrincipal,
    PhotosDep,
    TrackerDep,
    get_read_models,
    read_models_position,
    read_models_reached,
    render,
    shared_block,
    wants_fragment,
)
from web.errors import status_of
from web.forms import ActionForm, action_form, command_from_form, keyless, typed_values, with_fresh_keys
from web.labels import CATEGORY_LABELS
from web.public import figures_cache
from web.reading import may_read, party_filter, photo_response, readable_dialogue
from web.routing import QuickRoute
from web.security import csrf_token

router = APIRouter(route_class=QuickRoute, tags=["pages"], include_in_schema=False)

PAGE_SIZE = 50
WORKSPACE_ENTRIES = 64  # pages of rows (and case lists) kept: a few dialogues, filters, pages
HISTORY_SHOWN = 30  # latest timeline entries on a commitment page; ?history=all shows every one
STATUSES = tuple(s.value for s in Status)
COMMITMENT_CHANGED = {"HX-Trigger": "commitment-changed"}


async def form_data(request: Request) -> FormData:
    """The posted form (parsed once; the CSRF check may already have read it)."""
    return await request.form()


FormDep = Annotated[FormData, Depends(form_data)]


# --- forms ------------------------------------------------------------------------------------

def text(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def errors_of(error: InvalidInput) -> dict[str, str]:
    return {error.field or "_form": error.message}


# --- reading ------------------------------------------------------------------------------------

def kept_dialogue(request: Request, read_models: ReadModels, principal: Principal,
                  slug: str) -> dict:
    """`readable_dialogue`, the dialogue read once per read-model position (its counts are a
    GROUP BY over every commitment of the dialogue: on PostgreSQL, a quarter of the workspace
    page's time at 10,000 commitments) and shared by its members, like the page's rows; who may
    read it is checked on every request."""
    dialogue = figures_cache(request, "workspace_lists", WORKSPACE_ENTRIES).get(
        ("dialogue", slug, read_models_position(request)), lambda: read_models.dialogue(slug))
    return may_read(dialogue, principal, slug)


def dialogue_by_id(read_models: ReadModels, dialogue_id: str) -> dict:
    """The dialogue (with meetings and counts) a commitment or case belongs to."""
    dialogue = read_models.dialogue_by_id(dialogue_id)
    if dialogue is None:
        raise NotFound(f"no dialogue has the id {dialogue_id}")
    return dialogue


def party_names(dialogue: dict) -> dict[str, str]:
    return {p["id"]: p["name"] for p in dialogue["parties"]}


def settled(request: Request, result: CommandResult) -> CommandResult:
    """Wait until every read model includes the command's event, so the next page shows it."""
    get_read_models(request).wait_for(result.position)
    read_models_reached(request, result.position)
    return result


def flash(request: Request, message: str, **params: str) -> None:
    """A confirmation shown once, on the page the redirect leads to."""
    request.session["flash"] = {"message": message, **params}


def offered_form(principal: Principal, command: type[Command], url: str, target: policy.Target,
                 parties: dict[str, str], *, prefix: str, choices: Mapping[str, Any],
                 refused: Refused | None = None, form_name: str | None = None,
                 **options: Any) -> ActionForm | None:
    """The command's form if the policy lets this account give it here, else None; `parties`
    are the dialogue's (id -> name). A refused form comes back with what was typed and why."""
    found = policy.offer(principal, command, target, list(parties))
    if found is None:
        return None
    return form_for(found, url, parties, prefix=prefix, choices=choices, refused=refused,
                    form_name=form_name or command.action, principal=principal,
                    dialogue_id=target.dialogue_id, **options)


def form_for(found: policy.Offer, url: str, parties: dict[str, str], *, prefix: str,
             choices: Mapping[str, Any], refused: Refused | None, form_name: str,
             principal: Principal, dialogue_id: str | None, **options: Any) -> ActionForm:
    """The form of an offered command; an administrator is asked for which party it acts when
    only a party may give the command (`found.parties`: those it may act for)."""
    asks_party = bool(found.parties) and principal.party_in(dialogue_id or "") is None
    is_open = refused is not None and refused.form == form_name
    return action_form(found.command, url, prefix=prefix, choices=choices,
                       acting_parties=[(p, parties.get(p, p)) for p in found.parties]
                       if asks_party else None,
                       typed=refused.typed if is_open and refused else None,
                       errors=refused.errors if is_open and refused else None,
                       is_open=is_open, **options)


class Refused:
    """A form that came back refused: which one, what was typed, the message per field."""

    def __init__(self, form: str, typed: Mapping[str, Any], errors: Mapping[str, str]) -> None:
        self.form, self.typed, self.errors = form, typed, errors


# --- home -------------------------------------------------------------------------------------------

WAITING_SHOWN = 10  # the first of what waits for a party, soonest due first; `?waiting=all`: all


def waiting_context(request: Request, principal: Principal, tracker: Tracker,
                    read_models: ReadModels, dialogue: dict, today: date,
                    everything: bool = False) -> dict[str, Any]:
    """What waits for the member's party in this dialogue (the list the reminders use: its first
    WAITING_SHOWN unless `everything`, and how many in all), whether the account watches the
    dialogue, and how it is told. The list is kept per position the read models are known to
    include (`read_models_position`, taken before the rows are read, so a kept list is never
    older than its key): between two changes the members of a party share one read of it."""
    party = principal.party_in(dialogue["id"])
    waiting, total = [], 0
    if party:
        waiting, total = figures_cache(request, "waiting_lists").get(
            ("waiting", dialogue["id"], party, read_models_position(request), today, everything),
            lambda: _waiting(read_models, dialogue["id"], party, today, everything))
    return {"waiting": waiting, "waiting_total": total, "cause_text": notices.CAUSE_TEXT,
            "watching": watched(request, read_models, principal),
            "mail_mode": principal.mail}


def _waiting(read_models: ReadModels, dialogue_id: str, party: str, today: date,
             everything: bool) -> tuple[list, int]:
    rows, total = read_models.waiting(dialogue_id, party, None if everything else WAITING_SHOWN)
    return notices.waiting_for(party, rows, today), total


def watched(request: Request, read_models: ReadModels, principal: Principal) -> frozenset[str]:
    """The commitments and dialogues the account watches, kept per position the read models
    include (as the waiting list is): the outbox's rows change only as events are applied."""
    return figures_cache(request, "watched", WORKSPACE_ENTRIES).get(
        ("watched", principal.account_id, read_models_position(request)),
        lambda: frozenset(read_models.watching(principal.account_id)))


def own_workspace(principal: Principal, dialogues: list[dict]) -> str | None:
    """The address of a member's one dialogue, where home sends them (and signing in, at once:
    one round trip fewer on a slow link); None for several dialogues or another role."""
    readable = [d for d in dialogues if principal.can_read(d["id"])]
    if len(readable) == 1 and principal.role == "member":
        return f"/dialogues/{readable[0]['slug']}"
    return None


@router.get("/")
def home(request: Request, principal: OptionalPrincipal, read_models: FreshReadModelsDep,
         tracker: TrackerDep) -> Response:
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    dialogues = [d for d in read_models.dialogues() if principal.can_read(d["id"])]
    if (own := own_workspace(principal, dialogues)) is not None:
        return RedirectResponse(own, status_code=303)
    today = tracker.today()
    waiting = {d["id"]: waiting_context(request, principal, tracker, read_models, d, today)
               for d in dialogues}
    return render(request, "home.html", {"dialogues": dialogues, "statuses": STATUSES,
                                         "today": today, "waiting_by_dialogue": waiting,
                                         "cause_text": notices.CAUSE_TEXT,
                                         "watching": watched(request, read_models, principal),
                                         "mail_mode": principal.mail})


# --- the workspace of one dialogue ----------------------------------------------------------------

def workspace_forms(principal: Principal, dialogue: dict, cases: list[dict], today: date,
                    refused: Refused | None = None) -> dict[str, ActionForm | None]:
    """The forms of the workspace this account may use: propose, raise a case, record a meeting."""
    parties = party_names(dialogue)
    slug, target = dialogue["slug"], policy.Target(dialogue["id"])
    own = principal.party_in(dialogue["id"])
    choices = {"party": list(parties.items()), "parties": list(parties.items()),
               "attendance": list(parties.items()),
               "case": [(case["id"], case["title"]) for case in cases if case["status"] != CLOSED],
               "category": [(c, CATEGORY_LABELS[c]) for c in CATEGORIES]}
    common = {"parties": parties, "choices": choices, "refused": refused, "today": today}
    return {
        "propose": offered_form(principal, ProposeCommitment, f"/dialogues/{slug}/commitments",
                                target, prefix="p-", form_name="propose",
                                defaults={"required_parties": [own] if own else []}, **common),
        "cases": offered_form(principal, RaiseCase, f"/dialogues/{slug}/cases", target,
                              prefix="c-", form_name="cases", **common),
        "meetings": offered_form(principal, RecordMeeting, f"/dialogues/{slug}/meetings", target,
                                 prefix="m-", form_name="meetings", **common),
    }


def workspace_context(request: Request, principal: Principal, tracker: Tracker, read_models: ReadModels,
                      dialogue: dict, filters: dict[str, Any], page: int,
                      refused: Refused | None = None) -> dict[str, Any]:
    today = tracker.today()
    # The page's rows, their count and the cases are the same for every member of the dialogue
    # between two changes: read once per position the read models are known to include (the
    # route brought them to the log's end, or to its own command's event) and shared until the
    # next event moves it.
    kept = figures_cache(request, "workspace_lists", WORKSPACE_ENTRIES)
    head = read_models_position(request)
    listing = (dialogue["id"], head, today, tuple(filters.items()), page)  # (rows and their HTML)
    rows, total = kept.get(
        ("rows", *listing),
        lambda: read_models.commitments(
            dialogue["id"], today=today, status=filters["status"], party=filters["party"],
            overdue=filters["overdue"], q=filters["q"], limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE))
    query = {k: ("1" if v is True else v) for k, v in filters.items() if v}
    cases = kept.get(("cases", dialogue["id"], head), lambda: read_models.cases(dialogue["id"]))
    pages = max(1, -(-total // PAGE_SIZE))
    # Its HTML too: the same for every reader in one language (the rest of the page is theirs).
    listed = shared_block(
        request, kept, ("list", *listing),
        "workspace.html", "commitment_list",
        lambda: {"dialogue": dialogue, "parties": party_names(dialogue), "commitments": rows,
                 "total": total, "page": page, "pages": pages, "query": query})
    # Blocks drawn before the page (the template shows them as they are): the list and the
    # counts, the same for every reader; the forms, this reader's (not when one was refused).
    drawn = {"commitment_list": listed,
             "counts": shared_block(request, kept, ("counts", dialogue["id"], head),
                                    "workspace.html", "counts",
                                    lambda: {"dialogue": dialogue, "statuses": STATUSES})}
    if refused is None:
        drawn.update(reader_forms(request, principal, dialogue, cases, head, today))
    return {
        **waiting_context(request, principal, tracker, read_models, dialogue, today,
                          everything=request.query_params.get("waiting") == "all"),
        "drawn": drawn,
        "dialogue": dialogue,
        "parties": party_names(dialogue),
        "commitments": rows,
        "total": total,
        "page": page,
        "pages": pages,
        "filters": filters,
        "query": query,
        "statuses": STATUSES,
        "cases": cases,
        "forms": {} if refused is None else workspace_forms(principal, dialogue, cases, today,
                                                             refused),
        "today": today,
    }


FORM_BLOCKS = ("propose", "cases", "meetings")  # the workspace's blocks that hold its forms


def reader_forms(request: Request, principal: Principal, dialogue: dict, cases: list[dict],
                 head: int, today: date) -> dict[str, Markup]:
    """The workspace's blocks with forms, as this reader (account and session) was last shown
    them at this position of the read models and day: drawn once (`keyless`), then shown with
    fresh idempotency keys (`with_fresh_keys`). Nothing else of the reader is in them."""
    token = csrf_token(request)

    @cache  # (the three blocks share one drawing of the forms)
    def context() -> dict[str, Any]:
        return {"forms": {name: keyless(form) for name, form in
                          workspace_forms(principal, dialogue, cases, today).items()},
                "cases": cases, "dialogue": dialogue, "parties": party_names(dialogue),
                "csrf_token": token}

    kept = figures_cache(request, "workspace_forms", len(FORM_BLOCKS) * WORKSPACE_ENTRIES)
    reader = (principal.account_id, token, dialogue["id"], head, today)
    return {block: with_fresh_keys(shared_block(request, kept, (block, *reader), "workspace.html",
                                                block, context))
            for block in FORM_BLOCKS}


LIST_TARGETS = {"commitment-list": "commitment_list", "main": "content"}


@router.get("/dialogues/{slug}")
def workspace(request: Request, slug: str, principal: CurrentPrincipal, tracker: TrackerDep,
              read_models: FreshReadModelsDep,
              status: Annotated[str | None, Query(max_length=20)] = None,
              party: Annotated[str | None, Query(max_length=60)] = None,
              overdue: Annotated[str | None, Query(max_length=5)] = None,
              q: Annotated[str | None, Query(max_length=200)] = None,
              page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    dialogue = kept_dialogue(request, read_models, principal, slug)
    if status and status not in STATUSES:
        raise InvalidInput(f"a status is one of: {', '.join(STATUSES)}", "status")
    filters = {"status": status or None, "party": party_filter(dialogue, party),
               "overdue": True if overdue in ("1", "on", "true") else None, "q": (q or "").strip() or None}
    context = workspace_context(request, principal, tracker, read_models, dialogue, filters, page)
    block = LIST_TARGETS.get(request.headers.get("hx-target", ""), "content")
    return render(request, "workspace.html", context, block=block)


def workspace_form_response(request: Request, principal: Principal, tracker: Tracker,
                            read_models: ReadModels, dialogue: dict, form_name: str, *,
                            refused: Refused | None = None, status_code: int = 200,
                            done: str | None = None,
                            headers: Mapping[str, str] | None = None) -> Response:
    """A workspace form again: refused (errors, what was typed) or emptied after success."""
    filters = {"status": None, "party": None, "overdue": None, "q": None}
    context = workspace_context(request, principal, tracker, read_models, dialogue, filters, 1,
                                refused)
    context.update(done=done, oob=True)
    blocks = [form_name] + (["counts", "message"] if done else [])
    return render(request, "workspace.html", context, blocks=blocks, status_code=status_code,
                  headers=headers)


def workspace_command(request: Request, principal: Principal, tracker: Tracker,
                      read_models: ReadModels, slug: str, form: FormData,
                      command: type[Command], form_name: str) -> CommandResult | Response:
    """Validate the posted form into the command and give it; a refusal of a value comes back as
    the same form, with what was typed and the message next to its field."""
    dialogue = readable_dialogue(read_models, principal, slug)
    try:
        return settled(request, tracker.execute(principal, slug, command_from_form(command, form)))
    except InvalidInput as error:
        return workspace_form_response(
            request, principal, tracker, read_models, read_models.dialogue(slug) or dialogue,
            form_name, refused=Refused(form_name, typed_values(form), errors_of(error)),
            status_code=422)


@router.post("/dialogues/{slug}/cases")
def raise_case(request: Request, slug: str, principal: CurrentPrincipal, tracker: TrackerDep,
               read_models: FreshReadModelsDep, form: FormDep) -> Response:
    result = workspace_command(request, principal, tracker, read_models, slug, form, RaiseCase,
                               "cases")
    if isinstance(result, Response):
        return result
    if not wants_fragment(request):
        flash(request, "case-raised")
        return RedirectResponse(f"/cases/{result.id}", status_code=303)
    return workspace_form_response(request, principal, tracker, read_models,
                                   readable_dialogue(read_models, principal, slug), "cases",
                                   done="case-raised")


@router.post("/dialogues/{slug}/commitments")
def propose(request: Request, slug: str, principal: CurrentPrincipal, tracker: TrackerDep,
            read_models: FreshReadModelsDep, form: FormDep) -> Response:
    result = workspace_command(request, principal, tracker, read_models, slug, form,
                               ProposeCommitment, "propose")
    if isinstance(result, Response):
        return result
    target = f"/commitments/{result.id}"
    if not wants_fragment(request):
        flash(request, "proposed")
        return RedirectResponse(target, status_code=303)
    # htmx: show the new commitment's page in place and push its address into the history.
    context = commitment_context(request, principal, tracker, read_models, result.id)
    context.update(done="proposed", oob=True)
    # The workspace's message goes (the commitment page shows its own beside its forms).
    context["swapped_in"] = True
    return render(request, "commitment.html", context, blocks=["content", "message"], headers={
        "HX-Retarget": "#main", "HX-Reswap": "innerHTML", "HX-Push-Url": target,
        **COMMITMENT_CHANGED})


@router.post("/dialogues/{slug}/meetings")
def record_meeting(request: Request, slug: str, principal: CurrentPrincipal, tracker: TrackerDep,
                   read_models: FreshReadModelsDep, form: FormDep) -> Response:
    result = workspace_command(request, principal, tracker, read_models, slug, form,
                               RecordMeeting, "meetings")
    if isinstance(result, Response):
        return result
    # On to the meeting's page, to enter its decisions (htmx: HX-Redirect, a page load).
    flash(request, "meeting-recorded")
    meeting_page = f"/dialogues/{slug}/meetings/{result.extra['meeting_id']}"
    if wants_fragment(request):
        return Response(status_code=204, headers={"HX-Redirect": meeting_page})
    return RedirectResponse(meeting_page, status_code=303)


# --- a case -------------------------------------------------------------------------------------------

LINKABLE_SHOWN = 200  # the latest commitments of the dialogue a case page offers to link
CASE_LIFECYCLE_LINK = CASE_LIFECYCLE["link"][0]


def case_forms(principal: Principal, tracker: Tracker, read_models: ReadModels, case: dict,
               parties: dict[str, str], refused: Refused | None) -> list[ActionForm]:
    """The case commands this account may give now; linking offers the dialogue's latest
    commitments not linked to a case that the policy lets this account link."""
    target = policy.Target(case["dialogue_id"], raiser=case["raised_by"])
    own = principal.party_in(case["dialogue_id"])
    url = f"/cases/{case['id']}/"
    options = {"choices": {}, "refused": refused, "principal": principal,
               "dialogue_id": case["dialogue_id"], "today": tracker.today(),
               "defaults": {"expected_version": case["version"]}}
    offers = policy.case_offers(principal, target, case["status"], list(parties))
    forms = [form_for(o, url + o.action, parties, prefix=f"case-{o.action}-",
                      form_name=o.action, **options) for o in offers]
    if case["status"] in CASE_LIFECYCLE_LINK:
        rows, _ = read_models.commitments(case["dialogue_id"], today=tracker.today(),
                                          limit=LINKABLE_SHOWN)
        linkable = [(row["id"], row["title"]) for row in rows
                    if not row.get("case_id") and row["id"] not in case["commitment_ids"]
                    and policy.may(principal, LinkCommitment, policy.Target(
                        case["dialogue_id"], raiser=case["raised_by"],
                        proposer=row["proposed_by"]), own)]
        if linkable:
            forms.append(form_for(policy.Offer(LinkCommitment), url + "link", parties,
                                  prefix="case-link-", form_name="link",
                                  **{**options, "choices": {"commitment": linkable}}))
    return forms


def case_context(request: Request, principal: Principal, tracker: Tracker, read_models: ReadModels,
                 case_id: str, refused: Refused | None = None) -> dict:
    case = read_models.case(case_id)
    if case is None:
        raise NotFound(f"no case has the id {case_id[:60]}")
    policy.require_read(principal, case["dialogue_id"])
    dialogue = dialogue_by_id(read_models, case["dialogue_id"])
    parties = party_names(dialogue)
    today = tracker.today()
    commitments = [row for cid in case["commitment_ids"]
                   if (row := read_models.commitment(cid, today=today)) is not None]
    return {"case": case, "dialogue": dialogue, "parties": parties,
            "commitments": commitments, "timeline": read_models.timeline(case_id),
            "forms": case_forms(principal, tracker, read_models, case, parties, refused),
            "conflict": False, "today": today}


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: str, principal: CurrentPrincipal, tracker: TrackerDep,
              read_models: FreshReadModelsDep) -> Response:
    context = case_context(request, principal, tracker, read_models, case_id)
    return render(request, "case.html", context,
                  block="content" if request.headers.get("hx-target") == "main" else None)


@router.post("/cases/{case_id}/{action}")
def case_action(request: Request, case_id: str, action: str, principal: CurrentPrincipal,
                tracker: TrackerDep, read_models: FreshReadModelsDep, form: FormDep) -> Response:
    command = CASE_COMMANDS.get(action)
    if command is None:
        raise NotFound(f"cases have no action {action[:40]!r}")
    try:
        settled(request, tracker.execute(principal, case_id, command_from_form(command, form)))
    except (InvalidInput, Conflict) as error:
        is_conflict = isinstance(error, Conflict)
        refused = Refused(action, typed_values(form),
                          {} if isinstance(error, Conflict) else errors_of(error))
        context = case_context(request, principal, tracker, read_models, case_id, refused)
        context.update(conflict=is_conflict)
        return render(request, "case.html", context, block="case",
                      status_code=409 if is_conflict else 422)
    if not wants_fragment(request):
        flash(request, "case-done", action=command.key())
        return RedirectResponse(f"/cases/{case_id}#actions", status_code=303)
    context = case_context(request, principal, tracker, read_models, case_id)
    context.update(done="case-done", done_action=command.key(), oob=True)
    return render(request, "case.html", context, blocks=["case"])


# --- a commitment -------------------------------------------------------------------------------------

def commitment_forms(principal: Principal, tracker: Tracker, commitment: Commitment,
                     parties: dict[str, str], refused: Refused | None) -> list[ActionForm]:
    """The forms of the commands this account may give on the commitment now (the policy and
    the lifecycle decide), each filled in with what the record already knows."""
    state = commitment.state()
    choices = {"party": list(parties.items()),
               "milestone": [(m["id"], m["title"]) for m in state["milestones"]
                             if m["completed_on"] is None]}
    return [form_for(o, f"/commitments/{state['id']}/{o.action}", parties, prefix=f"{o.action}-",
                     choices=choices, refused=refused, form_name=o.action, principal=principal,
                     dialogue_id=state["dialogue_id"], record=state, today=tracker.today(),
                     defaults={"expected_version": commitment.version})
            for o in policy.commitment_offers(principal, commitment, list(parties))]


def commitment_context(request: Request, principal: Principal, tracker: Tracker, read_models: ReadModels,
                       commitment_id: str, full_history: bool = False,
                       refused: Refused | None = None) -> dict[str, Any]:
    today = tracker.today()
    row = read_models.commitment(commitment_id, today=today)
    if row is None:
        raise NotFound(f"no commitment has the id {commitment_id[:60]}")
    policy.require_read(principal, row["dialogue_id"])
    aggregate = tracker.commitment(commitment_id)
    dialogue = dialogue_by_id(read_models, row["dialogue_id"])
    parties = party_names(dialogue)
    timeline = read_models.timeline(commitment_id)
    return {
        "watching": watched(request, read_models, principal),
        "commitment": row,
        # Milestones and evidence come with the aggregate the offers are computed from.
        "details": aggregate.state(),
        "version": aggregate.version,
        "forms": commitment_forms(principal, tracker, aggregate, parties, refused),
        "dialogue": dialogue,
        "parties": parties,
        "timeline": timeline if full_history else timeline[-HISTORY_SHOWN:],
        "history_total": len(timeline),
        "case": read_models.case(row["case_id"]) if row.get("case_id") else None,
        "today": today,
        "conflict": False,
    }


@router.get("/commitments/{commitment_id}")
def commitment_page(request: Request, commitment_id: str, principal: CurrentPrincipal,
                    tracker: TrackerDep, read_models: FreshReadModelsDep,
                    history: Annotated[str | None, Query(max_length=5)] = None) -> Response:
    context = commitment_context(request, principal, tracker, read_models, commitment_id,
                                 full_history=history == "all")
    return render(request, "commitment.html", context,
                  block="content" if request.headers.get("hx-target") == "main" else None)


@router.get("/commitments/{commitment_id}/evidence/{evidence_id}/{size}")
def evidence_photo_page(commitment_id: str, evidence_id: str, size: str,
                        principal: CurrentPrincipal, tracker: TrackerDep,
                        photos: PhotosDep) -> Response:
    """A photo of evidence (`photo` or `thumbnail`), for those who may read the dialogue."""
    state = tracker.commitment(commitment_id).state()
    policy.require_read(principal, state["dialogue_id"])
    return photo_response(photos, evidence_photo(state, evidence_id), size, public=False)


@router.post("/commitments/{commitment_id}/{action}")
def commitment_action(request: Request, commitment_id: str, action: str,
                      principal: CurrentPrincipal, tracker: TrackerDep,
                      read_models: FreshReadModelsDep, form: FormDep,
                      photos: PhotosDep) -> Response:
    """Every command on a commitment through one route: the contract's action names, the
    catalogue's classes; the form is validated into the command, the service decides."""
    command = COMMITMENT_COMMANDS.get(action)
    if command is None:
        raise NotFound(f"commitments have no action {action[:40]!r}")
    try:
        given = command_from_form(command, form)
        upload = form.get(command.upload) if command.upload else None
        if isinstance(upload, UploadFile) and upload.filename:  # a photo was chosen
            result = attach_photo(tracker, photos, principal, commitment_id, given,
                                  read_upload(upload))
        else:
            result = tracker.act(principal, commitment_id, given)
        settled(request, result)
    except (InvalidInput, Conflict) as error:
        # Refused: the same page (or block) again, with the typed values and the reason.
        is_conflict = isinstance(error, Conflict)
        refused = Refused(action, typed_values(form), {} if is_conflict else errors_of(error))
        context = commitment_context(request, principal, tracker, read_models, commitment_id,
                                     refused=refused)
        context.update(conflict=is_conflict, oob=True)
        return render(request, "commitment.html", context, blocks=["commitment"],
                      status_code=status_of(error))
    if not wants_fragment(request):
        flash(request, "action-done", action=command.key())
        # back to the forms, where the confirmation is shown
        return RedirectResponse(f"/commitments/{commitment_id}#actions", status_code=303)
    context = commitment_context(request, principal, tracker, read_models, commitment_id)
    context.update(done="action-done", done_action=command.key(), oob=True)
    return render(request, "commitment.html", context, blocks=["commitment", "counts"],
                  headers=COMMITMENT_CHANGED)
