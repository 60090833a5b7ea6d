"""The read side the pages and the API use: the catch-up runner and the queries, on one store.

`ReadModels` keeps its views at the end of the log (`projections.runner.CatchUpRunner`: `catch_up`,
`wait_for`, `status`, `rebuild`) and answers the private queries (`projections.queries`); its
`public` attribute answers the public ones, from the public tables only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from uuid import UUID

from eventsourcing.application import Application

from projections.feed import Feed
from projections.queries import PrivateQueries, PublicQueries
from projections.runner import BATCH, CatchUpRunner, Helper, ReadModelTimeout
from projections.store import Store
from projections.views import View

__all__ = ["ReadModelTimeout", "ReadModels"]


class ReadModels(CatchUpRunner, PrivateQueries):
    """Every read model of one application, in the same database as its events."""

    def __init__(self, app: Application[UUID], store: Store, batch: int = BATCH,
                 default_timeout: float = 5.0, gather: float = 0.0,
                 extra_views: Sequence[Callable[[Store, Feed], View]] = (),
                 helper: Helper | None = None, ensure: bool = True) -> None:
        CatchUpRunner.__init__(self, app, store, batch=batch, default_timeout=default_timeout,
                               gather=gather, extra_views=extra_views, helper=helper,
                               ensure=ensure)
        PrivateQueries.__init__(self, store, self.ledger, self.tree)
        self.public = PublicQueries(store, self.ledger, self.tree)
