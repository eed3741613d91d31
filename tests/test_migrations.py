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
