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


class OutboxView(View):
    name = "outbox"
    version = 1
    tables: ClassVar = {
        "ob_members": "account_id TEXT, dialogue_id TEXT, party_id TEXT, "
                      "PRIMARY KEY (account_id, dialogue_id)",
        "ob_watches": "account_id TEXT, target_id TEXT, PRIMARY KEY (account_id, target_id)",
        "ob_accounts": "id TEXT PRIMARY KEY, role TEXT, active INTEGER, email TEXT, language TEXT, "
                       "mail TEXT, memberships TEXT",
        "ob_notices": "key TEXT PRIMARY KEY, account_id TEXT, cause TEXT, commitment_id TEXT, "
                      "dialogue_id TEXT, position BIGINT, event_type TEXT, recorded_at TEXT",
        "ob_public": "position BIGINT PRIMARY KEY, dialogue_id TEXT, commitment_id TEXT, "
                     "event_type TEXT, recorded_at TEXT",
    }
    indexes = ("ob_members(dialogue_id)", "ob_watches(target_id)", "ob_notices(position)",
               "ob_public(dialogue_id, position)")

    def __init__(self, store: Store, feed: Feed, told: Told) -> None:
        super().__init__(store, feed)
        self.told = told

    def apply(self, cursor: Any, items: Sequence[Item]) -> None:
        commitments = [item for item in items if item.kind == "commitment"]
        accounts: dict[str, dict[str, Any]] = {}
        if not commitments:  # only accounts (and others) in this batch: keep what they say
            for item in items:
                if item.kind == "account":
                    accounts[item.aggregate_id] = item.after
            self._write_accounts(cursor, accounts)
            return
        dialogues = {item.after["dialogue_id"] for item in commitments}
        targets = dialogues | {item.aggregate_id for item in commitments}
        members = self._members(cursor, dialogues)  # dialogue -> {account: party}
        watchers = self._watchers(cursor, targets)  # target -> {account}
        notices: list[tuple[Any, ...]] = []
        public: list[tuple[Any, ...]] = []
        for item in items:
            if item.kind == "account":
                after = item.after
                accounts[item.aggregate_id] = after
                for dialogue_id, found in members.items():
                    party = after["memberships"].get(dialogue_id)
                    if party is None or after["role"] != "member":
                        found.pop(item.aggregate_id, None)
                    else:
                        found[item.aggregate_id] = party
                if item.type in ("Watched", "Unwatched"):
                    target = item.event.target_id
                    if target in watchers:
                        if item.type == "Watched":
                            watchers[target].add(item.aggregate_id)
                        else:
                            watchers[target].discard(item.aggregate_id)
                continue
            if item.kind != "commitment":
                continue
            s = item.after
            dialogue_id, commitment_id = s["dialogue_id"], item.aggregate_id
            actor = item.meta.actor if item.meta else None
            told_now = set()
            parties = self.told(item.type, item.before, s)
            if parties:
                by_party: dict[str, list[str]] = {}
                for account, party in members.get(dialogue_id, {}).items():
                    by_party.setdefault(party, []).append(account)
                for cause, party in parties:
                    for account in by_party.get(party, ()):
                        if account == actor:
                            continue
                        told_now.add(account)
                        notices.append((notice_key(account, cause, commitment_id, item.position),
                                        account, cause, commitment_id, dialogue_id, item.position,
                                        item.type, item.recorded_at))
            for account in (watchers.get(commitment_id, set()) | watchers.get(dialogue_id, set())):
                if account == actor or account in told_now:
                    continue
                notices.append((notice_key(account, WATCHED, commitment_id, item.position),
                                account, WATCHED, commitment_id, dialogue_id, item.position,
                                item.type, item.recorded_at))
            if s["public"] and entry_is_public(item):
                public.append((item.position, dialogue_id, commitment_id, item.type,
                               item.recorded_at))
        self._write_accounts(cursor, accounts)
        self.execute_many(cursor, "INSERT INTO ob_notices VALUES (?,?,?,?,?,?,?,?)", notices)
        self.execute_many(cursor, "INSERT INTO ob_public VALUES (?,?,?,?,?)", public)

    def _members(self, cursor: Any, dialogues: set[str]) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = {d: {} for d in dialogues}
        cursor.execute(self.store.sql(
            "SELECT account_id, dialogue_id, party_id FROM ob_members WHERE dialogue_id IN "
            f"({','.join('?' * len(dialogues))})"), tuple(dialogues))
        for row in cursor.fetchall():
            found[row["dialogue_id"]][row["account_id"]] = row["party_id"]
        return found

    def _watchers(self, cursor: Any, targets: set[str]) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {t: set() for t in targets}
        cursor.execute(self.store.sql(
            "SELECT account_id, target_id FROM ob_watches WHERE target_id IN "
            f"({','.join('?' * len(targets))})"), tuple(targets))
        for row in cursor.fetchall():
            found[row["target_id"]].add(row["account_id"])
        return found

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
