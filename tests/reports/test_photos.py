"""Photo sanitising and storage: real files made with Pillow, no mocks.

Every refusal is checked through its English message, so each test that may raise runs inside a
request context asking for English (`?lang=en`); the default interface language is Indonesian.
"""
import hashlib
import io
import os
import re
import stat
import struct
import warnings
import zlib

import pytest
from PIL import ExifTags, Image, ImageCms
from PIL.PngImagePlugin import PngInfo

from apoa.reports.photos import (ALLOWED_FORMATS, CleanImage, PhotoError, open_stored,
                                 sanitize_image, store_image, write_atomically)

RED = (220, 20, 20)
BLUE = (20, 20, 220)
STORED_NAME = re.compile(r"^([0-9a-f]{2})/([0-9a-f]{32})\.jpg$")


@pytest.fixture
def english(app):
    """A request in English, so gettext and number formatting work and messages read as written."""
    with app.test_request_context("/?lang=en"):
        yield


pytestmark = pytest.mark.usefixtures("english")


# --- building real files -------------------------------------------------------------------------

def encode(image, format, **options):
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def noisy(size, mode="RGB"):
    """An image of random pixels: compresses badly, so a cut anywhere lands in pixel data."""
    return Image.frombytes(mode, size, os.urandom(size[0] * size[1] * len(mode)))


def two_halves(size):
    """Left half red, right half blue: shows which way an image was turned."""
    image = Image.new("RGB", size, BLUE)
    image.paste(RED, (0, 0, size[0] // 2, size[1]))
    return image


def spying_exif(orientation=None):
    """EXIF as a phone writes it: make, model, time and the GPS position of the reporter."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyPhone"
    exif[ExifTags.Base.Model] = "Tracker 3000"
    exif[ExifTags.Base.DateTime] = "2024:05:01 10:11:12"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "S",
        ExifTags.GPS.GPSLatitude: (6.0, 10.0, 30.5),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (106.0, 49.0, 12.25),
    }
    return exif


XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
       b'22-rdf-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
       b'exif:GPSLatitude="6,10.5S"/></rdf:RDF></x:xmpmeta>')


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bilevel_png(width, height, pixel_data=None):
    """A 1-bit greyscale PNG of `width`×`height`, all black.

    It is a real decompression bomb: a few kilobytes on disk, hundreds of megabytes once decoded.
    Given `pixel_data` (not valid zlib, say), the header still declares the full size but decoding
    fails, which shows whether the size was checked before any decoding was attempted.
    """
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    if pixel_data is None:
        row = b"\x00" * (1 + (width + 7) // 8)  # filter byte, then the packed pixels
        compressor = zlib.compressobj(9)
        pixel_data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", pixel_data)
            + png_chunk(b"IEND", b""))


def undecodable_png(width, height):
    return bilevel_png(width, height, pixel_data=b"not a zlib stream")


def jpeg_declaring(width, height):
    """A small real JPEG whose frame header (SOF0) is rewritten to declare `width`×`height`."""
    data = bytearray(encode(Image.new("RGB", (16, 16), RED), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def reopen(clean):
    image = Image.open(io.BytesIO(clean.data))
    image.load()
    return image


def assert_close(pixel, expected, tolerance=12):
    assert all(abs(a - b) <= tolerance for a, b in zip(pixel, expected)), (pixel, expected)


# --- metadata never survives ---------------------------------------------------------------------

def test_jpeg_with_gps_exif_comment_xmp_and_icc_comes_out_bare():
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    raw = encode(Image.new("RGB", (64, 48), RED), "JPEG", exif=spying_exif(),
                 comment=b"secret comment", xmp=XMP, icc_profile=icc)
    # The input really carries everything the output must lose.
    original = Image.open(io.BytesIO(raw))
    assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert original.info["comment"] == b"secret comment"
    assert b"xmpmeta" in original.info["xmp"]
    assert original.info["icc_profile"] == icc

    clean = sanitize_image(raw)

    output = reopen(clean)
    assert output.format == "JPEG"
    assert len(output.getexif()) == 0
    for key in ("exif", "comment", "xmp", "icc_profile", "XML:com.adobe.xmp"):
        assert key not in output.info
    for secret in (b"Exif", b"secret comment", b"xmpmeta", b"SpyPhone", b"Tracker", b"2024:05:01",
                   b"ICC_PROFILE", b"http://ns.adobe.com"):
        assert secret not in clean.data
    assert (clean.width, clean.height) == (64, 48) == output.size
    assert_close(output.getpixel((32, 24)), RED)


def test_clean_image_describes_its_bytes():
    clean = sanitize_image(encode(Image.new("RGB", (20, 10), BLUE), "PNG"))
    assert isinstance(clean, CleanImage)
    assert clean.mime == "image/jpeg"
    assert clean.data.startswith(b"\xff\xd8")
    assert clean.size == len(clean.data)
    assert clean.sha256 == hashlib.sha256(clean.data).hexdigest()
    assert "data" not in repr(clean)  # a logged CleanImage never dumps the photo


def test_exif_orientation_is_applied_then_dropped():
    # Orientation 6: the camera was turned a quarter clockwise; the viewer must rotate to show it.
    raw = encode(two_halves((60, 40)), "JPEG", exif=spying_exif(orientation=6))

    clean = sanitize_image(raw)

    output = reopen(clean)
    assert (clean.width, clean.height) == (40, 60) == output.size
    # Rotated a quarter clockwise, the left (red) half is on top and the right (blue) one below.
    assert_close(output.getpixel((20, 10)), RED)
    assert_close(output.getpixel((20, 50)), BLUE)
    assert len(output.getexif()) == 0


def test_png_text_chunks_do_not_survive():
    text = PngInfo()
    text.add_text("Comment", "secret png text")
    text.add_text("Location", "-6.175, 106.827", zip=True)
    text.add_itxt("Author", "Pelapor Rahasia")
    raw = encode(Image.new("RGB", (30, 20), BLUE), "PNG", pnginfo=text)
    assert Image.open(io.BytesIO(raw)).text["Comment"] == "secret png text"

    clean = sanitize_image(raw)

    output = reopen(clean)
    assert output.format == "JPEG" and clean.mime == "image/jpeg"
    assert not {"Comment", "Location", "Author"} & set(output.info)
    for secret in (b"secret png text", b"106.827", b"Rahasia"):
        assert secret not in clean.data
    assert output.size == (30, 20)


def test_webp_with_exif_is_accepted_and_cleaned():
    raw = encode(Image.new("RGB", (32, 32), RED), "WEBP", exif=spying_exif(), quality=90)
    clean = sanitize_image(raw)
    output = reopen(clean)
    assert output.format == "JPEG" and len(output.getexif()) == 0
    assert b"SpyPhone" not in clean.data
    assert_close(output.getpixel((16, 16)), RED, tolerance=20)


def test_transparency_is_flattened_onto_white():
    image = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    image.paste((20, 20, 220, 255), (0, 0, 10, 20))
    output = reopen(sanitize_image(encode(image, "PNG")))
    assert output.mode == "RGB"
    assert_close(output.getpixel((15, 10)), (255, 255, 255))
    assert_close(output.getpixel((4, 10)), BLUE)


def test_palette_png_with_transparency_is_flattened():
    image = Image.new("P", (20, 20), 0)
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * (254 * 3))
    image.paste(1, (10, 0, 20, 20))
    output = reopen(sanitize_image(encode(image, "PNG", transparency=0)))
    assert_close(output.getpixel((4, 10)), (255, 255, 255))
    assert_close(output.getpixel((15, 10)), (0, 0, 255))


def test_sixteen_bit_greyscale_keeps_its_brightness():
    output = reopen(sanitize_image(encode(Image.new("I;16", (10, 10), 32768), "PNG")))
    assert_close(output.getpixel((5, 5)), (128, 128, 128))


def test_animation_keeps_its_first_frame_only():
    first, second = Image.new("RGB", (24, 24), RED), Image.new("RGB", (24, 24), BLUE)
    for format in ("PNG", "WEBP"):
        raw = encode(first, format, save_all=True, append_images=[second], duration=100, loop=0)
        assert Image.open(io.BytesIO(raw)).n_frames == 2
        output = reopen(sanitize_image(raw))
        assert getattr(output, "n_frames", 1) == 1
        assert_close(output.getpixel((12, 12)), RED, tolerance=20)


def test_multi_picture_jpeg_from_a_phone_is_accepted():
    first, second = Image.new("RGB", (24, 24), RED), Image.new("RGB", (24, 24), BLUE)
    raw = encode(first, "MPO", save_all=True, append_images=[second], exif=spying_exif())
    assert Image.open(io.BytesIO(raw)).format == "MPO"
    clean = sanitize_image(raw)
    assert b"SpyPhone" not in clean.data
    assert_close(reopen(clean).getpixel((12, 12)), RED)


# --- size and pixel caps -------------------------------------------------------------------------

def test_large_image_is_downscaled_to_max_side():
    clean = sanitize_image(encode(two_halves((3000, 1500)), "PNG"))
    assert (clean.width, clean.height) == (2560, 1280) == reopen(clean).size


def test_large_jpeg_is_downscaled_with_its_orientation():
    raw = encode(two_halves((800, 400)), "JPEG", exif=spying_exif(orientation=6))
    clean = sanitize_image(raw, max_side=100)
    assert (clean.width, clean.height) == (50, 100)


def test_small_image_is_not_enlarged():
    clean = sanitize_image(encode(Image.new("RGB", (7, 5)), "PNG"), max_side=100)
    assert (clean.width, clean.height) == (7, 5)


def test_empty_file_is_refused():
    with pytest.raises(PhotoError, match="The file is empty"):
        sanitize_image(b"")


def test_file_over_the_byte_limit_is_refused_before_reading():
    with pytest.raises(PhotoError, match=r"larger than 10 MB"):
        sanitize_image(b"\xff" * (10 * 1024 * 1024 + 1))
    raw = encode(noisy((512, 512)), "PNG")  # random pixels do not compress: about 770 kB
    with pytest.raises(PhotoError, match=r"larger than 0\.5 MB"):
        sanitize_image(raw, max_bytes=512 * 1024)


def test_decompression_bomb_is_refused_from_its_header_before_decoding():
    # 10 000 × 10 000 declared, pixel data broken: decoding first would fail as "unreadable".
    raw = undecodable_png(10_000, 10_000)
    with pytest.raises(PhotoError, match="not a photo we can read"):
        sanitize_image(undecodable_png(100, 100))  # the same file, small enough to be decoded
    message = r"too many pixels \(100 million\); the limit is 40 million"
    with pytest.raises(PhotoError, match=message):
        sanitize_image(raw)


def test_real_decompression_bomb_is_refused_without_a_warning_escaping():
    raw = bilevel_png(10_000, 10_000)  # 100 million pixels, above Pillow's own warning threshold
    assert len(raw) < 100_000
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(PhotoError, match="too many pixels"):
            sanitize_image(raw)
    assert not caught


@pytest.mark.parametrize("raw", [
    pytest.param(undecodable_png(20_000, 20_000), id="png-20000x20000"),
    pytest.param(jpeg_declaring(60_000, 60_000), id="jpeg-60000x60000"),
])
def test_pillows_own_bomb_error_becomes_a_clear_refusal(raw):
    # Beyond twice Pillow's global limit, Pillow itself raises while opening the file.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(PhotoError, match="too many pixels.*the limit is 40 million"):
            sanitize_image(raw)
    assert not caught
    assert Image.MAX_IMAGE_PIXELS == 89_478_485  # Pillow's global limit is left alone


def test_pixel_limit_below_pillows_is_ours():
    with pytest.raises(PhotoError, match=r"too many pixels \(64 million\)"):
        sanitize_image(jpeg_declaring(8_000, 8_000))
    message = r"too many pixels \(1\.2 million\); the limit is 1 million"
    with pytest.raises(PhotoError, match=message):
        sanitize_image(bilevel_png(1_200, 1_000), max_pixels=1_000_000)


# --- not a photo we accept -----------------------------------------------------------------------

@pytest.mark.parametrize("format", ["GIF", "BMP", "TIFF", "ICO", "PPM"])
def test_images_outside_the_allowlist_are_refused(format):
    raw = encode(Image.new("RGB", (16, 16), RED), format)
    assert Image.open(io.BytesIO(raw)).format not in ALLOWED_FORMATS
    with pytest.raises(PhotoError, match=r"not a photo we can read \(JPEG, PNG or WebP\)"):
        sanitize_image(raw)


@pytest.mark.parametrize("raw", [
    pytest.param(b"Hello, this is a text file pretending to be a photo.\n", id="text"),
    pytest.param(b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
                 id="svg"),
    pytest.param(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", id="pdf"),
    pytest.param(b"\xff\xd8\xff\xe0" + b"\x00" * 100, id="jpeg-magic-only"),
    pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, id="png-magic-only"),
])
def test_files_that_are_not_images_are_refused(raw):
    with pytest.raises(PhotoError, match="not a photo we can read"):
        sanitize_image(raw)


@pytest.mark.parametrize("format", ["JPEG", "PNG", "WEBP"])
def test_truncated_files_are_refused(format):
    raw = encode(noisy((200, 200)), format)
    with pytest.raises(PhotoError, match="not a photo we can read"):
        sanitize_image(raw[: len(raw) // 2])


def test_photo_error_is_a_400_user_error():
    from apoa.errors import UserValueError
    with pytest.raises(UserValueError) as caught:
        sanitize_image(b"")
    assert caught.value.status == 400


# --- storage -------------------------------------------------------------------------------------

@pytest.fixture
def clean():
    return sanitize_image(encode(two_halves((40, 30)), "PNG"))


def test_store_image_writes_owner_only_file_under_a_generated_name(tmp_path, clean):
    uploads = tmp_path / "instance" / "uploads"

    relative = store_image(clean, uploads)

    match = STORED_NAME.match(relative)
    assert match and match.group(2).startswith(match.group(1))
    path = uploads / relative
    assert path.read_bytes() == clean.data
    assert hashlib.sha256(path.read_bytes()).hexdigest() == clean.sha256
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(uploads.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left over


def test_each_stored_photo_gets_its_own_name(tmp_path, clean):
    names = {store_image(clean, tmp_path) for _ in range(5)}
    assert len(names) == 5


def test_failed_write_leaves_nothing_behind(tmp_path):
    # The final name is taken by a folder, so the last step (the rename) fails.
    target = tmp_path / "taken.jpg"
    target.mkdir()
    (target / "keep").write_text("")
    with pytest.raises(OSError):
        write_atomically(target, b"photo bytes")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.jpg"]


def test_open_stored_finds_a_stored_photo(tmp_path, clean):
    relative = store_image(clean, tmp_path)
    assert open_stored(tmp_path, relative) == (tmp_path / relative).resolve()
    assert open_stored(tmp_path, relative).read_bytes() == clean.data


@pytest.mark.parametrize("relative", [
    "../../etc/passwd", "..", "/etc/passwd", "ab/../../outside.jpg", "", ".", "ab/..",
    "nul\x00byte.jpg",
])
def test_open_stored_refuses_paths_outside_the_directory(tmp_path, relative):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    with pytest.raises(ValueError):
        open_stored(uploads, relative)


def test_open_stored_refuses_a_link_pointing_outside(tmp_path):
    uploads = tmp_path / "uploads"
    (uploads / "ab").mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("not a photo")
    (uploads / "ab" / "link.jpg").symlink_to(secret)
    with pytest.raises(ValueError):
        open_stored(uploads, "ab/link.jpg")
