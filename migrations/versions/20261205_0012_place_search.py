"""Place search: region names found despite typos, with pg_trgm's trigram index.

Residents and officers type a kecamatan, kabupaten/kota or province name to move a map
(apoa/maps/places.py); a GIN trigram index lets `<%` (word similarity) use an index instead of
comparing every one of the ~7,800 names.

Revision ID: 0012
Revises: 0011
"""
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index("ix_region_nama_trgm", "region", ["nama"], postgresql_using="gin",
                    postgresql_ops={"nama": "gin_trgm_ops"})


def downgrade():
    op.drop_index("ix_region_nama_trgm", table_name="region")
    # The extension stays: dropping it could break anything else of the database that uses it.
