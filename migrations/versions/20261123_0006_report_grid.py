"""Report counts per map grid cell, kept current by a trigger, for the zoomed-out officers' map.

The map's clusters at country and province zoom would otherwise group every report of the view
(a million rows: several hundred milliseconds). report_grid holds the count of reports per cell
of GRID_CELL degrees (apoa/maps/clusters.py, zoom 9: about 20 km), office, state and category;
coarser zooms merge cells by shifting their indexes (cells at zoom z are 2^(9-z) grid cells wide,
so floor(floor(x / c) / 2^k) = floor(x / (c · 2^k)) gives exactly the cells the raw query would).

Every insert, delete and change of a report's location, office, state or category moves its count,
in the same transaction. `report_grid_rebuild()` recomputes the table from the reports (used after
bulk loads with the trigger disabled).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# 360 / 2^9 / 4 degrees: a power-of-two fraction, exact in floating point, equal to
# apoa.maps.clusters.cell_size(GRID_ZOOM) (a test holds them equal).
GRID_CELL = "0.17578125"


def upgrade():
    op.execute("""
        CREATE TABLE report_grid (
            i integer NOT NULL,
            j integer NOT NULL,
            office_id integer,
            state varchar(20) NOT NULL,
            category_id integer NOT NULL,
            reports integer NOT NULL,
            CONSTRAINT uq_report_grid_key UNIQUE NULLS NOT DISTINCT (i, j, office_id, state, category_id)
        )
    """)
    op.execute(f"""
        CREATE FUNCTION report_grid_add(location geometry, office integer, report_state varchar,
                                        category integer, delta integer) RETURNS void
        LANGUAGE sql AS $$
            INSERT INTO report_grid AS g (i, j, office_id, state, category_id, reports)
            VALUES (floor(ST_X(location) / {GRID_CELL})::integer, floor(ST_Y(location) / {GRID_CELL})::integer,
                    office, report_state, category, delta)
            ON CONFLICT ON CONSTRAINT uq_report_grid_key
            DO UPDATE SET reports = g.reports + EXCLUDED.reports
        $$
    """)
    # On an update the old key is decremented and the new one incremented in a fixed order (by
    # state, then office), so two transactions moving reports between the same cells cannot
    # deadlock on each other's rows.
    op.execute("""
        CREATE FUNCTION report_grid_track() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                PERFORM report_grid_add(NEW.location, NEW.office_id, NEW.state, NEW.category_id, 1);
            ELSIF TG_OP = 'DELETE' THEN
                PERFORM report_grid_add(OLD.location, OLD.office_id, OLD.state, OLD.category_id, -1);
            ELSIF (OLD.state, coalesce(OLD.office_id, 0)) <= (NEW.state, coalesce(NEW.office_id, 0)) THEN
                PERFORM report_grid_add(OLD.location, OLD.office_id, OLD.state, OLD.category_id, -1);
                PERFORM report_grid_add(NEW.location, NEW.office_id, NEW.state, NEW.category_id, 1);
            ELSE
                PERFORM report_grid_add(NEW.location, NEW.office_id, NEW.state, NEW.category_id, 1);
                PERFORM report_grid_add(OLD.location, OLD.office_id, OLD.state, OLD.category_id, -1);
            END IF;
            RETURN NULL;
        END
        $$
    """)
    op.execute("""
        CREATE TRIGGER report_grid_on_insert_delete AFTER INSERT OR DELETE ON report
        FOR EACH ROW EXECUTE FUNCTION report_grid_track()
    """)
    op.execute("""
        CREATE TRIGGER report_grid_on_update AFTER UPDATE OF location, office_id, state, category_id ON report
        FOR EACH ROW WHEN (OLD.location IS DISTINCT FROM NEW.location OR OLD.office_id IS DISTINCT FROM NEW.office_id
                           OR OLD.state IS DISTINCT FROM NEW.state OR OLD.category_id IS DISTINCT FROM NEW.category_id)
        EXECUTE FUNCTION report_grid_track()
    """)
    op.execute(f"""
        CREATE FUNCTION report_grid_rebuild() RETURNS void LANGUAGE sql AS $$
            TRUNCATE report_grid;
            INSERT INTO report_grid (i, j, office_id, state, category_id, reports)
            SELECT floor(ST_X(location) / {GRID_CELL})::integer, floor(ST_Y(location) / {GRID_CELL})::integer,
                   office_id, state, category_id, count(*)
            FROM report GROUP BY 1, 2, 3, 4, 5;
        $$
    """)
    op.execute("SELECT report_grid_rebuild()")


def downgrade():
    op.execute("DROP TRIGGER report_grid_on_update ON report")
    op.execute("DROP TRIGGER report_grid_on_insert_delete ON report")
    op.execute("DROP FUNCTION report_grid_rebuild()")
    op.execute("DROP FUNCTION report_grid_track()")
    op.execute("DROP FUNCTION report_grid_add(geometry, integer, varchar, integer, integer)")
    op.execute("DROP TABLE report_grid")
