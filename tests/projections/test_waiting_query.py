"""What waits for a party, picked in SQL (`waiting`: the workspace shows the first ten and a
count, and a party may have thousands of commitments in progress), is what
`tracker.notices.waiting_for` picks from all of the dialogue's rows, in the same order, on both
engines: generated commitments, every party, with and without a limit."""

from __future__ import annotations

import json
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.notices import waiting_for

PARTIES = ("p-police", "p-vigilante", "p-women")
TODAY = date(2026, 3, 10)
DIALOGUE, OTHER = "d-saaba", "d-other"
STATUSES = ("proposed", "agreed", "in_progress", "completed", "verified", "rejected", "cancelled")

party_lists = st.lists(st.sampled_from(PARTIES), unique=True, max_size=3)
rows = st.lists(st.fixed_dictionaries({
    "dialogue_id": st.sampled_from((DIALOGUE, DIALOGUE, OTHER)),
    "title": st.sampled_from(("Lamp", "Patrol", "Well")),
    "status": st.sampled_from(STATUSES),
    "required_parties": party_lists.map(json.dumps) | st.none(),
    "endorsements": party_lists.map(json.dumps) | st.none(),
    "responsible_party": st.sampled_from(PARTIES) | st.none(),
    "completed_by": st.sampled_from(PARTIES) | st.none(),
    "due_date": st.sampled_from(("2026-03-01", "2026-03-12", "2026-05-01")) | st.none(),
}), max_size=12)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(commitments=rows)
def test_the_rows_that_wait_are_those_waiting_for_picks(models, commitments):
    store = models.store
    with store.transaction(commit=True) as cursor:
        cursor.execute("DELETE FROM rm_commitments")
        for number, row in enumerate(commitments):
            columns = ["id", *row]
            cursor.execute(store.sql(f"INSERT INTO rm_commitments ({', '.join(columns)}) "
                                     f"VALUES ({', '.join('?' * len(columns))})"),
                           (f"c-{number:02}", *row.values()))
    everything = store.fetchall("SELECT * FROM rm_commitments WHERE dialogue_id=? "
                                "ORDER BY due_date, title, id", (DIALOGUE,))
    for party in (*PARTIES, "p-nobody"):
        expected = [(cause, r["id"]) for cause, r in waiting_for(party, everything, TODAY)]
        picked, total = models.waiting(DIALOGUE, party)
        assert [(cause, r["id"]) for cause, r in waiting_for(party, picked, TODAY)] == expected
        assert total == len(picked) == len(expected)
        first, total = models.waiting(DIALOGUE, party, limit=2)
        assert [(cause, r["id"]) for cause, r in waiting_for(party, first, TODAY)] == expected[:2]
        assert total == len(expected)
