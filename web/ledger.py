"""The ledger as the public pages, the auditor's pages and the API show it."""

from __future__ import annotations

from typing import Any


def ledger_summary(read_models: Any) -> dict[str, Any]:
    """The ledger's position and head hash, with its latest signed checkpoint (or None)."""
    head = read_models.ledger_head()
    latest = getattr(read_models, "latest_checkpoint", None)
    checkpoint = latest() if callable(latest) else None
    return {"position": head["position"], "head_hash": head["head_hash"], "checkpoint": checkpoint}
