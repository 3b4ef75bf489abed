"""Initial schema: regions and offices, users, reports with their history and photos, categories.

State, outcome and other vocabularies are frozen here as CHECK lists; a later change to them needs a
migration of its own. The PostGIS extension is created here and left in place on downgrade, since
other schemas of the same database may use it.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 04:20:27.653165
"""
from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


SEED_CATEGORIES = [
    # (code, Indonesian name, English name)
    ("overstay", "Dugaan melebihi izin tinggal (overstay)", "Suspected overstay"),
    ("illegal_work", "Dugaan bekerja tanpa izin", "Suspected illegal work"),
    ("suspicious_activity", "Kegiatan mencurigakan", "Suspicious activity"),
    ("unreported_lodger", "Orang asing menginap tidak dilaporkan", "Unreported foreign lodger"),
    ("other", "Lainnya", "Other"),
]


def upgrade():
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table('category',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name_id', sa.String(length=120), nullable=False),
    sa.Column('name_en', sa.String(length=120), nullable=False),
    sa.Column('position', sa.SmallInteger(), server_default='0', nullable=False),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_category')),
    sa.UniqueConstraint('code', name=op.f('uq_category_code'))
    )
    op.create_table('office',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("(kind = 'ditjen') = (parent_id IS NULL)", name=op.f('ck_office_parent_unless_ditjen')),
    sa.CheckConstraint("kind IN ('ditjen', 'kanwil', 'kantor')", name=op.f('ck_office_kind_known')),
    sa.ForeignKeyConstraint(['parent_id'], ['office.id'], name=op.f('fk_office_parent_id_office'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_office')),
    sa.UniqueConstraint('code', name=op.f('uq_office_code'))
    )
    op.create_geospatial_table('region',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kode', sa.String(length=16), nullable=False),
    sa.Column('nama', sa.String(length=120), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('parent_kode', sa.String(length=16), nullable=True),
    sa.Column('label_lat', sa.Float(), nullable=True),
    sa.Column('label_lon', sa.Float(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False,
                               from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("(level = 'provinsi') = (parent_kode IS NULL)", name=op.f('ck_region_parent_unless_provinsi')),
    sa.CheckConstraint("kode ~ '^[0-9]{2}(\\.[0-9]{2}(\\.[0-9]{2,3})?)?$'", name=op.f('ck_region_kode_format')),
    sa.CheckConstraint("level IN ('provinsi', 'kabupaten_kota', 'kecamatan')", name=op.f('ck_region_level_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_region')),
    sa.UniqueConstraint('kode', name=op.f('uq_region_kode'))
    )
    op.create_geospatial_index('ix_region_geom', 'region', ['geom'], unique=False, postgresql_using='gist',
                               postgresql_ops={})
    op.create_index('ix_region_level_parent', 'region', ['level', 'parent_kode'], unique=False)
    op.create_table('region_source',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('features', sa.Integer(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_region_source'))
    )
    op.create_table('office_region',
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_office_region_office_id_office'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_office_region_region_id_region'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('office_id', 'region_id', name=op.f('pk_office_region')),
    sa.UniqueConstraint('region_id', name=op.f('uq_office_region_region_id'))
    )
    op.create_geospatial_table('region_part',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POLYGON', srid=4326, dimension=2, spatial_index=False,
                               from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_region_part_region_id_region'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_region_part'))
    )
    op.create_geospatial_index('ix_region_part_geom', 'region_part', ['geom'], unique=False, postgresql_using='gist',
                               postgresql_ops={})
    op.create_index('ix_region_part_region_id', 'region_part', ['region_id'], unique=False)
    op.create_table('user_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('session_version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("role IN ('resident', 'officer', 'supervisor', 'regional_head', 'admin')",
                       name=op.f('ck_user_account_role_known')),
    sa.CheckConstraint("role NOT IN ('officer', 'supervisor', 'regional_head') OR office_id IS NOT NULL",
                       name=op.f('ck_user_account_office_for_staff')),
    sa.CheckConstraint('email = lower(email)', name=op.f('ck_user_account_email_lowercase')),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_user_account_office_id_office'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account')),
    sa.UniqueConstraint('email', name=op.f('uq_user_account_email'))
    )
    op.create_index(op.f('ix_user_account_office_id'), 'user_account', ['office_id'], unique=False)
    op.create_geospatial_table('report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tracking_code', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('action_taken', sa.String(length=20), nullable=True),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('people_count', sa.SmallInteger(), nullable=False),
    sa.Column('nationality_guess', sa.String(length=2), nullable=True),
    sa.Column('place_kind', sa.String(length=20), nullable=False),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False,
                                   from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('address_text', sa.String(length=500), nullable=True),
    sa.Column('accuracy_m', sa.Double(), nullable=True),
    sa.Column('kab_id', sa.Integer(), nullable=True),
    sa.Column('kec_id', sa.Integer(), nullable=True),
    sa.Column('office_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=True),
    sa.Column('contact', sa.LargeBinary(), nullable=True),
    sa.Column('consent', sa.Boolean(), nullable=False),
    sa.Column('duplicate_of_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(outcome IS NOT DISTINCT FROM 'duplicate') = (duplicate_of_id IS NOT NULL)",
                       name=op.f('ck_report_duplicate_names_original')),
    sa.CheckConstraint("(outcome IS NOT DISTINCT FROM 'violation_found') = (action_taken IS NOT NULL)",
                       name=op.f('ck_report_action_iff_violation')),
    sa.CheckConstraint("(state IN ('closed', 'pending_approval')) = (outcome IS NOT NULL)",
                       name=op.f('ck_report_outcome_iff_decided')),
    sa.CheckConstraint("action_taken IS NULL OR action_taken IN ('administrative', 'deportation', 'pro_justitia', "
                       "'referral')", name=op.f('ck_report_action_taken_known')),
    sa.CheckConstraint("channel IN ('web', 'android', 'whatsapp', 'api', 'officer')",
                       name=op.f('ck_report_channel_known')),
    sa.CheckConstraint("outcome IS NULL OR outcome IN ('violation_found', 'compliant', 'not_found', 'unfounded', "
                       "'duplicate', 'out_of_scope')", name=op.f('ck_report_outcome_known')),
    sa.CheckConstraint("place_kind IN ('residence', 'lodging', 'workplace', 'project_site', 'public_place', 'other')",
                       name=op.f('ck_report_place_kind_known')),
    sa.CheckConstraint("state IN ('new', 'screening', 'assigned', 'in_field', 'pending_approval', 'closed')",
                       name=op.f('ck_report_state_known')),
    sa.CheckConstraint("state NOT IN ('assigned', 'in_field') OR assignee_id IS NOT NULL",
                       name=op.f('ck_report_assignee_when_assigned')),
    sa.CheckConstraint('accuracy_m IS NULL OR accuracy_m >= 0', name=op.f('ck_report_accuracy_non_negative')),
    sa.CheckConstraint('char_length(description) BETWEEN 10 AND 2000', name=op.f('ck_report_description_length')),
    sa.CheckConstraint('consent', name=op.f('ck_report_consent_given')),
    sa.CheckConstraint('duplicate_of_id IS NULL OR duplicate_of_id <> id',
                       name=op.f('ck_report_not_duplicate_of_itself')),
    sa.CheckConstraint('people_count BETWEEN 1 AND 1000', name=op.f('ck_report_people_count_range')),
    sa.ForeignKeyConstraint(['assignee_id'], ['user_account.id'], name=op.f('fk_report_assignee_id_user_account'),
                            ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['category_id'], ['category.id'], name=op.f('fk_report_category_id_category'),
                            ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['report.id'], name=op.f('fk_report_duplicate_of_id_report'),
                            ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['kab_id'], ['region.id'], name=op.f('fk_report_kab_id_region'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['kec_id'], ['region.id'], name=op.f('fk_report_kec_id_region'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_report_office_id_office'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['reporter_id'], ['user_account.id'], name=op.f('fk_report_reporter_id_user_account'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report')),
    sa.UniqueConstraint('tracking_code', name=op.f('uq_report_tracking_code'))
    )
    op.create_index('ix_report_created_at', 'report', ['created_at'], unique=False)
    op.create_index('ix_report_due_at', 'report', ['due_at'], unique=False)
    op.create_index('ix_report_kab_id', 'report', ['kab_id'], unique=False)
    op.create_index('ix_report_kec_id', 'report', ['kec_id'], unique=False)
    op.create_geospatial_index('ix_report_location', 'report', ['location'], unique=False, postgresql_using='gist',
                               postgresql_ops={})
    op.create_index('ix_report_office_state_created', 'report', ['office_id', 'state', 'created_at'], unique=False)
    op.create_index('ix_report_state', 'report', ['state'], unique=False)
    op.create_table('report_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('from_state', sa.String(length=20), nullable=True),
    sa.Column('to_state', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("from_state IS NULL OR from_state IN ('new', 'screening', 'assigned', 'in_field', "
                       "'pending_approval', 'closed')", name=op.f('ck_report_event_from_state_known')),
    sa.CheckConstraint("to_state IN ('new', 'screening', 'assigned', 'in_field', 'pending_approval', 'closed')",
                       name=op.f('ck_report_event_to_state_known')),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_report_event_actor_id_user_account'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], name=op.f('fk_report_event_report_id_report'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_event'))
    )
    op.create_index('ix_report_event_report_id_id', 'report_event', ['report_id', 'id'], unique=False)
    op.create_table('attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('mime', sa.String(length=20), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('bytes', sa.Integer(), nullable=False),
    sa.Column('stored_path', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("mime IN ('image/jpeg', 'image/png', 'image/webp')", name=op.f('ck_attachment_mime_allowed')),
    sa.CheckConstraint('width > 0 AND height > 0 AND bytes > 0', name=op.f('ck_attachment_dimensions_positive')),
    sa.ForeignKeyConstraint(['event_id'], ['report_event.id'], name=op.f('fk_attachment_event_id_report_event'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], name=op.f('fk_attachment_report_id_report'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment')),
    sa.UniqueConstraint('stored_path', name=op.f('uq_attachment_stored_path'))
    )
    op.create_index('ix_attachment_report_id', 'attachment', ['report_id'], unique=False)
    seed_categories()


def seed_categories():
    category = sa.table("category", sa.column("code"), sa.column("name_id"), sa.column("name_en"),
                        sa.column("position"))
    op.bulk_insert(category, [
        {"code": code, "name_id": name_id, "name_en": name_en, "position": position}
        for position, (code, name_id, name_en) in enumerate(SEED_CATEGORIES)
    ])


def downgrade():
    op.drop_index('ix_attachment_report_id', table_name='attachment')
    op.drop_table('attachment')
    op.drop_index('ix_report_event_report_id_id', table_name='report_event')
    op.drop_table('report_event')
    op.drop_index('ix_report_state', table_name='report')
    op.drop_index('ix_report_office_state_created', table_name='report')
    op.drop_geospatial_index('ix_report_location', table_name='report', postgresql_using='gist', column_name='location')
    op.drop_index('ix_report_kec_id', table_name='report')
    op.drop_index('ix_report_kab_id', table_name='report')
    op.drop_index('ix_report_due_at', table_name='report')
    op.drop_index('ix_report_created_at', table_name='report')
    op.drop_geospatial_table('report')
    op.drop_index(op.f('ix_user_account_office_id'), table_name='user_account')
    op.drop_table('user_account')
    op.drop_index('ix_region_part_region_id', table_name='region_part')
    op.drop_geospatial_index('ix_region_part_geom', table_name='region_part', postgresql_using='gist',
                             column_name='geom')
    op.drop_geospatial_table('region_part')
    op.drop_table('office_region')
    op.drop_table('region_source')
    op.drop_index('ix_region_level_parent', table_name='region')
    op.drop_geospatial_index('ix_region_geom', table_name='region', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('region')
    op.drop_table('office')
    op.drop_table('category')
