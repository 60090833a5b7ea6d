"""The committee workspace: dialogues, cases, commitments and their actions, meetings."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from web.deps import OptionalPrincipal, ReadModelsDep, render

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/")
def home(request: Request, principal: OptionalPrincipal, read_models: ReadModelsDep) -> Response:
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    dialogues = [d for d in read_models.dialogues() if principal.can_read(d["id"])]
    return render(request, "home.html", {"dialogues": dialogues})
