"""`make bench` runs: nothing else calls its modules, and one that fails stops the whole report at
its line (bench.core did, for want of binding keys, and no test saw it). The modules run here at
a size of seconds, on each engine; their figures mean nothing at that size and are not looked at,
only that each module measures what it says and ends.
"""

from __future__ import annotations

import pytest

from bench import core, projections
from bench.stores import POSTGRES_ENV
from tests.conftest import POSTGRES_URL


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The engine the bench modules run on (they always take SQLite; PostgreSQL when named)."""
    if request.param == "postgres":
        if not POSTGRES_URL:
            pytest.skip("PostgreSQL tests need TRACKER_TEST_POSTGRES_URL (CI sets it)")
        monkeypatch.setenv(POSTGRES_ENV, POSTGRES_URL)
    else:
        monkeypatch.delenv(POSTGRES_ENV, raising=False)
    return request.param


def test_the_core_benchmark_runs(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("COMMANDS", 40), ("BLOCK", 10), ("AGGREGATES", 2),
                        ("LONG_HISTORY", 120), ("PAST_VERSION", 60)):
        monkeypatch.setattr(core, name, value)
    text = "\n".join(core.run())
    for backend in ("sqlite", "postgres") if engine == "postgres" else ("sqlite",):
        assert f"[{backend}] commands: 40 progress reports over 2 commitments" in text
        assert f"[{backend}] loading a commitment with 120 events" in text
        assert f"[{backend}] the same commitment as of version 60" in text


def test_the_rebuild_benchmark_runs(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_PROJECTIONS_EVENTS", "3000")
    monkeypatch.setattr(projections, "ROUNDS", 1)
    lines = projections.run()
    backends = ("sqlite", "postgres") if engine == "postgres" else ("sqlite",)
    for backend in backends:
        mine = [line for line in lines if line.startswith(f"{backend}: ")]
        # generated, bare loop, rebuild, verify (which checks the ledger it rebuilt), tree share
        assert [line.split(" ", 2)[1] for line in mine] == [
            "generated", "bare", "rebuild", "verify", "rebuild"], mine
        assert int(mine[0].split()[2]) >= 3000, mine[0]
