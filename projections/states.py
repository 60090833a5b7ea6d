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
        rows: dict[str, dict[str, Any]] = {}
        for item in items:
            if item.kind == "commitment":
                s = item.after
                rows[s["id"]] = {"id": s["id"], "dialogue_id": s["dialogue_id"],
                                 "version": s["version"], "state": dumps(s)}
        self.upsert(cursor, "rm_states", rows.values())

    def state(self, commitment_id: str) -> dict[str, Any] | None:
        """The commitment's state now (as `Commitment.state()` gives it, with its due date as a
        date), or None if there is no such commitment."""
        row = self.store.fetchone("SELECT state FROM rm_states WHERE id=?", (commitment_id,))
        if row is None:
            return None
        state = json.loads(row["state"])
        if state.get("due_date"):
            state["due_date"] = date.fromisoformat(state["due_date"])
        return state


def states_view(store: Store, feed: Feed) -> StatesView:
    return StatesView(store, feed)
