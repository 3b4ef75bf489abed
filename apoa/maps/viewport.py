"""Where a map opens: the place a link asks for (a hotspot, a shared address), else the extent of
the user's jurisdiction, else all of Indonesia."""
import math
from dataclasses import dataclass

from sqlalchemy import func, select

from apoa.auth.permissions import ALL_OFFICES, jurisdiction_office_ids
from apoa.extensions import db
from apoa.maps.clusters import MAX_ZOOM
from apoa.regions.models import Region, office_region

INDONESIA_CENTRE = (-2.5, 118.0)
INDONESIA_ZOOM = 5


@dataclass(frozen=True)
class View:
    centre: tuple           # (lat, lon)
    zoom: int
    fit_bounds: list | None  # [[south, west], [north, east]] for the script to fit, or None


def initial_view(user, args):
    asked = _asked_view(args)
    if asked is not None:
        return asked
    bounds = jurisdiction_bounds(user)
    if bounds is None:
        return View(INDONESIA_CENTRE, INDONESIA_ZOOM, None)
    (south, west), (north, east) = bounds
    return View(((south + north) / 2, (west + east) / 2), INDONESIA_ZOOM, bounds)


def _asked_view(args):
    """lat, lon and zoom from the address when all three make sense; a broken link falls back to
    the default view rather than failing."""
    try:
        lat, lon, zoom = float(args["lat"]), float(args["lon"]), int(args["zoom"])
    except (KeyError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180
            and 0 <= zoom <= MAX_ZOOM):
        return None
    return View((lat, lon), zoom, None)


def jurisdiction_bounds(user):
    """[[south, west], [north, east]] around the kabupaten/kota of the user's jurisdiction, or None
    for the Ditjen (all of Indonesia) and for a user without an office."""
    offices = jurisdiction_office_ids(user)
    if offices is ALL_OFFICES or not offices:
        return None
    extent = (select(func.ST_XMin(func.ST_Extent(Region.geom)),
                     func.ST_YMin(func.ST_Extent(Region.geom)),
                     func.ST_XMax(func.ST_Extent(Region.geom)),
                     func.ST_YMax(func.ST_Extent(Region.geom)))
              .join(office_region, office_region.c.region_id == Region.id)
              .where(office_region.c.office_id.in_(sorted(offices))))
    west, south, east, north = db.session.execute(extent).one()
    if west is None:
        return None
    return [[south, west], [north, east]]
