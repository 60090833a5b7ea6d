"""A meeting and its decisions, entered at once from a table (CSV or XLSX), on SQLite and PostgreSQL.

Walk-throughs at the application service: a committee meets, its secretary uploads what was
decided; the same file again changes nothing; a bad row writes nothing and says where it is.
"""

from __future__ import annotations

import io
from datetime import date

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from domain.errors import Forbidden, InvalidRows
from tests.factories import make_world, propose
from tracker.application import SYSTEM
from tracker.bootstrap import build_read_models
from tracker.commands import ImportDecisions
from tracker.sheets import COLUMNS, Formula, read_table, write_table

HELD_ON = date(2017, 3, 12)
HEADER = ",".join(COLUMNS)


@pytest.fixture
def world(tracker):
    return make_world(tracker)


@pytest.fixture
def read_models(settings, tracker):
    models = build_read_models(settings, tracker)
    yield models
    models.close()


def exported(read_models, world) -> list[dict]:
    read_models.catch_up()
    return read_models.decision_rows(world.dialogue_id)


def meeting(tracker, world, by="police", held_on=HELD_ON):
    return tracker.record_meeting(world.members[by], world.slug, held_on=held_on,
                                  title="Third session", place="Mairie de Saaba",
                                  attendance={world.parties["police"]: 3, "Koglweogo": 5},
                                  summary="Night patrols agreed", public=True).extra["meeting_id"]


def csv_of(*lines: str) -> bytes:
    return ("\n".join((HEADER, *lines)) + "\n").encode()


def run(tracker, world, data: bytes, by="police", meeting_id=None, dry_run=False, party=None):
    principal = world.members[by] if isinstance(by, str) else by
    return tracker.import_decisions(principal, world.slug,
                                    ImportDecisions(meeting_id=meeting_id, party_id=party),
                                    read_table(data), dry_run=dry_run)


def events_in_log(tracker) -> int:
    return tracker.recorder.max_notification_id() or 0


def problems(excinfo) -> list[tuple[int, str | None]]:
    return [(p["row"], p["column"]) for p in excinfo.value.rows]


def rows_of(n: int, progress: int = 20) -> bytes:
    return csv_of(*(f"P-{i:03},Patrol sector {i},Night patrols,Police nationale,"
                    f"Police nationale,2017-09-30,{progress},true" for i in range(n)))


def test_a_meeting_is_recorded_with_its_place_attendance_and_public_summary(tracker, world):
    meeting_id = meeting(tracker, world)
    dialogue = tracker.dialogue_by_slug("saaba")
    held = dialogue.meeting(meeting_id)
    assert (held["held_on"], held["place"], held["public"]) == (HELD_ON, "Mairie de Saaba", True)
    assert held["attendance"] == {world.parties["police"]: 3, world.parties["vigilante"]: 5}
    last = list(tracker.aggregate_events(dialogue.id))[-1]
    assert last.meta.occurred_on == HELD_ON


def test_200_rows_create_200_commitments_citing_the_meeting_and_the_same_file_changes_nothing(
        tracker, world):
    meeting_id = meeting(tracker, world)
    data = rows_of(200)
    preview = run(tracker, world, data, meeting_id=meeting_id, dry_run=True)
    assert preview.counts() == {"created": 200, "updated": 0, "unchanged": 0}
    assert preview.rows[0].actions == ["propose", "agree", "assign", "progress"]
    before = events_in_log(tracker)
    result = run(tracker, world, data, meeting_id=meeting_id)
    assert result.counts() == {"created": 200, "updated": 0, "unchanged": 0}
    # propose (with the police's own endorsement), agree, assign, report progress: 5 events a row
    assert events_in_log(tracker) == before + 200 * 5
    found = tracker.commitment_by_ref(world.dialogue_id, "P-007")
    assert (found.title, found.status, found.progress, found.due_date) == (
        "Patrol sector 7", "in_progress", 20, date(2017, 9, 30))
    for event in tracker.aggregate_events(found.id):
        assert event.meta.meeting == meeting_id
        assert event.meta.occurred_on == HELD_ON
    # the same file again: nothing to do, nothing written
    again = run(tracker, world, data, meeting_id=meeting_id)
    assert again.counts() == {"created": 0, "updated": 0, "unchanged": 200}
    assert events_in_log(tracker) == before + 200 * 5


@pytest.mark.parametrize(("cell_line", "where"), [
    ("B-2,Lights,,Gendarmerie,,,,", (3, "required_parties")),  # an unknown party
    ("B-2,Lights,,Police nationale,Police nationale,2017-13-01,,", (3, "due_date")),
    ("B-2,=HYPERLINK(\"http://x\"),,Police nationale,,,,", (3, "title")),  # a formula cell
])
def test_a_file_with_one_bad_row_writes_nothing_and_names_its_row_and_column(
        tracker, world, cell_line, where):
    before = events_in_log(tracker)
    data = csv_of("B-1,Water point,,Police nationale,,,,", cell_line,
                  "B-3,Market lights,,Police nationale,,,,")
    with pytest.raises(InvalidRows) as excinfo:
        run(tracker, world, data)
    assert problems(excinfo) == [where]
    assert events_in_log(tracker) == before
    assert tracker.commitment_by_ref(world.dialogue_id, "B-1") is None


def test_a_formula_cell_in_a_workbook_is_refused(tracker, world):
    book = Workbook()
    sheet = book.active
    sheet.append(list(COLUMNS))
    sheet.append(["W-1", "Lights", None, "Police nationale", None, None, "=10*2", None])
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(InvalidRows) as excinfo:
        run(tracker, world, out.getvalue())
    assert problems(excinfo) == [(2, "progress")]
    assert "formula" in excinfo.value.rows[0]["message"]


def test_a_member_cannot_import_rows_their_party_may_not_do(tracker, world):
    # The police propose and run a commitment; the women's association may not report its
    # progress, nor assign it (they are not asked to endorse it).
    run(tracker, world, csv_of("R-1,Patrols,,Police nationale,Police nationale,2017-09-30,10,"))
    before = events_in_log(tracker)
    with pytest.raises(InvalidRows) as excinfo:
        run(tracker, world, csv_of("R-1,Patrols,,,,,50,", "R-2,Lights,,Association des femmes,,,,"),
            by="women")
    assert problems(excinfo) == [(2, "progress")]
    assert "only the responsible party can report progress" in excinfo.value.rows[0]["message"]
    assert events_in_log(tracker) == before
    # and an auditor may not import at all
    auditor = tracker.add_account(SYSTEM, name="auditor-1", role="auditor", password="x" * 12)
    assert auditor
    with pytest.raises(Forbidden):
        run(tracker, world, csv_of("R-3,Lights,,Police nationale,,,,"),
            by=tracker.authenticate("auditor-1", "x" * 12))


def test_a_changed_progress_is_a_progress_report_at_the_meeting(tracker, world):
    run(tracker, world, csv_of("R-1,Patrols,,Police nationale,Police nationale,2017-09-30,10,"),
        meeting_id=meeting(tracker, world))
    meeting_id = meeting(tracker, world, held_on=date(2017, 6, 1))
    result = run(tracker, world, csv_of("R-1,Patrols,,,,,60,"), meeting_id=meeting_id)
    assert result.counts() == {"created": 0, "updated": 1, "unchanged": 0}
    assert result.rows[0].actions == ["progress"]
    found = tracker.commitment_by_ref(world.dialogue_id, "R-1")
    last = list(tracker.aggregate_events(found.id))[-1]
    assert (type(last).__name__, last.percent, last.meta.meeting) == (
        "ProgressReported", 60, meeting_id)


def test_export_edit_import_gives_exactly_the_intended_changes(tracker, world, read_models):
    other = propose(tracker, world, title="Lights at the market")  # proposed without a ref
    run(tracker, world, csv_of(
        "E-1,Patrols,Every night,Police nationale,Police nationale,2017-09-30,10,true",
        "E-2,Water point,,Police nationale;Koglweogo,,,,false"))
    rows = exported(read_models, world)
    for kind in ("csv", "xlsx"):
        assert run(tracker, world, write_table(rows, kind), dry_run=True).counts() == {
            "created": 0, "updated": 0, "unchanged": 3}
    # edit: E-1's progress to 40, a new row; E-2 and the commitment without a ref untouched
    book = load_workbook(io.BytesIO(write_table(rows, "xlsx")))
    sheet = book.active
    refs = [sheet.cell(row=r, column=1).value for r in range(2, sheet.max_row + 1)]
    assert sorted(refs) == sorted(["E-1", "E-2", other.id])
    sheet.cell(row=refs.index("E-1") + 2, column=COLUMNS.index("progress") + 1, value=40)
    sheet.append(["E-3", "+ more lights", None, "Police nationale", None, None, None, "true"])
    out = io.BytesIO()
    book.save(out)
    before = events_in_log(tracker)
    result = run(tracker, world, out.getvalue())
    assert result.counts() == {"created": 1, "updated": 1, "unchanged": 2}
    # E-3: proposed and endorsed by the police (2 events); E-1: one progress report
    assert events_in_log(tracker) == before + 3
    assert tracker.commitment_by_ref(world.dialogue_id, "E-1").progress == 40
    assert tracker.commitment_by_ref(world.dialogue_id, "E-3").title == "+ more lights"
    # and the export shows just that
    after = {r["ref"]: r for r in exported(read_models, world)}
    assert after["E-1"]["progress"] == 40 and after["E-2"] == {
        r["ref"]: r for r in rows}["E-2"]


# --- the file format, as a property: what is written reads back exactly ------------------------

TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\ufeff")
               | st.just("\n") | st.sampled_from("=+-@'"), max_size=40).map(str.strip)


@settings(max_examples=60, deadline=None)
@example(cells=[("'=1", "''+x", False)], kind="csv")
@given(cells=st.lists(st.tuples(TEXT, TEXT, st.booleans()), min_size=1, max_size=5),
       kind=st.sampled_from(["csv", "xlsx"]))
def test_every_exported_text_reads_back_as_it_was_and_never_as_a_formula(cells, kind):
    rows = [{"ref": f"R-{i}", "title": title, "description": description, "public": public,
             "progress": i, "due_date": date(2017, 3, i + 1)}
            for i, (title, description, public) in enumerate(cells)]
    read = read_table(write_table(rows, kind))
    assert not [c for r in read for c in r.cells.values() if isinstance(c, Formula)]
    assert [dict(r.cells) for r in read] == [
        {"ref": f"R-{i}", "title": title, "description": description, "required_parties": "",
         "responsible_party": "", "due_date": f"2017-03-{i + 1:02}", "progress": str(i),
         "public": "true" if public else "false"}
        for i, (title, description, public) in enumerate(cells)
        if any((f"R-{i}", title, description))]


def test_one_commitment_on_two_rows_under_its_ref_and_its_id_is_refused(tracker, world):
    run(tracker, world, csv_of("T-1,Patrols,,Police nationale,,,,"))
    cid = tracker.commitment_by_ref(world.dialogue_id, "T-1").id
    with pytest.raises(InvalidRows) as excinfo:
        run(tracker, world, csv_of("T-1,Patrols at night,,,,,,", f"{cid},Patrols by day,,,,,,"))
    assert problems(excinfo) == [(3, "ref")]
