"""Photos attached to reports: checked, cleaned and stored so that nothing but the picture survives.

A resident's photo can say far more than it shows: GPS coordinates, the phone's make and serial,
the time it was taken, editing software, free-text comments. None of that may reach our disk.
So every upload is

1. capped in bytes, then sniffed by Pillow from its content (never the file name or the client's
   MIME type) against a short allowlist: JPEG, PNG and WebP;
2. capped in pixels from the header alone, before any pixel is decoded, so a decompression bomb
   (a small file declaring enormous dimensions) is refused with a clear message;
3. decoded, turned upright by its EXIF orientation, and its pixels copied into a brand-new image
   that carries no metadata at all, then downscaled and encoded as a plain JPEG;
4. stored outside the web root under a random name, written atomically with owner-only permissions,
   and served only through a view that checks who is asking (see `open_stored`).

Nothing here logs file contents or metadata; refusals are logged by reason only.
"""
import hashlib
import io
import logging
import os
import secrets
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from flask_babel import format_decimal
from flask_babel import gettext as _
from PIL import Image, ImageOps

from apoa.errors import UserValueError

log = logging.getLogger("apoa.reports")

# Pillow's format names, as it reports them in `Image.format` after sniffing the content.
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")

# Pillow reports a JPEG with a multi-picture index (many phone cameras write one, for depth maps
# or previews) as "MPO"; it is still a JPEG, and we keep its first picture only.
FORMAT_ALIASES = {"MPO": "JPEG"}

OUTPUT_MIME = "image/jpeg"
JPEG_QUALITY = 85
MEGABYTE = 1024 * 1024

# High bit depth greyscale (16-bit PNG) must be scaled to 8 bits; a plain conversion clips it white.
HIGH_BIT_DEPTH_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N")
MODES_WITH_ALPHA = ("RGBA", "RGBa", "LA", "La", "PA")

# Exceptions Pillow raises on files it cannot parse or decode (truncated, corrupt, unsupported).
UNREADABLE_ERRORS = (OSError, SyntaxError, ValueError, IndexError, TypeError, EOFError)


class PhotoError(UserValueError):
    """A photo the user sent was refused; the message says why, in the user's language."""


@dataclass(frozen=True)
class CleanImage:
    """A re-encoded photo without metadata, ready to store: bytes, type, pixel size, digest."""

    # Kept out of the repr so a logged or printed CleanImage never dumps the photo itself.
    data: bytes = field(repr=False)
    mime: str
    width: int
    height: int
    sha256: str

    @property
    def size(self):
        """The length of the encoded photo in bytes."""
        return len(self.data)


def sanitize_image(raw: bytes, max_bytes: int = 10 * MEGABYTE, max_pixels: int = 40_000_000,
                   max_side: int = 2560) -> CleanImage:
    """Check an uploaded photo and return a fresh JPEG of its pixels, with no metadata whatsoever.

    The output is always JPEG (mime "image/jpeg"), whatever came in: one format is simplest to
    serve and reason about, and re-encoding is what guarantees that no EXIF, GPS, XMP, ICC profile
    or comment survives. The photo is turned upright by its EXIF orientation first, transparency is
    flattened onto white, animations keep their first frame, and the longer side is scaled down
    to `max_side` pixels.

    Raises PhotoError (HTTP 400, translated message) when the file is empty, larger than
    `max_bytes`, not a readable JPEG/PNG/WebP, or larger than `max_pixels` (decompression bombs).
    """
    check_byte_size(raw, max_bytes)
    with open_sniffed(raw, max_pixels) as image:
        check_pixel_count(image.size, max_pixels)
        pixels = decode_first_frame(image, max_pixels, max_side)
    upright = turn_upright(pixels)
    fresh = copy_pixels_into_fresh_rgb(upright)
    fresh = downscale(fresh, max_side)
    data = encode_jpeg(fresh)
    return CleanImage(data=data, mime=OUTPUT_MIME, width=fresh.width, height=fresh.height,
                      sha256=hashlib.sha256(data).hexdigest())


def check_byte_size(raw, max_bytes):
    if not raw:
        refuse("empty", _("The file is empty."))
    if len(raw) > max_bytes:
        refuse("too_large", _("The photo is larger than %(mb)s MB.", mb=megabytes(max_bytes)))


def open_sniffed(raw, max_pixels):
    """Open `raw` lazily (header only) with Pillow, allowing only the allowlisted formats.

    Passing `formats` means Pillow never even tries its other parsers (GIF, TIFF, PSD, ...) on
    the file; the format it reports is checked again because a plugin may answer a sub-format.
    """
    try:
        with warnings.catch_warnings():
            # Pillow warns (DecompressionBombWarning) above its own global limit while opening.
            # Our own limit, checked right after opening, is stricter by default and gives the user
            # a clear message, so the warning is silenced here, locally, instead of raising Pillow's
            # global MAX_IMAGE_PIXELS or letting the warning escape (the test suite makes warnings
            # errors). Far beyond its limit Pillow raises DecompressionBombError, handled below.
            # (catch_warnings is not thread-safe before Python 3.14: at worst a race leaves this one
            # ignore filter in place, which our own pixel check makes harmless.)
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw), formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError:
        refuse_too_many_pixels(max_pixels)
    except UNREADABLE_ERRORS:
        refuse_unreadable("not_an_image")
    if FORMAT_ALIASES.get(image.format, image.format) not in ALLOWED_FORMATS:
        image.close()
        refuse_unreadable("format")
    return image


def check_pixel_count(size, max_pixels):
    """Refuse an image whose header declares more than `max_pixels`, before any pixel is decoded."""
    width, height = size
    if width * height > max_pixels:
        refuse_too_many_pixels(max_pixels, width * height)


def refuse_too_many_pixels(max_pixels, pixels=None):
    # Pillow's own bomb error (far beyond its global limit) does not say the size; ours does.
    if pixels is None:
        message = _("The image has too many pixels; the limit is %(limit)s million.",
                    limit=millions(max_pixels))
    else:
        message = _("The image has too many pixels (%(pixels)s million); "
                    "the limit is %(limit)s million.",
                    pixels=millions(pixels), limit=millions(max_pixels))
    refuse("too_many_pixels", message)


def decode_first_frame(image, max_pixels, max_side):
    """Decode the pixels of the first frame; refuse truncated or corrupt files."""
    try:
        # An animation (or an MPO's extra pictures) only ever contributes its first frame.
        image.seek(0)
        # For a JPEG much larger than needed, let the decoder scale down by 1/2, 1/4 or 1/8 while
        # decoding: less memory and time. It never goes below `max_side`; other formats ignore it.
        image.draft(None, (max_side, max_side))
        image.load()
        # A detached copy of the pixels of this frame only; the file can then be closed.
        return image.copy()
    except Image.DecompressionBombError:
        refuse_too_many_pixels(max_pixels)
    except UNREADABLE_ERRORS:
        refuse_unreadable("corrupt")


def turn_upright(image):
    """Apply the EXIF orientation so the photo looks as the camera meant, once metadata is gone.

    A photo whose EXIF is too broken to read for orientation is kept as it is rather than refused:
    the pixels are fine, and the metadata is about to be discarded anyway.
    """
    try:
        return ImageOps.exif_transpose(image)
    except UNREADABLE_ERRORS:
        log.info("photo orientation unreadable; kept as decoded")
        return image


def copy_pixels_into_fresh_rgb(image):
    """Return a new RGB image holding only `image`'s pixels.

    Pillow copies `info` (EXIF, XMP, ICC profile, comment, PNG text) along with conversions, and
    its JPEG encoder re-writes a comment found there, so the pixels are pasted into an image made
    from nothing. Transparency is flattened onto white, as JPEG has none.
    """
    if image.mode in HIGH_BIT_DEPTH_MODES:
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    fresh = Image.new("RGB", image.size, "white")
    if image.mode in MODES_WITH_ALPHA or "transparency" in image.info:
        rgba = image.convert("RGBA")
        fresh.paste(rgba, mask=rgba.getchannel("A"))
    else:
        fresh.paste(image.convert("RGB"))
    return fresh


def downscale(image, max_side):
    """Shrink `image` so its longer side is at most `max_side` pixels, keeping the aspect ratio."""
    if max(image.size) <= max_side:
        return image
    scale = max_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def encode_jpeg(image):
    """Encode as a baseline JPEG, passing no exif, icc_profile, xmp or comment to the encoder."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return buffer.getvalue()


def megabytes(n_bytes):
    return format_decimal(round(n_bytes / MEGABYTE, 1))


def millions(n):
    return format_decimal(round(n / 1_000_000, 1))


def refuse(reason, message):
    """Log the refusal by reason only (never the file or its metadata) and raise it to the user."""
    log.info("photo refused: %s", reason)
    raise PhotoError(message)


def refuse_unreadable(reason):
    refuse(reason, _("The file is not a photo we can read (JPEG, PNG or WebP)."))


def store_image(image: CleanImage, directory: Path) -> str:
    """Write `image` under `directory` with a random name and return its path relative to it.

    The name comes from `secrets`, never from the upload, and is spread over 256 sub-folders by
    its first two hex digits. Folders are created owner-only (0o700), the file is owner-only
    (0o600), and it is written to a temporary file in the same folder, synced, then renamed into
    place, so a crash or a full disk never leaves a half-written photo under a real name.
    `directory` must lie outside the web root; photos are served only through an authorised view.
    """
    token = secrets.token_hex(16)
    relative = PurePosixPath(token[:2], f"{token}.jpg")
    directory = Path(directory)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder = directory / relative.parent
    folder.mkdir(mode=0o700, exist_ok=True)
    write_atomically(folder / relative.name, image.data)
    log.info("photo stored as %s (%d bytes)", relative, image.size)
    return str(relative)


def write_atomically(path, data):
    # mkstemp creates the file with mode 0o600 whatever the umask, in the target's own folder so
    # the final os.replace is a rename on one file system, which is atomic.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def open_stored(directory: Path, relative: str) -> Path:
    """Return the absolute path of the stored photo `relative` under `directory`.

    `relative` comes from the database, but is treated as untrusted all the same: the resolved path
    (symbolic links followed) must lie strictly inside `directory`, otherwise ValueError is raised,
    so "../../etc/passwd", an absolute path or a link pointing elsewhere is never served.
    Whether the file exists is left to the caller (a missing photo is a 404, not a bad request).
    """
    base = Path(directory).resolve()
    candidate = (base / relative).resolve()
    if candidate == base or not candidate.is_relative_to(base):
        raise ValueError("stored photo path escapes the upload directory")
    return candidate


THUMBNAIL_SIDE = 160
THUMBNAIL_QUALITY = 70


def thumbnail_jpeg(data: bytes, side: int = THUMBNAIL_SIDE) -> bytes:
    """A small JPEG preview of a photo this module produced (a sanitised JPEG), for showing which
    photos a form already holds. The decoder scales down while decoding (draft), so it is cheap."""
    with Image.open(io.BytesIO(data), formats=("JPEG",)) as image:
        image.draft("RGB", (side, side))
        image.thumbnail((side, side))
        preview = copy_pixels_into_fresh_rgb(image)
    return encode_jpeg_at(preview, THUMBNAIL_QUALITY)


def encode_jpeg_at(image, quality):
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
