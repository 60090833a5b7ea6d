"""Signing in and out, and the language switch."""

from __future__ import annotations

from contextlib import suppress
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from domain.errors import DomainError
from web.deps import OptionalPrincipal, TrackerDep, render
from web.i18n import LANGUAGES
from web.security import TooManyAttempts, client_address, end_session, start_session

router = APIRouter(tags=["pages"], include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a path on this site: never another host (no open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


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
        return render(request, "login.html", {**context, "error": "locked",
                                              "retry_minutes": max(1, refused.retry_after // 60)},
                      status_code=429, headers={"Retry-After": str(refused.retry_after)})
    principal = tracker.authenticate(username, password)
    if principal is None or principal.account_id is None:
        throttle.failed(username, address)
        with suppress(DomainError):  # a name that cannot be an account: nothing to record
            tracker.record_failed_login(username, address)
        return render(request, "login.html", {**context, "error": "wrong"}, status_code=401)
    throttle.succeeded(username)
    start_session(request, principal.account_id, principal.language)
    return RedirectResponse(safe_next(next), status_code=303)


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
                                              "message": "a language is one of: fr, en"},
                      status_code=422)
    request.session["lang"] = lang
    if principal is not None and principal.account_id and principal.language != lang:
        tracker.set_language(principal, lang)
    return RedirectResponse(safe_next(next), status_code=303)
