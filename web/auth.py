"""Signing in and out, and the language switch."""

from __future__ import annotations

import time
from contextlib import suppress
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from domain.errors import DomainError, InvalidInput
from tracker.application import Principal
from web.deps import OptionalPrincipal, TrackerDep, needs_second_factor, pending_sign_in, render
from web.errors import in_reader_language
from web.i18n import LANGUAGES
from web.routing import QuickRoute
from web.security import TooManyAttempts, client_address, end_session, start_session
from web.workspace import own_workspace

router = APIRouter(route_class=QuickRoute, tags=["pages"], include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a path on this site: never another host (no open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def signed_in_to(request: Request, principal: Principal, target: str | None) -> RedirectResponse:
    """Where a sign-in lands: `next`, and for home, a member's one dialogue straight away (home
    would only send them on: a round trip saved, 0.4 s on a slow link)."""
    target = safe_next(target)
    if target == "/":
        target = own_workspace(principal, request.app.state.read_models.dialogues()) or "/"
    return RedirectResponse(target, status_code=303)


@router.get("/login")
def login_form(request: Request, principal: OptionalPrincipal, next: str = "/") -> Response:
    return render(request, "login.html", {"next": safe_next(next), "username": ""})


@router.post("/login")
def login(request: Request, tracker: TrackerDep,
          username: Annotated[str, Form(max_length=200)] = "",
          password: Annotated[str, Form(max_length=1000)] = "",
          next: Annotated[str, Form(max_length=2000)] = "/") -> Response:
    throttle = request.app.state.login_throttle
    address = client_address(request)
    context = {"next": safe_next(next), "username": username}
    try:
        throttle.check(username, address)
    except TooManyAttempts as refused:
        return locked_out(request, "login.html", context, refused)
    principal = tracker.authenticate(username, password)
    if principal is None or principal.account_id is None:
        throttle.failed(username, address)
        with suppress(DomainError):  # a name that cannot be an account: nothing to record
            tracker.record_failed_login(username, address)
        return render(request, "login.html", {**context, "error": "wrong"}, status_code=401)
    if principal.second_factor or needs_second_factor(request, principal):
        # The password was right; the session waits for the code (or for its enrolment). The
        # account's failures are cleared only by a right code: otherwise the password would
        # buy unlimited guesses of the code.
        end_session(request)
        request.session["pending"] = pending_sign_in(
            principal, enrol=not principal.second_factor, next_url=safe_next(next))
        target = "/login/code" if principal.second_factor else "/account/second-factor"
        return RedirectResponse(target, status_code=303)
    throttle.succeeded(username)
    signed_in = tracker.sign_in(principal.account_id, source=address)
    start_session(request, signed_in)
    request.app.state.sessions.purge()  # sessions that are over, now and then
    return signed_in_to(request, signed_in, next)


def locked_out(request: Request, template: str, context: dict[str, Any],
               refused: TooManyAttempts) -> Response:
    return render(request, template, {**context, "error": "locked",
                                      "retry_minutes": max(1, refused.retry_after // 60)},
                  status_code=429, headers={"Retry-After": str(refused.retry_after)})


PENDING_SECONDS = 5 * 60  # how long a right password waits for its second factor


def pending(request: Request, *, enrol: bool) -> dict[str, Any] | None:
    """The sign-in waiting for its second factor (or its enrolment), if it is recent."""
    found = request.session.get("pending")
    if not isinstance(found, dict) or bool(found.get("enrol")) != enrol or \
            time.time() - float(found.get("at", 0)) > PENDING_SECONDS:
        return None
    return found


@router.get("/login/code")
def code_form(request: Request) -> Response:
    waiting = pending(request, enrol=False)
    if waiting is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "login_code.html", {"name": waiting["name"]})


@router.post("/login/code")
def code(request: Request, tracker: TrackerDep,
         code: Annotated[str, Form(max_length=40)] = "") -> Response:
    """The second step of signing in: a code from the authenticator app, or a recovery code.
    Wrong codes count as failed sign-ins of the account (the same throttle as passwords)."""
    waiting = pending(request, enrol=False)
    if waiting is None:
        return RedirectResponse("/login", status_code=303)
    throttle = request.app.state.login_throttle
    address = client_address(request)
    context = {"name": waiting["name"]}
    try:
        throttle.check(waiting["name"], address)
        principal = tracker.sign_in(waiting["account_id"], source=address, code=code)
    except TooManyAttempts as refused:
        return locked_out(request, "login_code.html", context, refused)
    except InvalidInput as error:
        throttle.failed(waiting["name"], address)
        return render(request, "login_code.html", {**context, "error": error.message},
                      status_code=422)
    throttle.succeeded(waiting["name"])
    start_session(request, principal)
    return signed_in_to(request, principal, waiting.get("next"))


@router.get("/logout")
def logout_form(request: Request, principal: OptionalPrincipal) -> Response:
    """A link to /logout shows a button: signing out changes the session, so it is a POST."""
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "logout.html")


@router.post("/logout")
def logout(request: Request) -> Response:
    end_session(request)
    return RedirectResponse("/login", status_code=303)


@router.post("/language")
def switch_language(request: Request, principal: OptionalPrincipal, tracker: TrackerDep,
                    lang: Annotated[str, Form()], next: Annotated[str, Form()] = "/") -> Response:
    if lang not in LANGUAGES:
        return render(request, "error.html", {"status": 422, "code": "invalid",
                                              "message": in_reader_language(
                          request, "a language is one of: fr, en, ar")},
                      status_code=422)
    request.session["lang"] = lang
    if principal is not None and principal.account_id and principal.language != lang:
        tracker.set_language(principal, lang)
    return RedirectResponse(safe_next(next), status_code=303)
