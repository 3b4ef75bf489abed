"""Tim PORA partner agencies, their members, reports forwarded to a team, joint operations
(apoa/partners/models.py), and the partners' role.

- partner_agency: a partner organisation (Polri, TNI, Kejaksaan, BNN, Kesbangpol, Satpol PP,
  camat, other) on an office's team; unique name per team; deactivated, never deleted.
- partner_member: the one agency of a user of role partner.
- forwarded_report: a report shared with an office's team, once per report and team, with an
  optional note of at most 1,000 characters from the officer.
- joint_operation: an operation of a team (date, optional kecamatan), planned, done (with its
  result and time, CHECKed) or cancelled; joint_operation_agency the agencies taking part;
  joint_operation_report the forwarded reports it acts on, each with its outcome.
- user_account.role may now be 'partner', and a partner, like officers, supervisors and heads,
  must have an office (their team's).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# Roles frozen here: the model's lists may grow later, this migration must not change with them.
ROLES_BEFORE = "'resident', 'officer', 'supervisor', 'regional_head', 'admin', 'lodging'"
ROLES_AFTER = ROLES_BEFORE + ", 'partner'"
OFFICE_ROLES_BEFORE = "'officer', 'supervisor', 'regional_head'"
OFFICE_ROLES_AFTER = OFFICE_ROLES_BEFORE + ", 'partner'"


def _role_checks(roles, office_roles):
    op.drop_constraint(op.f("ck_user_account_role_known"), "user_account", type_="check")
    op.create_check_constraint(op.f("ck_user_account_role_known"), "user_account", f"role IN ({roles})")
    op.drop_constraint(op.f("ck_user_account_office_for_staff"), "user_account", type_="check")
    op.create_check_constraint(
        op.f("ck_user_account_office_for_staff"),
        "user_account",
        f"role NOT IN ({office_roles}) OR office_id IS NOT NULL",
    )


def upgrade():
    _role_checks(ROLES_AFTER, OFFICE_ROLES_AFTER)
    op.create_table(
        "partner_agency",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "kind IN ('polri', 'tni', 'kejaksaan', 'bnn', 'kesbangpol', 'satpol_pp', 'camat', 'other')",
            name=op.f("ck_partner_agency_kind_known"),
        ),
        sa.CheckConstraint("char_length(name) BETWEEN 2 AND 200", name=op.f("ck_partner_agency_name_length")),
        sa.ForeignKeyConstraint(
            ["office_id"], ["office.id"], name=op.f("fk_partner_agency_office_id_office"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_agency")),
        sa.UniqueConstraint("office_id", "name", name=op.f("uq_partner_agency_office_id_name")),
    )
    op.create_index("ix_partner_agency_office_id", "partner_agency", ["office_id"], unique=False)
    op.create_table(
        "joint_operation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("kecamatan_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=12), server_default="planned", nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(state = 'done') = (done_at IS NOT NULL)", name=op.f("ck_joint_operation_done_at_iff_done")
        ),
        sa.CheckConstraint(
            "(state = 'done') = (result IS NOT NULL)", name=op.f("ck_joint_operation_result_iff_done")
        ),
        sa.CheckConstraint(
            "state IN ('planned', 'done', 'cancelled')", name=op.f("ck_joint_operation_state_known")
        ),
        sa.CheckConstraint("char_length(result) <= 4000", name=op.f("ck_joint_operation_result_length")),
        sa.CheckConstraint(
            "char_length(title) BETWEEN 3 AND 200", name=op.f("ck_joint_operation_title_length")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_joint_operation_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["kecamatan_id"],
            ["region.id"],
            name=op.f("fk_joint_operation_kecamatan_id_region"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["office.id"],
            name=op.f("fk_joint_operation_office_id_office"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_joint_operation")),
    )
    op.create_index(
        "ix_joint_operation_office_planned", "joint_operation", ["office_id", "planned_on"], unique=False
    )
    op.create_table(
        "partner_member",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["partner_agency.id"],
            name=op.f("fk_partner_member_agency_id_partner_agency"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_partner_member_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_partner_member")),
    )
    op.create_index("ix_partner_member_agency_id", "partner_member", ["agency_id"], unique=False)
    op.create_table(
        "forwarded_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("forwarded_by_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "forwarded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint("char_length(note) <= 1000", name=op.f("ck_forwarded_report_note_length")),
        sa.ForeignKeyConstraint(
            ["forwarded_by_id"],
            ["user_account.id"],
            name=op.f("fk_forwarded_report_forwarded_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["office.id"],
            name=op.f("fk_forwarded_report_office_id_office"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_forwarded_report_report_id_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forwarded_report")),
        sa.UniqueConstraint("report_id", "office_id", name=op.f("uq_forwarded_report_report_id_office_id")),
    )
    op.create_index(
        "ix_forwarded_report_office_forwarded",
        "forwarded_report",
        ["office_id", "forwarded_at"],
        unique=False,
    )
    op.create_table(
        "joint_operation_agency",
        sa.Column("operation_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["partner_agency.id"],
            name=op.f("fk_joint_operation_agency_agency_id_partner_agency"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["joint_operation.id"],
            name=op.f("fk_joint_operation_agency_operation_id_joint_operation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("operation_id", "agency_id", name=op.f("pk_joint_operation_agency")),
    )
    op.create_index(
        "ix_joint_operation_agency_agency_id", "joint_operation_agency", ["agency_id"], unique=False
    )
    op.create_table(
        "joint_operation_report",
        sa.Column("operation_id", sa.Integer(), nullable=False),
        sa.Column("forwarded_report_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "char_length(outcome) <= 1000", name=op.f("ck_joint_operation_report_outcome_length")
        ),
        sa.ForeignKeyConstraint(
            ["forwarded_report_id"],
            ["forwarded_report.id"],
            name=op.f("fk_joint_operation_report_forwarded_report_id_forwarded_report"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["joint_operation.id"],
            name=op.f("fk_joint_operation_report_operation_id_joint_operation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "operation_id", "forwarded_report_id", name=op.f("pk_joint_operation_report")
        ),
    )
    op.create_index(
        "ix_joint_operation_report_forwarded", "joint_operation_report", ["forwarded_report_id"], unique=False
    )


def downgrade():
    op.drop_index("ix_joint_operation_report_forwarded", table_name="joint_operation_report")
    op.drop_table("joint_operation_report")
    op.drop_index("ix_joint_operation_agency_agency_id", table_name="joint_operation_agency")
    op.drop_table("joint_operation_agency")
    op.drop_index("ix_forwarded_report_office_forwarded", table_name="forwarded_report")
    op.drop_table("forwarded_report")
    op.drop_index("ix_partner_member_agency_id", table_name="partner_member")
    op.drop_table("partner_member")
    op.drop_index("ix_joint_operation_office_planned", table_name="joint_operation")
    op.drop_table("joint_operation")
    op.drop_index("ix_partner_agency_office_id", table_name="partner_agency")
    op.drop_table("partner_agency")
    # The older schema has no role for partners, and their audit entries keep their accounts:
    # they become disabled resident accounts without an office, which can do nothing.
    op.execute(
        "UPDATE user_account SET role = 'resident', office_id = NULL, active = false WHERE role = 'partner'"
    )
    _role_checks(ROLES_BEFORE, OFFICE_ROLES_BEFORE)
