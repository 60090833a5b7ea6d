"""The auditor's workbench (/audit/...): replay any history, compare any two points, check the ledger.

Auditors and administrators only; every page reads, nothing changes. Histories come from the event
store (raw events) beside the timeline read model (readable entries); past states from
`Tracker.state_as_of`; the ledger check is the same function as `tracker verify`.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from domain.errors import N_, InvalidInput, NotFound
from projections.ledger import load_signing_key, public_key_hex, verify
from projections.readmodels import ReadModels
from tracker import policy
from tracker.application import Principal, Tracker, parse_uuid
from tracker.settings import Settings
from tracker.transfer import export_log
from web.deps import CurrentPrincipal, FreshReadModelsDep, SettingsDep, TrackerDep, render
from web.public import programme_context
from web.reading import csv_cell, page_of
from web.routing import QuickRoute

router = APIRouter(route_class=QuickRoute, prefix="/audit", tags=["audit"], include_in_schema=False)

ACTIVITY_LIMIT = 500
LIST_LIMIT = 200
HISTORY_PAGE = 200


async def auditor(principal: CurrentPrincipal) -> Principal:
    """Auditors and administrators read everything here; anyone else is refused."""
    policy.require_rule(principal, policy.AUDITING)
    return principal


Auditor = Annotated[Principal, Depends(auditor)]


# --- points in time and differences ------------------------------------------------------------------

def parse_point(version: str | None, when: str | None, day: str | None,
                side: str) -> dict[str, Any] | None:
    """One point of a history: a version, a recorded time (UTC if no offset) or a business date."""
    given = [(k, v.strip()) for k, v in (("version", version), ("as_of", when), ("as_of_date", day))
             if v and v.strip()]
    if not given:
        return None
    if len(given) > 1:
        raise InvalidInput(f"give one point for {side}: a version, a time or a date", side)
    kind, text = given[0]
    try:
        if kind == "version":
            value: Any = int(text)
            if value < 1:
                raise ValueError
        elif kind == "as_of":
            value = datetime.fromisoformat(text)
            if value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
        else:
            value = date.fromisoformat(text)
    except ValueError:
        words = {"version": "a whole number from 1", "as_of": "a time like 2026-03-01T14:30",
                 "as_of_date": "a date like 2026-03-01"}
        raise InvalidInput(f"{side}: {text[:40]!r} is not {words[kind]}", side) from None
    return {kind: value}


def _key(item: Any, index: int) -> str:
    if isinstance(item, dict) and "id" in item:
        return str(item.get("title") or item.get("description") or item["id"])[:60]
    return str(index)


def diff_states(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """Field-by-field differences between two states; lists of records are matched by their id."""
    if isinstance(before, dict) and isinstance(after, dict):
        rows = []
        for key in list(dict.fromkeys([*before, *after])):
            rows += diff_states(before.get(key), after.get(key), f"{path}.{key}" if path else key)
        return rows
    records = (isinstance(before, list) and isinstance(after, list)
               and all(isinstance(x, dict) and "id" in x for x in [*before, *after]))
    if records and (before or after):
        old = {x["id"]: (i, x) for i, x in enumerate(before)}
        new = {x["id"]: (i, x) for i, x in enumerate(after)}
        rows = []
        for record_id in list(dict.fromkeys([*old, *new])):
            index, item = new.get(record_id) or old[record_id]
            label = f"{path}[{_key(item, index)}]"
            rows += diff_states(old.get(record_id, (0, None))[1], new.get(record_id, (0, None))[1],
                                label)
        return rows
    if before != after:
        return [{"field": path, "before": before, "after": after}]
    return []


UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def names_in(read_models: ReadModels, *values: Any) -> dict[str, str]:
    """id -> name (party, dialogue, account) or title (commitment, case) for every id these
    values hold: the pages show names, and the ids on demand."""
    ids = set(UUID_TEXT.findall(json.dumps(values, default=str)))
    return read_models.names_of(ids) if ids else {}


SECRET_FIELDS = ("password_hash", "digest", "secret", "recovery_codes", "recovery_code")


def redacted(value: Any) -> Any:
    """A stored event's data without password or token hashes (the export keeps them)."""
    if isinstance(value, dict):
        return {k: "(hidden)" if k in SECRET_FIELDS else redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redacted(v) for v in value]
    return value


def plain(value: Any) -> Any:
    """A value as JSON can hold it (dates as ISO text)."""
    return json.loads(json.dumps(value, default=lambda v: v.isoformat() if hasattr(v, "isoformat")
                                 else str(v)))


# --- pages ------------------------------------------------------------------------------------------------

@router.get("/")
def index(request: Request, principal: Auditor, read_models: FreshReadModelsDep,
          tracker: TrackerDep,
          country: Annotated[str | None, Query(max_length=2)] = None) -> Response:
    """The records, and the programme view over every commitment, private ones included."""
    return render(request, "audit_index.html",
                  programme_context(read_models, tracker.today(), country))


@router.get("/find")
def find(principal: Auditor, id: Annotated[str, Query(max_length=100)] = "") -> Response:
    """Jump to a record's history by its id."""
    record = parse_uuid(id.strip(), "record")
    return Response(status_code=303, headers={"Location": f"/audit/records/{record}"})


@router.get("/dialogues/{slug}")
def dialogue(request: Request, slug: str, principal: Auditor, read_models: FreshReadModelsDep,
             tracker: TrackerDep) -> Response:
    found = read_models.dialogue(slug)
    if found is None:
        raise NotFound(f"no dialogue is called {slug[:60]!r}")
    commitments, total = read_models.commitments(found["id"], today=tracker.today(),
                                                 limit=LIST_LIMIT)
    return render(request, "audit_dialogue.html", {
        "dialogue": found, "cases": read_models.cases(found["id"]), "commitments": commitments,
        "total": total})


def _history(tracker: Tracker, read_models: ReadModels, record_id: str) -> list[dict[str, Any]]:
    """Every stored event of a record, raw and as the timeline's readable entry."""
    uuid = parse_uuid(record_id, "record")
    stored = tracker.recorder.select_events(uuid)
    if not stored:
        raise NotFound(f"nothing is recorded under the id {record_id[:60]}")
    readable = tracker.mapper.cipher is None and tracker.mapper.compressor is None
    entries = {e["version"]: e for e in read_models.timeline(str(uuid))}
    rows = []
    for event in stored:
        raw = (json.loads(tracker.mapper.binder.unbind(event.topic, str(event.originator_id),
                                                       event.originator_version, event.state))
               if readable
               else plain(vars(tracker.mapper.to_domain_event(event))))
        rows.append({"topic": event.topic, "version": event.originator_version,
                     "raw": json.dumps(redacted(raw), indent=1, ensure_ascii=False,
                                       sort_keys=True),
                     "entry": entries.get(event.originator_version)})
    return rows


@router.get("/records/{record_id}")
def history(request: Request, record_id: str, principal: Auditor, read_models: FreshReadModelsDep,
            tracker: TrackerDep, page: Annotated[int, Query(ge=1, le=1_000_000)] = 1) -> Response:
    rows, page, pages = page_of(_history(tracker, read_models, record_id), page, HISTORY_PAGE)
    state = plain(tracker.repository.get(parse_uuid(record_id, "record")).state())
    record = str(parse_uuid(record_id, "record"))
    return render(request, "audit_history.html", {
        "record_id": record, "rows": rows, "page": page, "pages": pages, "state": state,
        "names": names_in(read_models, record, state, [r["entry"] for r in rows])})


@router.get("/records/{record_id}/history.csv")
def history_csv(record_id: str, principal: Auditor, read_models: FreshReadModelsDep,
                tracker: TrackerDep) -> Response:
    rows = _history(tracker, read_models, record_id)
    out = io.StringIO()
    writer = csv.writer(out)
    columns = ("position", "version", "type", "recorded_at", "occurred_on", "actor_name",
               "party_name", "changes", "reason", "note")
    writer.writerow((*columns, "topic", "raw"))
    for row in rows:
        entry = row["entry"] or {"version": row["version"]}
        values = [entry.get(c) for c in columns]
        values[7] = json.dumps(plain(entry.get("changes") or {}), ensure_ascii=False)
        writer.writerow([csv_cell(v) for v in values] + [row["topic"], row["raw"]])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="history-{record_id[:36]}.csv"'})


@router.get("/records/{record_id}/state")
def state_as_of(request: Request, record_id: str, principal: Auditor, tracker: TrackerDep,
                read_models: FreshReadModelsDep,
                version: Annotated[str | None, Query(max_length=40)] = None,
                as_of: Annotated[str | None, Query(max_length=40)] = None,
                as_of_date: Annotated[str | None, Query(max_length=40)] = None) -> Response:
    """A record as it was at a version, a recorded time or on a business date."""
    point = parse_point(version, as_of, as_of_date, "point")
    state = plain(tracker.state_as_of(record_id, **(point or {})))
    return render(request, "audit_state.html", {
        "record_id": record_id, "state": state, "point": point,
        "names": names_in(read_models, record_id, state),
        "query": {"version": version or "", "as_of": as_of or "", "as_of_date": as_of_date or ""}})


@router.get("/records/{record_id}/diff")
def diff(request: Request, record_id: str, principal: Auditor, tracker: TrackerDep,
         read_models: FreshReadModelsDep,
         a_version: Annotated[str | None, Query(max_length=40)] = None,
         a_time: Annotated[str | None, Query(max_length=40)] = None,
         a_date: Annotated[str | None, Query(max_length=40)] = None,
         b_version: Annotated[str | None, Query(max_length=40)] = None,
         b_time: Annotated[str | None, Query(max_length=40)] = None,
         b_date: Annotated[str | None, Query(max_length=40)] = None) -> Response:
    """Field-by-field differences between two points of a record's history (B defaults to now)."""
    a = parse_point(a_version, a_time, a_date, "a")
    b = parse_point(b_version, b_time, b_date, "b")
    rows: list[dict[str, Any]] | None = None
    if a is not None:
        before = plain(tracker.state_as_of(record_id, **a))
        after = plain(tracker.state_as_of(record_id, **(b or {})))
        rows = diff_states(before, after)
    else:
        tracker.state_as_of(record_id)  # an unknown record is a 404 even before a point is given
    query = {"a_version": a_version or "", "a_time": a_time or "", "a_date": a_date or "",
             "b_version": b_version or "", "b_time": b_time or "", "b_date": b_date or ""}
    return render(request, "audit_diff.html", {
        "record_id": record_id, "rows": rows, "query": query, "a_point": a, "b_point": b,
        "names": names_in(read_models, record_id, rows)})


def _day(text: str | None, field: str) -> date | None:
    """A date from a filter's field; empty is no bound."""
    if not text or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{field} must be a date like 2026-03-01", field) from None


PERIOD_BASES = ("business", "recorded")


def _within(entry: dict[str, Any], start: datetime | None, end: datetime | None,
            first: date | None, last: date | None) -> bool:
    """The entry is in the period: by recorded time, and by business date (the day it happened,
    or it was recorded when it has none), as `read_models.activity` filters."""
    day = entry.get("occurred_on") or entry["recorded_at"].astimezone(UTC).date()
    return ((start is None or entry["recorded_at"] >= start) and (end is None or entry["recorded_at"] <= end)
            and (first is None or day >= first) and (last is None or day <= last))


@router.get("/activity")
def activity(request: Request, principal: Auditor, read_models: FreshReadModelsDep,
             tracker: TrackerDep,
             account: Annotated[str | None, Query(max_length=64)] = None,
             party: Annotated[str | None, Query(max_length=64)] = None,
             since: Annotated[str | None, Query(max_length=40)] = None,
             until: Annotated[str | None, Query(max_length=40)] = None,
             by: Annotated[str, Query(max_length=20)] = "business") -> Response:
    """What an account did (and what was done to its access), or a party's actions, in a period
    of business dates (the day it happened, the default) or of recorded times. Every field of the
    form may be left empty."""
    first, last = _day(since, "since"), _day(until, "until")
    if by not in PERIOD_BASES:
        raise InvalidInput(N_("the period is by business date or by recorded time"), "by")
    start = datetime.combine(first, time.min, UTC) if first and by == "recorded" else None
    end = datetime.combine(last, time.max, UTC) if last and by == "recorded" else None
    days = (first, last) if by == "business" else (None, None)
    account = (account or "").strip() or None
    account_id = str(tracker.account_by_name(account).id) if account else None
    entries = read_models.activity(account_id=account_id, party_id=party or None, since=start,
                                   until=end, on_or_after=days[0], on_or_before=days[1],
                                   limit=ACTIVITY_LIMIT)
    if account_id:  # grants, revocations, tokens and failed sign-ins recorded on the account itself
        own = [e for e in read_models.timeline(account_id) if _within(e, start, end, *days)]
        seen = {e["position"] for e in entries}
        entries = sorted([*entries, *(e for e in own if e["position"] not in seen)],
                         key=lambda e: e["position"], reverse=True)[:ACTIVITY_LIMIT]
    parties = [(p["id"], f"{p['name']} ({d['name']})") for d in read_models.dialogues()
               for p in d["parties"]]
    return render(request, "audit_activity.html", {
        "entries": entries, "parties": parties, "limit": ACTIVITY_LIMIT,
        "names": names_in(read_models, [(e["aggregate_id"], e["changes"]) for e in entries]),
        "query": {"account": account or "", "party": party or "", "by": by,
                  "since": first.isoformat() if first else "",
                  "until": last.isoformat() if last else ""}})


def _verify_page(request: Request, tracker: Tracker, read_models: ReadModels, settings: Settings,
                 checkpoint_text: str | None) -> Response:
    """The checkpoint history; when asked, the result of `tracker verify` (against a checkpoint)."""
    result, error, checkpoint = None, None, None
    if checkpoint_text is not None:
        if checkpoint_text.strip():
            try:
                checkpoint = json.loads(checkpoint_text)
            except json.JSONDecodeError:
                error = "the checkpoint is not JSON"
            if checkpoint is not None and not isinstance(checkpoint, dict):
                error, checkpoint = "the checkpoint is not a JSON object", None
        if error is None:
            key_file = Path(settings.signing_key_file)
            trusted = public_key_hex(load_signing_key(key_file)) if key_file.exists() else None
            result = verify(tracker, read_models.ledger, checkpoint, trusted_key=trusted).as_dict()
    return render(request, "audit_ledger.html", {
        "result": result, "error": error, "checkpoint_text": checkpoint_text or "",
        "head": read_models.ledger_head(), "checkpoints": read_models.checkpoints()},
        status_code=422 if error else 200)


@router.get("/ledger")
def ledger(request: Request, principal: Auditor, read_models: FreshReadModelsDep, tracker: TrackerDep,
           settings: SettingsDep, run: bool = False) -> Response:
    """The checkpoint history; with ?run=1, the same verification as `tracker verify`."""
    return _verify_page(request, tracker, read_models, settings, "" if run else None)


@router.post("/ledger")
def ledger_with_checkpoint(request: Request, principal: Auditor, read_models: FreshReadModelsDep,
                           tracker: TrackerDep, settings: SettingsDep,
                           checkpoint: Annotated[str, Form(max_length=20_000)] = "") -> Response:
    """Verify the log, and that it extends a pasted checkpoint."""
    return _verify_page(request, tracker, read_models, settings, checkpoint)


@router.get("/export.jsonl")
def export(principal: Auditor, tracker: TrackerDep) -> Response:
    """The whole event log as JSON Lines: the format of `tracker export` (tracker.transfer)."""
    folder = Path(tempfile.mkdtemp(prefix="tracker-export-"))
    path = folder / "events.jsonl"
    export_log(tracker, path)

    def cleanup() -> None:
        path.unlink(missing_ok=True)
        folder.rmdir()

    return FileResponse(path, media_type="application/x-ndjson", filename="events.jsonl",
                        background=BackgroundTask(cleanup))
