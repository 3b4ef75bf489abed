"""`flask --app apoa indicators import FILE ...` and `flask --app apoa indicators list`."""
from pathlib import Path

import click
from flask.cli import AppGroup

from apoa.errors import UserValueError
from apoa.extensions import db
from apoa.indicators import importer, queries

indicators_cli = AppGroup("indicators", help="Regional indicators (population, lodgings, ...) "
                                             "per kabupaten/kota and year.")


@indicators_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--year", type=int, help="The year of the figures (else the file's “# year:”).")
@click.option("--source", help="Where the figures come from (else the file's “# source:”).")
@click.option("--unit", "units", multiple=True, metavar="NAME=UNIT",
              help="The unit of an indicator, e.g. population=jiwa; repeat for each column.")
def import_command(path, year, source, units):
    """Import a CSV file: a `kode` column and one column per indicator (see README)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise click.ClickException(f"{path} is not UTF-8 text: {error}") from None
    try:
        result = importer.import_indicators(text, year, source, importer.parse_units(units))
    except UserValueError as error:
        db.session.rollback()
        raise click.ClickException(f"{path}: nothing imported.\n{error.message}") from None
    db.session.commit()
    click.echo(f"{result.year}: {', '.join(result.indicators)} for {result.regions} "
               f"kabupaten/kota ({result.values} values, {result.replaced} replaced)")


@indicators_cli.command("list")
def list_command():
    """List the imported indicators: name, year, unit, number of regions, source."""
    for series, regions in queries.all_series():
        click.echo(f"{series.name}\t{series.year}\t{series.unit}\t{regions}\t{series.source}")
