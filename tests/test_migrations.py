"""The schema comes from the migrations, and they match the models on both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

import backend.models  # noqa: F401 - every table on the metadata
from backend.extensions import db
from tests.conftest import BACKENDS, build_app, database_url_for


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_database_upgrades_to_head_matching_the_models(backend, tmp_path_factory):
    app = build_app(database_url_for(backend, tmp_path_factory, suffix="migrations"))
    with app.app_context():
        directory = app.extensions["migrate"].directory
        upgrade(directory=directory)
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
        assert differences == []
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {t.name for t in db.metadata.sorted_tables} <= tables
        downgrade(directory=directory, revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_0009_keeps_the_names_members_of_already_ended_couples_had(backend, tmp_path_factory):
    app = build_app(database_url_for(backend, tmp_path_factory, suffix="migrations"))
    with app.app_context():
        directory = app.extensions["migrate"].directory
        upgrade(directory=directory, revision="0008")
        at = "2026-01-01 00:00:00"
        with db.engine.begin() as conn:
            for uid, name, erased in (("u1", "Alice", None), ("u2", "Bob", at), ("u3", "Cy", None)):
                conn.execute(
                    sa.text(
                        "INSERT INTO users (id, email, display_name, role, password_hash,"
                        " timezone, discreet_notifications, erased_at, created_at, updated_at,"
                        " password_changed_at) VALUES (:id, :email, :name, 'partner', 'x', 'UTC',"
                        " true, :erased, :at, :at, :at)"
                    ),
                    {
                        "id": uid,
                        "email": f"{uid}@example.com",
                        "name": name,
                        "erased": erased,
                        "at": at,
                    },
                )
            conn.execute(
                sa.text(
                    "INSERT INTO couples (id, status, timezone, created_at, updated_at, ended_at)"
                    " VALUES ('c1', 'ended', 'UTC', :at, :at, :at),"
                    " ('c2', 'active', 'UTC', :at, :at, NULL)"
                ),
                {"at": at},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO couple_members (id, couple_id, user_id, joined_at, ended_at)"
                    " VALUES ('m1', 'c1', 'u1', :at, :at), ('m2', 'c1', 'u2', :at, :at),"
                    " ('m3', 'c2', 'u3', :at, NULL)"
                ),
                {"at": at},
            )
        upgrade(directory=directory, revision="0009")
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, display_name_at_end FROM couple_members"))
            kept = {row[0]: row[1] for row in rows}
        assert kept == {"m1": "Alice", "m2": None, "m3": None}
        downgrade(directory=directory, revision="base")
        db.engine.dispose()
