"""The administrator's page: start a dialogue, add a party, add an account, grant a membership."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from domain.account import ROLES
from domain.dialogue import PARTY_KINDS
from domain.errors import Conflict, InvalidInput, NotFound
from projections.readmodels import ReadModels
from tracker import policy
from tracker.application import Principal
from tracker.commands import AddParty, StartDialogue
from web.deps import CurrentPrincipal, FreshReadModelsDep, TrackerDep, render, wants_fragment
from web.forms import command_from_form, typed_values
from web.workspace import FormDep, errors_of, flash, settled, text

router = APIRouter(prefix="/admin", tags=["pages"], include_in_schema=False)


def admin_only(principal: Principal) -> None:
    policy.require_rule(principal, policy.ADMINISTRATION)


def admin_page(request: Request, read_models: ReadModels, *, status_code: int = 200,
               **context: Any) -> Response:
    context.setdefault("errors", {})
    context.setdefault("typed", {})
    return render(request, "admin.html", {"dialogues": read_models.dialogues(), "roles": ROLES,
                                          "kinds": PARTY_KINDS, **context},
                  block="admin" if wants_fragment(request) else None, status_code=status_code)


@router.get("/accounts")
def accounts(request: Request, principal: CurrentPrincipal, read_models: FreshReadModelsDep) -> Response:
    admin_only(principal)
    return admin_page(request, read_models)


@router.post("/accounts")
def add_account(request: Request, principal: CurrentPrincipal, tracker: TrackerDep,
                read_models: FreshReadModelsDep, form: FormDep) -> Response:
    admin_only(principal)
    try:
        settled(request, tracker.add_account(
            principal, name=text(form, "name") or "", role=text(form, "role") or "",
            password=str(form.get("password") or "")))
    except (InvalidInput, Conflict) as error:
        typed = {k: v for k, v in typed_values(form).items() if k != "password"}
        errors = errors_of(error) if isinstance(error, InvalidInput) else {"name": error.message}
        return admin_page(request, read_models, errors=errors, typed=typed, open_form="account",
                          status_code=422 if isinstance(error, InvalidInput) else 409)
    flash(request, "account-added")
    return RedirectResponse("/admin/accounts", status_code=303)


@router.post("/memberships")
def grant_membership(request: Request, principal: CurrentPrincipal, tracker: TrackerDep,
                     read_models: FreshReadModelsDep, form: FormDep) -> Response:
    admin_only(principal)
    slug, _, party = (text(form, "where") or "").partition("|")
    try:
        if not slug or not party:
            raise InvalidInput("choose a dialogue and a party", "where")
        settled(request, tracker.grant_membership(principal, text(form, "account") or "",
                                                      slug=slug, party=party))
    except (InvalidInput, NotFound) as error:
        field = error.field if isinstance(error, InvalidInput) else "account"
        return admin_page(request, read_models, errors={field or "_form": error.message},
                          typed=typed_values(form), open_form="membership", status_code=422)
    flash(request, "membership-granted")
    return RedirectResponse("/admin/accounts", status_code=303)


@router.post("/dialogues")
def start_dialogue(request: Request, principal: CurrentPrincipal, tracker: TrackerDep,
                   read_models: FreshReadModelsDep, form: FormDep) -> Response:
    admin_only(principal)
    try:
        settled(request, tracker.execute(principal, None, command_from_form(StartDialogue, form)))
    except (InvalidInput, Conflict) as error:
        errors = errors_of(error) if isinstance(error, InvalidInput) else {"slug": error.message}
        return admin_page(request, read_models, errors=errors, typed=typed_values(form),
                          open_form="dialogue",
                          status_code=422 if isinstance(error, InvalidInput) else 409)
    flash(request, "dialogue-started")
    return RedirectResponse("/admin/accounts", status_code=303)


@router.post("/parties")
def add_party(request: Request, principal: CurrentPrincipal, tracker: TrackerDep,
              read_models: FreshReadModelsDep, form: FormDep) -> Response:
    admin_only(principal)
    try:
        settled(request, tracker.execute(principal, text(form, "dialogue") or "",
                                         command_from_form(AddParty, form)))
    except (InvalidInput, NotFound) as error:
        field = error.field if isinstance(error, InvalidInput) else "dialogue"
        return admin_page(request, read_models, errors={field or "_form": error.message},
                          typed=typed_values(form), open_form="party", status_code=422)
    flash(request, "party-added")
    return RedirectResponse("/admin/accounts", status_code=303)
