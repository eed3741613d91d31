"""measures: questionnaires (library and counselors' own), responses, assignments, sharing

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "measures",
        sa.Column("id", sa.String(length=22), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column(
            "origin",
            sa.Enum(
                "library",
                "counselor",
                name="measure_origin",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "kind",
            sa.Enum(
                "validated",
                "trustline_check",
                "counselor",
                name="measure_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "published",
                "retired",
                name="measure_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("author_id", sa.String(length=22), nullable=True),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_measures_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measures")),
        sa.UniqueConstraint("key", name=op.f("uq_measures_key")),
    )
    with op.batch_alter_table("measures", schema=None) as batch_op:
        batch_op.create_index("ix_measures_author_id", ["author_id"], unique=False)

    op.create_table(
        "measure_assignments",
        sa.Column("id", sa.String(length=22), nullable=False),
        sa.Column("couple_id", sa.String(length=22), nullable=False),
        sa.Column("counselor_id", sa.String(length=22), nullable=True),
        sa.Column("measure_id", sa.String(length=22), nullable=False),
        sa.Column(
            "frequency",
            sa.Enum(
                "once",
                "weekly",
                "biweekly",
                "every_4_weeks",
                name="measure_frequency",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("local_time", sa.String(length=5), nullable=False),
        sa.Column("window_hours", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "ended",
                name="measure_assignment_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["counselor_id"],
            ["users.id"],
            name=op.f("fk_measure_assignments_counselor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["couple_id"],
            ["couples.id"],
            name=op.f("fk_measure_assignments_couple_id_couples"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["measure_id"], ["measures.id"], name=op.f("fk_measure_assignments_measure_id_measures")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measure_assignments")),
    )
    with op.batch_alter_table("measure_assignments", schema=None) as batch_op:
        batch_op.create_index("ix_measure_assignments_couple_id", ["couple_id"], unique=False)

    op.create_table(
        "measure_sharing",
        sa.Column("id", sa.String(length=22), nullable=False),
        sa.Column("user_id", sa.String(length=22), nullable=False),
        sa.Column("link_id", sa.String(length=22), nullable=False),
        sa.Column("share", sa.Boolean(), nullable=False),
        sa.Column("alert_on_risk", sa.Boolean(), nullable=False),
        sa.Column("shared_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["counselor_links.id"],
            name=op.f("fk_measure_sharing_link_id_counselor_links"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_measure_sharing_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measure_sharing")),
        sa.UniqueConstraint("user_id", "link_id", name="uq_measure_sharing_user_link"),
    )
    with op.batch_alter_table("measure_sharing", schema=None) as batch_op:
        batch_op.create_index("ix_measure_sharing_link_id", ["link_id"], unique=False)

    op.create_table(
        "measure_versions",
        sa.Column("id", sa.String(length=22), nullable=False),
        sa.Column("measure_id", sa.String(length=22), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("instructions", sa.String(length=500), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("scoring", sa.JSON(), nullable=True),
        sa.Column("source", sa.JSON(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["measure_id"],
            ["measures.id"],
            name=op.f("fk_measure_versions_measure_id_measures"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measure_versions")),
        sa.UniqueConstraint("measure_id", "version", name="uq_measure_versions_measure_version"),
    )
    op.create_table(
        "measure_assignment_partners",
        sa.Column("id", sa.String(length=22), nullable=False),
        sa.Column("assignment_id", sa.String(length=22), nullable=False),
        sa.Column("user_id", sa.String(length=22), nullable=False),
        sa.Column("weekday", sa.String(length=3), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "done",
                "ended",
                name="measure_partner_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["measure_assignments.id"],
            name=op.f("fk_measure_assignment_partners_assignment_id_measure_assignments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_measure_assignment_partners_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measure_assignment_partners")),
        sa.UniqueConstraint(
            "assignment_id", "user_id", name="uq_measure_assignment_partners_assignment_user"
        ),
    )
    with op.batch_alter_table("measure_assignment_partners", schema=None) as batch_op:
        batch_op.create_index(
            "ix_measure_assignment_partners_due",
            ["next_due_at"],
            unique=False,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )
        batch_op.create_index("ix_measure_assignment_partners_user_id", ["user_id"], unique=False)

    op.create_table(
        "measure_responses",
        sa.Column("id", sa.String(length=22), nullable=False),
        sa.Column("user_id", sa.String(length=22), nullable=False),
        sa.Column("measure_id", sa.String(length=22), nullable=False),
        sa.Column("measure_version_id", sa.String(length=22), nullable=False),
        sa.Column("assignment_id", sa.String(length=22), nullable=True),
        sa.Column(
            "source",
            sa.Enum(
                "self",
                "assigned",
                name="measure_response_source",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "submitted",
                "expired",
                "missed",
                name="measure_response_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("remind_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("band", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["measure_assignments.id"],
            name=op.f("fk_measure_responses_assignment_id_measure_assignments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["measure_id"], ["measures.id"], name=op.f("fk_measure_responses_measure_id_measures")
        ),
        sa.ForeignKeyConstraint(
            ["measure_version_id"],
            ["measure_versions.id"],
            name=op.f("fk_measure_responses_measure_version_id_measure_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_measure_responses_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measure_responses")),
        sa.UniqueConstraint(
            "assignment_id", "user_id", "due_at", name="uq_measure_responses_assignment_user_due"
        ),
    )
    with op.batch_alter_table("measure_responses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_measure_responses_status_closes", ["status", "closes_at"], unique=False
        )
        batch_op.create_index(
            "ix_measure_responses_status_remind", ["status", "remind_at"], unique=False
        )
        batch_op.create_index(
            "ix_measure_responses_user_opened", ["user_id", "opened_at", "id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("measure_responses", schema=None) as batch_op:
        batch_op.drop_index("ix_measure_responses_user_opened")
        batch_op.drop_index("ix_measure_responses_status_remind")
        batch_op.drop_index("ix_measure_responses_status_closes")

    op.drop_table("measure_responses")
    with op.batch_alter_table("measure_assignment_partners", schema=None) as batch_op:
        batch_op.drop_index("ix_measure_assignment_partners_user_id")
        batch_op.drop_index(
            "ix_measure_assignment_partners_due",
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )

    op.drop_table("measure_assignment_partners")
    op.drop_table("measure_versions")
    with op.batch_alter_table("measure_sharing", schema=None) as batch_op:
        batch_op.drop_index("ix_measure_sharing_link_id")

    op.drop_table("measure_sharing")
    with op.batch_alter_table("measure_assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_measure_assignments_couple_id")

    op.drop_table("measure_assignments")
    with op.batch_alter_table("measures", schema=None) as batch_op:
        batch_op.drop_index("ix_measures_author_id")

    op.drop_table("measures")
