"""The outbox: who is to be told of each event, as rows with one key per recipient and cause.

A view like the others (rows and position in one transaction, each event considered once, rebuilt
from the log): for every commitment event it asks the table of who is told what (`told`, given by
the wiring: `tracker.notices.told`) which parties hear of it, and writes a notice for each member
those parties had *at that event* (the view keeps the memberships and the watches it has seen, so
a rebuild writes the same keys again), for each account watching the commitment or its dialogue,
and, when the change is public, one public notice for the dialogue's subscribers. The person who
acted is not told. Whether a notice was sent is not here but in `mail_deliveries`
(`tracker.mailer`), which a rebuild leaves alone: nothing is sent twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from projections.feed import Feed, Item, dumps
from projections.store import Store
from projections.views import View, entry_is_public, flag

Told = Callable[[str, Mapping[str, Any] | None, Mapping[str, Any]], list[tuple[str, str]]]
WATCHED = "watched"


def notice_key(account_id: str, cause: str, commitment_id: str, position: int) -> str:
    return f"{account_id}/{cause}/{commitment_id}/{position}"


def _text(texts: dict[tuple[tuple[str, str], ...], str], told: list[tuple[str, str]]) -> str:
    """`told` as JSON text, from `texts` when the same list was encoded before (the same members
    are told of event after event)."""
    key = tuple(told)
    text = texts.get(key)
    if text is None:
        text = texts[key] = dumps(told)
    return text


class OutboxView(View):
    name = "outbox"
    version = 1
    tables: ClassVar = {
        "ob_members": "account_id TEXT, dialogue_id TEXT, party_id TEXT, "
                      "PRIMARY KEY (account_id, dialogue_id)",
        "ob_watches": "account_id TEXT, target_id TEXT, PRIMARY KEY (account_id, target_id)",
        "ob_accounts": "id TEXT PRIMARY KEY, role TEXT, active INTEGER, email TEXT, language TEXT, "
                       "mail TEXT, memberships TEXT",
        # One row per commitment event that tells someone: `told` is [[account, cause], ...]
        # (one notice each, keyed by `notice_key`), `public` says whether the public's
        # subscribers hear of it. (A row per event, not per notice: a third of the rows to
        # write on a rebuild, and no long text key to index.)
        "ob_events": "position BIGINT PRIMARY KEY, dialogue_id TEXT, commitment_id TEXT, "
                     "event_type TEXT, recorded_at TEXT, told TEXT, public INTEGER",
    }
    indexes = ("ob_events(dialogue_id, public, position)",)
    sealed: ClassVar = {"ob_accounts": ("email",)}  # an address is personal data

    def __init__(self, store: Store, feed: Feed, told: Told) -> None:
        super().__init__(store, feed)
        self.told = told
        # Memberships and watches as of position `_known_at`, kept in memory between batches:
        # reloaded when another process (or a reset) moved the view on since (so the command
        # path's small batches cost no query for them).
        self._known_at: int | None = None
        self._members: dict[str, dict[str, str]] = {}  # dialogue -> {account: party}
        self._watchers: dict[str, set[str]] = {}  # target -> {account}

    def reset(self) -> None:
        super().reset()
        self._known_at = None

    def _load(self, cursor: Any) -> None:
        self._members, self._watchers = {}, {}
        cursor.execute(self.store.sql("SELECT account_id, dialogue_id, party_id FROM ob_members"))
        for row in cursor.fetchall():
            self._members.setdefault(row["dialogue_id"], {})[row["account_id"]] = row["party_id"]
        cursor.execute(self.store.sql("SELECT account_id, target_id FROM ob_watches"))
        for row in cursor.fetchall():
            self._watchers.setdefault(row["target_id"], set()).add(row["account_id"])

    def apply(self, cursor: Any, items: Sequence[Item]) -> None:
        if self._known_at is None or self._known_at != getattr(self, "applying_after", None):
            self._load(cursor)
        self._known_at = None  # (until this batch is written: a failed one reloads)
        members, watchers, told_of = self._members, self._watchers, self.told
        accounts: dict[str, dict[str, Any]] = {}
        rows: list[tuple[Any, ...]] = []
        # Each dialogue's members by party, made once for the events between two account events
        # (a rebuild's long runs of commitment events would otherwise regroup them each time).
        by_party_of: dict[str, dict[str, list[str]]] = {}
        texts: dict[tuple[tuple[str, str], ...], str] = {}  # a `told` list's JSON, made once
        for item in items:
            kind = item.kind
            if kind == "account":
                after = item.after
                key = item.aggregate_id
                accounts[key] = after
                by_party_of.clear()
                own = after["memberships"] if after["role"] == "member" else {}
                for dialogue_id, found in members.items():
                    if dialogue_id not in own:
                        found.pop(key, None)
                for dialogue_id, party in own.items():
                    members.setdefault(dialogue_id, {})[key] = party
                if item.type == "Watched":
                    watchers.setdefault(item.event.target_id, set()).add(key)
                elif item.type == "Unwatched":
                    watchers.get(item.event.target_id, set()).discard(key)
                continue
            if kind != "commitment":
                continue
            s = item.after
            dialogue_id, commitment_id = s["dialogue_id"], item.aggregate_id
            meta = item.meta
            actor = meta.actor if meta else None
            told: list[tuple[str, str]] = []
            parties = told_of(item.type, item.before, s)
            if parties:
                by_party = by_party_of.get(dialogue_id)
                if by_party is None:
                    by_party = by_party_of[dialogue_id] = {}
                    for account, party in members.get(dialogue_id, {}).items():
                        by_party.setdefault(party, []).append(account)
                for cause, party in parties:
                    for account in by_party.get(party, ()):
                        if account != actor and (account, cause) not in told:
                            told.append((account, cause))
            watching = watchers.get(commitment_id)
            in_dialogue = watchers.get(dialogue_id)
            if watching or in_dialogue:
                already = {account for account, _ in told}
                everyone = watching | in_dialogue if watching and in_dialogue else \
                    watching or in_dialogue
                for account in sorted(everyone):
                    if account != actor and account not in already:
                        told.append((account, WATCHED))
            public = s["public"] and entry_is_public(item)
            if told or public:
                rows.append((item.position, dialogue_id, commitment_id, item.type,
                             item.recorded_at, _text(texts, told), flag(public)))
        self._write_accounts(cursor, accounts)
        self.execute_many(cursor, "INSERT INTO ob_events VALUES (?,?,?,?,?,?,?)", rows)
        self._known_at = items[-1].position

    def _write_accounts(self, cursor: Any, accounts: dict[str, dict[str, Any]]) -> None:
        """Each account's last state in the batch: its memberships and watches as rows."""
        if not accounts:
            return
        keys = [(key,) for key in accounts]
        self.execute_many(cursor, "DELETE FROM ob_members WHERE account_id=?", keys)
        self.execute_many(cursor, "DELETE FROM ob_watches WHERE account_id=?", keys)
        self.execute_many(cursor, "INSERT INTO ob_members VALUES (?,?,?)", [
            (key, dialogue_id, party) for key, s in accounts.items() if s["role"] == "member"
            for dialogue_id, party in s["memberships"].items()])
        self.execute_many(cursor, "INSERT INTO ob_watches VALUES (?,?)", [
            (key, target) for key, s in accounts.items() for target in s.get("watching") or ()])
        self.upsert(cursor, "ob_accounts", [
            {"id": key, "role": s["role"], "active": flag(s["active"]), "email": s.get("email"),
             "language": s.get("language"), "mail": s.get("mail") or "immediate",
             "memberships": dumps(s["memberships"])} for key, s in accounts.items()])
