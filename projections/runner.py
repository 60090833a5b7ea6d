"""Catching up: the read models follow the event log, batch by batch, exactly once.

`CatchUpRunner.catch_up()` pulls the log in batches (`select_notifications` after the lowest view
position), decodes each batch once, and hands it to every view that is behind, in one transaction
per batch shared by the views: their tracking rows locked in one statement, their rows, their new
positions written in one statement. Any number of processes may do this at once on one database:
the tracking rows stay locked while a batch is applied, so every event is applied once per view
(see `projections.store`). A command's read-your-writes wait (`wait_for`) asks the positions once.
The queries the pages and the API ask are in `projections.queries`; `projections.readmodels.ReadModels`
is both.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager, suppress
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from projections.binding import Binder, UnboundEvent
from projections.feed import Feed
from projections.ledger import LedgerView
from projections.store import Store, close_store
from projections.tree import TreeView
from projections.views import CommitmentsView, DirectoryView, PublicView, TimelineView, View

BATCH = 10_000  # events per transaction (catching up a long log: fewer, larger commits)
BULK_LOAD = 20_000  # a view filled from the start of a log this long gets its indexes at the end
LONG_BATCH = 1_000  # a catch-up that reads this many events at once pauses the garbage collector
PARALLEL_FROM = 100_000  # a rebuild of a log this long shares its views with a helper process
# The views a helper process catches up during a rebuild, while this process does the others. Each
# process reads and decodes the whole log (two fifths of a rebuild's work), so the views are split
# by their cost, not their number: on 200,004 events, these five took 11.1 s alone, the other three
# (the timeline is a sixth of a rebuild by itself) 10.5 s, all eight 16.9 s; side by side on two
# cores, 11.0 and 11.3 s.
HELPED = frozenset({"commitments", "outbox", "states", "ledger", "tree"})

# How a runner has views caught up elsewhere: entered with their names, it starts a process that
# catches them up, and gives a function that waits for it and returns what it applied.
Helper = Callable[[Sequence[str]], AbstractContextManager[Callable[[], int]]]


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # (not on every platform)
        return os.cpu_count() or 1


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


class CatchUpRunner:
    """Keeps every view of one application at the end of its event log (rows and position in one
    transaction per batch), in the same database as its events."""

    view_classes: tuple[type[View], ...] = (DirectoryView, CommitmentsView, TimelineView,
                                            PublicView, LedgerView, TreeView)
    # Rebuilt only when named: rebuilt from a tampered log, they would agree with it and hide the
    # tampering from `verify` and from proofs (only an earlier checkpoint or tree head shows it).
    kept: tuple[str, ...] = ("ledger", "tree")

    def __init__(self, app: Application[UUID], store: Store, batch: int = BATCH,
                 default_timeout: float = 5.0, gather: float = 0.0,
                 extra_views: Sequence[Callable[[Store, Feed], View]] = (),
                 helper: Helper | None = None, ensure: bool = True) -> None:
        """`extra_views`: views the wiring adds (each made from the store and the feed), kept
        like the others (the outbox, which needs the table of who is told what). `gather`: how
        long `catch_up_coalesced` waits before each round for more events to take with it.
        `helper`: how a rebuild of a long log has some views caught up in another process
        (none: all in this one). `ensure=False`: the views' tables are not created or changed
        (a helper's runner: its caller did that, and may have dropped indexes for the rebuild)."""
        self.app = app
        self.gather = gather
        self.bulk_load = BULK_LOAD
        self.helper = helper
        self.parallel_from = PARALLEL_FROM
        self.helped = 0  # events the helper process applied in the last rebuild it took part in
        self.store = store
        self.batch = batch
        self.default_timeout = default_timeout
        self.feed = Feed(app)
        self.views: dict[str, View] = {cls.name: cls(store, self.feed)
                                       for cls in self.view_classes}
        for make in extra_views:
            view = make(store, self.feed)
            self.views[view.name] = view
        self.ledger: LedgerView = self.views["ledger"]  # type: ignore[assignment]
        self.tree: TreeView = self.views["tree"]  # type: ignore[assignment]
        if ensure:
            for view in self.views.values():
                view.ensure()
            self.ledger.ensure_checkpoints()
        self._lock = threading.Lock()
        self._soon = threading.Lock()  # guards the two flags of catch_up_coalesced
        self._soon_running = self._soon_again = False
        self.binder: Binder = app.mapper.binder  # type: ignore[attr-defined]

    # --- keeping up ------------------------------------------------------------------------------

    def positions(self, names: Sequence[str] | None = None) -> dict[str, int]:
        """Each view's position (these views, or all), by view name."""
        chosen = {name: self.views[name] for name in (names or self.views)}
        found = self.store.positions_of([view.key for view in chosen.values()])
        return {name: found[view.key] for name, view in chosen.items()}

    def catch_up(self, views: Sequence[str] | None = None, limit: int | None = None) -> int:
        """Apply every pending event (at most `limit`) to the views; returns how many events were
        read and applied to at least one view."""
        return self._catch_up(views, limit)[0]

    def catch_up_coalesced(self) -> None:
        """`catch_up` for a caller that need not wait for it (after a command, off the answer's
        path): while another thread is catching up this way, it is asked to go round once more
        and this call returns at once, so the events of commands that arrive together are
        applied in one batch, one transaction, instead of one each. Each round first waits
        `gather` seconds, so that a steady stream of commands (one client after another, each
        answered before its event is applied) is taken a few at a time too: a round's fixed
        cost (the positions, their locks, a statement or two per view, the commit) was most of
        the command path's CPU when every command had a round of its own."""
        if self.join_running_catch_up(start=True):
            return
        while True:
            try:
                if self.gather:
                    time.sleep(self.gather)
                self.catch_up()
            except BaseException:
                with self._soon:
                    self._soon_running = self._soon_again = False
                raise
            with self._soon:
                if not self._soon_again:
                    self._soon_running = False
                    return
                self._soon_again = False

    def join_running_catch_up(self, *, start: bool = False) -> bool:
        """True when a `catch_up_coalesced` is under way: it is asked to go round once more (and
        so takes the caller's events), and the caller need not start one. Without waiting, so
        the web app asks on its event loop before it hops to a thread for a catch-up of its own.
        `start`: when none is under way, this caller's is (`catch_up_coalesced` itself)."""
        with self._soon:
            if self._soon_running:
                self._soon_again = True
                return True
            self._soon_running = start
            return False

    def _catch_up(self, views: Sequence[str] | None, limit: int | None,
                  known: dict[str, int] | None = None) -> tuple[int, dict[str, int]]:
        """`catch_up`, and each chosen view's position afterwards. `known`: the positions the
        caller just read (not asked again; a view another process moved on meanwhile shows its
        true position when its row is locked)."""
        wanted = {self.views[name].name for name in (views or self.views)}
        chosen = [view for name, view in self.views.items() if name in wanted]
        applied = 0
        with self._lock:
            if known is None or not wanted <= known.keys():
                positions = self.positions([view.name for view in chosen])
            else:
                positions = {view.name: known[view.name] for view in chosen}
            theirs = self._to_help(chosen, positions, limit)
            if theirs and self.helper is not None:
                with self.helper(theirs) as helped:
                    try:
                        applied = self._run([v for v in chosen if v.name not in theirs],
                                            positions, None)
                    except UnboundEvent:  # (the helper stops at the same event: wait for it)
                        with suppress(UnboundEvent):
                            helped()
                        raise
                    self.helped = helped()
                    applied = max(applied, self.helped)
                # (the helper's views moved in its process; then the events written meanwhile)
                positions = self.positions([view.name for view in chosen])
            applied += self._run(chosen, positions, limit)
        return applied, positions

    def _to_help(self, chosen: Sequence[View], positions: dict[str, int],
                 limit: int | None) -> list[str]:
        """The views a helper process is to catch up while this one does the others (`HELPED`
        among the chosen), or none: only for a rebuild (a view from the start) of a long log,
        with several cores, and when both processes have some of the chosen views."""
        if self.helper is None or limit is not None or available_cores() < 2:
            return []
        if all(positions[view.name] for view in chosen):
            return []
        theirs = [view.name for view in chosen if view.name in HELPED]
        if not theirs or len(theirs) == len(chosen):
            return []
        head = self.app.recorder.max_notification_id() or 0
        if head - min(positions.values()) < self.parallel_from:
            return []
        return theirs

    def _run(self, chosen: Sequence[View], positions: dict[str, int], limit: int | None) -> int:
        """Apply pending events (at most `limit`) to these views, from their `positions`, batch
        by batch; `positions` is updated to where each view stands. Returns how many events were
        read and applied to at least one view."""
        applied = 0
        events = any(v.needs_events for v in chosen)
        mine = {view.name: positions[view.name] for view in chosen}
        with ExitStack() as long_catch_up:
            start = min(mine.values(), default=0)
            bulk = [view for view in chosen if mine[view.name] == 0 and view.indexes]
            if bulk and (self.app.recorder.max_notification_id() or 0) < self.bulk_load:
                bulk = []
            if bulk:
                with self.store.transaction(commit=True) as cursor:
                    for view in bulk:
                        view.drop_indexes(cursor)
            try:
                while chosen and (limit is None or applied < limit):
                    size = self.batch if limit is None else min(self.batch, limit - applied)
                    notifications = self.feed.read(start, size)
                    end_of_log = len(notifications) < size
                    if len(notifications) >= LONG_BATCH and applied == 0:
                        long_catch_up.enter_context(_collector_paused())
                    # The bound events before one the tracker did not write are applied first.
                    items, refused = self._decode(notifications, events)
                    if not items:
                        if refused is not None:
                            raise self._refusal(refused)
                        break
                    notifications = notifications[:len(items)]
                    self._apply(chosen, items, mine)
                    applied += len(notifications)
                    if refused is not None:
                        raise self._refusal(refused)
                    # Usually the end of this batch; lower if someone reset a view meanwhile.
                    start = min(mine.values())
                    if end_of_log and start >= items[-1].position:
                        break  # (the log ended there: no second read to find it empty)
            finally:
                positions.update(mine)
                if bulk:  # (ensure() also creates them, should this process stop before here)
                    with self.store.transaction(commit=True) as cursor:
                        for view in bulk:
                            view.create_indexes(cursor)
        return applied

    def _apply(self, chosen: Sequence[View], items: Sequence[Any],
               positions: dict[str, int]) -> None:
        """One transaction for every view behind the end of the batch: their tracking rows
        locked in ONE statement, each view's rows, and their new positions written in ONE
        statement; `positions` is updated to what was committed. Every view's rows still
        commit with its own position, so each event is applied once per view, however many
        processes catch up at once (they queue on the tracking rows' locks). The commit does
        not wait for the disk (`durable=False`): a crash loses whole batches, applied again."""
        behind = [view for view in chosen if items[-1].position > positions[view.name]]
        if not behind:
            return
        store = self.store
        with store.transaction(commit=True, durable=False) as cursor:
            locked = store.lock_positions(cursor, [view.key for view in behind])
            moved: dict[str, int] = {}
            now: dict[str, int] = {}
            for view in behind:
                at = locked[view.key]
                now[view.name] = reached = view.apply_at(cursor, items, positions[view.name], at)
                if reached != at:
                    moved[view.key] = reached
            store.set_positions(cursor, moved)
        positions.update(now)

    def _decode(self, notifications: Sequence[Any], events: bool
                ) -> tuple[list[Any], int | None]:
        """The items of a batch before the first event the tracker did not write (no binding,
        or a wrong one), and that event's position (None: every one is bound): no view adopts
        it, the ledger least of all (see projections.binding). Each binding is checked once,
        by decoding (`events`: some view needs the decoded events) or by itself."""
        if events:
            items, refused = self.feed.decode_bound(notifications)
            return items, None if refused is None else int(notifications[len(items)].id)
        position = self.binder.check_notifications(notifications)
        if position is not None:
            notifications = [n for n in notifications if n.id < position]
        return self.feed.wrap(notifications), position

    @staticmethod
    def _refusal(position: int) -> UnboundEvent:
        return UnboundEvent(f"the event at position {position} of the log is not bound by this "
                            "tracker's keys (written outside the tracker, or the keys are not "
                            "the store's); the read models stop before it: run `tracker verify`")

    def wait_for(self, position: int, timeout: float | None = None) -> None:
        """Return once every view includes `position`; catches up itself while waiting."""
        timeout = self.default_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        pause = 0.01
        while True:
            # Asked once per round: catching up says where it left every view.
            positions = self.positions()
            if all(p >= position for p in positions.values()):
                return
            _, positions = self._catch_up(None, None, positions)
            lagging = {name: p for name, p in positions.items() if p < position}
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
        """Empty one view (or every view but the ledger and the tree) and replay the log into it."""
        names = [name] if name else [n for n in self.views if n not in self.kept]
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
