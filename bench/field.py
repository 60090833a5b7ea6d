"""Field benchmark: what idempotency keys and photo evidence cost, measured in the same run.

Through the real app (Starlette TestClient, ASGI in process), on a dialogue of a few hundred
commitments: a progress report posted as htmx does without a key, with a new key each time (the
key is claimed, the answer kept), and the same request again (the kept answer); the ratios say
what the key costs over the bare command. Then `tracker.photos.prepare` on a 12-megapixel phone
JPEG (EXIF and GPS inside): the time to re-encode it, and the stored sizes.

Run: `python -m bench field` (SQLite; PostgreSQL too when TRACKER_BENCH_POSTGRES_URL is set).
"""

from __future__ import annotations

import io
import os
import re
import statistics
import time
from pathlib import Path

from bench.web import PASSWORD, seed, timed

COMMITMENTS = int(os.environ.get("BENCH_FIELD_COMMITMENTS", "300"))
SAMPLES = 40


def phone_jpeg(width: int = 4000, height: int = 3000) -> bytes:
    from PIL import ExifTags, Image

    image = Image.effect_noise((width, height), 40).convert("RGB")
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({ExifTags.GPS.GPSLatitudeRef: "N",
                                               ExifTags.GPS.GPSLatitude: (12.0, 22.0, 30.0)})
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, quality=88)
    return out.getvalue()


def measure(database_url: str, var_dir: Path) -> list[str]:
    from fastapi.testclient import TestClient

    from tracker.settings import Settings
    from web.app import create_app

    settings = Settings(database_url=database_url, var_dir=var_dir,
                        secret_key="benchmark-secret-key" * 2)
    app = create_app(settings)
    with TestClient(app) as client:
        ids = seed(app.state.tracker, COMMITMENTS)
        app.state.read_models.catch_up()
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)[1]
        client.post("/login", data={"username": "bench-member", "password": PASSWORD,
                                    "csrf_token": token})
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)[1]
        url = f"/commitments/{ids['commitment_id']}/progress"
        htmx = {"HX-Request": "true", "X-CSRF-Token": token}
        numbers = iter(range(10**6))

        def report(key: str | None = None, percent: int | None = None):
            headers = {**htmx, **({"Idempotency-Key": key} if key else {})}
            value = next(numbers) % 101 if percent is None else percent
            response = client.post(url, data={"percent": str(value)}, headers=headers)
            assert response.status_code == 200, response.text[:300]
            return response

        bare = timed(report, SAMPLES)
        keyed = timed(lambda: report(f"k-{next(numbers)}"), SAMPLES)
        report("again", 50)
        replayed = timed(lambda: report("again", 50), SAMPLES)

    photo = phone_jpeg()
    from tracker.photos import prepare

    started = time.perf_counter()
    prepared = prepare(photo)
    encode = time.perf_counter() - started

    def p50(samples: list[float]) -> float:
        return statistics.median(samples)

    return [
        f"progress report (htmx) without a key: p50 {p50(bare):.1f} ms (n={len(bare)})",
        f"with a new Idempotency-Key: p50 {p50(keyed):.1f} ms, x{p50(keyed) / p50(bare):.2f} "
        f"of the bare command",
        f"the same key again (kept answer, nothing recorded): p50 {p50(replayed):.1f} ms, "
        f"x{p50(replayed) / p50(bare):.2f} of the bare command",
        f"photo: a {len(photo) / 1e6:.1f} MB 12-megapixel JPEG re-encoded in {encode * 1000:.0f} ms "
        f"to {prepared.width}x{prepared.height}, {len(prepared.image) / 1024:.0f} KB "
        f"+ thumbnail {len(prepared.thumbnail) / 1024:.0f} KB",
    ]


def run() -> list[str]:
    from bench.stores import on_each_backend

    return on_each_backend(measure)


if __name__ == "__main__":
    print(*run(), sep="\n")
