"""Routes about mail: subscribing to a dialogue's public changes (double opt-in), confirming,
unsubscribing (the link in every mail, and RFC 8058's one-click POST), watching a commitment or a
dialogue, and choosing immediate mail, a daily digest or none. Thin: parse, call one use case,
render `mail_page.html` (one page, its `state` saying which)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from domain.account import MAIL_MODES
from domain.errors import InvalidInput, NotFound
from tracker.mailer import Subscriptions, TooManyRequests
from web.deps import CurrentPrincipal, FreshReadModelsDep, ReadModelsDep, TrackerDep, render
from web.i18n import request_language
from web.routing import QuickRoute
from web.security import address_block, client_address
from web.workspace import flash

router = APIRouter(route_class=QuickRoute, include_in_schema=False)

def subscriptions(request: Request) -> Subscriptions:
    return request.app.state.subscriptions


def page(request: Request, state: str, status_code: int = 200, **context: Any) -> Response:
    return render(request, "mail_page.html", {"state": state, **context}, status_code=status_code)


@router.post("/public/dialogues/{slug}/subscribe")
def subscribe(request: Request, slug: str, read_models: FreshReadModelsDep,
              email: Annotated[str, Form(max_length=254)] = "") -> Response:
    """Ask for a confirmation link; the same answer whether the address was known or not."""
    dialogue = read_models.public.dialogue(slug)
    if dialogue is None:
        raise NotFound(f"no public dialogue is called {slug[:60]!r}")
    try:
        subscriptions(request).subscribe(dialogue["id"], email, request_language(request),
                                         address_block(client_address(request)))
    except TooManyRequests as refused:
        response = page(request, "too_many", status_code=429, dialogue=dialogue)
        response.headers["Retry-After"] = str(refused.retry_after)
        return response
    except InvalidInput as refused:
        return page(request, "bad_address", status_code=422, dialogue=dialogue,
                    message=refused.message, email=email)
    return page(request, "check_mail", dialogue=dialogue)


@router.get("/public/subscriptions/{token}")
def confirm_page(request: Request, token: str) -> Response:
    """A button, not the confirmation itself: mail scanners open links."""
    if subscriptions(request).links.read(token, "confirm") is None:
        return page(request, "bad_link", status_code=404)
    return page(request, "confirm", token=token)


@router.post("/public/subscriptions/{token}")
def confirm(request: Request, token: str, tracker: TrackerDep,
            read_models: FreshReadModelsDep) -> Response:
    head = tracker.recorder.max_notification_id() or 0
    dialogue_id = subscriptions(request).confirm(token, head)
    if dialogue_id is None:
        return page(request, "bad_link", status_code=404)
    return page(request, "confirmed", dialogue=read_models.public.dialogue_by_id(dialogue_id))


@router.get("/unsubscribe/{token}")
def unsubscribe_page(request: Request, token: str) -> Response:
    if _unsubscribe_target(request, token) is None:
        return page(request, "bad_link", status_code=404)
    return page(request, "unsubscribe", token=token)


@router.post("/unsubscribe/{token}")
def unsubscribe(request: Request, token: str, tracker: TrackerDep) -> Response:
    """Also RFC 8058's one-click POST (`List-Unsubscribe=One-Click`) from a mail client: the
    signed token is the authority (no session, no CSRF token). A subscriber's address is deleted
    at once; an account's mail is turned off."""
    target = _unsubscribe_target(request, token)
    if target is None:
        return page(request, "bad_link", status_code=404)
    kind, ident = target
    if kind == "subscriber":
        subscriptions(request).unsubscribe(ident)
    else:
        try:
            tracker.stop_mail(ident)
        except NotFound:
            return page(request, "bad_link", status_code=404)
    return page(request, "unsubscribed")


def _unsubscribe_target(request: Request, token: str) -> tuple[str, str] | None:
    links = subscriptions(request).links
    for kind in ("subscriber", "account"):
        ident = links.read(token, kind)
        if ident is not None:
            return kind, ident
    return None


# --- signed-in members: watching and how they are told ----------------------------------------------

def back(request: Request, fallback: str) -> str:
    """Where the form was (a path of this site only), else the fallback."""
    referer = request.headers.get("referer", "")
    origin = f"{request.url.scheme}://{request.url.netloc}"
    if referer.startswith(origin + "/"):
        return referer[len(origin):]
    return fallback


@router.post("/watching/{target_id}")
def watching(request: Request, target_id: str, principal: CurrentPrincipal, tracker: TrackerDep,
             read_models: ReadModelsDep, watch: Annotated[str, Form()] = "1") -> Response:
    if watch == "1":
        done = tracker.watch(principal, target_id)
        flash(request, "watching")
    else:
        done = tracker.unwatch(principal, target_id)
        flash(request, "not-watching")
    read_models.wait_for(done.position)
    return RedirectResponse(back(request, "/"), status_code=303)


@router.post("/account/mail")
def choose_mail(request: Request, principal: CurrentPrincipal, tracker: TrackerDep,
                mail: Annotated[str, Form()] = "") -> Response:
    if mail not in MAIL_MODES:
        raise InvalidInput(f"mail is one of: {', '.join(MAIL_MODES)}", "mail")
    tracker.choose_mail(principal, mail)
    flash(request, "mail-chosen")
    return RedirectResponse(back(request, "/"), status_code=303)
