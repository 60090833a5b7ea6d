"""The queries the pages and the API ask of the read models: private (members, auditors) and public.

Both read the same kinds of tables (dialogues, parties, meetings, commitments), the private ones
`rm_*` and the public ones `pub_*` (public columns of public aggregates only), so one set of row
builders serves both; `PUBLIC` and `PRIVATE` name the tables and say which extra columns a row
carries. The public queries (`PublicQueries`) never read an `rm_*` table.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from operator import itemgetter
from typing import Any

from domain.lifecycle import NEVER_OVERDUE, Status, is_overdue
from projections.feed import iso_time
from projections.ledger import LedgerView
from projections.store import Store
from projections.tree import TreeView
from projections.views import fold

STATUSES = [s.value for s in Status]
AGREED_OR_LATER = ("agreed", "in_progress", "completed", "verified", "cancelled")
DUE_SOON_DAYS = 30
_NEVER_OVERDUE = tuple(sorted(NEVER_OVERDUE))


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def overdue_sql(today: date) -> tuple[str, list[Any]]:
    """`domain.lifecycle.is_overdue` as a SQL condition on a commitments table, with its values."""
    marks = ",".join("?" * len(_NEVER_OVERDUE))
    return (f"(due_date IS NOT NULL AND due_date < ? AND status NOT IN ({marks}))",
            [today.isoformat(), *_NEVER_OVERDUE])


@dataclass(frozen=True)
class Tables:
    """Which tables a set of queries reads, and whether its rows are the public ones."""

    dialogues: str
    parties: str
    meetings: str
    commitments: str
    public: bool


PRIVATE = Tables("rm_dialogues", "rm_parties", "rm_meetings", "rm_commitments", public=False)
PUBLIC = Tables("pub_dialogues", "pub_parties", "pub_meetings", "pub_commitments", public=True)


class Queries:
    """What private and public queries share: parties, counts, dialogue and commitment rows,
    paging through commitments, scorecards, the ledger."""

    tables: Tables = PRIVATE

    def __init__(self, store: Store, ledger: LedgerView, tree: TreeView) -> None:
        self.store = store
        self.ledger = ledger
        self.tree = tree

    def _all(self, statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return self.store.fetchall(statement, params)

    def _count(self, statement: str, params: Sequence[Any] = ()) -> int:
        found = self.store.fetchone(statement, params)
        return int(found["n"] or 0) if found else 0

    def _party_names(self, dialogue_id: str | None = None) -> dict[str, str]:
        table = self.tables.parties
        if dialogue_id is None:
            rows = self._all(f"SELECT id, name FROM {table}")
        else:
            rows = self._all(f"SELECT id, name FROM {table} WHERE dialogue_id=?", (dialogue_id,))
        return {r["id"]: r["name"] for r in rows}

    def _parties(self, dialogue_id: str) -> list[dict[str, Any]]:
        rows = self._all(f"SELECT id, name, kind FROM {self.tables.parties} WHERE dialogue_id=? "
                         "ORDER BY ord", (dialogue_id,))
        return [{"id": r["id"], "name": r["name"], "kind": r["kind"]} for r in rows]

    def _counts(self, dialogue_id: str) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for row in self._all(f"SELECT status, COUNT(*) AS n FROM {self.tables.commitments} "
                             "WHERE dialogue_id=? GROUP BY status", (dialogue_id,)):
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

    def _meeting_row(self, row: dict[str, Any]) -> dict[str, Any]:
        meeting = {"id": row["id"], "held_on": _date(row["held_on"]), "title": row["title"],
                   "attendance": json.loads(row["attendance"]), "place": row["place"] or "",
                   "summary": row["summary"]}
        if not self.tables.public:
            meeting["public"] = bool(row["public"])
        return meeting

    def meeting(self, dialogue_id: str, meeting_id: str) -> dict[str, Any] | None:
        row = self.store.fetchone(f"SELECT * FROM {self.tables.meetings} WHERE id=? AND "
                                  "dialogue_id=?", (meeting_id, dialogue_id))
        return self._meeting_row(row) if row else None

    def dialogues(self) -> list[dict[str, Any]]:
        return [self._dialogue_row(r) for r in
                self._all(f"SELECT * FROM {self.tables.dialogues} ORDER BY name")]

    def dialogue(self, slug: str) -> dict[str, Any] | None:
        """The dialogue with this slug, with its parties, counts and meetings."""
        return self._dialogue_where("slug", slug)

    def dialogue_by_id(self, dialogue_id: str) -> dict[str, Any] | None:
        return self._dialogue_where("id", dialogue_id)

    def _dialogue_where(self, column: str, value: str) -> dict[str, Any] | None:
        row = self.store.fetchone(f"SELECT * FROM {self.tables.dialogues} WHERE {column}=?",
                                  (value,))
        if row is None:
            return None
        result = self._dialogue_row(row)
        result["meetings"] = [self._meeting_row(m) for m in self._all(
            f"SELECT * FROM {self.tables.meetings} WHERE dialogue_id=? ORDER BY held_on, ord",
            (row["id"],))]
        return result

    # --- commitments -------------------------------------------------------------------------------

    def _commitment_row(self, row: dict[str, Any], names: dict[str, str],
                        today: date) -> dict[str, Any]:
        """A commitment row as the pages and the API read it; the public row carries its
        milestones and the names of the parties that endorsed, the private one ids and more."""
        result = {
            "id": row["id"], "dialogue_id": row["dialogue_id"], "title": row["title"],
            "description": row["description"], "status": row["status"],
            "version": int(row["version"]), "responsible_party": row["responsible_party"],
            "responsible_party_name": names.get(row["responsible_party"] or ""),
            "due_date": _date(row["due_date"]), "progress": int(row["progress"] or 0),
            "milestones_done": int(row["milestones_done"]),
            "milestones_total": int(row["milestones_total"]),
            "last_activity": _time(row["last_activity"]),
            "completed_on": _date(row["completed_on"]),
        }
        endorsements = json.loads(row["endorsements"])
        if self.tables.public:
            result.update(milestones=json.loads(row["milestones"]), public=True,
                          endorsements=[names.get(p, "") for p in endorsements],
                          evidence=[dict(e, added_on=_date(e["added_on"]))
                                    for e in json.loads(row["evidence"] or "[]")])
        else:
            result.update(
                case_id=row["case_id"], public=bool(row["public"]),
                proposed_by=row["proposed_by"],
                required_parties=json.loads(row["required_parties"]), endorsements=endorsements,
                proposed_on=_date(row["proposed_on"]), disputes=int(row["disputes"] or 0))
        result["overdue"] = is_overdue(result["status"], result["due_date"], today)
        return result

    def commitment(self, commitment_id: str, *, today: date) -> dict[str, Any] | None:
        row = self.store.fetchone(f"SELECT * FROM {self.tables.commitments} WHERE id=?",
                                  (commitment_id,))
        if row is None:
            return None
        return self._commitment_row(row, self._party_names(row["dialogue_id"]), today)

    def _commitment_rows(self, dialogue_id: str, where: list[str], params: list[Any], *,
                         today: date, limit: int | None, offset: int,
                         matches: Callable[[str], bool] | None = None
                         ) -> tuple[list[dict[str, Any]], int]:
        """The dialogue's commitments that meet every condition (and `matches`, a test of the
        `search` text run in the process), most recently active first (one page of them when
        `limit` is given), and how many there are in all."""
        condition = " AND ".join(["dialogue_id=?", *where])
        params = [dialogue_id, *params]
        table = self.tables.commitments
        order = "ORDER BY last_activity DESC, id"
        if matches is not None:
            # The search text of every candidate (and nothing else), then the page's rows by id.
            ids = [r["id"] for r in self._all(f"SELECT id, search FROM {table} "
                                              f"WHERE {condition} {order}", params)
                   if matches(r["search"] or "")]
            total = len(ids)
            if limit is not None:
                ids = ids[max(0, int(offset)):max(0, int(offset)) + max(0, int(limit))]
            found = {r["id"]: r for r in self._all(
                f"SELECT * FROM {table} WHERE id IN ({','.join('?' * len(ids))})", ids)} \
                if ids else {}
            rows = [found[i] for i in ids]
        else:
            page = "" if limit is None else " LIMIT ? OFFSET ?"
            rows = self._all(f"SELECT * FROM {table} WHERE {condition} {order}{page}",
                             params if limit is None else [*params, max(0, int(limit)),
                                                           max(0, int(offset))])
            total = len(rows) if limit is None else self._count(
                f"SELECT COUNT(*) AS n FROM {table} WHERE {condition}", params)
        names = self._party_names(dialogue_id)
        return [self._commitment_row(r, names, today) for r in rows], total

    def overdue_count(self, dialogue_id: str, *, today: date) -> int:
        clause, params = overdue_sql(today)
        return self._count(f"SELECT COUNT(*) AS n FROM {self.tables.commitments} "
                           f"WHERE dialogue_id=? AND {clause}", [dialogue_id, *params])

    def programme(self, *, today: date, country: str | None = None) -> list[dict[str, Any]]:
        """Every dialogue side by side (of one country, when given): its counts by status,
        completed, completed on time (of those with a due date), the on-time rate (None before
        any), overdue and the last activity; one GROUP BY over the commitments."""
        overdue, params = overdue_sql(today)
        done = "status IN ('completed', 'verified')"
        rows = {r["dialogue_id"]: r for r in self._all(
            f"SELECT dialogue_id, SUM(CASE WHEN {done} THEN 1 ELSE 0 END) AS done, "
            f"SUM(CASE WHEN {done} AND due_date IS NOT NULL THEN 1 ELSE 0 END) AS done_due, "
            f"SUM(CASE WHEN {done} AND completed_on IS NOT NULL AND due_date IS NOT NULL "
            f"AND completed_on <= due_date THEN 1 ELSE 0 END) AS on_time, "
            f"SUM(CASE WHEN {overdue} THEN 1 ELSE 0 END) AS overdue, "
            f"MAX(last_activity) AS last_activity "
            f"FROM {self.tables.commitments} GROUP BY dialogue_id", params)}
        found = []
        for dialogue in self.dialogues():
            if country and dialogue["country"] != country.upper():
                continue
            row = rows.get(dialogue["id"], {})
            done_due, on_time = int(row.get("done_due") or 0), int(row.get("on_time") or 0)
            found.append(dict(dialogue, done=int(row.get("done") or 0), on_time=on_time,
                              on_time_rate=on_time / done_due if done_due else None,
                              overdue=int(row.get("overdue") or 0),
                              last_activity=_time(str(row["last_activity"]))
                              if row.get("last_activity") else None))
        return found

    def scorecards(self, dialogue_id: str, *, today: date) -> list[dict[str, Any]]:
        """Per responsible party: assigned, completed (on time), verified, overdue, disputed.
        Counted in SQL (GROUP BY): a dialogue of 10,000 commitments sends a few rows, not 10,000."""
        cards = {p["id"]: {"party_id": p["id"], "party_name": p["name"], "kind": p["kind"],
                           "assigned": 0, "completed": 0, "completed_on_time": 0, "verified": 0,
                           "overdue": 0, "disputed": 0}
                 for p in self._parties(dialogue_id)}
        overdue, params = overdue_sql(today)
        done = "status IN ('completed', 'verified')"
        rows = self._all(
            f"SELECT responsible_party, COUNT(*) AS assigned, "
            f"SUM(CASE WHEN {done} THEN 1 ELSE 0 END) AS completed, "
            f"SUM(CASE WHEN {done} AND completed_on IS NOT NULL AND due_date IS NOT NULL "
            f"AND completed_on <= due_date THEN 1 ELSE 0 END) AS completed_on_time, "
            f"SUM(CASE WHEN status = 'verified' THEN 1 ELSE 0 END) AS verified, "
            f"SUM(CASE WHEN {overdue} THEN 1 ELSE 0 END) AS overdue, "
            f"SUM(COALESCE(disputes, 0)) AS disputed "
            f"FROM {self.tables.commitments} WHERE dialogue_id=? AND responsible_party IS NOT NULL "
            f"GROUP BY responsible_party", [*params, dialogue_id])
        for row in rows:
            card = cards.get(row["responsible_party"])
            if card is None:
                continue
            for name in ("assigned", "completed", "completed_on_time", "verified", "overdue",
                         "disputed"):
                card[name] = int(row[name] or 0)
        return list(cards.values())

    # --- ledger ------------------------------------------------------------------------------------

    def ledger_head(self) -> dict[str, Any]:
        return self.ledger.head()

    def latest_checkpoint(self) -> dict[str, Any] | None:
        return self.ledger.latest_checkpoint()

    def checkpoints(self) -> list[dict[str, Any]]:
        return self.ledger.checkpoints()

    def latest_tree_head(self) -> dict[str, Any] | None:
        """The latest signed tree head, with the cosignatures it has."""
        head = self.tree.latest_head()
        return self.tree.with_cosignatures([head])[0] if head else None

    def latest_cosigned_head(self) -> dict[str, Any] | None:
        return self.tree.latest_cosigned_head()

    def tree_heads(self, limit: int) -> list[dict[str, Any]]:
        """The latest signed tree heads (largest first), with their cosignatures."""
        return self.tree.with_cosignatures(self.tree.heads(limit))


class PrivateQueries(Queries):
    """For members, auditors and admins: every read model table but the public ones."""

    tables = PRIVATE

    def waiting(self, dialogue_id: str, party: str, limit: int | None = None
                ) -> tuple[list[dict[str, Any]], int]:
        """The dialogue's commitments that wait for the party, with what
        `tracker.notices.waiting_for` reads, soonest due first (the first `limit`; None: all),
        and how many wait in all. `waiting_for`'s rule, in SQL, picks the rows and `waiting_for`
        gives each its cause: a workspace shows ten, and a party may have thousands in progress
        (tests/projections/test_waiting_query.py checks the two agree on generated commitments)."""
        member = f'%"{party}"%'  # (the JSON lists hold the id in quotes)
        where = ("FROM rm_commitments WHERE dialogue_id=? AND ("
                 "(status='proposed' AND required_parties LIKE ? "
                 "AND COALESCE(endorsements, '') NOT LIKE ?) "
                 "OR (status='in_progress' AND responsible_party=?) "
                 "OR (status='completed' AND required_parties LIKE ? "
                 "AND (completed_by IS NULL OR completed_by<>?)))")
        params: list[Any] = [dialogue_id, member, member, party, member, party]
        rows = self._all("SELECT id, title, status, required_parties, endorsements, "
                         f"responsible_party, due_date, completed_by {where} "
                         "ORDER BY due_date, title, id"
                         + ("" if limit is None else f" LIMIT {int(limit)}"), params)
        if limit is None or len(rows) < limit:
            return rows, len(rows)
        # (a count of its own: `count(*) OVER ()` sorted every row that waits, 8 times slower)
        return rows, self._count(f"SELECT count(*) AS n {where}", params)

    def watching(self, account_id: str | None) -> set[str]:
        """The ids of the commitments and dialogues the account watches (the outbox's rows)."""
        if account_id is None:
            return set()
        return {r["target_id"] for r in self._all(
            "SELECT target_id FROM ob_watches WHERE account_id=?", (account_id,))}

    def commitments(self, dialogue_id: str, *, today: date, status: str | None = None,
                    party: str | None = None, overdue: bool | None = None, q: str | None = None,
                    limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """One page of a dialogue's commitments that meet the filters, and how many meet them."""
        where: list[str] = []
        params: list[Any] = []
        if status:
            where.append("status=?")
            params.append(status)
        if party:
            where.append("responsible_party=?")
            params.append(party)
        if overdue is not None:
            clause, extra = overdue_sql(today)
            where.append(clause if overdue else f"NOT {clause}")
            params.extend(extra)
        matches = None
        if q and self.store.sealer.active:  # the texts are sealed: searched once opened
            needle = q.casefold()

            def matches(search: str) -> bool:
                return needle in search
        elif q:
            where.append("search LIKE ? ESCAPE '!'")
            escaped = fold(q).replace("!", "!!").replace("%", "!%").replace("_", "!_")
            params.append(f"%{escaped}%")
        return self._commitment_rows(dialogue_id, where, params, today=today, limit=limit,
                                     offset=offset, matches=matches)

    # --- accounts ----------------------------------------------------------------------------------

    def accounts(self) -> list[dict[str, Any]]:
        """Every account by name: role, memberships (dialogue and party names), address, whether
        it is active and has a second factor, its last sign-in, and its tokens (active first)."""
        dialogues = {r["id"]: r for r in self._all("SELECT id, slug, name FROM rm_dialogues")}
        parties = self._party_names()
        tokens: dict[str, list[dict[str, Any]]] = {}
        for row in self._all("SELECT * FROM rm_tokens ORDER BY revoked, issued_at DESC"):
            tokens.setdefault(row["account_id"], []).append({
                "id": row["id"], "label": row["label"], "issued_at": _time(row["issued_at"]),
                "revoked": bool(row["revoked"]), "revoked_at": _time(row["revoked_at"])})
        accounts = []
        rows = self._all("SELECT * FROM rm_accounts ORDER BY name")
        if self.store.sealer.active:  # (sealed names: SQL ordered them by their ciphertext)
            rows.sort(key=itemgetter("name"))
        for row in rows:
            memberships = [{"dialogue_id": d, "slug": dialogues.get(d, {}).get("slug"),
                            "dialogue": dialogues.get(d, {}).get("name"), "party_id": p,
                            "party": parties.get(p)}
                           for d, p in json.loads(row["memberships"] or "{}").items()]
            own = tokens.get(row["id"], [])
            accounts.append({
                "id": row["id"], "name": row["name"], "role": row["role"],
                "active": bool(row["active"]), "email": row["email"],
                "language": row["language"], "second_factor": bool(row["second_factor"]),
                "last_signed_in": _time(row["last_signed_in"]), "memberships": memberships,
                "tokens": own, "active_tokens": sum(1 for t in own if not t["revoked"])})
        return accounts

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

    def names_of(self, ids: Iterable[str]) -> dict[str, str]:
        """The name of each id that is a party, dialogue, account, commitment or case (a title for
        the last two): what the auditor's pages show instead of ids."""
        wanted = sorted({str(i) for i in ids})
        found: dict[str, str] = {}
        sources = (("rm_parties", "name"), ("rm_dialogues", "name"), ("rm_accounts", "name"),
                   ("rm_commitments", "title"), ("rm_cases", "title"))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for table, column in sources:
                for row in self._all(f"SELECT id, {column} AS name FROM {table} "
                                     f"WHERE id IN ({marks})", chunk):
                    found.setdefault(row["id"], row["name"])
        return found

    def cases(self, dialogue_id: str) -> list[dict[str, Any]]:
        names = self._party_names(dialogue_id)
        rows = self._all("SELECT * FROM rm_cases WHERE dialogue_id=? ORDER BY raised_on DESC, "
                         "title", (dialogue_id,))
        if self.store.sealer.active:  # (sealed titles: SQL ordered them by their ciphertext)
            rows.sort(key=lambda r: r["title"] or "")
            rows.sort(key=lambda r: r["raised_on"] or "", reverse=True)
        return [self._case_row(r, names) for r in rows]

    def case(self, case_id: str) -> dict[str, Any] | None:
        row = self.store.fetchone("SELECT * FROM rm_cases WHERE id=?", (case_id,))
        return self._case_row(row, self._party_names(row["dialogue_id"])) if row else None

    # --- timeline ----------------------------------------------------------------------------------

    _TIMELINE = ("SELECT t.*, a.name AS actor_name, p.name AS party_name, "
                 "mt.held_on AS meeting_held_on, mt.title AS meeting_title FROM rm_timeline t "
                 "LEFT JOIN rm_accounts a ON a.id=t.actor_id "
                 "LEFT JOIN rm_parties p ON p.id=t.party_id "
                 "LEFT JOIN rm_meetings mt ON mt.id=t.meeting_id ")

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
            "meeting": {"id": row["meeting_id"], "held_on": _date(row["meeting_held_on"]),
                        "title": row["meeting_title"]} if row.get("meeting_id") else None,
        }

    def timeline(self, aggregate_id: str) -> list[dict[str, Any]]:
        return [self._entry(r) for r in self._all(
            self._TIMELINE + "WHERE t.aggregate_id=? ORDER BY t.position", (str(aggregate_id),))]

    def meeting_decisions(self, meeting_id: str) -> list[dict[str, Any]]:
        """Every event recorded as decided at the meeting, in log order, with the title of the
        commitment it is about."""
        return [dict(self._entry(r), title=r["commitment_title"], ref=r["commitment_ref"])
                for r in self._all(
                    self._TIMELINE.replace("FROM rm_timeline t", ", c.title AS commitment_title, "
                                           "c.ref AS commitment_ref FROM rm_timeline t") +
                    "LEFT JOIN rm_commitments c ON c.id=t.aggregate_id "
                    "WHERE t.meeting_id=? ORDER BY t.position", (meeting_id,))]

    def decision_rows(self, dialogue_id: str) -> list[dict[str, Any]]:
        """The dialogue's commitments as rows of the decisions table (tracker/sheets.py): parties
        by name, the committee's reference or else the commitment's id, oldest first."""
        names = self._party_names(dialogue_id)
        rows = self._all("SELECT * FROM rm_commitments WHERE dialogue_id=? "
                         "ORDER BY proposed_on, ref, id", (dialogue_id,))
        return [{"ref": r["ref"] or r["id"], "title": r["title"],
                 "description": r["description"] or "",
                 "required_parties": ";".join(names.get(p, p) for p in
                                              json.loads(r["required_parties"])),
                 "responsible_party": names.get(r["responsible_party"] or "", ""),
                 "due_date": _date(r["due_date"]), "progress": int(r["progress"] or 0),
                 "public": bool(r["public"])} for r in rows]

    def dialogue_activity(self, dialogue_id: str, limit: int = 20) -> list[dict[str, Any]]:
        return [self._entry(r) for r in self._all(
            self._TIMELINE + "WHERE t.dialogue_id=? ORDER BY t.position DESC LIMIT ?",
            (dialogue_id, max(0, int(limit))))]

    def activity(self, *, account_id: str | None = None, party_id: str | None = None,
                 since: datetime | None = None, until: datetime | None = None,
                 on_or_after: date | None = None, on_or_before: date | None = None,
                 limit: int = 200) -> list[dict[str, Any]]:
        """Timeline entries, newest first, by actor, party, recorded time (`since`, `until`) or
        business date (`on_or_after`, `on_or_before`: the day it happened; an entry without one,
        such as a sign-in, by the day it was recorded)."""
        where, params = [], []
        day = "COALESCE(t.occurred_on, SUBSTR(t.recorded_at, 1, 10))"
        if on_or_after:
            where.append(f"{day}>=?")
            params.append(on_or_after.isoformat())
        if on_or_before:
            where.append(f"{day}<=?")
            params.append(on_or_before.isoformat())
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
        agreed = sum(counts[s] for s in AGREED_OR_LATER)
        done = counts["completed"] + counts["verified"]
        marks = ",".join("?" * len(_NEVER_OVERDUE))
        soon = self._all(
            f"SELECT * FROM rm_commitments WHERE dialogue_id=? AND due_date>=? AND due_date<=? "
            f"AND status NOT IN ({marks}) ORDER BY due_date, id",
            [dialogue_id, today.isoformat(), (today + timedelta(days=DUE_SOON_DAYS)).isoformat(),
             *_NEVER_OVERDUE])
        names = self._party_names(dialogue_id)
        return {
            "counts": counts,
            "overdue": self.overdue_count(dialogue_id, today=today),
            "completion_rate": (done / agreed) if agreed else 0.0,
            "due_soon": [self._commitment_row(r, names, today) for r in soon],
            "recent": self.dialogue_activity(dialogue_id, 10),
        }


class PublicQueries(Queries):
    """The only source for public pages and the public API: reads only the `pub_*` tables and
    `pub_history` (a SQL view of the timeline's public columns), which hold public columns of
    public aggregates (no person's name, no private note, no actor)."""

    tables = PUBLIC

    def commitments(self, dialogue_id: str, *, today: date) -> list[dict[str, Any]]:
        return self._commitment_rows(dialogue_id, [], [], today=today, limit=None, offset=0)[0]

    def commitments_page(self, dialogue_id: str, *, today: date, status: str | None = None,
                         page: int = 1, size: int = 50) -> tuple[list[dict[str, Any]], int, int, int]:
        """One page of the public commitments (most recently active first), read in SQL:
        (its rows, the page number clamped to what exists, the page count, the total)."""
        where, params = (["status=?"], [status]) if status else ([], [])
        total = self._count(f"SELECT COUNT(*) AS n FROM pub_commitments WHERE "
                            f"{' AND '.join(['dialogue_id=?', *where])}", [dialogue_id, *params])
        pages = max(1, -(-total // size))
        page = min(max(1, page), pages)
        rows, _ = self._commitment_rows(dialogue_id, where, params, today=today, limit=size,
                                        offset=(page - 1) * size)
        return rows, page, pages, total

    def public_position(self) -> int:
        """The log position of the last event that changed anything public (0: none yet)."""
        found = self.store.fetchone("SELECT position FROM pub_state WHERE id=1")
        return int(found["position"]) if found else 0

    def latest_completion(self, dialogue_id: str) -> date | None:
        """The date of the dialogue's latest public completion, if any."""
        found = self.store.fetchone(
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

    def public_positions(self, commitment_id: str) -> list[int] | None:
        """The log positions of a public commitment's public timeline entries (None: no public
        commitment has this id)."""
        rows = self._all("SELECT h.position FROM pub_commitments c LEFT JOIN pub_history h "
                         "ON h.commitment_id=c.id WHERE c.id=? ORDER BY h.position",
                         (commitment_id,))
        return [int(r["position"]) for r in rows if r["position"] is not None] if rows else None

    def timeline(self, commitment_id: str) -> list[dict[str, Any]]:
        rows = self._all("SELECT t.*, p.name AS party_name FROM pub_history t "
                         "JOIN pub_commitments c ON c.id=t.commitment_id "
                         "LEFT JOIN pub_parties p ON p.id=t.party_id "
                         "WHERE t.commitment_id=? ORDER BY t.position", (commitment_id,))
        names = self._party_names(rows[0]["dialogue_id"]) if rows else {}
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
