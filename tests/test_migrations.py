"""The migrations build the whole schema, tear it down, and build it again."""
import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect

from apoa import create_app
from apoa.extensions import db
from tests.conftest import app_environ, drop_database, recreate_database

EXPECTED_TABLES = {"region", "region_part", "region_source", "office", "office_region", "user_account",
                   "category", "report", "report_event", "attachment", "audit_log", "recovery_code",
                   "report_grid", "summary_due", "summary_flow", "summary_open",
                   "summary_report", "notification", "hotspot_snapshot", "wa_conversation",
                   "wa_inbound", "wa_outbound", "wa_block", "service_case", "api_token",
                   "partner_key", "api_submission", "organisation", "organisation_member", "stay",
                   "stay_change", "sttpoa_counter", "stay_document", "guest_upload", "guest_tally",
                   "indicator_series", "indicator_value", "service_rating", "rating_invitation",
                   "partner_agency", "partner_member", "forwarded_report", "joint_operation",
                   "joint_operation_agency", "joint_operation_report",
                   "subject_request", "summary_month_figures"}


def tables(url):
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"spatial_ref_sys", "alembic_version"}
    finally:
        engine.dispose()


@pytest.mark.no_db_transaction
def test_upgrade_downgrade_upgrade(database_url, tmp_path):
    url = database_url.set(database=f"{database_url.database}_migrations")
    recreate_database(url)
    app = create_app(environ=app_environ(url, APOA_INSTANCE_DIR=str(tmp_path)))
    with app.app_context():
        upgrade()
        assert tables(url) == EXPECTED_TABLES
        downgrade(revision="base")
        assert tables(url) == set()
        upgrade()
        assert tables(url) == EXPECTED_TABLES
        db.engine.dispose()
    drop_database(url)


@pytest.mark.no_db_transaction
def test_models_and_migrations_agree(database_url, tmp_path, app):
    """`flask db check` finds nothing to autogenerate: the models and the migrations describe one schema."""
    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output
