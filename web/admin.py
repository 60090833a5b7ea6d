"""The administrator's page: the accounts (role, memberships, last sign-in, tokens) and what can be
done to each (deactivate, reactivate, reset the password, revoke tokens, remove the second factor);
start a dialogue, add a party, add an account, grant a membership. Every change is an event on the
account, in the administrator's name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from domain.account import ROLES
from domain.dialogue import PARTY_KINDS
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound, TransitionRefused
from projections.readmodels import ReadModels
from tracker import policy
from tracker.application import CommandResult, Principal, Tracker
from tracker.commands import AddParty, StartDialogue
from web.deps import CurrentPrincipal, FreshReadModelsDep, TrackerDep, render, wants_fragment
from web.errors import status_of
from web.forms import command_from_form, typed_values
from web.routing import QuickRoute
from web.workspace import FormDep, errors_of, flash, settled, text

router = APIRouter(route_class=QuickRoute, prefix="/admin", tags=["pages"], include_in_schema=False)


def admin_only(principal: Principal) -> None:
    policy.require_rule(principal, policy.ADMINISTRATION)


def admin_page(request: Request, read_models: ReadModels, *, status_code: int = 200,
               **context: Any) -> Response:
    context.setdefault("errors", {})
    context.setdefault("typed", {})
    context.setdefault("open_form", None)
    return render(request, "admin.html", {"dialogues": read_models.dialogues(), "roles": ROLES,
                                          "kinds": PARTY_KINDS, "accounts": read_models.accounts(),
                                          **context},
                  block="admin" if wants_fragment(request) else None, status_code=status_code)


@dataclass(frozen=True)
class AccountAction:
    """What one button of an account on the admin page does: the use case it calls with the
    form's fields, the confirmation it shows, and whether it ends the account's sessions."""

    call: Callable[[Tracker, Principal, str, FormData], CommandResult]
    done: str
    ends_sessions: bool = False


ACCOUNT_ACTIONS: dict[str, AccountAction] = {
    "deactivate": AccountAction(
        lambda t, p, name, form: t.deactivate_account(p, name, reason=text(form, "reason") or ""),
        "account-deactivated", ends_sessions=True),
    "reactivate": AccountAction(lambda t, p, name, form: t.reactivate_account(p, name),
                                "account-reactivated"),
    "revoke-membership": AccountAction(
        lambda t, p, name, form: t.revoke_membership(p, name, slug=text(form, "dialogue") or ""),
        "membership-revoked", ends_sessions=True),
    "password": AccountAction(
        lambda t, p, name, form: t.reset_password(
            p, name, password=str(form.get("password") or ""),
            revoke_tokens=form.get("revoke_tokens") in ("on", "1", "true")),
        "password-reset", ends_sessions=True),
    "revoke-token": AccountAction(
        lambda t, p, name, form: t.revoke_tokens(p, name, token=text(form, "token") or "-"),
        "token-revoked"),
    "revoke-tokens": AccountAction(lambda t, p, name, form: t.revoke_tokens(p, name),
                                   "tokens-revoked"),
    "remove-second-factor": AccountAction(
        lambda t, p, name, form: t.remove_second_factor(p, name,
                                                        reason=text(form, "reason") or ""),
        "second-factor-removed", ends_sessions=True),
}


@router.post("/accounts/{name}/{action}")
def account_action(request: Request, name: str, action: str, principal: CurrentPrincipal,
                   tracker: TrackerDep, read_models: FreshReadModelsDep, form: FormDep) -> Response:
    """One action on one account; a refusal shows the page again, the message by that account's
    form, and changes nothing."""
    admin_only(principal)
    spec = ACCOUNT_ACTIONS.get(action)
    if spec is None:
        raise NotFound(f"accounts have no action {action[:40]!r}")
    try:
        result = settled(request, spec.call(tracker, principal, name, form))
    except (InvalidInput, TransitionRefused, Forbidden, NotFound) as error:
        return admin_page(request, read_models, errors={"_form": error.message},
                          open_form=f"{action}:{name}", status_code=status_of(error))
    if spec.ends_sessions:  # the epoch already refuses them; this tidies the table at once
        request.app.state.sessions.end_for_account(result.id)
    flash(request, spec.done)
    return RedirectResponse(f"/admin/accounts#account-{name}", status_code=303)


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
            password=str(form.get("password") or ""), email=text(form, "email"),
            language=text(form, "language")))
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
