"""Foreign guests reported by lodgings, companies/sponsors and private hosts (apoa/guests), and
the role of their staff.

- organisation: a lodging, company/sponsor or private host; its place (point, kabupaten,
  kecamatan, office by the region lookup) and its verification by the office (pending, verified,
  rejected; CHECKs tie the state to the decision's time and a rejection's note).
- organisation_member: the users who report guests for an organisation, one of them the person
  in charge who signed it up.
- stay: one foreign guest's stay, from check-in to check-out or cancellation (never deleted by
  the workflow). Names, sex, date of birth, passport and permit numbers only encrypted
  (`personal`); the passport number also as a keyed hash for exact search; in the clear what
  officers filter on. Copies its organisation's office and kabupaten for the "present now" index.
- stay_change: append-only history of a stay after check-in (corrections, check-out,
  cancellation); old and new values of personal fields only encrypted (`sealed`).
- sttpoa_counter: the last STTPOA receipt number per office code and year.
- user_account.role may now be 'lodging' (staff of such organisations).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# Roles frozen here: the model's list may grow later, this migration must not change with it.
ROLES_BEFORE = "'resident', 'officer', 'supervisor', 'regional_head', 'admin'"
ROLES_AFTER = ROLES_BEFORE + ", 'lodging'"


def _role_check(roles):
    op.drop_constraint(op.f("ck_user_account_role_known"), "user_account", type_="check")
    op.create_check_constraint(op.f("ck_user_account_role_known"), "user_account", f"role IN ({roles})")


def upgrade():
    _role_check(ROLES_AFTER)
    op.create_table(
        "sttpoa_counter",
        sa.Column("prefix", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.CheckConstraint("last_number >= 0", name=op.f("ck_sttpoa_counter_last_number_non_negative")),
        sa.PrimaryKeyConstraint("prefix", "year", name=op.f("pk_sttpoa_counter")),
    )
    op.create_geospatial_table(
        "organisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("licence_no", sa.String(length=40), nullable=True),
        sa.Column("lodging_kind", sa.String(length=20), nullable=True),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column(
            "location",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("kab_id", sa.Integer(), nullable=False),
        sa.Column("kec_id", sa.Integer(), nullable=True),
        sa.Column("office_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(kind = 'lodging') = (lodging_kind IS NOT NULL)",
            name=op.f("ck_organisation_lodging_kind_iff_lodging"),
        ),
        sa.CheckConstraint(
            "(state = 'pending') = (decided_at IS NULL)", name=op.f("ck_organisation_decided_iff_not_pending")
        ),
        sa.CheckConstraint("kind IN ('lodging', 'company', 'host')", name=op.f("ck_organisation_kind_known")),
        sa.CheckConstraint(
            "lodging_kind IS NULL OR lodging_kind IN ('hotel', 'guesthouse', 'villa', 'kos', 'apartment', 'other')",
            name=op.f("ck_organisation_lodging_kind_known"),
        ),
        sa.CheckConstraint(
            "state <> 'rejected' OR decision_note IS NOT NULL",
            name=op.f("ck_organisation_rejection_has_note"),
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'verified', 'rejected')", name=op.f("ck_organisation_state_known")
        ),
        sa.CheckConstraint("char_length(name) BETWEEN 2 AND 200", name=op.f("ck_organisation_name_length")),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["user_account.id"],
            name=op.f("fk_organisation_decided_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["kab_id"], ["region.id"], name=op.f("fk_organisation_kab_id_region"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["kec_id"], ["region.id"], name=op.f("fk_organisation_kec_id_region"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["office.id"], name=op.f("fk_organisation_office_id_office"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation")),
    )
    op.create_geospatial_index(
        "ix_organisation_location",
        "organisation",
        ["location"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("ix_organisation_office_state", "organisation", ["office_id", "state"], unique=False)
    op.create_table(
        "organisation_member",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("is_person_in_charge", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_organisation_member_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_organisation_member_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_id", "user_id", name=op.f("pk_organisation_member")),
    )
    op.create_index("ix_organisation_member_user_id", "organisation_member", ["user_id"], unique=False)
    op.create_table(
        "stay",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=True),
        sa.Column("kab_id", sa.Integer(), nullable=False),
        sa.Column("sttpoa_no", sa.String(length=60), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=True),
        sa.Column("personal", sa.LargeBinary(), nullable=False),
        sa.Column("passport_hash", sa.String(length=64), nullable=False),
        sa.Column("nationality", sa.String(length=3), nullable=False),
        sa.Column("passport_expiry", sa.Date(), nullable=False),
        sa.Column("permit_kind", sa.String(length=20), nullable=False),
        sa.Column("permit_expiry", sa.Date(), nullable=True),
        sa.Column("arrived_in_indonesia", sa.Date(), nullable=False),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("planned_check_out", sa.Date(), nullable=True),
        sa.Column("checked_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("room", sa.String(length=20), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("late", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(state = 'cancelled') = (cancel_reason IS NOT NULL)",
            name=op.f("ck_stay_cancel_reason_iff_cancelled"),
        ),
        sa.CheckConstraint("nationality ~ '^[A-Z]{1,3}$'", name=op.f("ck_stay_nationality_format")),
        sa.CheckConstraint("passport_hash ~ '^[0-9a-f]{64}$'", name=op.f("ck_stay_passport_hash_hex")),
        sa.CheckConstraint(
            "permit_kind IN ('visit_visa', 'visa_on_arrival', 'itas', 'itap', 'diplomatic', 'other')",
            name=op.f("ck_stay_permit_kind_known"),
        ),
        sa.CheckConstraint(
            "state <> 'checked_out' OR checked_out_at IS NOT NULL", name=op.f("ck_stay_checked_out_has_time")
        ),
        sa.CheckConstraint(
            "state <> 'present' OR checked_out_at IS NULL", name=op.f("ck_stay_present_not_checked_out")
        ),
        sa.CheckConstraint(
            "state IN ('present', 'checked_out', 'cancelled')", name=op.f("ck_stay_state_known")
        ),
        sa.CheckConstraint(
            "checked_out_at IS NULL OR checked_out_at >= checked_in_at",
            name=op.f("ck_stay_check_out_after_check_in"),
        ),
        sa.CheckConstraint(
            "planned_check_out IS NULL OR planned_check_out >= arrived_in_indonesia",
            name=op.f("ck_stay_planned_check_out_after_arrival"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_stay_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["kab_id"], ["region.id"], name=op.f("fk_stay_kab_id_region"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["office.id"], name=op.f("fk_stay_office_id_office"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_stay_organisation_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stay")),
        sa.UniqueConstraint("sttpoa_no", name=op.f("uq_stay_sttpoa_no")),
    )
    op.create_index(
        "ix_stay_group_id",
        "stay",
        ["group_id"],
        unique=False,
        postgresql_where=sa.text("group_id IS NOT NULL"),
    )
    op.create_index("ix_stay_office_checked_in", "stay", ["office_id", "checked_in_at"], unique=False)
    op.create_index(
        "ix_stay_office_present",
        "stay",
        ["office_id", "checked_in_at"],
        unique=False,
        postgresql_where=sa.text("state = 'present'"),
    )
    op.create_index(
        "ix_stay_organisation_checked_in", "stay", ["organisation_id", "checked_in_at"], unique=False
    )
    op.create_index("ix_stay_passport_hash", "stay", ["passport_hash"], unique=False)
    op.create_index(
        "uq_stay_guest_check_in",
        "stay",
        ["organisation_id", "passport_hash", "checked_in_at"],
        unique=True,
        postgresql_where=sa.text("state <> 'cancelled'"),
    )
    op.create_table(
        "stay_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stay_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("sealed", sa.LargeBinary(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "sealed IS NULL OR (old_value IS NULL AND new_value IS NULL)",
            name=op.f("ck_stay_change_personal_values_sealed"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["user_account.id"],
            name=op.f("fk_stay_change_actor_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["stay_id"], ["stay.id"], name=op.f("fk_stay_change_stay_id_stay"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stay_change")),
    )
    op.create_index("ix_stay_change_stay_id_id", "stay_change", ["stay_id", "id"], unique=False)


def downgrade():
    op.drop_index("ix_stay_change_stay_id_id", table_name="stay_change")
    op.drop_table("stay_change")
    op.drop_index(
        "uq_stay_guest_check_in", table_name="stay", postgresql_where=sa.text("state <> 'cancelled'")
    )
    op.drop_index("ix_stay_passport_hash", table_name="stay")
    op.drop_index("ix_stay_organisation_checked_in", table_name="stay")
    op.drop_index("ix_stay_office_present", table_name="stay", postgresql_where=sa.text("state = 'present'"))
    op.drop_index("ix_stay_office_checked_in", table_name="stay")
    op.drop_index("ix_stay_group_id", table_name="stay", postgresql_where=sa.text("group_id IS NOT NULL"))
    op.drop_table("stay")
    op.drop_index("ix_organisation_member_user_id", table_name="organisation_member")
    op.drop_table("organisation_member")
    op.drop_index("ix_organisation_office_state", table_name="organisation")
    op.drop_geospatial_index(
        "ix_organisation_location", table_name="organisation", postgresql_using="gist", column_name="location"
    )
    op.drop_geospatial_table("organisation")
    op.drop_table("sttpoa_counter")
    # Organisation staff become residents again: the older schema has no role for them.
    op.execute("UPDATE user_account SET role = 'resident' WHERE role = 'lodging'")
    _role_check(ROLES_BEFORE)
