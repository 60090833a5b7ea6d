"""One's own account: change one's password (giving the current one), and the second factor of an
administrator or auditor (enrol with a QR code drawn here, recovery codes, remove it)."""

from __future__ import annotations

from typing import Annotated, Any

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from domain.account import SECOND_FACTOR_ROLES
from domain.errors import DomainError, InvalidInput
from tracker.application import Principal, new_second_factor_secret, provisioning_uri
from web.auth import pending, safe_next
from web.deps import CurrentPrincipal, OptionalPrincipal, TrackerDep, render
from web.routing import QuickRoute
from web.security import client_address, start_session
from web.workspace import flash

router = APIRouter(route_class=QuickRoute, prefix="/account", tags=["pages"], include_in_schema=False)


@router.get("/password")
def password_form(request: Request, principal: CurrentPrincipal) -> Response:
    return render(request, "account_password.html", {"errors": {}})


@router.post("/password")
def change_password(request: Request, principal: CurrentPrincipal, tracker: TrackerDep,
                    current_password: Annotated[str, Form(max_length=1000)] = "",
                    new_password: Annotated[str, Form(max_length=1000)] = "",
                    confirm_password: Annotated[str, Form(max_length=1000)] = "") -> Response:
    """A new password; every other session of the account ends, this one goes on."""
    try:
        if new_password != confirm_password:
            raise InvalidInput("the two new passwords differ", "confirm_password")
        result = tracker.change_own_password(principal, current=current_password,
                                             new=new_password)
    except InvalidInput as error:
        return render(request, "account_password.html",
                      {"errors": {error.field or "_form": error.message}}, status_code=422)
    request.session["epoch"] = int(result.extra["session_epoch"])
    request.app.state.sessions.end_for_account(principal.account_id,
                                               keep=request.session.id)  # type: ignore[attr-defined]
    flash(request, "password-changed")
    return RedirectResponse("/account/password", status_code=303)


# --- the second factor ----------------------------------------------------------------------------

def who_enrols(request: Request, principal: Principal | None, tracker: Any) -> Principal | None:
    """The signed-in account, or the one whose right password waits for its enrolment."""
    if principal is not None:
        return principal
    waiting = pending(request, enrol=True)
    return tracker.principal_by_id(waiting["account_id"]) if waiting else None


def qr_image(uri: str) -> str:
    """The otpauth address as a QR code: an SVG drawn here, as a data: address for an <img>."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, dark="#1b1b1b", light="#ffffff")


def enrolment_page(request: Request, who: Principal, *, status_code: int = 200,
                   error: str | None = None) -> Response:
    secret = request.session.get("enrol_secret")
    if not secret:
        secret = request.session["enrol_secret"] = new_second_factor_secret()
    uri = provisioning_uri(who.name, secret)
    return render(request, "second_factor.html",
                  {"who": who, "enrolled": False, "secret": secret, "qr": qr_image(uri),
                   "error": error, "required": request.app.state.settings.require_second_factor},
                  status_code=status_code)


@router.get("/second-factor")
def second_factor(request: Request, principal: OptionalPrincipal, tracker: TrackerDep) -> Response:
    who = who_enrols(request, principal, tracker)
    if who is None:
        return RedirectResponse("/login", status_code=303)
    if who.role not in SECOND_FACTOR_ROLES:
        return render(request, "second_factor.html", {"who": who, "not_for_role": True})
    if who.second_factor:
        return render(request, "second_factor.html", {"who": who, "enrolled": True, "errors": {}})
    return enrolment_page(request, who)


@router.post("/second-factor")
def enrol(request: Request, principal: OptionalPrincipal, tracker: TrackerDep,
          code: Annotated[str, Form(max_length=40)] = "") -> Response:
    """Turn the second factor on with a code the app shows; a sign-in that waited for this
    enrolment is completed in the same transaction. The recovery codes are shown once, here."""
    who = who_enrols(request, principal, tracker)
    secret = request.session.get("enrol_secret")
    if who is None or not secret:
        return RedirectResponse("/login", status_code=303)
    waiting = None if principal is not None else pending(request, enrol=True)
    try:
        codes = tracker.enrol_second_factor(
            who, secret=secret, code=code,
            sign_in_from=client_address(request) if waiting else None)
    except DomainError as error:
        return enrolment_page(request, who, status_code=422, error=error.message)
    request.session.pop("enrol_secret", None)
    if waiting is not None:
        start_session(request, tracker.principal_by_id(waiting["account_id"]))
    return render(request, "second_factor.html",
                  {"who": who, "codes": codes, "next": safe_next(waiting.get("next") if waiting
                                                                  else "/")})


@router.post("/second-factor/remove")
def remove(request: Request, principal: CurrentPrincipal, tracker: TrackerDep,
           password: Annotated[str, Form(max_length=1000)] = "") -> Response:
    """Turn one's own second factor off, giving one's password (a new one can then be set up)."""
    try:
        tracker.remove_second_factor(principal, principal.name, password=password,
                                     reason="removed by the account itself")
    except InvalidInput as error:
        return render(request, "second_factor.html",
                      {"who": principal, "enrolled": True, "errors": {"password": error.message}},
                      status_code=422)
    # Removing it ended every session of the account, this one included: sign in again.
    return RedirectResponse("/login", status_code=303)
