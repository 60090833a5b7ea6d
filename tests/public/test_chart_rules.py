"""What the public charts draw: bars scaled to the largest count, completions by month."""

from __future__ import annotations

from datetime import date

from web.public import chart_end, completion_chart, month_start, status_chart


def test_status_bars_show_the_statuses_that_occur_scaled_to_the_largest_each_in_its_colour():
    chart = status_chart({"verified": 2, "proposed": 4, "cancelled": 0})
    assert [b["status"] for b in chart["bars"]] == ["proposed", "verified"]  # lifecycle order
    assert chart["total"] == 6
    proposed, verified = chart["bars"]
    assert proposed["width"] == 100 and verified["width"] == 50
    assert proposed["colour"] != verified["colour"]
    assert status_chart({})["bars"] == [] and status_chart({"agreed": 0})["bars"] == []


def test_every_status_has_a_colour_of_its_own():
    from web.public import STATUS_COLOURS
    assert len(set(STATUS_COLOURS.values())) == len(STATUS_COLOURS) == 8


def test_months_go_back_across_the_new_year():
    assert month_start(date(2026, 2, 15), 0) == date(2026, 2, 1)
    assert month_start(date(2026, 2, 15), 2) == date(2025, 12, 1)


def test_completions_are_counted_in_their_month_as_on_time_or_late():
    rows = [
        {"status": "completed", "completed_on": date(2026, 3, 5), "due_date": date(2026, 3, 31)},
        {"status": "verified", "completed_on": date(2026, 3, 9), "due_date": date(2026, 3, 1)},
        {"status": "verified", "completed_on": date(2026, 1, 2), "due_date": None},
        {"status": "in_progress", "completed_on": None, "due_date": date(2026, 3, 1)},
        {"status": "completed", "completed_on": date(2024, 1, 1), "due_date": date(2025, 1, 1)},
    ]
    chart = completion_chart(rows, end=date(2026, 3, 20), months=3)
    assert [(c["month"], c["on_time"], c["late"]) for c in chart["columns"]] == [
        (date(2026, 1, 1), 0, 1), (date(2026, 2, 1), 0, 0), (date(2026, 3, 1), 1, 1)]
    assert chart["top"] == 2 and chart["columns"][2]["on_time_height"] == 50
    assert (chart["first"], chart["last"]) == (date(2026, 1, 1), date(2026, 3, 1))


def test_the_chart_ends_with_the_latest_completion_and_never_after_today():
    today = date(2026, 11, 26)
    assert chart_end(date(2017, 6, 30), today) == date(2017, 6, 30)
    assert chart_end(None, today) == today
    assert chart_end(date(2027, 1, 1), today) == today
