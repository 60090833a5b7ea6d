"""What the API, the public pages and the auditor's pages share: the ledger summary, paging, CSV
cells, photos of evidence."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi.responses import Response

from domain.errors import InvalidInput, NotFound
from projections.readmodels import ReadModels
from tracker import policy
from tracker.application import Principal
from tracker.photos import PhotoStore
from tracker.sheets import CSV_TYPE, XLSX_TYPE, escape, write_table


def may_read(dialogue: dict[str, Any] | None, principal: Principal, slug: str) -> dict[str, Any]:
    """The dialogue read for `slug`, if this account may read it (NotFound when there is none)."""
    if dialogue is None:
        raise NotFound(f"no dialogue is called {slug[:60]!r}")
    policy.require_read(principal, dialogue["id"])
    return dialogue


def readable_dialogue(read_models: ReadModels, principal: Principal, slug: str) -> dict[str, Any]:
    """The dialogue (parties, counts, meetings) if this account may read it."""
    return may_read(read_models.dialogue(slug), principal, slug)


def ledger_summary(read_models: ReadModels) -> dict[str, Any]:
    """The ledger's position and head hash, with its latest signed checkpoint and tree head (each
    or None), and the latest tree head witnesses cosigned when that is another one."""
    head = read_models.ledger_head()
    tree_head = read_models.latest_tree_head()
    cosigned = None
    if tree_head is not None and not tree_head["cosignatures"]:
        cosigned = read_models.latest_cosigned_head()
    return {"position": head["position"], "head_hash": head["head_hash"],
            "checkpoint": read_models.latest_checkpoint(), "tree_head": tree_head,
            "cosigned_head": cosigned}


def page_of(items: list[Any], page: int, size: int) -> tuple[list[Any], int, int]:
    """One page of a list: (its items, the page number, clamped to what exists, the page count)."""
    pages = max(1, -(-len(items) // size))
    page = min(max(1, page), pages)
    return items[(page - 1) * size: page * size], page, pages


def csv_cell(value: Any) -> Any:
    """A CSV cell: dates as ISO text, None as empty, and text that a spreadsheet would run as a
    formula (starting with = + - @ or a control character) quoted with a leading '."""
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return "" if value is None else value


def party_filter(dialogue: dict[str, Any], value: str | None) -> str | None:
    """The id of the dialogue's party a filter names, by its id or its name (any letter case);
    a filter naming no party of the dialogue is refused rather than matching nothing."""
    if not value:
        return None
    wanted = value.strip().casefold()
    for party in dialogue["parties"]:
        if value == party["id"] or wanted == party["name"].strip().casefold():
            return party["id"]
    raise InvalidInput(f"this dialogue has no party called or with the id {value[:60]!r}", "party")


def table_download(rows: list[dict[str, Any]], kind: str, name: str) -> Response:
    """A table of decisions (tracker/sheets.py) as a CSV or XLSX file to save."""
    return Response(write_table(rows, kind), media_type=XLSX_TYPE if kind == "xlsx" else CSV_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{name}.{kind}"'})


def photo_response(photos: PhotoStore, evidence: dict, size: str, *, public: bool) -> Response:
    """The stored image of a photo's evidence; its address never changes (it is named by the
    evidence), so it is kept a week; by this browser only, unless the evidence is public."""
    if size not in ("photo", "thumbnail"):
        raise NotFound("a photo is shown as 'photo' or 'thumbnail'")
    found = photos.image(evidence["sha256"], thumbnail=size == "thumbnail")
    if found is None:
        raise NotFound("this evidence's photo is not kept here")
    data, media_type = found
    cache = "public" if public else "private"
    return Response(data, media_type=media_type,
                    headers={"cache-control": f"{cache}, max-age=604800, immutable"})
