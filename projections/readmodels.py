"""The read side the pages and the API query: catching up, read-your-writes, and the queries.

`ReadModels.catch_up()` pulls the log in batches (`select_notifications` after the lowest view
position), decodes each batch once, and hands it to every view that is behind; each view writes its
rows and its new position in one transaction (one per batch, shared by the views). Any number of
processes may do this at once on one database: each view's tracking row is locked while a batch is
applied, so every event is applied once (see `projections.store`).
"""

from __future__ import annotations

import gc
import json
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import date, datetime, timedelta
from typing import Any

from eventsourcing.persistence import IntegrityError, InternalError, ProgrammingError
from eventsourcing.utils import retry

from domain.lifecycle import Status
from projections.feed import Feed, iso_time
from projections.ledger import LedgerView
from projections.store import Store, close_store
from projections.views import CommitmentsView, DirectoryView, PublicView, TimelineView, View

BATCH = 10_000  # events per transaction (catching up a long log: fewer, larger commits)
BULK_LOAD = 20_000  # a view filled from the start of a log this long gets its indexes at the end
LONG_BATCH = 1_000  # a catch-up that reads this many events at once pauses the garbage collector
STATUSES = [s.value for s in Status]
NOT_OVERDUE = ("completed", "verified", "rejected", "withdrawn", "cancelled")
AGREED_OR_LATER = ("agreed", "in_progress", "completed", "verified", "cancelled")
DUE_SOON_DAYS = 30


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection during a long catch-up: each collection would scan again the
    many objects a batch keeps alive (its events and states, the state cache), about an eighth of
    the time. The feed makes no reference cycles; the collector resumes when the catch-up ends.
    Only for long ones (LONG_BATCH): a busy server catches up a few events after nearly every
    write, and pausing and resuming the collector each time took a third of those catch-ups'
    CPU in a profile of the PostgreSQL load benchmark."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class ReadModelTimeout(TimeoutError):
    """A read model did not reach a position in time; the message names the view that lags."""


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _overdue_sql(today: date) -> tuple[str, list[Any]]:
    marks = ",".join("?" * len(NOT_OVERDUE))
    return (f"(due_date IS NOT NULL AND due_date < ? AND status NOT IN ({marks}))",
            [today.isoformat(), *NOT_OVERDUE])


def is_overdue(row: dict[str, Any], today: date) -> bool:
    due = row.get("due_date")
    return bool(due and due < today and row["status"] not in NOT_OVERDUE)


class ReadModels:
    """Every read model of one application, in the same database as its events."""

    view_classes: tuple[type[View], ...] = (DirectoryView, CommitmentsView, TimelineView,
                                            PublicView, LedgerView)

    def __init__(self, app: Any, store: Store, batch: int = BATCH,
                 default_timeout: float = 5.0) -> None:
        self.app = app
        self.bulk_load = BULK_LOAD
        self.store = store
        self.batch = batch
        self.default_timeout = default_timeout
        self.feed = Feed(app)
        self.views: dict[str, View] = {cls.name: cls(store, self.feed)
                                       for cls in self.view_classes}
        for view in self.views.values():
            # Idempotent DDL: a process that loses a start-up race with another one tries again.
            retry((InternalError, IntegrityError, ProgrammingError), max_attempts=5, wait=0.2)(
                view.ensure)()
        self.ledger: LedgerView = self.views["ledger"]  # type: ignore[assignment]
        self.ledger.ensure_checkpoints()
        self.public = PublicReadModel(self)
        self._lock = threading.Lock()

    # --- keeping up ------------------------------------------------------------------------------

    def positions(self, names: Sequence[str] | None = None) -> dict[str, int]:
        """Each view's position (these views, or all), by view name."""
        chosen = {name: self.views[name] for name in (names or self.views)}
        found = self.store.positions_of([view.key for view in chosen.values()])
        return {name: found[view.key] for name, view in chosen.items()}

    def catch_up(self, views: Sequence[str] | None = None, limit: int | None = None) -> int:
        """Apply every pending event (at most `limit`) to the views; returns how many events were
        read and applied to at least one view."""
        wanted = {self.views[name].name for name in (views or self.views)}
        chosen = [view for name, view in self.views.items() if name in wanted]  # lock order
        applied = 0
        decode = self.feed.decode if any(v.needs_events for v in chosen) else self.feed.wrap
        with self._lock, ExitStack() as long_catch_up:
            positions = self.positions([view.name for view in chosen])
            start = min(positions.values(), default=0)
            bulk = [view for view in chosen if positions[view.name] == 0 and view.indexes]
            if bulk and (self.app.recorder.max_notification_id() or 0) < self.bulk_load:
                bulk = []
            if bulk:
                with self.store.transaction(commit=True) as cursor:
                    for view in bulk:
                        view.drop_indexes(cursor)
            try:
                while limit is None or applied < limit:
                    size = self.batch if limit is None else min(self.batch, limit - applied)
                    notifications = self.feed.read(start, size)
                    if not notifications:
                        break
                    if len(notifications) >= LONG_BATCH and applied == 0:
                        long_catch_up.enter_context(_collector_paused())
                    items = decode(notifications)
                    # One transaction for every view's batch (one commit instead of one per
                    # view); each view still locks its tracking row and writes its position
                    # with its rows. The views always lock in the same order.
                    with self.store.transaction(commit=True) as cursor:
                        for view in chosen:
                            behind = positions[view.name]
                            if items[-1].position > behind:
                                positions[view.name] = view.apply_locked(cursor, items, behind)
                    applied += len(notifications)
                    # Usually the end of this batch; lower if someone reset a view meanwhile.
                    start = min(positions.values())
            finally:
                if bulk:  # (ensure() also creates them, should this process stop before here)
                    with self.store.transaction(commit=True) as cursor:
                        for view in bulk:
                            view.create_indexes(cursor)
        return applied

    def wait_for(self, position: int, timeout: float | None = None) -> None:
        """Return once every view includes `position`; catches up itself while waiting."""
        timeout = self.default_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        pause = 0.01
        while True:
            lagging = {name: p for name, p in self.positions().items() if p < position}
            if not lagging:
                return
            self.catch_up()
            lagging = {name: p for name, p in self.positions().items() if p < position}
            if not lagging:
                return
            if time.monotonic() >= deadline:
                name, at = min(lagging.items(), key=lambda kv: kv[1])
                raise ReadModelTimeout(
                    f"the read model {name!r} is at position {at}, not yet at {position}; "
                    f"gave up after {timeout:g} s")
            time.sleep(pause)
            pause = min(pause * 2, 0.2)

    def status(self) -> list[dict[str, Any]]:
        """Each view's position and how far it lags behind the log."""
        head = self.app.recorder.max_notification_id() or 0
        positions = self.positions()
        return [{"name": name, "version": view.version, "position": positions[name],
                 "lag": head - positions[name], "head": head}
                for name, view in self.views.items()]

    def rebuild(self, name: str | None = None) -> int:
        """Empty one view (or every view but the ledger) and replay the log into it."""
        names = [name] if name else [n for n in self.views if n != "ledger"]
        for view_name in names:
            if view_name not in self.views:
                raise ValueError(f"no read model is called {view_name!r}; "
                                 f"there are: {', '.join(self.views)}")
        with self._lock:
            for view_name in names:
                self.views[view_name].reset()
            self.feed.clear()
        return self.catch_up(names)

    def close(self) -> None:
        close_store(self.store)

    # --- plumbing for queries --------------------------------------------------------------------

    def _all(self, statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return self.store.fetchall(statement, params)

    def _party_names(self, dialogue_id: str | None = None, table: str = "rm_parties"
                     ) -> dict[str, str]:
        if dialogue_id is None:
            rows = self._all(f"SELECT id, name FROM {table}")
        else:
            rows = self._all(f"SELECT id, name FROM {table} WHERE dialogue_id=?", (dialogue_id,))
        return {r["id"]: r["name"] for r in rows}

    def _parties(self, dialogue_id: str, table: str = "rm_parties") -> list[dict[str, Any]]:
        rows = self._all(f"SELECT id, name, kind FROM {table} WHERE dialogue_id=? ORDER BY ord",
                         (dialogue_id,))
        return [{"id": r["id"], "name": r["name"], "kind": r["kind"]} for r in rows]

    def _counts(self, dialogue_id: str, table: str = "rm_commitments") -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for row in self._all(f"SELECT status, COUNT(*) AS n FROM {table} WHERE dialogue_id=? "
                             "GROUP BY status", (dialogue_id,)):
            counts[row["status"]] = int(row["n"])
        return counts

    # --- dialogues ---------------------------------------------------------------------------------

    def _dialogue_row(self, row: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": row["id"], "slug": row["slug"], "name": row["name"], "country": row["country"],
            "locality": row["locality"], "description": row["description"],
            "concluded": bool(row["concluded"]), "parties": self._parties(row["id"]),
            "counts": self._counts(row["id"]),
        }

    def dialogues(self) -> list[dict[str, Any]]:
        return [self._dialogue_row(r) for r in self._all("SELECT * FROM rm_dialogues ORDER BY name")]

    def dialogue(self, slug: str) -> dict[str, Any] | None:
        return self._dialogue_where("slug", slug)

    def dialogue_by_id(self, dialogue_id: str) -> dict[str, Any] | None:
        return self._dialogue_where("id", dialogue_id)

    def _dialogue_where(self, column: str, value: str) -> dict[str, Any] | None:
        row = self.store.fetchone(f"SELECT * FROM rm_dialogues WHERE {column}=?", (value,))
        if row is None:
            return None
        result = self._dialogue_row(row)
        result["meetings"] = [
            {"id": m["id"], "held_on": _date(m["held_on"]), "title": m["title"],
             "attendance": json.loads(m["attendance"]), "summary": m["summary"]}
            for m in self._all("SELECT * FROM rm_meetings WHERE dialogue_id=? "
                               "ORDER BY held_on, ord", (row["id"],))]
        return result

    # --- cases -------------------------------------------------------------------------------------

    def _case_row(self, row: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
        return {
            "id": row["id"], "dialogue_id": row["dialogue_id"], "title": row["title"],
            "description": row["description"], "category": row["category"],
            "raised_by": row["raised_by"], "raised_by_name": names.get(row["raised_by"] or ""),
            "status": row["status"], "commitment_ids": json.loads(row["commitment_ids"]),
            "version": int(row["version"]), "raised_on": _date(row["raised_on"]),
            "resolution": row["resolution"],
        }

    def cases(self, dialogue_id: str) -> list[dict[str, Any]]:
        names = self._party_names(dialogue_id)
        return [self._case_row(r, names) for r in self._all(
            "SELECT * FROM rm_cases WHERE dialogue_id=? ORDER BY raised_on DESC, title",
            (dialogue_id,))]

    def case(self, case_id: str) -> dict[str, Any] | None:
        row = self.store.fetchone("SELECT * FROM rm_cases WHERE id=?", (case_id,))
        return self._case_row(row, self._party_names(row["dialogue_id"])) if row else None

    # --- commitments -------------------------------------------------------------------------------

    def _commitment_row(self, row: dict[str, Any], names: dict[str, str],
                        today: date) -> dict[str, Any]:
        result = {
            "id": row["id"], "dialogue_id": row["dialogue_id"], "case_id": row["case_id"],
            "title": row["title"], "description": row["description"], "status": row["status"],
            "version": int(row["version"]), "public": bool(row["public"]),
            "proposed_by": row["proposed_by"],
            "required_parties": json.loads(row["required_parties"]),
            "endorsements": json.loads(row["endorsements"]),
            "responsible_party": row["responsible_party"],
            "responsible_party_name": names.get(row["responsible_party"] or ""),
            "due_date": _date(row["due_date"]), "progress": int(row["progress"]),
            "milestones_done": int(row["milestones_done"]),
            "milestones_total": int(row["milestones_total"]),
            "last_activity": _time(row["last_activity"]),
            "completed_on": _date(row["completed_on"]),
            "proposed_on": _date(row["proposed_on"]),
            "disputes": int(row["disputes"] or 0),
        }
        result["overdue"] = is_overdue(result, today)
        return result

    def commitments(self, dialogue_id: str, *, today: date, status: str | None = None,
                    party: str | None = None, overdue: bool | None = None, q: str | None = None,
                    limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        where, params = ["dialogue_id=?"], [dialogue_id]
        if status:
            where.append("status=?")
            params.append(status)
        if party:
            where.append("responsible_party=?")
            params.append(party)
        if overdue is not None:
            clause, extra = _overdue_sql(today)
            where.append(clause if overdue else f"NOT {clause}")
            params.extend(extra)
        if q:
            where.append("search LIKE ? ESCAPE '!'")
            escaped = q.casefold().replace("!", "!!").replace("%", "!%").replace("_", "!_")
            params.append(f"%{escaped}%")
        condition = " AND ".join(where)
        total = self.store.fetchone(f"SELECT COUNT(*) AS n FROM rm_commitments WHERE {condition}",
                                    params)
        rows = self._all(f"SELECT * FROM rm_commitments WHERE {condition} "
                         "ORDER BY last_activity DESC, id LIMIT ? OFFSET ?",
                         [*params, max(0, int(limit)), max(0, int(offset))])
        names = self._party_names(dialogue_id)
        return [self._commitment_row(r, names, today) for r in rows], int(total["n"] if total else 0)

    def commitment(self, commitment_id: str, *, today: date) -> dict[str, Any] | None:
        row = self.store.fetchone("SELECT * FROM rm_commitments WHERE id=?", (commitment_id,))
        if row is None:
            return None
        return self._commitment_row(row, self._party_names(row["dialogue_id"]), today)

    # --- timeline ----------------------------------------------------------------------------------

    _TIMELINE = ("SELECT t.*, a.name AS actor_name, p.name AS party_name FROM rm_timeline t "
                 "LEFT JOIN rm_accounts a ON a.id=t.actor_id "
                 "LEFT JOIN rm_parties p ON p.id=t.party_id ")

    @staticmethod
    def _entry(row: dict[str, Any]) -> dict[str, Any]:
        return {
            "position": int(row["position"]), "aggregate_id": row["aggregate_id"],
            "aggregate_type": row["aggregate_type"], "dialogue_id": row["dialogue_id"],
            "version": int(row["version"]), "type": row["type"],
            "recorded_at": _time(row["recorded_at"]), "occurred_on": _date(row["occurred_on"]),
            "actor_id": row["actor_id"], "actor_name": row["actor_name"],
            "party_id": row["party_id"], "party_name": row["party_name"],
            "changes": json.loads(row["changes"]), "reason": row["reason"], "note": row["note"],
            "public": bool(row["public"]),
        }

    def timeline(self, aggregate_id: str) -> list[dict[str, Any]]:
        return [self._entry(r) for r in self._all(
            self._TIMELINE + "WHERE t.aggregate_id=? ORDER BY t.position", (str(aggregate_id),))]

    def dialogue_activity(self, dialogue_id: str, limit: int = 20) -> list[dict[str, Any]]:
        return [self._entry(r) for r in self._all(
            self._TIMELINE + "WHERE t.dialogue_id=? ORDER BY t.position DESC LIMIT ?",
            (dialogue_id, max(0, int(limit))))]

    def activity(self, *, account_id: str | None = None, party_id: str | None = None,
                 since: datetime | None = None, until: datetime | None = None,
                 limit: int = 200) -> list[dict[str, Any]]:
        where, params = [], []
        if account_id:
            where.append("t.actor_id=?")
            params.append(account_id)
        if party_id:
            where.append("t.party_id=?")
            params.append(party_id)
        if since:
            where.append("t.recorded_at>=?")
            params.append(iso_time(since))
        if until:
            where.append("t.recorded_at<=?")
            params.append(iso_time(until))
        condition = ("WHERE " + " AND ".join(where) + " ") if where else ""
        return [self._entry(r) for r in self._all(
            self._TIMELINE + condition + "ORDER BY t.position DESC LIMIT ?",
            [*params, max(0, int(limit))])]

    # --- dashboards --------------------------------------------------------------------------------

    def dashboard(self, dialogue_id: str, *, today: date) -> dict[str, Any]:
        counts = self._counts(dialogue_id)
        clause, params = _overdue_sql(today)
        overdue = self.store.fetchone(
            f"SELECT COUNT(*) AS n FROM rm_commitments WHERE dialogue_id=? AND {clause}",
            [dialogue_id, *params])
        agreed = sum(counts[s] for s in AGREED_OR_LATER)
        done = counts["completed"] + counts["verified"]
        marks = ",".join("?" * len(NOT_OVERDUE))
        soon = self._all(
            f"SELECT * FROM rm_commitments WHERE dialogue_id=? AND due_date>=? AND due_date<=? "
            f"AND status NOT IN ({marks}) ORDER BY due_date, id",
            [dialogue_id, today.isoformat(), (today + timedelta(days=DUE_SOON_DAYS)).isoformat(),
             *NOT_OVERDUE])
        names = self._party_names(dialogue_id)
        return {
            "counts": counts,
            "overdue": int(overdue["n"] if overdue else 0),
            "completion_rate": (done / agreed) if agreed else 0.0,
            "due_soon": [self._commitment_row(r, names, today) for r in soon],
            "recent": self.dialogue_activity(dialogue_id, 10),
        }

    def scorecards(self, dialogue_id: str, *, today: date) -> list[dict[str, Any]]:
        return _scorecards(self, dialogue_id, today, "rm_parties", "rm_commitments")

    # --- ledger ------------------------------------------------------------------------------------

    def ledger_head(self) -> dict[str, Any]:
        return self.ledger.head()

    def latest_checkpoint(self) -> dict[str, Any] | None:
        return self.ledger.latest_checkpoint()

    def checkpoints(self) -> list[dict[str, Any]]:
        return self.ledger.checkpoints()


def _scorecards(models: ReadModels, dialogue_id: str, today: date, parties: str,
                commitments: str) -> list[dict[str, Any]]:
    """Per responsible party: assigned, completed (on time), verified, overdue, disputed. Counted
    in SQL (GROUP BY): a dialogue of 10,000 commitments sends a few rows, not 10,000."""
    cards = {p["id"]: {"party_id": p["id"], "party_name": p["name"], "kind": p["kind"],
                       "assigned": 0, "completed": 0, "completed_on_time": 0, "verified": 0,
                       "overdue": 0, "disputed": 0}
             for p in models._parties(dialogue_id, parties)}
    overdue, params = _overdue_sql(today)
    done = "status IN ('completed', 'verified')"
    rows = models._all(
        f"SELECT responsible_party, COUNT(*) AS assigned, "
        f"SUM(CASE WHEN {done} THEN 1 ELSE 0 END) AS completed, "
        f"SUM(CASE WHEN {done} AND completed_on IS NOT NULL AND due_date IS NOT NULL "
        f"AND completed_on <= due_date THEN 1 ELSE 0 END) AS completed_on_time, "
        f"SUM(CASE WHEN status = 'verified' THEN 1 ELSE 0 END) AS verified, "
        f"SUM(CASE WHEN {overdue} THEN 1 ELSE 0 END) AS overdue, "
        f"SUM(COALESCE(disputes, 0)) AS disputed "
        f"FROM {commitments} WHERE dialogue_id=? AND responsible_party IS NOT NULL "
        f"GROUP BY responsible_party", [*params, dialogue_id])
    for row in rows:
        card = cards.get(row["responsible_party"])
        if card is None:
            continue
        for name in ("assigned", "completed", "completed_on_time", "verified", "overdue",
                     "disputed"):
            card[name] = int(row[name] or 0)
    return list(cards.values())


class PublicReadModel:
    """The only source for public pages and the public API: reads only the `pub_*` tables and
    `pub_history` (a SQL view of the timeline's public columns), which hold public columns of
    public aggregates (no person's name, no private note, no actor)."""

    def __init__(self, models: ReadModels) -> None:
        self._models = models

    def _all(self, statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return self._models._all(statement, params)

    def _dialogue_row(self, row: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": row["id"], "slug": row["slug"], "name": row["name"], "country": row["country"],
            "locality": row["locality"], "description": row["description"],
            "concluded": bool(row["concluded"]),
            "parties": self._models._parties(row["id"], "pub_parties"),
            "counts": self._models._counts(row["id"], "pub_commitments"),
        }

    def dialogues(self) -> list[dict[str, Any]]:
        return [self._dialogue_row(r) for r in self._all("SELECT * FROM pub_dialogues ORDER BY name")]

    def dialogue(self, slug: str) -> dict[str, Any] | None:
        return self._dialogue_where("slug", slug)

    def dialogue_by_id(self, dialogue_id: str) -> dict[str, Any] | None:
        return self._dialogue_where("id", dialogue_id)

    def _dialogue_where(self, column: str, value: str) -> dict[str, Any] | None:
        rows = self._all(f"SELECT * FROM pub_dialogues WHERE {column}=?", (value,))
        if not rows:
            return None
        result = self._dialogue_row(rows[0])
        result["meetings"] = [
            {"id": m["id"], "held_on": _date(m["held_on"]), "title": m["title"],
             "attendance": json.loads(m["attendance"])}
            for m in self._all("SELECT * FROM pub_meetings WHERE dialogue_id=? "
                               "ORDER BY held_on, ord", (rows[0]["id"],))]
        return result

    def _commitment_row(self, row: dict[str, Any], names: dict[str, str],
                        today: date) -> dict[str, Any]:
        result = {
            "id": row["id"], "dialogue_id": row["dialogue_id"], "title": row["title"],
            "description": row["description"], "status": row["status"],
            "version": int(row["version"]), "responsible_party": row["responsible_party"],
            "responsible_party_name": names.get(row["responsible_party"] or ""),
            "due_date": _date(row["due_date"]), "progress": int(row["progress"] or 0),
            "milestones": json.loads(row["milestones"]),
            "milestones_done": int(row["milestones_done"]),
            "milestones_total": int(row["milestones_total"]),
            "endorsements": [names.get(p, "") for p in json.loads(row["endorsements"])],
            "last_activity": _time(row["last_activity"]),
            "completed_on": _date(row["completed_on"]),
            "public": True,
        }
        result["overdue"] = is_overdue(result, today)
        return result

    def commitments(self, dialogue_id: str, *, today: date) -> list[dict[str, Any]]:
        names = self._models._party_names(dialogue_id, "pub_parties")
        return [self._commitment_row(r, names, today) for r in self._all(
            "SELECT * FROM pub_commitments WHERE dialogue_id=? ORDER BY last_activity DESC, id",
            (dialogue_id,))]

    def commitments_page(self, dialogue_id: str, *, today: date, status: str | None = None,
                         page: int = 1, size: int = 50) -> tuple[list[dict[str, Any]], int, int, int]:
        """One page of the public commitments (most recently active first), read in SQL:
        (its rows, the page number clamped to what exists, the page count, the total)."""
        where, params = "dialogue_id=?", [dialogue_id]
        if status:
            where, params = where + " AND status=?", [*params, status]
        found = self._models.store.fetchone(
            f"SELECT COUNT(*) AS n FROM pub_commitments WHERE {where}", params)
        total = int(found["n"]) if found else 0
        pages = max(1, -(-total // size))
        page = min(max(1, page), pages)
        names = self._models._party_names(dialogue_id, "pub_parties")
        rows = [self._commitment_row(r, names, today) for r in self._all(
            f"SELECT * FROM pub_commitments WHERE {where} "
            "ORDER BY last_activity DESC, id LIMIT ? OFFSET ?", [*params, size, (page - 1) * size])]
        return rows, page, pages, total

    def overdue_count(self, dialogue_id: str, *, today: date) -> int:
        clause, params = _overdue_sql(today)
        found = self._models.store.fetchone(
            f"SELECT COUNT(*) AS n FROM pub_commitments WHERE dialogue_id=? AND {clause}",
            [dialogue_id, *params])
        return int(found["n"]) if found else 0

    def latest_completion(self, dialogue_id: str) -> date | None:
        """The date of the dialogue's latest public completion, if any."""
        found = self._models.store.fetchone(
            "SELECT MAX(completed_on) AS day FROM pub_commitments WHERE dialogue_id=? "
            "AND status IN ('completed', 'verified')", (dialogue_id,))
        return _date(found["day"]) if found else None

    def completions(self, dialogue_id: str, *, since: date) -> list[dict[str, Any]]:
        """Completed and verified public commitments done on or after `since`: status, dates."""
        return [{"status": r["status"], "due_date": _date(r["due_date"]),
                 "completed_on": _date(r["completed_on"])} for r in self._all(
            "SELECT status, due_date, completed_on FROM pub_commitments WHERE dialogue_id=? "
            "AND status IN ('completed', 'verified') AND completed_on >= ?",
            (dialogue_id, since.isoformat()))]

    def commitment(self, commitment_id: str, *, today: date) -> dict[str, Any] | None:
        rows = self._all("SELECT * FROM pub_commitments WHERE id=?", (commitment_id,))
        if not rows:
            return None
        names = self._models._party_names(rows[0]["dialogue_id"], "pub_parties")
        return self._commitment_row(rows[0], names, today)

    def timeline(self, commitment_id: str) -> list[dict[str, Any]]:
        rows = self._all("SELECT t.*, p.name AS party_name FROM pub_history t "
                         "JOIN pub_commitments c ON c.id=t.commitment_id "
                         "LEFT JOIN pub_parties p ON p.id=t.party_id "
                         "WHERE t.commitment_id=? ORDER BY t.position", (commitment_id,))
        names = self._models._party_names(rows[0]["dialogue_id"], "pub_parties") if rows else {}
        entries = []
        for r in rows:
            changes = json.loads(r["changes"])
            if "responsible_party" in changes:
                changes["responsible_party"] = [names.get(p or "", p) for p in
                                                changes["responsible_party"]]
            if "endorsements" in changes:
                changes["endorsements"] = [[names.get(p, "") for p in side or []]
                                           for side in changes["endorsements"]]
            entries.append({
                "position": int(r["position"]), "commitment_id": r["commitment_id"],
                "version": int(r["version"]), "type": r["type"],
                "recorded_at": _time(r["recorded_at"]), "occurred_on": _date(r["occurred_on"]),
                "party_name": r["party_name"], "changes": changes, "reason": r["reason"],
                "public": True,
            })
        return entries

    def scorecards(self, dialogue_id: str, *, today: date) -> list[dict[str, Any]]:
        return _scorecards(self._models, dialogue_id, today, "pub_parties", "pub_commitments")

    def ledger_head(self) -> dict[str, Any]:
        return self._models.ledger_head()

    def latest_checkpoint(self) -> dict[str, Any] | None:
        return self._models.latest_checkpoint()
