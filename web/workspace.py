"""The committee workspace: dialogues, cases, commitments and their actions, meetings.

Routes stay thin: parse the form, call one use case of the application service, wait for the read
models to include the new event (read-your-writes), render. A plain form post ends in a 303 redirect
(post/redirect/get); an htmx post gets the blocks that changed. Validation errors and stale versions
re-render the form with what was typed, next to the field concerned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from domain.case import CATEGORIES
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from domain.lifecycle import Status
from projections.readmodels import ReadModels
from tracker.application import CASE_ACTIONS, COMMITMENT_ACTIONS, CommandResult, Principal, Tracker
from web.deps import (
    CurrentPrincipal,
    FreshReadModelsDep,
    OptionalPrincipal,
    TrackerDep,
    read_models_reached,
    render,
    wants_fragment,
)
from web.reading import party_filter

router = APIRouter(tags=["pages"], include_in_schema=False)

PAGE_SIZE = 50
HISTORY_SHOWN = 30  # latest timeline entries on a commitment page; ?history=all shows every one
STATUSES = tuple(s.value for s in Status)
COMMITMENT_CHANGED = {"HX-Trigger": "commitment-changed"}


async def form_data(request: Request) -> FormData:
    """The posted form (parsed once; the CSRF check may already have read it)."""
    return await request.form()


FormDep = Annotated[FormData, Depends(form_data)]


# --- parsing form values ------------------------------------------------------------------------

def text(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def parse_date(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("write a date as YYYY-MM-DD", field) from None


def parse_int(value: str | None, field: str) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput("write a whole number", field) from None


PARSERS = {"due_date": parse_date, "held_on": parse_date, "occurred_on": parse_date,
           "percent": parse_int, "expected_version": parse_int}
CHECKBOXES = frozenset({"public"})


def parse_fields(form: FormData, names: Iterable[str]) -> dict[str, Any]:
    """Typed values of the named fields; an empty text field is absent (None)."""
    values: dict[str, Any] = {}
    for name in names:
        if name in CHECKBOXES:
            values[name] = form.get(name) in ("on", "true", "1")
            continue
        value = text(form, name)
        parser = PARSERS.get(name)
        values[name] = parser(value, name) if parser else value
    return values


def typed_values(form: FormData) -> dict[str, str]:
    """Everything the person typed, to put back into the form when it is refused."""
    return {key: value for key, value in form.multi_items()
            if isinstance(value, str) and key != "csrf_token"}


def errors_of(error: InvalidInput) -> dict[str, str]:
    return {error.field or "_form": error.message}


# --- reading ------------------------------------------------------------------------------------

def readable_dialogue(read_models: ReadModels, principal: Principal, slug: str) -> dict:
    dialogue = read_models.dialogue(slug)
    if dialogue is None:
        raise NotFound(f"no dialogue is called {slug[:60]!r}")
    if not principal.can_read(dialogue["id"]):
        raise Forbidden("you are not a member of this dialogue")
    return dialogue


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
    request.app.state.read_models.wait_for(result.position)
    read_models_reached(request, result.position)
    return result


def flash(request: Request, message: str, **params: str) -> None:
    """A confirmation shown once, on the page the redirect leads to."""
    request.session["flash"] = {"message": message, **params}


# --- home -------------------------------------------------------------------------------------------

@router.get("/")
def home(request: Request, principal: OptionalPrincipal, read_models: FreshReadModelsDep,
         tracker: TrackerDep) -> Response:
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    dialogues = [d for d in read_models.dialogues() if principal.can_read(d["id"])]
    if len(dialogues) == 1 and principal.role == "member":
        return RedirectResponse(f"/dialogues/{dialogues[0]['slug']}", status_code=303)
    return render(request, "home.html", {"dialogues": dialogues, "statuses": STATUSES,
                                         "today": tracker.today()})


# --- the workspace of one dialogue ----------------------------------------------------------------

def workspace_context(request: Request, principal: Principal, tracker: Tracker, read_models: ReadModels,
                      dialogue: dict, filters: dict[str, Any], page: int) -> dict[str, Any]:
    today = tracker.today()
    rows, total = read_models.commitments(
        dialogue["id"], today=today, status=filters["status"], party=filters["party"],
        overdue=filters["overdue"], q=filters["q"], limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    query = {k: ("1" if v is True else v) for k, v in filters.items() if v}
    return {
        "dialogue": dialogue,
        "parties": party_names(dialogue),
        "commitments": rows,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "filters": filters,
        "query": query,
        "statuses": STATUSES,
        "cases": read_models.cases(dialogue["id"]),
        "categories": CATEGORIES,
        "may_write": principal.can_write(dialogue["id"]),
        "ask_party": principal.party_in(dialogue["id"]) is None,
        "own_party": principal.party_in(dialogue["id"]),
        "today": today,
        "errors": {},
        "typed": {},
        "open_form": None,
    }


LIST_TARGETS = {"commitment-list": "commitment_list", "main": "content"}


@router.get("/dialogues/{slug}")
def workspace(request: Request, slug: str, principal: CurrentPrincipal, tracker: TrackerDep,
              read_models: FreshReadModelsDep,
              status: Annotated[str | None, Query(max_length=20)] = None,
              party: Annotated[str | None, Query(max_length=60)] = None,
              overdue: Annotated[str | None, Query(max_length=5)] = None,
              q: Annotated[str | None, Query(max_length=200)] = None,
              page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    dialogue = readable_dialogue(read_models, principal, slug)
    if status and status not in STATUSES:
        raise InvalidInput(f"a status is one of: {', '.join(STATUSES)}", "status")
    filters = {"status": status or None, "party": party_filter(dialogue, party),
               "overdue": True if overdue in ("1", "on", "true") else None, "q": (q or "").strip() or None}
    context = workspace_context(request, principal, tracker, read_models, dialogue, filters, page)
    block = LIST_TARGETS.get(request.headers.get("hx-target", ""), "content")
    return render(request, "workspace.html", context, block=block)


def workspace_form_response(request: Request, principal: Principal, tracker: Tracker,
                            read_models: ReadModels, dialogue: dict, form_name: str, *,
                            errors: dict[str, str] | None = None, typed: dict | None = None,
                            status_code: int = 200, done: str | None = None,
                            headers: Mapping[str, str] | None = None) -> Response:
    """A workspace form again: refused (errors, what was typed) or emptied after success."""
    filters = {"status": None, "party": None, "overdue": None, "q": None}
    context = workspace_context(request, principal, tracker, read_models, dialogue, filters, 1)
    context.update(errors=errors or {}, typed=typed or {}, open_form=form_name if errors else None,
                   done=done, oob=True)
    blocks = [form_name] + (["counts", "message"] if done else [])
    return render(request, "workspace.html", context, blocks=blocks, status_code=status_code,
                  headers=headers)


@router.post("/dialogues/{slug}/cases")
def raise_case(request: Request, slug: str, principal: CurrentPrincipal, tracker: TrackerDep,
               read_models: FreshReadModelsDep, form: FormDep) -> Response:
    dialogue = readable_dialogue(read_models, principal, slug)
    try:
        values = parse_fields(form, ("title", "description", "category", "raised_by",
                                     "occurred_on", "note"))
        result = settled(request, tracker.raise_case(
            principal, slug, title=values["title"] or "", category=values["category"] or "",
            description=values["description"], raised_by=values["raised_by"],
            occurred_on=values["occurred_on"], note=values["note"]))
    except InvalidInput as error:
        return workspace_form_response(request, principal, tracker, read_models, dialogue, "cases",
                                       errors=errors_of(error), typed=typed_values(form),
                                       status_code=422)
    if not wants_fragment(request):
        flash(request, "case-raised")
        return RedirectResponse(f"/cases/{result.id}", status_code=303)
    return workspace_form_response(request, principal, tracker, read_models, dialogue, "cases",
                                   done="case-raised")


@router.post("/dialogues/{slug}/commitments")
def propose(request: Request, slug: str, principal: CurrentPrincipal, tracker: TrackerDep,
            read_models: FreshReadModelsDep, form: FormDep) -> Response:
    dialogue = readable_dialogue(read_models, principal, slug)
    try:
        values = parse_fields(form, ("title", "description", "case_id", "proposed_by", "public",
                                     "private_note", "occurred_on", "note"))
        result = settled(request, tracker.propose_commitment(
            principal, slug, title=values.pop("title") or "",
            required_parties=[p for p in form.getlist("required_parties") if isinstance(p, str)],
            **values))
    except InvalidInput as error:
        return workspace_form_response(request, principal, tracker, read_models, dialogue,
                                       "propose", errors=errors_of(error),
                                       typed={**typed_values(form), "required_parties":
                                              form.getlist("required_parties")},
                                       status_code=422)
    target = f"/commitments/{result.id}"
    if not wants_fragment(request):
        flash(request, "proposed")
        return RedirectResponse(target, status_code=303)
    # htmx: show the new commitment's page in place and push its address into the history.
    context = commitment_context(request, principal, tracker, read_models, result.id)
    context.update(done="proposed", oob=True)
    return render(request, "commitment.html", context, blocks=["content", "message"], headers={
        "HX-Retarget": "#main", "HX-Reswap": "innerHTML", "HX-Push-Url": target,
        **COMMITMENT_CHANGED})


@router.post("/dialogues/{slug}/meetings")
def record_meeting(request: Request, slug: str, principal: CurrentPrincipal, tracker: TrackerDep,
                   read_models: FreshReadModelsDep, form: FormDep) -> Response:
    dialogue = readable_dialogue(read_models, principal, slug)
    try:
        values = parse_fields(form, ("held_on", "title", "summary", "note"))
        attendance = {}
        for party_id in party_names(dialogue):
            count = parse_int(text(form, f"attendance-{party_id}"), "attendance")
            if count is not None:
                attendance[party_id] = count
        if values["held_on"] is None:
            raise InvalidInput("give the date of the meeting", "held_on")
        settled(request, tracker.record_meeting(
            principal, slug, held_on=values["held_on"], title=values["title"] or "",
            attendance=attendance, summary=values["summary"], note=values["note"]))
    except InvalidInput as error:
        return workspace_form_response(request, principal, tracker, read_models,
                                       read_models.dialogue(slug) or dialogue, "meetings",
                                       errors=errors_of(error), typed=typed_values(form),
                                       status_code=422)
    if not wants_fragment(request):
        flash(request, "meeting-recorded")
        return RedirectResponse(f"/dialogues/{slug}#meetings", status_code=303)
    return workspace_form_response(request, principal, tracker, read_models,
                                   read_models.dialogue(slug), "meetings", done="meeting-recorded")


# --- a case -------------------------------------------------------------------------------------------

def case_context(request: Request, principal: Principal, tracker: Tracker, read_models: ReadModels,
                 case_id: str) -> dict:
    case = read_models.case(case_id)
    if case is None:
        raise NotFound(f"no case has the id {case_id[:60]}")
    if not principal.can_read(case["dialogue_id"]):
        raise Forbidden("you are not a member of this dialogue")
    dialogue = dialogue_by_id(read_models, case["dialogue_id"])
    today = tracker.today()
    commitments = [row for cid in case["commitment_ids"]
                   if (row := read_models.commitment(cid, today=today)) is not None]
    return {"case": case, "dialogue": dialogue, "parties": party_names(dialogue),
            "commitments": commitments, "timeline": read_models.timeline(case_id),
            "case_actions": list(CASE_ACTIONS) if principal.can_write(case["dialogue_id"]) else [],
            "may_write": principal.can_write(case["dialogue_id"]),
            "ask_party": principal.party_in(case["dialogue_id"]) is None,
            "own_party": principal.party_in(case["dialogue_id"]),
            "categories": CATEGORIES, "errors": {}, "typed": {}, "open_form": None, "today": today}


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: str, principal: CurrentPrincipal, tracker: TrackerDep,
              read_models: FreshReadModelsDep) -> Response:
    context = case_context(request, principal, tracker, read_models, case_id)
    return render(request, "case.html", context,
                  block="content" if request.headers.get("hx-target") == "main" else None)


@router.post("/cases/{case_id}/{action}")
def case_action(request: Request, case_id: str, action: str, principal: CurrentPrincipal,
                tracker: TrackerDep, read_models: FreshReadModelsDep, form: FormDep) -> Response:
    if action not in CASE_ACTIONS:
        raise NotFound(f"cases have no action {action[:40]!r}")
    field = CASE_ACTIONS[action][1]
    try:
        values = parse_fields(form, (field, "expected_version", "occurred_on", "note"))
        settled(request, tracker.case_action(
            principal, case_id, action, {field: values[field]},
            expected_version=values["expected_version"], occurred_on=values["occurred_on"],
            note=values["note"]))
    except (InvalidInput, Conflict) as error:
        context = case_context(request, principal, tracker, read_models, case_id)
        is_conflict = isinstance(error, Conflict)
        context.update(errors={} if is_conflict else errors_of(error), conflict=is_conflict,
                       typed=typed_values(form), open_form=action)
        return render(request, "case.html", context, block="case",
                      status_code=409 if is_conflict else 422)
    if not wants_fragment(request):
        flash(request, "case-done", action=action)
        return RedirectResponse(f"/cases/{case_id}", status_code=303)
    context = case_context(request, principal, tracker, read_models, case_id)
    context.update(done="case-done", done_action=action, oob=True)
    return render(request, "case.html", context, blocks=["case", "message"])


# --- a commitment -------------------------------------------------------------------------------------

def commitment_context(request: Request, principal: Principal, tracker: Tracker, read_models: ReadModels,
                       commitment_id: str, full_history: bool = False) -> dict[str, Any]:
    today = tracker.today()
    row = read_models.commitment(commitment_id, today=today)
    if row is None:
        raise NotFound(f"no commitment has the id {commitment_id[:60]}")
    if not principal.can_read(row["dialogue_id"]):
        raise Forbidden("you are not a member of this dialogue")
    aggregate = tracker.commitment(commitment_id)
    dialogue = dialogue_by_id(read_models, row["dialogue_id"])
    actions = tracker.actions_for(principal, aggregate)
    timeline = read_models.timeline(commitment_id)
    if not any(m["completed_on"] is None for m in aggregate.milestones):
        actions = [a for a in actions if a != "complete-milestone"]  # no milestone to choose
    return {
        "commitment": row,
        # Milestones and evidence come with the aggregate the actions are computed from.
        "details": aggregate.state(),
        "version": aggregate.version,
        "actions": actions,
        "specs": COMMITMENT_ACTIONS,
        "dialogue": dialogue,
        "parties": party_names(dialogue),
        "ask_party": principal.party_in(row["dialogue_id"]) is None,
        "own_party": principal.party_in(row["dialogue_id"]),
        "timeline": timeline if full_history else timeline[-HISTORY_SHOWN:],
        "history_total": len(timeline),
        "case": read_models.case(row["case_id"]) if row.get("case_id") else None,
        "today": today,
        "errors": {},
        "typed": {},
        "open_form": None,
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


@router.post("/commitments/{commitment_id}/{action}")
def commitment_action(request: Request, commitment_id: str, action: str,
                      principal: CurrentPrincipal, tracker: TrackerDep,
                      read_models: FreshReadModelsDep, form: FormDep) -> Response:
    """Every lifecycle action through one route: the contract's action names, the service's table."""
    spec = COMMITMENT_ACTIONS.get(action)
    if spec is None:
        raise NotFound(f"commitments have no action {action[:40]!r}")
    names = [*spec.fields, *(["party_id"] if spec.acting_party else [])]
    try:
        values = parse_fields(form, [*names, "expected_version", "occurred_on", "note"])
        fields = {name: values[name] for name in names}
        settled(request, tracker.commitment_action(
            principal, commitment_id, action, fields,
            expected_version=values["expected_version"], occurred_on=values["occurred_on"],
            note=values["note"]))
    except (InvalidInput, Conflict) as error:
        # Refused: the same page (or block) again, with the typed values and the reason.
        context = commitment_context(request, principal, tracker, read_models, commitment_id)
        is_conflict = isinstance(error, Conflict)
        context.update(errors={} if is_conflict else errors_of(error), conflict=is_conflict,
                       typed=typed_values(form), open_form=action, oob=True)
        return render(request, "commitment.html", context, blocks=["commitment"],
                      status_code=409 if is_conflict else 422)
    if not wants_fragment(request):
        flash(request, "action-done", action=action)
        return RedirectResponse(f"/commitments/{commitment_id}", status_code=303)
    context = commitment_context(request, principal, tracker, read_models, commitment_id)
    context.update(done="action-done", done_action=action, oob=True)
    return render(request, "commitment.html", context, blocks=["commitment", "counts", "message"],
                  headers=COMMITMENT_CHANGED)
