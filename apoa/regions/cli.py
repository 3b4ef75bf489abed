"""`flask --app apoa regions ...` and `flask --app apoa offices ...`."""
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from apoa.errors import UserValueError
from apoa.extensions import db
from apoa.regions import importer, offices
from apoa.regions.lookup import locate
from apoa.regions.models import OfficeKind

regions_cli = AppGroup("regions", help="Administrative boundaries: import and point lookup.")
offices_cli = AppGroup("offices", help="Immigration offices and their jurisdictions.")

STANDARD_FILES = ("idn_provinsi.geojson", "idn_kabupaten_kota.geojson", "idn_kecamatan.geojson")


def _fail(error):
    db.session.rollback()
    raise click.ClickException(str(error.message))


@regions_cli.command("import")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--skip-unchanged", is_flag=True,
              help="Skip files already imported with the same content.")
def import_command(paths, skip_unchanged):
    """Import GeoJSON files of regions (default: the three standard files in APOA_REGIONS_DIR)."""
    paths = paths or [Path(current_app.config["REGIONS_DIR"]) / name for name in STANDARD_FILES]
    try:
        with click.progressbar(length=1, label="Importing regions", show_pos=True) as bar:
            result = importer.import_regions(paths, skip_unchanged, progress=_advance(bar))
    except UserValueError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"{result.created} regions created, {result.updated} updated, "
               f"{len(result.repaired)} repaired, {result.parts} lookup pieces; "
               f"{result.skipped_files} of {result.files} files unchanged")


def _advance(bar):
    def progress(step, total):
        bar.length = total
        bar.update(step)
    return progress


# Southern latitudes start with "-": let them through as arguments, not options.
@regions_cli.command("lookup", context_settings={"ignore_unknown_options": True})
@click.argument("lon", type=float)
@click.argument("lat", type=float)
def lookup_command(lon, lat):
    """Print the kecamatan, kabupaten/kota and provinsi of a point (longitude latitude)."""
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise click.ClickException(f"{lon} {lat} is not a longitude/latitude pair")
    location = locate(lon, lat)
    if location is None:
        raise click.ClickException(f"{lon} {lat} lies outside every region of Indonesia")
    for level, place in location.levels():
        click.echo(f"{level}\t{place.kode}\t{place.nama}")


@offices_cli.command("create")
@click.option("--code", required=True, help="A short unique code, e.g. KANIM-KARAWANG.")
@click.option("--name", required=True)
@click.option("--kind", required=True, type=click.Choice([k.value for k in OfficeKind]))
@click.option("--parent", "parent_code",
              help="Code of the parent office (Kanwil for a Kantor, Ditjen for a Kanwil).")
def create_office_command(code, name, kind, parent_code):
    """Create an office."""
    try:
        office = offices.create_office(code, name, kind, parent_code)
    except UserValueError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"created office {office.code}")


@offices_cli.command("set-regions")
@click.argument("code")
@click.argument("region_codes", nargs=-1, required=True)
def set_regions_command(code, region_codes):
    """Set the jurisdiction of office CODE to these kabupaten/kota codes (replacing the old one)."""
    try:
        office = offices.set_jurisdiction(code, region_codes)
    except UserValueError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"{office.code} covers {', '.join(r.kode for r in office.regions)}")


@offices_cli.command("set-visiting")
@click.argument("code")
@click.option("--address", help="The office's street address, as residents should find it.")
@click.option("--hours", help='Opening hours, e.g. "Senin–Jumat 08.00–16.00 WIB".')
def set_visiting_command(code, address, hours):
    """Set the address and opening hours that WhatsApp's information menu gives for office CODE."""
    try:
        office = offices.set_visiting_details(code, address, hours)
    except UserValueError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"{office.code}: {office.address or '-'} ({office.hours or '-'})")


@offices_cli.command("list")
def list_command():
    """List offices with their jurisdictions."""
    for office in offices.all_offices():
        regions = ", ".join(r.kode for r in office.regions) or "-"
        parent = office.parent.code if office.parent else "-"
        click.echo(f"{office.code}\t{office.kind}\t{parent}\t{office.name}\t{regions}")
