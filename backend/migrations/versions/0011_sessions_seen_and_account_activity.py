"""sessions seen by their owner (last use, device description) and account activity

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("client_description", sa.String(length=80), nullable=True))
    op.create_table(
        "account_activity",
        sa.Column("id", sa.String(length=22), nullable=False),
        sa.Column("user_id", sa.String(length=22), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("session_id", sa.String(length=22), nullable=True),
        sa.Column("session_description", sa.String(length=80), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("group_key", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_account_activity_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_activity")),
        sa.UniqueConstraint("user_id", "group_key", name=op.f("uq_account_activity_user_id")),
    )
    with op.batch_alter_table("account_activity", schema=None) as batch_op:
        batch_op.create_index(
            "ix_account_activity_user_created", ["user_id", "created_at", "id"], unique=False
        )
        batch_op.create_index("ix_account_activity_created_at", ["created_at"], unique=False)


def downgrade():
    with op.batch_alter_table("account_activity", schema=None) as batch_op:
        batch_op.drop_index("ix_account_activity_created_at")
        batch_op.drop_index("ix_account_activity_user_created")
    op.drop_table("account_activity")
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.drop_column("client_description")
        batch_op.drop_column("last_used_at")
