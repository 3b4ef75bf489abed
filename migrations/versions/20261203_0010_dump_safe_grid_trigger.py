"""The report_grid update trigger compares locations as bytes, so a backup restores.

pg_restore runs with an empty search_path. The trigger's WHEN clause of migration 0006 compared
OLD.location with NEW.location through PostGIS's `=` operator, which lives in the public schema:
restoring a dump failed with "operator does not exist: public.geometry = public.geometry". Two
points are the same point exactly when their bytes are the same, and bytea's comparison lives in
pg_catalog, which every search_path reaches.

Revision ID: 0010
Revises: 0009
"""
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def create_trigger(location_test):
    op.execute("DROP TRIGGER report_grid_on_update ON report")
    op.execute(f"""
        CREATE TRIGGER report_grid_on_update AFTER UPDATE OF location, office_id, state, category_id ON report
        FOR EACH ROW WHEN ({location_test} OR OLD.office_id IS DISTINCT FROM NEW.office_id
                           OR OLD.state IS DISTINCT FROM NEW.state OR OLD.category_id IS DISTINCT FROM NEW.category_id)
        EXECUTE FUNCTION report_grid_track()
    """)


def upgrade():
    create_trigger("OLD.location::bytea IS DISTINCT FROM NEW.location::bytea")


def downgrade():
    create_trigger("OLD.location IS DISTINCT FROM NEW.location")
