"""device labels and last use; names kept for erasure and for former partners

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("label", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("couple_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("display_name_at_end", sa.String(length=80), nullable=True))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("former_display_names", sa.JSON(), nullable=True))
    # Couples that ended before this revision: keep the names their members had then (the
    # nearest we know), so a former partner is not shown a neutral label for someone who was
    # never erased. Erased people keep the neutral label.
    op.execute(
        """
        UPDATE couple_members SET display_name_at_end = (
            SELECT users.display_name FROM users
            WHERE users.id = couple_members.user_id AND users.erased_at IS NULL
        )
        WHERE ended_at IS NOT NULL AND display_name_at_end IS NULL
        """
    )


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("former_display_names")
    with op.batch_alter_table("couple_members", schema=None) as batch_op:
        batch_op.drop_column("display_name_at_end")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("label")
