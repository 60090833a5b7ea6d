"""What the API, the public pages and the auditor's pages share on the read side."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from web.deps import ReadModelsDep


def fresh_read_models(read_models: ReadModelsDep) -> Any:
    """The read models, caught up with the log first (changes made by the command line or another
    process show at once; when nothing is pending this costs one query per view)."""
    read_models.catch_up()
    return read_models


FreshReadModelsDep = Annotated[Any, Depends(fresh_read_models)]


def ledger_summary(read_models: Any) -> dict[str, Any]:
    """The ledger's position and head hash, with its latest signed checkpoint (or None)."""
    head = read_models.ledger_head()
    return {"position": head["position"], "head_hash": head["head_hash"],
            "checkpoint": read_models.latest_checkpoint()}
