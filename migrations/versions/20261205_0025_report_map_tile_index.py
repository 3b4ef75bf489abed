"""The officers' map at street zoom, by tile (apoa/maps/point_tiles.py): one B-tree index that holds
every column a tile's answer needs, so a tile's reports are read from a few index pages
(an index-only scan) instead of one heap page per report.

- ix_report_map_tile: keyed by the report's map column at zoom 16 (Web Mercator x, 65,536 columns)
  then its latitude, so a tile is one contiguous range; location, id, tracking_code, state,
  office_id, category_id and created_at included. The key expression is the one
  apoa/maps/point_tiles.py writes (TILE_COLUMN): the planner matches it as text.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05
"""

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    op.execute(
        "CREATE INDEX ix_report_map_tile ON report "
        "((floor((ST_X(location) + 180) / 360 * 65536)::integer), (ST_Y(location))) "
        "INCLUDE (location, id, tracking_code, state, office_id, category_id, created_at)"
    )


def downgrade():
    op.execute("DROP INDEX ix_report_map_tile")
