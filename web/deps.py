"""FastAPI dependencies as Annotated aliases, and the one page-or-fragment render helper."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response

from projections.readmodels import ReadModels
from tracker.application import Principal, Tracker
from tracker.settings import Settings
from web.i18n import request_language, translator
from web.security import csrf_token


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_tracker(request: Request) -> Tracker:
    return request.app.state.tracker


def get_read_models(request: Request) -> ReadModels:
    """The `projections.ReadModels` of this process (see the read-model interface)."""
    return request.app.state.read_models


SettingsDep = Annotated[Settings, Depends(get_settings)]
TrackerDep = Annotated[Tracker, Depends(get_tracker)]
ReadModelsDep = Annotated[ReadModels, Depends(get_read_models)]


def get_fresh_read_models(request: Request) -> ReadModels:
    """The read models, first brought up to the end of the log, so that events written by another
    worker or by the command line show at once. When the log has not grown since the last catch-up
    this costs one query (the log's last position) instead of one per view."""
    read_models = get_read_models(request)
    head = get_tracker(request).recorder.max_notification_id() or 0
    if head > getattr(request.app.state, "read_models_at", -1):
        read_models.catch_up()
        read_models_reached(request, head)
    return read_models


def read_models_reached(request: Request, position: int) -> None:
    """Remember that every view includes `position` (views apply the log in order)."""
    state = request.app.state
    state.read_models_at = max(getattr(state, "read_models_at", -1), position)


FreshReadModelsDep = Annotated[ReadModels, Depends(get_fresh_read_models)]


def optional_principal(request: Request, tracker: TrackerDep) -> Principal | None:
    """The acting account: a bearer token (`Authorization: Bearer ...`) or the session cookie."""
    if hasattr(request.state, "principal"):  # resolved once per request
        return request.state.principal
    header = request.headers.get("authorization", "")
    principal = None
    if header.lower().startswith("bearer "):
        principal = tracker.principal_for_token(header[7:].strip())
    else:
        account_id = request.session.get("account_id") if "session" in request.scope else None
        principal = tracker.principal_by_id(account_id) if account_id else None
    request.state.principal = principal  # for the page layout (who is signed in)
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


def current_principal(principal: OptionalPrincipal) -> Principal:
    """The acting account, or 401 for an anonymous request."""
    if principal is None:
        raise NotSignedIn()
    return principal


class NotSignedIn(Exception):
    """No valid session or token: pages redirect to /login, the API answers 401."""


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


# --- rendering ------------------------------------------------------------------------------------

def wants_fragment(request: Request) -> bool:
    """An htmx request that swaps part of a page (not a boosted navigation, not a history restore)."""
    headers = request.headers
    return (headers.get("hx-request") == "true"
            and headers.get("hx-boosted") != "true"
            and headers.get("hx-history-restore-request") != "true")


def page_context(request: Request) -> dict[str, Any]:
    """What every template may use: the language, the CSRF token, who is signed in, where we are."""
    language = request_language(request)
    return {
        "request": request,
        "locale": language,
        "translations": translator(request.app.state.catalogues, language),
        "csrf_token": csrf_token(request) if "session" in request.scope else "",
        "principal": getattr(request.state, "principal", None),
        "flash": request.session.pop("flash", None) if "session" in request.scope else None,
        "current_url": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }


def render(request: Request, name: str, context: Mapping[str, Any] | None = None, *,
           block: str | None = None, blocks: Sequence[str] | None = None,
           status_code: int = 200, headers: Mapping[str, str] | None = None,
           fragment: bool | None = None) -> Response:
    """The page, or (for an htmx request, when `block`/`blocks` are given) only those blocks.

    `fragment` forces the choice (True: blocks, False: page). Every answer says `Vary: HX-Request`,
    so a cache never serves a fragment for a page or the reverse.
    """
    templates = request.app.state.templates
    full_context = page_context(request)
    full_context.update(context or {})
    as_fragment = wants_fragment(request) if fragment is None else fragment
    kwargs: dict[str, Any] = {}
    if as_fragment and blocks:
        kwargs["block_names"] = list(blocks)
    elif as_fragment and block:
        kwargs["block_name"] = block
    response = templates.TemplateResponse(request, name, full_context, status_code=status_code,
                                          headers=dict(headers or {}), **kwargs)
    vary = response.headers.get("vary")
    response.headers["vary"] = f"{vary}, HX-Request" if vary else "HX-Request"
    return response
