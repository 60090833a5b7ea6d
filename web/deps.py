"""FastAPI dependencies as Annotated aliases: the application, the read models, the acting account."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from tracker.application import Principal, Tracker
from tracker.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_tracker(request: Request) -> Tracker:
    return request.app.state.tracker


def get_read_models(request: Request) -> Any:
    """The `projections.ReadModels` of this process (see the read-model interface)."""
    return request.app.state.read_models


SettingsDep = Annotated[Settings, Depends(get_settings)]
TrackerDep = Annotated[Tracker, Depends(get_tracker)]
ReadModelsDep = Annotated[Any, Depends(get_read_models)]


def optional_principal(request: Request, tracker: TrackerDep) -> Principal | None:
    """The acting account: a bearer token (`Authorization: Bearer ...`) or the session cookie."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return tracker.principal_for_token(header[7:].strip())
    account_id = request.session.get("account_id") if "session" in request.scope else None
    return tracker.principal_by_id(account_id) if account_id else None


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


def current_principal(principal: OptionalPrincipal) -> Principal:
    """The acting account, or 401 for an anonymous request."""
    if principal is None:
        raise NotSignedIn()
    return principal


class NotSignedIn(Exception):
    """No valid session or token: pages redirect to /login, the API answers 401."""


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
