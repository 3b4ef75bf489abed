"""`flask --app apoa privacy record`: the record of processing activities (UU PDP Pasal 31) as
Markdown, or as JSON with --format json, generated from the configuration as it is now."""
import json

import click
from flask_babel import force_locale

from apoa.privacy.processing import as_markdown, processing_record


@click.command("record")
@click.option("--format", "output", type=click.Choice(["markdown", "json"]), default="markdown",
              show_default=True, help="Markdown for people, JSON for tools.")
@click.option("--lang", type=click.Choice(["id", "en"]), default="id", show_default=True,
              help="The language of the record's text.")
def record_command(output, lang):
    """Print the record of processing activities (UU PDP 27/2022 Pasal 31)."""
    with force_locale(lang):
        record = processing_record()
        text = (json.dumps(record.as_dict(), ensure_ascii=False, indent=2) if output == "json"
                else as_markdown(record))
    click.echo(text)
