"""Alembic environment: runs inside the Flask app, over the app's engine and models."""

from __future__ import annotations

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

import backend.models  # noqa: F401 - registers every table on the metadata
from backend.database import UTCDateTime
from backend.extensions import db

config = context.config
# alembic.ini's logging (plain lines on the root logger) would replace the app's JSON handler.
if config.config_file_name is not None and current_app.config.get("TRUSTLINE_LOG_FORMAT") != "json":
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Write Trustline's column types as plain SQLAlchemy types in new migrations."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    """Emit SQL for the app's database URL without connecting."""
    context.configure(
        url=db.engine.url.render_as_string(hide_password=False),
        target_metadata=db.metadata,
        literal_binds=True,
        **{"compare_type": True, **current_app.extensions["migrate"].configure_args},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Apply migrations over a connection from the app's engine."""

    def skip_empty(ctx, revision, directives):  # type: ignore[no-untyped-def]
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    with db.engine.connect() as connection:
        args = {
            "compare_type": True,
            "render_item": render_item,
            **current_app.extensions["migrate"].configure_args,
        }
        args.setdefault("process_revision_directives", skip_empty)
        context.configure(connection=connection, target_metadata=db.metadata, **args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
