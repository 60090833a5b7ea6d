"""Photo evidence: an uploaded image re-encoded by Pillow, and its bytes kept in the database.

`prepare(data)` reads a JPEG, PNG or WebP of at most `MAX_BYTES`, refuses anything else (not an
image, another format, too many pixels: a decompression bomb) with an `InvalidInput` (or
`TooLarge`), turns it the way its EXIF orientation says, and encodes it again as JPEG: the
viewing size (at most `VIEW_PX` on its longer side) and a thumbnail (`THUMB_PX`). Nothing of the
original file is kept: no EXIF (so no GPS position, no camera serial), no comments, no ICC
profile. The SHA-256 of the viewing image is what the evidence records (the event's `sha256`).

`PhotoStore` keeps the two images in `evidence_photos`, keyed by that SHA-256, in the read
models' database, so every server process and every backup of the database has them. They are
not in the event log: `tracker export` carries the digests, not the images.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from domain.errors import N_, InvalidInput, NotFound, TooLarge
from projections.database import ConfigurationError
from projections.sealing import derived_aead
from projections.store import PostgresStore, Store

if TYPE_CHECKING:
    from tracker.application import CommandResult, Principal, Tracker
    from tracker.commands import AttachEvidence

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 50_000_000  # a 50-megapixel camera; more is refused before decoding
VIEW_PX = 1280
THUMB_PX = 320
FORMATS = {"JPEG", "PNG", "WEBP"}
MEDIA_TYPE = "image/jpeg"
SEALED = b"\x00sealed-photo-1\x00"  # starts a sealed image (no JPEG starts with a NUL)

NOT_AN_IMAGE = N_("the file is not a photo: send a JPEG, PNG or WebP image")
TOO_MANY_PIXELS = N_("the photo has too many pixels (at most 50 megapixels)")
TOO_LARGE = N_("the photo is larger than 10 MB")


@dataclass(frozen=True)
class Photo:
    """A photo ready to keep: the viewing image, its thumbnail, the viewing image's digest."""

    image: bytes
    thumbnail: bytes
    width: int
    height: int
    sha256: str
    media_type: str = MEDIA_TYPE


def _encode(image, longest: int, quality: int) -> bytes:  # noqa: ANN001 (a PIL image)
    copy = image.copy()
    copy.thumbnail((longest, longest))
    out = io.BytesIO()
    copy.save(out, format="JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()


def prepare(data: bytes) -> Photo:
    """The uploaded bytes as a photo to keep, or InvalidInput (field `file`) saying why not."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if len(data) > MAX_BYTES:
        raise TooLarge(TOO_LARGE, "file")
    if not data:
        raise InvalidInput(NOT_AN_IMAGE, "file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=sorted(FORMATS)) as opened:
                width, height = opened.size
                if width * height > MAX_PIXELS:
                    raise InvalidInput(TOO_MANY_PIXELS, "file")
                if opened.format == "JPEG":  # decoded at the smallest scale still >= the view
                    opened.draft("RGB", (VIEW_PX, VIEW_PX))
                opened.load()
                turned = ImageOps.exif_transpose(opened)
                if turned.mode in ("RGBA", "LA", "P", "PA"):
                    rgba = turned.convert("RGBA")
                    flat = Image.new("RGB", rgba.size, (255, 255, 255))
                    flat.paste(rgba, mask=rgba.getchannel("A"))
                    turned = flat
                else:
                    turned = turned.convert("RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidInput(TOO_MANY_PIXELS, "file") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise InvalidInput(NOT_AN_IMAGE, "file") from None
    image = _encode(turned, VIEW_PX, 82)
    thumbnail = _encode(turned, THUMB_PX, 75)
    with Image.open(io.BytesIO(image)) as stored:
        size = stored.size
    return Photo(image=image, thumbnail=thumbnail, width=size[0], height=size[1],
                 sha256=hashlib.sha256(image).hexdigest())


class PhotoStore:
    """The photos of evidence, in the read models' database."""

    def __init__(self, store: Store, encryption_key: str = "") -> None:
        self.store = store
        # With a key, the images are sealed as the read models' private text is (a photo can show
        # people): AES-GCM with a key of their own, the image's digest as associated data.
        self._aead = derived_aead(encryption_key, b"evidence photos v1") if encryption_key else None
        blob = "BYTEA" if isinstance(store, PostgresStore) else "BLOB"
        store.ensure_tables({"evidence_photos": (
            f"sha256 TEXT PRIMARY KEY, media_type TEXT, width INTEGER, height INTEGER, "
            f"image {blob}, thumbnail {blob}, kept_at DOUBLE PRECISION")})

    def keep(self, photo: Photo) -> None:
        with self.store.transaction(commit=True) as cursor:
            cursor.execute(self.store.sql(
                "INSERT INTO evidence_photos VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"),
                (photo.sha256, photo.media_type, photo.width, photo.height,
                 self._seal(photo.image, photo.sha256), self._seal(photo.thumbnail, photo.sha256),
                 time.time()))

    def _seal(self, data: bytes, sha256: str) -> bytes:
        if self._aead is None:
            return data
        nonce = os.urandom(12)
        return SEALED + nonce + self._aead.encrypt(nonce, data, sha256.encode())

    def _open(self, data: bytes, sha256: str) -> bytes:
        if not data.startswith(SEALED):
            return data
        if self._aead is None:
            raise ConfigurationError("the evidence photos are encrypted: set "
                                     "TRACKER_ENCRYPTION_KEY to the key they were sealed with")
        body = data[len(SEALED):]
        return self._aead.decrypt(body[:12], body[12:], sha256.encode())

    def image(self, sha256: str, thumbnail: bool = False) -> tuple[bytes, str] | None:
        """The stored image (or its thumbnail) and its media type; None if there is none."""
        column = "thumbnail" if thumbnail else "image"
        row = self.store.fetchone(f"SELECT media_type, {column} AS data FROM evidence_photos "  # noqa: S608
                                  f"WHERE sha256=?", (sha256,))
        return (self._open(bytes(row["data"]), sha256), row["media_type"]) if row else None


def attach_photo(tracker: Tracker, photos: PhotoStore, principal: Principal, commitment_id: str,
                 command: AttachEvidence, data: bytes) -> CommandResult:
    """Evidence with a photo: the file is prepared (refused before anything is recorded if it
    is not a good photo), the evidence recorded with the stored image's SHA-256, then the
    image kept (so a refused command keeps no photo)."""
    photo = prepare(data)
    result = tracker.act(principal, commitment_id, command.with_photo(photo))
    photos.keep(photo)
    return result


def evidence_photo(state: dict[str, Any], evidence_id: str) -> dict[str, Any]:
    """The evidence of a commitment's state that has a photo, or NotFound."""
    for evidence in state["evidence"]:
        if evidence["id"] == evidence_id and evidence.get("photo"):
            return evidence
    raise NotFound("this evidence has no photo")


def read_upload(upload: Any) -> bytes:
    """An uploaded file's bytes, at most one more than the limit (prepare refuses that)."""
    upload.file.seek(0)
    return upload.file.read(MAX_BYTES + 1)
