"""A meeting's page: what it was, what was decided there, and the decisions entered at once.

The decisions are entered on one page, a row per decision (plain form fields: works without
JavaScript; "Add rows" posts what was typed and comes back with more rows), or by uploading a CSV
or XLSX table (the template and the dialogue's export are in the same format). Either way the
table is first checked (a dry run: what each row will do, every problem by row and column),
then recorded, all of it or nothing (tracker/importing.py).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from domain.errors import InvalidInput, InvalidRows, NotFound
from projections.readmodels import ReadModels
from tracker import policy
from tracker.application import Principal
from tracker.commands import ImportDecisions
from tracker.importing import ImportResult
from tracker.sheets import COLUMNS, Row, read_table
from web.deps import (
    CurrentPrincipal,
    FreshReadModelsDep,
    TrackerDep,
    get_read_models,
    read_models_reached,
    render,
)
from web.reading import readable_dialogue, table_download
from web.routing import QuickRoute
from web.workspace import FormDep, flash, party_names, text

router = APIRouter(route_class=QuickRoute, tags=["pages"], include_in_schema=False)

ROWS_SHOWN = 5  # empty rows of a new entry form; "Add rows" adds as many
MAX_ENTRY_ROWS = 100  # rows typed on the page (a bigger table: upload it)
Kind = Literal["csv", "xlsx"]


def meeting_of(read_models: ReadModels, principal: Principal, slug: str,
               meeting_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    dialogue = readable_dialogue(read_models, principal, slug)
    meeting = read_models.meeting(dialogue["id"], meeting_id)
    if meeting is None:
        raise NotFound(f"this dialogue has no meeting {meeting_id[:60]!r}")
    return dialogue, meeting


def entry_offer(principal: Principal, dialogue: dict[str, Any]) -> policy.Offer | None:
    return policy.offer(principal, ImportDecisions, policy.Target(dialogue["id"]),
                        [p["id"] for p in dialogue["parties"]])


def typed_rows(form: Mapping[str, Any], count: int) -> list[Row]:
    return [Row(number, {c: str(form.get(f"{c}-{number}") or "") for c in COLUMNS})
            for number in range(1, count + 1)]


def sheet(rows: Sequence[Row], result: ImportResult | None,
          problems: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with what it will do (once checked) and its problems by column."""
    plans = {p.row: p for p in result.rows} if result else {}
    return [{"number": row.number, "cells": row.cells, "plan": plans.get(row.number),
             "errors": {p["column"] or "_row": p["message"] for p in problems
                        if p["row"] == row.number}} for row in rows]


def page(request: Request, principal: Principal, read_models: ReadModels, dialogue: dict,
         meeting: dict, *, rows: Sequence[Row] = (), result: ImportResult | None = None,
         problems: Sequence[dict[str, Any]] = (), upload: dict[str, Any] | None = None,
         party: str | None = None, status_code: int = 200) -> Response:
    offer = entry_offer(principal, dialogue)
    if not rows and upload is None:
        rows = typed_rows({}, ROWS_SHOWN)
    context = {
        "dialogue": dialogue, "meeting": meeting, "parties": party_names(dialogue),
        "decisions": by_record(read_models.meeting_decisions(meeting["id"])), "offer": offer,
        "acting_parties": [(p, party_names(dialogue).get(p, p)) for p in offer.parties]
        if offer else [], "party": party, "columns": COLUMNS,
        "sheet": sheet(rows, result, problems) if upload is None else [],
        "upload": upload, "result": result,
        "problems": [p for p in problems if p["row"] == 1 or upload is not None],
        "count": len(rows) if upload is None else 0,
    }
    return render(request, "meeting.html", context, status_code=status_code)


def by_record(entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The meeting's decisions, one item per record (in the order first decided), its events
    in order."""
    records: dict[str, dict[str, Any]] = {}
    for entry in entries:
        records.setdefault(entry["aggregate_id"], {**entry, "events": []})["events"].append(entry)
    return list(records.values())


@router.get("/dialogues/{slug}/meetings/{meeting_id}")
def meeting_page(request: Request, slug: str, meeting_id: str, principal: CurrentPrincipal,
                 read_models: FreshReadModelsDep) -> Response:
    dialogue, meeting = meeting_of(read_models, principal, slug, meeting_id)
    return page(request, principal, read_models, dialogue, meeting)


@router.post("/dialogues/{slug}/meetings/{meeting_id}/decisions")
def enter_decisions(request: Request, slug: str, meeting_id: str, principal: CurrentPrincipal,
                    tracker: TrackerDep, read_models: FreshReadModelsDep,
                    form: FormDep) -> Response:
    """Typed rows (`{column}-{n}`, `rows`) or a table (`file`, then `table` to record it):
    `step` is `more` (add rows), `check` (a dry run) or `record`."""
    dialogue, meeting = meeting_of(read_models, principal, slug, meeting_id)
    step = text(form, "step") or "check"
    party = text(form, "party_id")
    upload = uploaded(form)
    if upload is not None:
        rows: list[Row] = []
        try:
            rows = read_table(upload["data"], upload["type"], upload["name"])
        except InvalidRows as error:
            return page(request, principal, read_models, dialogue, meeting,
                        problems=error.rows, upload=upload, party=party, status_code=422)
    else:
        count = min(MAX_ENTRY_ROWS, int_or(text(form, "rows"), ROWS_SHOWN))
        if step == "more":
            count = min(MAX_ENTRY_ROWS, count + ROWS_SHOWN)
        rows = typed_rows(form, count)
        if step == "more":
            return page(request, principal, read_models, dialogue, meeting, rows=rows,
                        party=party)
    filled = [row for row in rows if any(v.strip() for v in row.cells.values())]
    command = ImportDecisions.parse({"meeting_id": meeting["id"], "party_id": party})
    try:
        result = tracker.import_decisions(principal, slug, command, filled,
                                          dry_run=step != "record")
    except InvalidRows as error:
        return page(request, principal, read_models, dialogue, meeting, rows=rows,
                    problems=error.rows, upload=upload, party=party, status_code=422)
    if step != "record" or not filled:
        return page(request, principal, read_models, dialogue, meeting, rows=rows,
                    result=result, upload=upload, party=party)
    if result.position is not None:  # read your writes: the page shows the decisions
        get_read_models(request).wait_for(result.position)
        read_models_reached(request, result.position)
    flash(request, "decisions-recorded")
    return RedirectResponse(f"/dialogues/{slug}/meetings/{meeting['id']}#decisions",
                            status_code=303)


def int_or(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() else default


def uploaded(form: Mapping[str, Any]) -> dict[str, Any] | None:
    """The table sent: a file chosen now, or (to record what was checked) the same bytes again,
    carried by the preview page as `table` (base64)."""
    file = form.get("file")
    if isinstance(file, UploadFile) and file.filename:
        data = file.file.read()
        return {"data": data, "name": file.filename, "type": file.content_type,
                "encoded": base64.b64encode(data).decode()}
    carried = form.get("table")
    if isinstance(carried, str) and carried:
        try:
            data = base64.b64decode(carried, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("the table sent back is damaged; upload the file again",
                               "file") from None
        return {"data": data, "name": text(form, "filename") or "", "type": None,
                "encoded": carried}
    return None


# --- the table as a file ---------------------------------------------------------------------

@router.get("/dialogues/{slug}/decisions.{kind}")
def export_decisions(slug: str, kind: Annotated[Kind, Path()], principal: CurrentPrincipal,
                     read_models: FreshReadModelsDep,
                     template: Annotated[bool, Query()] = False) -> Response:
    """The dialogue's commitments in the import's format (`?template=true`: the header only)."""
    dialogue = readable_dialogue(read_models, principal, slug)
    rows = [] if template else read_models.decision_rows(dialogue["id"])
    return table_download(rows, kind, f"{slug}-{'template' if template else 'decisions'}")
