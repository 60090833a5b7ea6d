"""What the API, the public pages and the auditor's pages share: the ledger summary, paging, CSV cells."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from domain.errors import InvalidInput
from projections.readmodels import ReadModels


def ledger_summary(read_models: ReadModels) -> dict[str, Any]:
    """The ledger's position and head hash, with its latest signed checkpoint (or None)."""
    head = read_models.ledger_head()
    return {"position": head["position"], "head_hash": head["head_hash"],
            "checkpoint": read_models.latest_checkpoint()}


def page_of(items: list[Any], page: int, size: int) -> tuple[list[Any], int, int]:
    """One page of a list: (its items, the page number, clamped to what exists, the page count)."""
    pages = max(1, -(-len(items) // size))
    page = min(max(1, page), pages)
    return items[(page - 1) * size: page * size], page, pages


def csv_cell(value: Any) -> Any:
    """A CSV cell: dates as ISO text, None as empty, and text that a spreadsheet would run as a
    formula (starting with = + - @ or a control character) quoted with a leading '."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
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
