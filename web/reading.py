"""The ledger as the API, the public pages and the auditor's pages show it."""

from __future__ import annotations

from typing import Any


def ledger_summary(read_models: Any) -> dict[str, Any]:
    """The ledger's position and head hash, with its latest signed checkpoint (or None)."""
    head = read_models.ledger_head()
    return {"position": head["position"], "head_hash": head["head_hash"],
            "checkpoint": read_models.latest_checkpoint()}
