"""Offices (Ditjen → Kanwil → Kantor Imigrasi) and their jurisdictions. Services flush, never
commit."""
import logging

from flask_babel import gettext as _
from sqlalchemy import select

from apoa.errors import UserValueError
from apoa.extensions import db
from apoa.regions.lookup import locate
from apoa.regions.models import Office, OfficeKind, Region, RegionLevel

log = logging.getLogger("apoa.regions")

# The kind of office each kind must sit under.
PARENT_KIND = {OfficeKind.ditjen: None, OfficeKind.kanwil: OfficeKind.ditjen,
               OfficeKind.kantor: OfficeKind.kanwil}


def find_office(code):
    return db.session.scalar(select(Office).where(Office.code == code))


def get_office(code):
    office = find_office(code)
    if office is None:
        raise UserValueError(_("There is no office with the code %(code)s.", code=code))
    return office


def create_office(code, name, kind, parent_code=None):
    """Create an office under the parent its kind requires (a Kantor under a Kanwil, and so on)."""
    kind = _parse_kind(kind)
    if find_office(code):
        raise UserValueError(_("An office with the code %(code)s already exists.", code=code))
    parent = _check_parent(kind, parent_code)
    office = Office(code=code, name=name.strip(), kind=kind.value, parent=parent)
    db.session.add(office)
    db.session.flush()
    log.info("created office %s (%s)", office.code, office.kind)
    return office


MAX_HOURS_LENGTH = 200


def set_visiting_details(code, address=None, hours=None):
    """Set what residents are told about visiting the office (WhatsApp's information menu): its
    address and opening hours. A value left as None is kept; an empty one is removed."""
    office = get_office(code)
    if hours is not None and len(hours.strip()) > MAX_HOURS_LENGTH:
        raise UserValueError(_("The opening hours may be at most %(n)d characters.",
                               n=MAX_HOURS_LENGTH))
    if address is not None:
        office.address = address.strip() or None
    if hours is not None:
        office.hours = hours.strip() or None
    db.session.flush()
    log.info("visiting details of office %s set", office.code)
    return office


def _parse_kind(kind):
    try:
        return OfficeKind(kind)
    except ValueError:
        raise UserValueError(_("Unknown office kind %(kind)s.", kind=kind)) from None


def _check_parent(kind, parent_code):
    wanted = PARENT_KIND[kind]
    if wanted is None:
        if parent_code:
            raise UserValueError(_("The Directorate General has no parent office."))
        return None
    if not parent_code:
        raise UserValueError(_("This office needs a parent office."))
    parent = get_office(parent_code)
    if parent.kind != wanted.value:
        raise UserValueError(_("The parent of this office must be of the kind %(kind)s.",
                               kind=wanted.title))
    return parent


def set_jurisdiction(office_code, region_codes):
    """Make these kabupaten/kota the office's whole jurisdiction; a region already held by another
    office is refused, so every point resolves to one office."""
    office = get_office(office_code)
    regions = [_kabupaten(kode) for kode in dict.fromkeys(region_codes)]
    for region in regions:
        holder = _holder_of(region)
        if holder is not None and holder.id != office.id:
            raise UserValueError(_("%(region)s already belongs to %(office)s.",
                                   region=f"{region.kode} {region.nama}", office=holder.code))
    office.regions = regions
    db.session.flush()
    log.info("office %s now covers %d regions", office.code, len(regions))
    return office


def _kabupaten(kode):
    region = db.session.scalar(select(Region).where(Region.kode == kode))
    if region is None:
        raise UserValueError(_("There is no region with the code %(kode)s.", kode=kode))
    if region.level != RegionLevel.kabupaten_kota.value:
        raise UserValueError(_("%(kode)s is not a regency or city; "
                               "a jurisdiction is made of those.", kode=kode))
    return region


def _holder_of(region):
    return db.session.scalar(select(Office).where(Office.regions.any(Region.id == region.id)))


def office_for_point(lon, lat):
    """The office whose jurisdiction holds the point's kabupaten/kota, or None."""
    location = locate(lon, lat)
    if location is None or location.office_id is None:
        return None
    return db.session.get(Office, location.office_id)


def all_offices():
    return db.session.scalars(select(Office).order_by(Office.kind, Office.code)).all()
