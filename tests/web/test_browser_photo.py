"""Photo evidence from a phone, in the browser at 360 px: the police choose a photo with a GPS
position in the evidence form's camera input (`accept="image/*" capture`) and send it, in place
(htmx) and as a plain form; what the tracker then serves is a JPEG of at most 1,280 px with no
EXIF and no GPS, whose SHA-256 is the one the evidence recorded, and the page shows its
thumbnail. The HTTP-level cases (bad files, PNG, WebP, the API, the public) are in
test_photo_evidence.py."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import ExifTags, Image

from tests.browser_support import police_on, screenshot
from tests.factories import advance, make_world, propose
from tests.web.test_photo_evidence import phone_photo

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_a_photo_taken_with_gps_is_stored_without_it(live_server, chromium, javascript):
    tracker = live_server.app.state.tracker
    world = make_world(tracker)
    cid = propose(tracker, world).id
    advance(tracker, world, cid, "in_progress")
    live_server.app.state.read_models.catch_up()
    taken = phone_photo()
    assert Image.open(io.BytesIO(taken)).getexif().get_ifd(ExifTags.IFD.GPSInfo), "GPS is in it"

    page = police_on(chromium, live_server, cid, javascript=javascript)
    page.locator("details:has(form[action$='/attach-evidence']) > summary").click()
    form = page.locator("form[action$='/attach-evidence']")
    camera = form.locator("input[type=file]")
    assert camera.get_attribute("accept") == "image/*"
    assert camera.get_attribute("capture") is not None  # the phone opens its camera
    form.get_by_label("Description").fill("Les nouveaux lampadaires du marché")
    camera.set_input_files({"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": taken})
    form.get_by_role("button", name="Joindre une preuve").click()
    page.locator("#messages .notice.ok").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    evidence = tracker.commitment(cid).state()["evidence"][-1]
    assert evidence["photo"] == "image/jpeg"
    thumbnail = page.locator(f"img.thumb[src$='/evidence/{evidence['id']}/thumbnail']")
    thumbnail.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
    assert thumbnail.evaluate("img => Math.max(img.naturalWidth, img.naturalHeight)") == 320
    screenshot(page, f"photo-evidence-360-{'htmx' if javascript else 'nojs'}")

    stored = page.request.get(f"{live_server.url}/commitments/{cid}/evidence/{evidence['id']}/photo")
    assert stored.status == 200 and stored.headers["content-type"] == "image/jpeg"
    data = stored.body()
    assert hashlib.sha256(data).hexdigest() == evidence["sha256"]
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and max(image.size) <= 1280 and image.size == (1280, 960)
    assert not image.getexif() and "exif" not in image.info
    assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert b"GPS" not in data and b"PhoneMaker" not in data and b"Exif" not in data
    page.context.close()
