"""Forms are given once per key: the hidden `idempotency_key` of every action form (a double tap,
a resend on a slow link), or the `Idempotency-Key` header (htmx, the offline queue)."""

from __future__ import annotations

import re

from tests.factories import advance, propose
from tests.web.support import Site, position

KEY = re.compile(r'name="idempotency_key" value="([0-9a-f]{32})"')


def in_progress(site: Site) -> str:
    result = propose(site.tracker, site.world)
    advance(site.tracker, site.world, result.id, "in_progress")
    site.settle()
    return result.id


def test_every_action_form_carries_its_own_key(site: Site):
    cid = in_progress(site)
    keys = KEY.findall(site.get("member", f"/commitments/{cid}").text)
    assert len(keys) >= 3 and len(set(keys)) == len(keys)
    assert KEY.findall(site.get("member", "/dialogues/saaba").text)


def test_a_form_sent_twice_without_javascript_is_recorded_once(site: Site):
    cid = in_progress(site)
    key = KEY.search(site.get("member", f"/commitments/{cid}").text).group(1)
    form = {"percent": "40", "public": "on", "expected_version": "5", "idempotency_key": key}
    first = site.post("member", f"/commitments/{cid}/progress", form)
    assert first.status_code == 303
    size = position(site.tracker)
    again = site.post("member", f"/commitments/{cid}/progress", form)
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    assert position(site.tracker) == size
    # the same key with another value: refused, said so, nothing recorded
    other = site.post("member", f"/commitments/{cid}/progress", {**form, "percent": "60"})
    assert other.status_code == 422
    assert "Idempotency-Key" in other.text
    assert position(site.tracker) == size
    assert site.tracker.commitment(cid).progress == 40


def test_an_htmx_action_sent_again_with_its_header_answers_the_same_fragment(site: Site):
    cid = in_progress(site)
    form = {"percent": "55", "expected_version": "5"}
    headers = {"Idempotency-Key": "offline-report-1"}
    first = site.post("member", f"/commitments/{cid}/progress", form, htmx=True, headers=headers)
    assert first.status_code == 200 and "notice ok" in first.text
    size = position(site.tracker)
    again = site.post("member", f"/commitments/{cid}/progress", form, htmx=True, headers=headers)
    assert again.status_code == 200 and again.text == first.text
    assert again.headers["hx-trigger"] == "commitment-changed"
    assert position(site.tracker) == size


def test_a_kept_answer_is_not_shown_without_the_sessions_csrf_token(site: Site):
    cid = in_progress(site)
    form = {"percent": "30", "expected_version": "5", "idempotency_key": "k" * 20}
    assert site.post("member", f"/commitments/{cid}/progress", form).status_code == 303
    forged = site.client("member").post(f"/commitments/{cid}/progress",
                                        data={**form, "csrf_token": "forged"},
                                        follow_redirects=False)
    assert forged.status_code == 403


def test_a_malformed_multipart_body_sent_with_a_key_is_refused_and_records_nothing(site: Site):
    # (a bare CR inside a part's header: schemathesis sent one, and the key's fingerprint, which
    # reads the form before any route does, answered 500)
    cid = in_progress(site)
    size = position(site.tracker)
    body = (b'--b\r\nContent-Disposition: form-data; name="percent"\r\nX\rY: z\r\n\r\n40\r\n'
            b"--b--\r\n")
    answer = site.client("member").post(
        f"/commitments/{cid}/progress", content=body, follow_redirects=False,
        headers={"Content-Type": "multipart/form-data; boundary=b", "HX-Request": "true",
                 "X-CSRF-Token": site.tokens["member"], "Idempotency-Key": "malformed-1"})
    assert answer.status_code == 400, answer.text
    assert position(site.tracker) == size
