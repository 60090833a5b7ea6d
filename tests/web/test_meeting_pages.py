"""A meeting's page without JavaScript: record a meeting, enter its decisions row by row or by
uploading a table, check, then record; history reads "decided at the meeting of"."""

from __future__ import annotations

import io
import re
from datetime import date

from openpyxl import load_workbook

from tests.web.support import position
from tracker.sheets import COLUMNS


def record_meeting(site) -> str:
    response = site.post("member", "/dialogues/saaba/meetings", {
        "held_on": "2017-03-12", "title": "Third session", "place": "Mairie de Saaba",
        "summary": "Patrols", f"attendance-{site.world.parties['police']}": "3"})
    assert response.status_code == 303, response.text
    meeting_path = response.headers["location"]
    assert re.fullmatch(r"/dialogues/saaba/meetings/[0-9a-f-]{36}", meeting_path)
    return meeting_path


def rows(*decisions: dict[str, str]) -> dict[str, str]:
    fields = {"rows": str(max(5, len(decisions)))}
    for number, decision in enumerate(decisions, start=1):
        fields.update({f"{column}-{number}": value for column, value in decision.items()})
    return fields


PATROLS = {"ref": "S-1", "title": "Night patrols", "required_parties": "Police nationale",
           "responsible_party": "Police nationale", "due_date": "2017-06-30", "progress": "10"}


def test_decisions_typed_on_the_meeting_page_are_checked_then_recorded(site):
    path = record_meeting(site)
    page = site.get("member", path)
    assert page.status_code == 200
    assert 'name="title-5"' in page.text and "Mairie de Saaba" in page.text
    # more rows, keeping what was typed
    more = site.post("member", f"{path}/decisions", {**rows(PATROLS), "step": "more"})
    assert 'name="title-10"' in more.text and 'value="Night patrols"' in more.text
    # check: says what each row will do, records nothing
    before = position(site.tracker)
    checked = site.post("member", f"{path}/decisions", {**rows(PATROLS), "step": "check"})
    assert checked.status_code == 200
    assert "1 new, 0 changed, 0 unchanged" in checked.text
    assert position(site.tracker) == before
    # a bad cell: the same rows again, the message next to the cell
    bad = site.post("member", f"{path}/decisions", {
        **rows(PATROLS, {"ref": "S-2", "title": "Lights", "required_parties": "Gendarmerie"}),
        "step": "record"})
    assert bad.status_code == 422
    assert 'id="err-required_parties-2"' in bad.text and "Gendarmerie" in bad.text
    assert position(site.tracker) == before
    # record
    done = site.post("member", f"{path}/decisions", {**rows(PATROLS), "step": "record"})
    assert done.status_code == 303
    shown = site.get("member", path)
    assert "The decisions were recorded." in shown.text
    assert "S-1: Night patrols" in shown.text
    cid = site.tracker.commitment_by_ref(site.world.dialogue_id, "S-1").id
    history = site.get("vigilante", f"/commitments/{cid}")
    assert "decided at the meeting of" in history.text
    assert date(2017, 3, 12).strftime("%Y") in history.text


def test_an_uploaded_table_is_previewed_then_recorded_as_checked(site):
    path = record_meeting(site)
    data = (",".join(COLUMNS) + "\nU-1,Water point,,Police nationale,,,,\n").encode()
    before = position(site.tracker)
    preview = site.post("member", f"{path}/decisions", {"step": "check"},
                        files={"file": ("decisions.csv", data, "text/csv")})
    assert preview.status_code == 200, preview.text
    assert "U-1" in preview.text and position(site.tracker) == before
    carried = re.search(r'name="table" value="([^"]+)"', preview.text).group(1)
    done = site.post("member", f"{path}/decisions", {"step": "record", "table": carried,
                                                     "filename": "decisions.csv"})
    assert done.status_code == 303
    assert site.tracker.commitment_by_ref(site.world.dialogue_id, "U-1") is not None
    # a file with a formula: every problem by row and column, nothing recorded
    bad = (",".join(COLUMNS) + "\nU-2,=CMD(),,Police nationale,,,,\n").encode()
    refused = site.post("member", f"{path}/decisions", {"step": "check"},
                        files={"file": ("decisions.csv", bad, "text/csv")})
    assert refused.status_code == 422
    assert "row 2" in refused.text and "formula cells are refused" in refused.text


def test_the_template_and_the_export_download_in_the_import_s_format(site):
    template = site.get("member", "/dialogues/saaba/decisions.xlsx?template=true")
    assert template.status_code == 200
    assert [c.value for c in load_workbook(io.BytesIO(template.content)).active[1]] == list(COLUMNS)
    csv = site.get("member", "/dialogues/saaba/decisions.csv")
    assert csv.text.splitlines()[0] == ",".join(COLUMNS)
    assert site.get("other", "/dialogues/saaba/decisions.csv").status_code == 403


def test_an_auditor_sees_the_meeting_but_no_form_to_enter_decisions(site):
    path = record_meeting(site)
    page = site.get("auditor", path)
    assert page.status_code == 200 and "Third session" in page.text
    assert "/decisions\"" not in page.text
