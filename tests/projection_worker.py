"""A process that keeps the read models up to date while another one writes (multi-process test).

Usage: python -m tests.projection_worker DATABASE_URL. Catches up in a loop until the dialogue
`the-end` has been projected and every view has reached the end of the log; exits 0.
"""

from __future__ import annotations

import sys
import time

from eventsourcing.persistence import IntegrityError, InternalError, ProgrammingError
from eventsourcing.utils import retry

from tracker.bootstrap import build_application, build_read_models
from tracker.settings import Settings


def main(url: str, deadline: float = 90.0) -> int:
    settings = Settings(database_url=url)
    # The library's own start-up DDL can lose a race with another process starting at the same
    # moment ("tuple concurrently updated"); it is idempotent, so try again.
    app = retry((InternalError, ProgrammingError, IntegrityError), max_attempts=5, wait=0.2)(
        build_application)(settings)
    models = build_read_models(settings, app)
    models.batch = 7  # small batches: many chances to collide with the other workers
    start = time.monotonic()
    try:
        while time.monotonic() - start < deadline:
            models.catch_up()
            head = app.recorder.max_notification_id() or 0
            if models.dialogue("the-end") and min(models.positions().values()) >= head:
                return 0
            time.sleep(0.01)
        print("gave up waiting for the writer", file=sys.stderr)
        return 1
    finally:
        models.close()
        app.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
