"""Public pages (/public/...): what was promised and what was done, for anyone, without signing in.

Built only from the public read model (`ReadModels.public`), which holds public fields of public
commitments and party names, never a person's. Every page shows the ledger's latest signed
checkpoint (or its head) and links to how to verify it. Pages and downloads carry an ETag derived
from the last public change (and what else changes the bytes: language, address, date, session) and
that event's recorded time as Last-Modified; a matching conditional request gets a 304.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from domain.errors import NotFound
from domain.lifecycle import Status
from projections.proofs import public_key_pem
from projections.queries import PublicQueries
from projections.readmodels import ReadModels
from tracker.application import Tracker
from tracker.photos import evidence_photo
from web import api_models as m
from web.deps import (
    FreshReadModelsDep,
    OptionalPrincipal,
    PhotosDep,
    ProofsDep,
    TrackerDep,
    render,
    shared_block,
)
from web.i18n import format_locale, request_language, translator
from web.reading import csv_cell, ledger_summary, page_of, photo_response
from web.routing import QuickRoute
from web.security import csrf_token

router = APIRouter(route_class=QuickRoute, prefix="/public", tags=["public pages"], include_in_schema=False)

PAGE_SIZE = 50
TIMELINE_PAGE = 60
FEED_COMMITMENTS = 30  # the most recently active commitments whose changes make the feed
FEED_ENTRIES = 50
CHART_MONTHS = 12
LEDGER_HEADS = 10  # the latest signed tree heads the ledger page lists, with their cosignatures
DONE = (Status.COMPLETED.value, Status.VERIFIED.value)


# --- conditional requests -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Validators:
    etag: str
    last_modified: datetime | None
    cache_control: str

    def headers(self) -> dict[str, str]:
        headers = {"ETag": self.etag, "Cache-Control": self.cache_control,
                   "Vary": "Accept-Language, Cookie"}
        if self.last_modified is not None:
            headers["Last-Modified"] = format_datetime(self.last_modified, usegmt=True)
        return headers

    def matches(self, request: Request, use_dates: bool) -> bool:
        """True when the client's copy is current (If-None-Match, else If-Modified-Since)."""
        if_none_match = request.headers.get("if-none-match")
        if if_none_match is not None:
            tags = {tag.strip() for tag in if_none_match.split(",")}
            return "*" in tags or self.etag in tags or self.etag.removeprefix("W/") in tags
        since = request.headers.get("if-modified-since")
        if not (use_dates and since and self.last_modified):
            return False
        try:
            return self.last_modified.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False


def head_time(tracker: Tracker, position: int) -> datetime | None:
    """When the event at this log position was recorded."""
    if position <= 0:
        return None
    notifications = tracker.recorder.select_notifications(position, 1)
    if not notifications:
        return None
    return tracker.mapper.to_domain_event(notifications[0]).timestamp


def last_modified(request: Request, tracker: Tracker, position: int) -> datetime | None:
    """`head_time` of the last public change, read once per position (an event's recorded time
    never changes), not once per request."""
    return page_cache(request).get(("recorded at", position), lambda: head_time(tracker, position))


def public_ledger(public: PublicQueries) -> dict[str, Any]:
    """The ledger summary every public answer shows, with `public_position`: the position of the
    last event that changed anything public (what the validators and the figures depend on)."""
    return {**ledger_summary(public), "public_position": public.public_position()}


def validators(request: Request, tracker: Tracker, ledger: dict[str, Any], *,
               personal: bool) -> Validators:
    """A weak ETag from the public position, the signed checkpoint and tree heads, and whatever
    else changes the bytes of this answer; never from the ledger's head, which every event moves.
    So a fact kept from the public (a hidden progress report, a private commitment) changes no
    public validator; a full answer shows the ledger's head as it is then."""
    key: list[Any] = [ledger["public_position"], request.url.path, request.url.query,
                      tracker.today().isoformat(), ledger.get("checkpoint"),
                      ledger.get("tree_head"), ledger.get("cosigned_head")]  # (heads: cosignatures)
    if personal:  # a page: its language, the signed-in name and the CSRF token in the layout
        principal = getattr(request.state, "principal", None)
        language = request_language(request)
        key += [language, format_locale(request, language), principal.name if principal else "",
                csrf_token(request), request.headers.get("hx-request", "")]
    digest = hashlib.sha256(json.dumps(key, default=str).encode()).hexdigest()[:32]
    return Validators(etag=f'W/"{digest}"',
                      last_modified=last_modified(request, tracker, ledger["public_position"]),
                      cache_control="private, no-cache" if personal else "public, no-cache")


class NotModified(Exception):
    """The client's copy is current: answered 304 with these validators (web.app handles it)."""

    def __init__(self, found: Validators) -> None:
        super().__init__("not modified")
        self.found = found

    def response(self) -> Response:
        return Response(status_code=304, headers=self.found.headers())


def revalidated(request: Request, tracker: Tracker, ledger: dict[str, Any], *,
                personal: bool) -> Validators:
    """The answer's validators; raises NotModified when the client already has it. A page is
    compared by ETag only (its bytes depend on more than the ledger); a download by date too."""
    found = validators(request, tracker, ledger, personal=personal)
    if found.matches(request, use_dates=not personal):
        raise NotModified(found)
    return found


# --- shaping the public rows for the pages --------------------------------------------------------------

# One colour per status, told apart by people who see red and green alike (and each with its
# name beside it, so that the colour is never the only way to tell).
STATUS_COLOURS = {
    "proposed": "#6b6b6b", "agreed": "#0b4f8a", "in_progress": "#c25400",
    "completed": "#1e6b2f", "verified": "#0a2e14", "rejected": "#a4000f",
    "withdrawn": "#7a3e9d", "cancelled": "#8a5a00",
}


def status_chart(counts: dict[str, int]) -> dict[str, Any]:
    """Bars for the statuses that occur, in lifecycle order: each with its count, bar width
    (0..100) and colour. No bars: the page says there is nothing yet instead of an empty chart."""
    top = max(counts.values(), default=0) or 1
    bars = [{"status": s.value, "count": counts[s.value], "colour": STATUS_COLOURS[s.value],
             "width": round(100 * counts[s.value] / top, 1)} for s in Status if counts.get(s.value)]
    return {"bars": bars, "total": sum(counts.values())}


def month_start(day: date, back: int) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def chart_end(latest_completion: date | None, today: date) -> date:
    """The month the completions chart ends with: the latest completion's, so that a dialogue whose
    work ended years ago still shows it, and never later than today."""
    return min(latest_completion, today) if latest_completion else today


def completion_chart(rows: list[dict[str, Any]], end: date,
                     months: int = CHART_MONTHS) -> dict[str, Any]:
    """Completions per month over the `months` months ending with `end`'s: on time (by the due
    date) or late."""
    columns = [{"month": month_start(end, back), "on_time": 0, "late": 0}
               for back in range(months - 1, -1, -1)]
    by_month = {c["month"]: c for c in columns}
    for row in rows:
        done_on = row.get("completed_on")
        if row["status"] not in DONE or done_on is None:
            continue
        column = by_month.get(done_on.replace(day=1))
        if column is None:
            continue
        on_time = row.get("due_date") is not None and done_on <= row["due_date"]
        column["on_time" if on_time else "late"] += 1
    top = max((c["on_time"] + c["late"] for c in columns), default=0) or 1
    for column in columns:
        column["on_time_height"] = round(100 * column["on_time"] / top, 1)
        column["late_height"] = round(100 * column["late"] / top, 1)
    return {"columns": columns, "top": top, "first": columns[0]["month"],
            "last": columns[-1]["month"],
            "total_on_time": sum(c["on_time"] for c in columns),
            "total_late": sum(c["late"] for c in columns)}


class FiguresCache:
    """The figures of the last few dialogues viewed, for the ledger position they were read at.

    Any new event moves the position, so a hit is always current; between changes, the many
    readers of a public page share one read of its 10,000 commitments instead of one each.
    """

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    def peek(self, key: tuple[Any, ...]) -> Any:
        """The entry kept under `key`, or None."""
        with self._lock:
            return self._entries.get(key)

    def get(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        figures = compute()
        with self._lock:
            self._entries[key] = figures
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return figures


def all_rows(request: Request, public: PublicQueries, dialogue_id: str, position: int,
             today: date) -> list[dict[str, Any]]:
    """Every public commitment of the dialogue (the feed and the downloads)."""
    return figures_cache(request).get(("rows", dialogue_id, position, today),
                                      lambda: public.commitments(dialogue_id, today=today))


@dataclass(frozen=True)
class Summary:
    """What a dialogue's public page shows about all its public commitments, counted in SQL."""

    scorecards: list[dict[str, Any]]
    completion_chart: dict[str, Any]
    overdue: int


def summary(request: Request, public: PublicQueries, dialogue_id: str, position: int,
            today: date) -> Summary:
    """The page's charts and counts (the page's own 50 rows are read apart, in SQL). Without the
    rows of every commitment this stays a few milliseconds at 10,000 commitments, so a dialogue
    changing many times a second no longer makes each reader of its page wait for a full read."""

    def compute() -> Summary:
        end = chart_end(public.latest_completion(dialogue_id), today)
        since = month_start(end, CHART_MONTHS - 1)
        return Summary(scorecards=public.scorecards(dialogue_id, today=today),
                       completion_chart=completion_chart(
                           public.completions(dialogue_id, since=since), end),
                       overdue=public.overdue_count(dialogue_id, today=today))

    return figures_cache(request).get(("summary", dialogue_id, position, today), compute)


def figures_cache(request: Request, name: str = "public_figures", size: int = 8) -> FiguresCache:
    """The app's cache called `name` (the public figures, or another kept per position), of
    `size` entries when it is made."""
    cache = getattr(request.app.state, name, None)
    if cache is None:
        cache = FiguresCache(size)
        setattr(request.app.state, name, cache)
    return cache


PAGE_ENTRIES = 256  # small entries (a page's 50 rows at most): several pages, filters, dialogues


def page_cache(request: Request) -> FiguresCache:
    """What the public pages read from the public read model for one public position (a
    dialogue, a page of its rows, a commitment and its timeline, the programme), shared by every
    reader until the next public change. Every key holds the position (and `today` where the
    answer depends on the day), so a hit is always current; nothing of a reader (language, CSRF
    token, who is signed in) is kept, but for HTML kept per language for all its readers
    (`web.deps.shared_block`): the rest is drawn at each request."""
    return figures_cache(request, "public_pages", PAGE_ENTRIES)


def _public_dialogue(read_models: ReadModels, slug: str) -> dict[str, Any]:
    dialogue = read_models.public.dialogue(slug)
    if dialogue is None:
        raise NotFound(f"no public dialogue is called {slug[:60]!r}")
    return dialogue


def public_dialogue(request: Request, read_models: ReadModels, slug: str,
                    position: int) -> dict[str, Any]:
    """`_public_dialogue` read once per public position."""
    return page_cache(request).get(("dialogue", slug, position),
                                   lambda: _public_dialogue(read_models, slug))


# --- pages ------------------------------------------------------------------------------------------------

def programme_context(queries: Any, today: date, country: str | None) -> dict[str, Any]:
    """The programme view's rows (every dialogue side by side, of one country when asked) and
    the countries to filter by; public and auditor pages alike."""
    every = queries.programme(today=today)
    chosen = (country or "").strip().upper() or None
    rows = [d for d in every if chosen is None or d["country"] == chosen]
    return {"dialogues": rows, "countries": sorted({d["country"] for d in every}),
            "country": chosen, "statuses": [s.value for s in Status]}


@router.get("/")
def index(request: Request, principal: OptionalPrincipal, read_models: FreshReadModelsDep,
          tracker: TrackerDep,
          country: Annotated[str | None, Query(max_length=2)] = None) -> Response:
    """The programme: every dialogue side by side, with a filter by country."""
    ledger = public_ledger(read_models.public)
    found = revalidated(request, tracker, ledger, personal=True)
    today = tracker.today()
    programme = page_cache(request).get(
        ("programme", ledger["public_position"], today, country),
        lambda: programme_context(read_models.public, today, country))
    return render(request, "public_index.html", {**programme, "ledger": ledger},
                  headers=found.headers())


@router.get("/ledger")
def ledger_page(request: Request, principal: OptionalPrincipal, read_models: FreshReadModelsDep,
                tracker: TrackerDep) -> Response:
    """How anyone can check that the record was not rewritten."""
    ledger = public_ledger(read_models.public)
    found = revalidated(request, tracker, ledger, personal=True)
    return render(request, "public_ledger.html",
                  {"ledger": ledger, "heads": read_models.public.tree_heads(LEDGER_HEADS)},
                  headers=found.headers())


@router.get("/ledger-key.pem")
def ledger_key(proofs: ProofsDep) -> Response:
    """The public key that signs checkpoints and tree heads, in PEM (`tracker verify-proof --key`)."""
    return Response(public_key_pem(proofs.public_key()), media_type="application/x-pem-file",
                    headers={"Content-Disposition": 'attachment; filename="ledger-key.pem"',
                             "Cache-Control": "public, no-cache"})


@router.get("/checkpoint.json")
def checkpoint_file(request: Request, read_models: FreshReadModelsDep, tracker: TrackerDep) -> Response:
    """The latest signed checkpoint, as the file `tracker verify --checkpoint FILE` reads."""
    ledger = public_ledger(read_models.public)
    if ledger["checkpoint"] is None:
        raise NotFound("no checkpoint has been signed yet")
    found = revalidated(request, tracker, ledger, personal=False)
    return JSONResponse(ledger["checkpoint"], headers={
        **found.headers(), "Content-Disposition": 'attachment; filename="checkpoint.json"'})


@router.get("/dialogues/{slug}")
def dialogue_page(request: Request, slug: str, principal: OptionalPrincipal,
                  read_models: FreshReadModelsDep, tracker: TrackerDep,
                  page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                  status: m.StatusName | None = None) -> Response:
    public = read_models.public
    ledger = public_ledger(public)
    position = ledger["public_position"]
    dialogue = public_dialogue(request, read_models, slug, position)
    found = revalidated(request, tracker, ledger, personal=True)
    today = tracker.today()

    def compute() -> dict[str, Any]:
        found_summary = summary(request, public, dialogue["id"], position, today)
        commitments, shown, pages, total = public.commitments_page(
            dialogue["id"], today=today, status=status, page=page, size=PAGE_SIZE)
        return {
            "dialogue": dialogue, "status": status, "commitments": commitments,
            "total": total, "page": shown, "pages": pages,
            "overdue": found_summary.overdue,
            "status_chart": status_chart(dialogue["counts"]),
            "completion_chart": found_summary.completion_chart,
            "scorecards": found_summary.scorecards,
            "parties": {p["id"]: p["name"] for p in dialogue["parties"]},
        }

    # What the page reads depends on the dialogue, the position, the page, the filter and the
    # day only: one read per position for every reader (the layout's per-reader parts are drawn
    # by render at each request).
    key = (dialogue["id"], position, today, page, status)
    kept = page_cache(request)
    context = kept.get(("dialogue page", *key), compute)
    # Its table too, as HTML for every reader in one language.
    rows = shared_block(request, kept, ("dialogue rows", *key),
                        "public_dialogue.html", "commitments", lambda: context)
    return render(request, "public_dialogue.html",
                  {**context, "ledger": ledger, "drawn": {"commitments": rows}},
                  block="commitments", headers=found.headers())


@router.get("/commitments/{commitment_id}")
def commitment_page(request: Request, commitment_id: str, principal: OptionalPrincipal,
                    read_models: FreshReadModelsDep, tracker: TrackerDep,
                    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1) -> Response:
    public = read_models.public
    ledger = public_ledger(public)
    position = ledger["public_position"]
    today = tracker.today()
    cache = page_cache(request)
    commitment = cache.get(("commitment", commitment_id, position, today),
                           lambda: public.commitment(commitment_id, today=today))
    if commitment is None:
        raise NotFound("no public commitment has this id")
    found = revalidated(request, tracker, ledger, personal=True)

    def compute() -> dict[str, Any]:
        dialogue = public.dialogue_by_id(commitment["dialogue_id"])
        # Newest first: the news at the top of the page.
        timeline, shown, pages = page_of(public.timeline(commitment_id)[::-1], page, TIMELINE_PAGE)
        return {"dialogue": dialogue, "timeline": timeline, "page": shown, "pages": pages}

    context = cache.get(("commitment page", commitment_id, position, page), compute)
    return render(request, "public_commitment.html",
                  {**context, "commitment": commitment, "ledger": ledger},
                  headers=found.headers())


@router.get("/commitments/{commitment_id}/evidence/{evidence_id}/{size}")
def evidence_photo_public(commitment_id: str, evidence_id: str, size: str,
                          read_models: FreshReadModelsDep, tracker: TrackerDep,
                          photos: PhotosDep) -> Response:
    """A photo of public evidence of a public commitment (else 404: nothing says it exists)."""
    if read_models.public.commitment(commitment_id, today=tracker.today()) is None:
        raise NotFound("no public commitment has this id")
    evidence = evidence_photo(tracker.commitment(commitment_id).state(), evidence_id)
    if not evidence["public"]:
        raise NotFound("this evidence has no photo")
    return photo_response(photos, evidence, size, public=True)


# --- feed and downloads -----------------------------------------------------------------------------------

def public_changes(public: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The latest public changes of a dialogue's public commitments (rows: newest activity first),
    newest first."""
    rows = rows[:FEED_COMMITMENTS]
    titles = {r["id"]: r["title"] for r in rows}
    entries = [dict(entry, title=titles[row["id"]]) for row in rows
               for entry in public.timeline(row["id"])]
    entries.sort(key=lambda e: e["position"], reverse=True)
    return entries[:FEED_ENTRIES]


@router.get("/dialogues/{slug}/feed.atom")
def feed(request: Request, slug: str, read_models: FreshReadModelsDep, tracker: TrackerDep) -> Response:
    """An Atom feed of the dialogue's public changes."""
    public = read_models.public
    ledger = public_ledger(public)
    position = ledger["public_position"]
    dialogue = public_dialogue(request, read_models, slug, position)
    found = revalidated(request, tracker, ledger, personal=False)
    today = tracker.today()
    # The latest changes read once per position (a timeline query for each of 30 commitments).
    entries = page_cache(request).get(
        ("feed", dialogue["id"], position, today),
        lambda: public_changes(public, all_rows(request, public, dialogue["id"], position, today)))
    language = request_language(request)
    context = {"request": request, "locale": language,
               "format_locale": format_locale(request, language),
               "translations": translator(request.app.state.catalogues, language),
               "dialogue": dialogue, "entries": entries, "ledger": ledger,
               "base": str(request.base_url).rstrip("/"),
               "updated": entries[0]["recorded_at"] if entries else found.last_modified}
    text = request.app.state.templates.get_template("public_feed.xml").render(context)
    return Response(xml_text(text), media_type="application/atom+xml", headers=found.headers())


# What XML 1.0 cannot hold, even escaped (its Char production). Text fields refuse all of it
# (domain.base.checked_text); a record written before that rule may still hold some.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """The feed's text without what XML cannot hold, so that it always parses (the template
    escapes markup: jinja's autoescape)."""
    return NOT_XML.sub("\ufffd", text)


CSV_COLUMNS = ("id", "title", "status", "progress", "responsible_party_name", "due_date", "overdue",
               "milestones_done", "milestones_total", "completed_on", "last_activity",
               "description")


def public_rows(request: Request, read_models: ReadModels, slug: str, tracker: Tracker,
                position: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    dialogue = _public_dialogue(read_models, slug)
    rows = all_rows(request, read_models.public, dialogue["id"], position, tracker.today())
    # Through the API's public model: only its fields ever leave, whatever the row holds.
    return dialogue, [m.PublicCommitment.model_validate(r).model_dump(mode="json") for r in rows]


@router.get("/dialogues/{slug}/commitments.csv")
def commitments_csv(request: Request, slug: str, read_models: FreshReadModelsDep,
                    tracker: TrackerDep) -> Response:
    ledger = public_ledger(read_models.public)
    found = revalidated(request, tracker, ledger, personal=False)
    dialogue, rows = public_rows(request, read_models, slug, tracker, ledger["public_position"])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([csv_cell(row.get(column)) for column in CSV_COLUMNS])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        **found.headers(),
        "Content-Disposition": f'attachment; filename="{dialogue["slug"]}-commitments.csv"'})


@router.get("/dialogues/{slug}/commitments.json")
def commitments_json(request: Request, slug: str, read_models: FreshReadModelsDep,
                     tracker: TrackerDep) -> Response:
    ledger = public_ledger(read_models.public)
    found = revalidated(request, tracker, ledger, personal=False)
    dialogue, rows = public_rows(request, read_models, slug, tracker, ledger["public_position"])
    body = {"dialogue": {"slug": dialogue["slug"], "name": dialogue["name"]},
            "commitments": rows,
            "ledger": m.LedgerHead.model_validate(ledger).model_dump(mode="json")}
    return JSONResponse(body, headers=found.headers())
