"""The field-by-field diff of two states, and how a point in a history is read from the address."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.errors import InvalidInput
from web.audit import diff_states, parse_point


def test_scalar_fields_that_changed_are_listed_once_each_in_state_order():
    before = {"status": "proposed", "title": "Patrols", "public": True}
    after = {"status": "agreed", "title": "Patrols", "public": False}
    assert diff_states(before, after) == [
        {"field": "status", "before": "proposed", "after": "agreed"},
        {"field": "public", "before": True, "after": False}]


def test_records_in_lists_are_matched_by_id_and_named_by_title():
    before = {"milestones": [{"id": "m1", "title": "Recruit", "completed_on": None}]}
    after = {"milestones": [{"id": "m1", "title": "Recruit", "completed_on": "2026-03-01"},
                            {"id": "m2", "title": "Train", "completed_on": None}]}
    assert diff_states(before, after) == [
        {"field": "milestones[Recruit].completed_on", "before": None, "after": "2026-03-01"},
        {"field": "milestones[Train]", "before": None,
         "after": {"id": "m2", "title": "Train", "completed_on": None}}]


def test_plain_lists_compare_as_a_whole_and_equal_states_have_no_difference():
    assert diff_states({"endorsements": ["a"]}, {"endorsements": ["a", "b"]}) == [
        {"field": "endorsements", "before": ["a"], "after": ["a", "b"]}]
    assert diff_states({"x": [1], "y": None}, {"x": [1], "y": None}) == []


def test_a_point_is_a_version_a_recorded_time_or_a_business_date():
    assert parse_point("3", None, None, "a") == {"version": 3}
    assert parse_point(None, "2026-03-01T14:30", None, "a") == {
        "as_of": datetime(2026, 3, 1, 14, 30, tzinfo=UTC)}
    assert parse_point(None, None, "2026-03-01", "a") == {"as_of_date": date(2026, 3, 1)}
    assert parse_point("", " ", None, "a") is None


@pytest.mark.parametrize(("version", "when", "day"), [
    ("0", None, None), ("x", None, None), (None, "yesterday", None), (None, None, "2026-13-01"),
    ("1", None, "2026-01-01")])
def test_a_bad_point_is_refused_with_a_message(version, when, day):
    with pytest.raises(InvalidInput):
        parse_point(version, when, day, "a")
