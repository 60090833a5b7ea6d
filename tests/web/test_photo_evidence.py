"""Photo evidence: a phone's photo is kept re-encoded, without its EXIF and GPS position, at a
viewing size and as a thumbnail, in the database; the evidence records the stored image's
SHA-256; members see it, the public only when the evidence is public; bad files change nothing."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from PIL import ExifTags, Image

from tests.factories import advance, propose
from tests.web.support import Site, position
from tracker.application import SYSTEM

GPS = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (12.0, 22.0, 30.0),
       ExifTags.GPS.GPSLongitudeRef: "W", ExifTags.GPS.GPSLongitude: (1.0, 31.0, 0.0)}


def phone_photo(width: int = 2400, height: int = 1800) -> bytes:
    """A JPEG as a phone takes it: its maker, model and GPS position in EXIF."""
    image = Image.new("RGB", (width, height), (180, 120, 60))
    for x in range(0, width, 97):  # some detail, so the encoder has work to do
        image.paste((20, 40, 200), (x, 0, x + 20, height))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Cheap 1"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(GPS)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, quality=90)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # it has GPS
    return data


def in_progress(site: Site) -> str:
    result = propose(site.tracker, site.world)
    advance(site.tracker, site.world, result.id, "in_progress")
    site.settle()
    return result.id


def upload(site: Site, cid: str, data: bytes, *, name="photo.jpg", kind="image/jpeg",
           public: bool = False, htmx: bool = False):
    form = {"description": "The new street lights", **({"public": "on"} if public else {})}
    return site.post("member", f"/commitments/{cid}/attach-evidence", form, htmx=htmx,
                     files={"file": (name, data, kind)})


def test_the_evidence_form_asks_for_a_photo_from_the_camera(site: Site):
    cid = in_progress(site)
    html = site.get("member", f"/commitments/{cid}").text
    form = re.search(r'<form[^>]*action="/commitments/[^"]+/attach-evidence".*?</form>', html, re.S)
    assert form and 'enctype="multipart/form-data"' in form.group(0)
    assert re.search(r'<input type="file"[^>]*accept="image/\*"[^>]*capture', form.group(0))


def test_a_photo_with_gps_is_kept_without_it_and_its_digest_recorded(site: Site):
    cid = in_progress(site)
    response = upload(site, cid, phone_photo())
    assert response.status_code == 303, response.text
    evidence = site.tracker.commitment(cid).state()["evidence"][-1]
    assert evidence["photo"] == "image/jpeg"
    stored = site.get("member", f"/commitments/{cid}/evidence/{evidence['id']}/photo")
    assert stored.status_code == 200 and stored.headers["content-type"] == "image/jpeg"
    assert hashlib.sha256(stored.content).hexdigest() == evidence["sha256"]
    image = Image.open(io.BytesIO(stored.content))
    assert max(image.size) == 1280 and image.size == (1280, 960)
    assert not image.getexif() and "exif" not in image.info
    assert b"PhoneMaker" not in stored.content and b"GPS" not in stored.content
    thumbnail = site.get("member", f"/commitments/{cid}/evidence/{evidence['id']}/thumbnail")
    thumb = Image.open(io.BytesIO(thumbnail.content))
    assert max(thumb.size) == 320 and not thumb.getexif()
    # the page shows it; another dialogue's member and the public do not get it (private)
    assert f"/evidence/{evidence['id']}/thumbnail" in site.get("member", f"/commitments/{cid}").text
    assert site.get("other", f"/commitments/{cid}/evidence/{evidence['id']}/photo").status_code == 403
    public = site.get("anonymous", f"/public/commitments/{cid}/evidence/{evidence['id']}/photo")
    assert public.status_code == 404


def test_a_photo_sent_with_a_mixed_case_boundary_as_chromium_sends_it_is_taken(site: Site):
    """A multipart boundary is case-sensitive: Chromium's (----WebKitFormBoundary...) were
    lowercased by the body check, which then read the photo's bytes as text (400, not UTF-8)."""
    cid = in_progress(site)
    boundary = "----WebKitFormBoundaryQ7fXk2LmZ9aB"
    fields = {"csrf_token": site.tokens["member"], "description": "The new street lights"}
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                    .encode() for k, v in fields.items())
    body += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="IMG_1.jpg"'
             f'\r\nContent-Type: image/jpeg\r\n\r\n').encode() + phone_photo()
    body += f"\r\n--{boundary}--\r\n".encode()
    response = site.client("member").post(
        f"/commitments/{cid}/attach-evidence", content=body, follow_redirects=False,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 303, response.text
    assert site.tracker.commitment(cid).state()["evidence"][-1]["photo"] == "image/jpeg"


def test_a_public_photo_is_served_to_the_public_with_htmx_too(site: Site):
    cid = in_progress(site)
    response = upload(site, cid, phone_photo(800, 600), public=True, htmx=True)
    assert response.status_code == 200 and "notice ok" in response.text
    evidence = site.tracker.commitment(cid).state()["evidence"][-1]
    public = site.get("anonymous", f"/public/commitments/{cid}/evidence/{evidence['id']}/photo")
    assert public.status_code == 200
    assert Image.open(io.BytesIO(public.content)).size == (800, 600)  # never enlarged


def test_a_png_with_transparency_and_a_webp_are_taken(site: Site):
    cid = in_progress(site)
    for kind, image in (("PNG", Image.new("RGBA", (300, 200), (0, 0, 0, 0))),
                        ("WEBP", Image.new("RGB", (300, 200), (9, 9, 9)))):
        out = io.BytesIO()
        image.save(out, format=kind)
        assert upload(site, cid, out.getvalue(), name=f"x.{kind.lower()}",
                      kind=f"image/{kind.lower()}").status_code == 303


def bomb() -> bytes:
    out = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(out, format="PNG")  # 144 megapixels in a few KB
    return out.getvalue()


@pytest.mark.parametrize(("data", "status", "words"), [
    (b"%PDF-1.4 not a photo at all", 422, "not a photo"),
    (b"GIF89a" + b"\0" * 100, 422, "not a photo"),
    (b"\xff\xd8\xff\xe0" + b"\0" * (10 * 1024 * 1024), 413, "10 MB"),
    (None, 422, "too many pixels"),
])
def test_a_bad_file_is_refused_beside_the_form_and_changes_nothing(site: Site, data, status, words):
    cid = in_progress(site)
    before = position(site.tracker)
    response = upload(site, cid, bomb() if data is None else data)
    assert response.status_code == status, response.text[:300]
    assert words in response.text
    assert position(site.tracker) == before
    assert site.read_models.store.fetchone("SELECT COUNT(*) AS n FROM evidence_photos")["n"] == 0


def test_the_api_takes_a_photo_as_a_multipart_form(site: Site):
    cid = in_progress(site)
    token = site.tracker.create_token(SYSTEM, "saaba-police")
    client = site.client("anonymous")
    headers = {"Authorization": f"Bearer {token}"}
    response = client.post(f"/api/v1/commitments/{cid}/attach-evidence", headers=headers,
                           data={"description": "Lights", "public": "true"},
                           files={"file": ("p.jpg", phone_photo(640, 480), "image/jpeg")})
    assert response.status_code == 200, response.text
    evidence_id = response.json()["evidence_id"]
    got = client.get(f"/api/v1/commitments/{cid}", headers=headers).json()
    evidence = next(e for e in got["evidence"] if e["id"] == evidence_id)
    assert evidence["public"] is True and len(evidence["sha256"]) == 64
    # JSON still works, and a bad file is a JSON error
    assert client.post(f"/api/v1/commitments/{cid}/attach-evidence", headers=headers,
                       json={"description": "a link", "url": "https://example.org/x"}
                       ).status_code == 200
    bad = client.post(f"/api/v1/commitments/{cid}/attach-evidence", headers=headers,
                      data={"description": "x"}, files={"file": ("a.txt", b"hello", "text/plain")})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "file"
