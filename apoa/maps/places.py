"""Place search (/tempat?q=…): kecamatan, kabupaten/kota and province names, found despite typos,
for the search box that moves a map (templates/maps/_place_search.html, static/js/place-search.js).

Public: region names and boundaries are public data, and the answer holds nothing about reports.
Names are matched by trigram word similarity (pg_trgm, index from migration 0012), so "karawnag"
still finds Kabupaten Karawang.
"""
import unicodedata

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import text

from apoa.errors import ApoaError, UserValueError
from apoa.extensions import db, limiter
from apoa.maps.views import json_error
from apoa.regions.models import RegionLevel

bp = Blueprint("places", __name__)

MIN_QUERY_LENGTH = 2
MAX_QUERY_LENGTH = 100
MAX_RESULTS = 8
# Word similarity a name needs: a transposed pair of letters in an 8-letter word scores about
# 0.55 ("karawnag" against "Karawang"), an unrelated name well under 0.4.
MIN_WORD_SIMILARITY = 0.4
# Typing sends a request per search, not per key; a whole office behind one address stays well
# under this.
SEARCH_LIMIT = "120 per minute"
ONE_HOUR = 3600
LEVEL_ORDER = [RegionLevel.provinsi.value, RegionLevel.kabupaten_kota.value,
               RegionLevel.kecamatan.value]

# `<%` is word similarity above pg_trgm.word_similarity_threshold, which the trigram index serves.
_SEARCH_SQL = text("""
SELECT r.kode, r.nama, r.level, parent.nama AS parent, grandparent.nama AS grandparent,
       ST_XMin(box) AS west, ST_YMin(box) AS south, ST_XMax(box) AS east, ST_YMax(box) AS north
FROM region r
CROSS JOIN LATERAL (SELECT Box2D(r.geom) AS box) extent
LEFT JOIN region parent ON parent.kode = r.parent_kode
LEFT JOIN region grandparent ON grandparent.kode = parent.parent_kode
WHERE :q <% r.nama
ORDER BY word_similarity(:q, r.nama) DESC, array_position(:levels, r.level),
         similarity(:q, r.nama) DESC, r.nama
LIMIT :limit
""")


@bp.get("/tempat")
@limiter.limit(SEARCH_LIMIT)
def search():
    """{"places": [{kode, name, level, level_title, parents, bbox: [w, s, e, n]}]}, best first."""
    try:
        query = search_text(request.args.get("q", ""))
    except ApoaError as error:
        return json_error(error)
    response = jsonify(places=find_places(query))
    response.cache_control.public = True
    response.cache_control.max_age = ONE_HOUR
    return response


def search_text(raw):
    """The search text, trimmed, or UserValueError saying what is wrong with it."""
    if any(unicodedata.category(character) == "Cc" for character in raw):
        raise UserValueError(_("The search may contain only letters, digits, spaces and "
                               "punctuation."))
    query = " ".join(raw.split())
    if len(query) < MIN_QUERY_LENGTH:
        raise UserValueError(_("Type at least %(n)d letters of a place name.",
                               n=MIN_QUERY_LENGTH))
    if len(query) > MAX_QUERY_LENGTH:
        raise UserValueError(_("A place name has at most %(n)d characters.", n=MAX_QUERY_LENGTH))
    return query


def find_places(query):
    """The regions whose names best match `query`: provinces before kabupaten/kota before
    kecamatan among equally good matches."""
    db.session.execute(text("SELECT set_config('pg_trgm.word_similarity_threshold', :t, true)"),
                       {"t": str(MIN_WORD_SIMILARITY)})
    rows = db.session.execute(_SEARCH_SQL, {"q": query, "levels": LEVEL_ORDER,
                                            "limit": MAX_RESULTS}).all()
    return [place(row) for row in rows]


def place(row):
    return {
        "kode": row.kode,
        "name": row.nama,
        "level": row.level,
        "level_title": str(RegionLevel(row.level).title),
        "parents": [name for name in (row.parent, row.grandparent) if name],
        "bbox": [round(value, 5) for value in (row.west, row.south, row.east, row.north)],
    }
