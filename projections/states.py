"""The present state of each commitment, as its aggregate's `state()` says it (one JSON row each,
sealed with the encryption key), so `GET /api/v1/commitments/{id}` answers from the read models
instead of loading the aggregate from the event store.

Added by the wiring (`tracker.bootstrap.build_read_models`, `extra_views`) beside the outbox.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any, ClassVar

from projections.feed import Feed, Item, dumps
from projections.store import Store
from projections.views import View


class StatesView(View):
    name = "states"
    version = 1
    tables: ClassVar = {"rm_states": "id TEXT PRIMARY KEY, dialogue_id TEXT, version INTEGER, "
                                     "state TEXT"}
    sealed: ClassVar = {"rm_states": ("state",)}  # titles, notes, evidence: private text

    def apply(self, cursor: Any, items: Sequence[Item]) -> None:
        last: dict[str, dict[str, Any]] = {}  # each commitment's last state in the batch
        for item in items:
            if item.kind == "commitment":
                last[item.aggregate_id] = item.after
        self.upsert(cursor, "rm_states", (
            {"id": s["id"], "dialogue_id": s["dialogue_id"], "version": s["version"],
             "state": dumps(s)} for s in last.values()))

    def present(self, commitment_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The commitment's state now (as `Commitment.state()` gives it, its due date a date)
        and its dialogue's slug, name and parties (from the directory view's tables), in one
        query (a row per party); None if there is no such commitment."""
        rows = self.store.fetchall(
            "SELECT s.state, d.slug, d.name, p.id AS party_id, p.name AS party_name "
            "FROM rm_states s LEFT JOIN rm_dialogues d ON d.id = s.dialogue_id "
            "LEFT JOIN rm_parties p ON p.dialogue_id = s.dialogue_id WHERE s.id=? "
            "ORDER BY p.ord", (commitment_id,))
        if not rows:
            return None
        first = rows[0]
        state = json.loads(first["state"])
        if state.get("due_date"):
            state["due_date"] = date.fromisoformat(state["due_date"])
        parties = [{"id": r["party_id"], "name": r["party_name"]} for r in rows if r["party_id"]]
        return state, {"slug": first["slug"], "name": first["name"], "parties": parties}


def states_view(store: Store, feed: Feed) -> StatesView:
    return StatesView(store, feed)
