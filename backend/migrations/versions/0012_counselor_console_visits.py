"""the counselors' web console: when a counselor last opened each linked couple

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("counselor_links", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("counselor_visited_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table("counselor_links", schema=None) as batch_op:
        batch_op.drop_column("counselor_visited_at")
