"""Finding a region by a typed name, for the steps that ask "which kecamatan?" or "which
kabupaten/kota?": the place of a report typed as an address, and the office that information,
questions and complaints are about.

Names are matched like the map's place search (apoa/maps/places.py: pg_trgm word similarity, so a
typo still finds the place). `region_steps()` makes the pair of steps every such question needs:
type a name, then pick one of the matches (one match is taken at once where `pick_single`).
"""
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import aliased

from apoa.errors import UserValueError
from apoa.extensions import db
from apoa.maps.places import MAX_RESULTS, MIN_WORD_SIMILARITY, search_text
from apoa.regions.models import Office, Region, RegionLevel, office_region
from apoa.whatsapp.flow_steps import (Next, Step, Wrong, choice, picked, remember,
                                      require_text)
from apoa.whatsapp.messages import ROW_TITLE_LIMIT, Menu

KECAMATAN = (RegionLevel.kecamatan.value,)
KABUPATEN_OR_KECAMATAN = (RegionLevel.kabupaten_kota.value, RegionLevel.kecamatan.value)


def search_regions(typed, levels):
    """Regions of `levels` whose names match `typed`, best first: [{"id", "title", "about"}]."""
    try:
        query = search_text(typed)
    except UserValueError as error:
        raise Wrong(error.message) from None
    db.session.execute(text("SELECT set_config('pg_trgm.word_similarity_threshold', :t, true)"),
                       {"t": str(MIN_WORD_SIMILARITY)})
    parent = aliased(Region)
    typed_name = bindparam("q", query)
    rows = db.session.execute(
        select(Region.id, Region.nama, Region.level, parent.nama.label("parent"))
        .outerjoin(parent, parent.kode == Region.parent_kode)
        .where(Region.nama.op("%>")(typed_name), Region.level.in_(levels))
        .order_by(func.word_similarity(typed_name, Region.nama).desc(),
                  func.similarity(typed_name, Region.nama).desc(), Region.nama)
        .limit(MAX_RESULTS)).all()
    return [{"id": row.id, "title": _region_title(row.level, row.nama),
             "about": row.parent or ""} for row in rows]


def _region_title(level, name):
    if level == RegionLevel.kecamatan.value:
        return _("Kec. %(name)s", name=name)
    return name


def office_of_region(region_id):
    """The office whose jurisdiction holds the region (a kecamatan: its kabupaten/kota)."""
    region = db.session.get(Region, region_id)
    if region is None:
        return None
    kabupaten_kode = (region.parent_kode if region.level == RegionLevel.kecamatan.value
                      else region.kode)
    return db.session.scalar(
        select(Office).join(office_region, office_region.c.office_id == Office.id)
        .join(Region, Region.id == office_region.c.region_id)
        .where(Region.kode == kabupaten_kode))


def point_in_kecamatan(region_id):
    """(lon, lat, radius_m) of a point surely inside the kecamatan, and the radius of a circle as
    large as it: how far the true place may be from that point."""
    surface = func.ST_PointOnSurface(Region.geom)
    area = func.ST_Area(func.geography(Region.geom))
    row = db.session.execute(
        select(func.ST_X(surface), func.ST_Y(surface), func.sqrt(area / func.pi()))
        .where(Region.id == region_id, Region.level == RegionLevel.kecamatan.value)).one_or_none()
    return tuple(row) if row else None


def _region_row(match):
    # A row's title shows 24 characters: a longer name is given whole in the description.
    about = match["about"]
    if len(match["title"]) > ROW_TITLE_LIMIT:
        about = f"{match['title']}, {about}" if about else match["title"]
    return choice(f"region:{match['id']}", match["title"], about)


def region_steps(name, flow, question, levels, on_found, pick_single=False):
    """Two steps: `name` asks `question(turn)` and searches what is typed; `name`_pick offers the
    matches. `on_found(turn, region)` (region = {"id", "title", "about"}) says what comes next."""
    pick = f"{name}_pick"

    def ask(turn):
        return question(turn)

    def handle(turn):
        matches = search_regions(require_text(turn), levels)
        if not matches:
            raise Wrong(_("We found no place with that name. Check the spelling and type it "
                          "again."))
        if pick_single and len(matches) == 1:
            return on_found(turn, matches[0])
        remember(turn.conversation, offered=matches)
        return Next(pick)

    def ask_pick(turn):
        rows = tuple(_region_row(m) for m in turn.data.get("offered", []))
        return [Menu(_("Which one do you mean? If it is not in the list, type the name again."),
                     _("Choose the place"), rows)]

    def handle_pick(turn):
        offered = {f"region:{m['id']}": m for m in turn.data.get("offered", [])}
        chosen = picked(turn, [choice(id_, m["title"]) for id_, m in offered.items()])
        if chosen is not None:
            return on_found(turn, offered[chosen])
        if turn.incoming.kind == "text":
            return handle(turn)
        raise Wrong(_("Choose a place from the list, or type its name again."))

    return {name: Step(flow, ask, handle), pick: Step(flow, ask_pick, handle_pick)}
