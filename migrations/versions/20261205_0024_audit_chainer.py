"""Audit entries written unchained, sealed later by the chainer (apoa/audit/chain.py).

- audit_log.chain_pos: an entry's place in the hash chain, given by the chainer; NULL until then.
  Existing entries were chained in seq order under the old writers' lock, so their place is their
  seq and their hashes stay valid as they are.
- prev_hash and hash may be NULL (unchained), but only together with chain_pos (sealed_whole).
- ix_audit_log_unchained: the few entries waiting for the chainer, found without a scan.
- The append-only trigger lets one UPDATE through: sealing an unchained entry (position and
  hashes set, content untouched). DELETE, TRUNCATE and every other UPDATE are refused as before.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05
"""

from alembic import op
import sqlalchemy as sa

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

SEALING_ALLOWED = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.chain_pos IS NULL AND OLD.hash IS NULL AND OLD.prev_hash IS NULL
       AND (NEW.seq, NEW.at, NEW.actor_id, NEW.action, NEW.object, NEW.detail)
           IS NOT DISTINCT FROM (OLD.seq, OLD.at, OLD.actor_id, OLD.action, OLD.object, OLD.detail)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""

# Before 0024 the chain's order was seq order; a chain sealed since may differ (an entry committed
# late is chained late), and then no downgrade can keep it verifiable without rewriting history.
NOT_DOWNGRADABLE = """
SELECT count(*) FROM (
    SELECT chain_pos, seq, lag(seq) OVER (ORDER BY chain_pos) AS seq_before FROM audit_log
) entries WHERE chain_pos IS NULL OR seq < seq_before
"""


def upgrade():
    op.add_column("audit_log", sa.Column("chain_pos", sa.BigInteger(), nullable=True))
    op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    op.execute("UPDATE audit_log SET chain_pos = seq")
    op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    op.alter_column("audit_log", "prev_hash", existing_type=sa.CHAR(length=64), nullable=True)
    op.alter_column("audit_log", "hash", existing_type=sa.CHAR(length=64), nullable=True)
    op.create_unique_constraint(op.f("uq_audit_log_chain_pos"), "audit_log", ["chain_pos"])
    op.create_check_constraint(
        op.f("ck_audit_log_sealed_whole"),
        "audit_log",
        "(chain_pos IS NULL) = (hash IS NULL) AND (hash IS NULL) = (prev_hash IS NULL)",
    )
    op.create_index(
        "ix_audit_log_unchained",
        "audit_log",
        ["seq"],
        unique=False,
        postgresql_where=sa.text("chain_pos IS NULL"),
    )
    op.execute(SEALING_ALLOWED)


def downgrade():
    if op.get_bind().scalar(sa.text(NOT_DOWNGRADABLE)):
        raise RuntimeError(
            "audit_log holds entries not chained, or chained out of seq order: the old format "
            "cannot hold them. Run `flask --app apoa audit chain` first; entries chained out of "
            "order cannot be downgraded at all."
        )
    op.execute(APPEND_ONLY)
    op.drop_index(
        "ix_audit_log_unchained", table_name="audit_log", postgresql_where=sa.text("chain_pos IS NULL")
    )
    op.drop_constraint(op.f("ck_audit_log_sealed_whole"), "audit_log", type_="check")
    op.drop_constraint(op.f("uq_audit_log_chain_pos"), "audit_log", type_="unique")
    op.alter_column("audit_log", "hash", existing_type=sa.CHAR(length=64), nullable=False)
    op.alter_column("audit_log", "prev_hash", existing_type=sa.CHAR(length=64), nullable=False)
    op.drop_column("audit_log", "chain_pos")
