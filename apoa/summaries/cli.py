"""`flask --app apoa summaries ...`: the heads' stored monthly figures."""
import click
from flask.cli import AppGroup

from apoa.extensions import db
from apoa.summaries.stored import FILL_MONTHS, fill_month_figures

summaries_cli = AppGroup("summaries", help="Summaries shared outside the office.")


@summaries_cli.command("store-months")
@click.option("--months", default=FILL_MONTHS, show_default=True, type=click.IntRange(1, 24),
              help="Ended months to keep, counting back from the last one.")
def store_months_command(months):
    """Compute and keep the shared figures of the last ended months for every office's
    jurisdiction (the job worker does this every 15 minutes; safe to run while it does)."""
    computed = fill_month_figures(months)
    db.session.commit()
    click.echo(f"stored months computed: {computed}")
