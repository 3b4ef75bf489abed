"""The monthly report's PDF fits A4 (issue 11, item 9): no table runs past the page. Read from the
PDF itself: every piece of text, placed where the PDF draws it (pypdf's text visitor) and as wide
as the glyphs of the font embedded with it (fontTools, which WeasyPrint already needs), lies inside
the page box; and the last column of the tables (its heading and its values) is among them.
Checked in Indonesian (the default, whose headings are the longest) and in English.

The month M is the calendar month before the `clock` fixture's; Kabupaten Karawang has three
reports closed in it, so its last column ("Median time to closure") holds a value, not "–".
"""
import io
import math
from datetime import datetime, time, timedelta, timezone

import pypdf
import pytest
from flask_babel import gettext
from fontTools.ttLib import TTFont

from apoa.periods import add_months
from tests.factories import World
from tests.summaries.scenario import KARAWANG, with_history

WIB = timezone(timedelta(hours=7))
# A glyph the embedded font does not map is counted this wide (in em): wider than most.
UNKNOWN_GLYPH_EM = 0.7
# The right margin of the page (apoa/static/css/monthly.css, @page: 14 mm), in points; text may
# reach it, not cross it (a point of rounding allowed).
RIGHT_MARGIN = 14 / 25.4 * 72 - 1


@pytest.fixture(params=["id", "en"])
def language(request):
    if request.param == "en":
        request.getfixturevalue("english")
    return request.param


@pytest.fixture
def world(make, clock):
    world = World(make)
    world.month = add_months(clock.today.replace(day=1), -1)
    hour = timedelta(hours=1)
    for day in (2, 5, 9):
        created = datetime.combine(world.month + timedelta(days=day), time(9), WIB).astimezone(timezone.utc)
        with_history(make, KARAWANG, created, [
            ("screen", "new", "screening", created + 2 * hour, None),
            ("dismiss", "screening", "pending_approval", created + 3 * hour, {"outcome": "unfounded"}),
            ("approve", "pending_approval", "closed", created + 30 * hour, None),
        ], category="overstay", state="closed", outcome="unfounded")
    return world


def placed_text(pdf):
    """[(page number, text, left x, right x, page width)] of every piece of text the PDF draws,
    in points from the page's left edge."""
    runs, fonts = [], {}
    for number, page in enumerate(pypdf.PdfReader(io.BytesIO(pdf)).pages, start=1):
        width = float(page.mediabox.width)

        def visit(text, cm, tm, font, size, number=number, width=width):
            text = text.rstrip()
            if not text.strip():
                return
            # The text matrix, then the current transformation (WeasyPrint scales CSS px to pt).
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            points = size * math.hypot(tm[0] * cm[0] + tm[1] * cm[2], tm[0] * cm[1] + tm[1] * cm[3])
            runs.append((number, text.strip(), x, x + text_width(font, text, points, fonts), width))
        page.extract_text(visitor_text=visit)
    return runs


def text_width(font, text, points, cache):
    """How wide `text` is drawn at `points` in `font` (a PDF font dictionary): the advance widths
    of its glyphs in the font program embedded in the PDF."""
    name = str(font["/BaseFont"])
    if name not in cache:
        descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
        program = descendant["/FontDescriptor"].get_object()["/FontFile2"].get_object().get_data()
        embedded = TTFont(io.BytesIO(program))
        cache[name] = (embedded.getBestCmap() or {}, embedded["hmtx"], embedded["head"].unitsPerEm)
    glyphs, advances, em = cache[name]
    units = sum(advances[glyphs[ord(c)]][0] if ord(c) in glyphs else UNKNOWN_GLYPH_EM * em for c in text)
    return units / em * points


def test_every_table_of_the_monthly_pdf_fits_the_page(world, sign_in, harness, language):
    client = sign_in(world.actors["regional_head"])
    answer = client.get("/ringkasan/bulanan.pdf", query_string={"bulan": world.month.strftime("%Y-%m")})
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    runs = placed_text(answer.data)
    assert runs, "no text found in the PDF"

    outside = [(page, text, round(left), round(right), round(width)) for page, text, left, right, width in runs
               if left < 0 or right > width - RIGHT_MARGIN]
    assert outside == [], "text drawn into the right margin or past the page's edge"

    # The last column of the breakdown tables: its heading's words and Karawang's median are drawn.
    with harness.test_request_context():
        heading = gettext("Median time to closure")
    drawn = " ".join(text for _page, text, *_rest in runs)
    assert all(word in drawn for word in heading.split()), (heading, drawn[:2000])
    # Medians to closure: the month's, and Karawang's, overstay's and the web channel's rows.
    medians = [text for _page, text, *_rest in runs if "≈" in text]
    assert len(medians) >= 4, ("the last column's values are missing", medians)
