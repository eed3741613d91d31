"""The `trustline` command: serve, openapi, and Flask-Migrate's `db` group."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path

import click
import yaml
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate import upgrade

from backend import create_app


@click.group(cls=FlaskGroup, create_app=create_app, add_version_option=False)
def main() -> None:
    """Trustline: the backend of a couples trust-rebuilding companion."""


def migrate_to_head() -> None:
    """Create the database if needed, apply every migration and load the built-in content."""
    from backend.checkins.library import load_library

    upgrade(directory=current_app.extensions["migrate"].directory)
    load_library()


@main.command("seed")
@with_appcontext
def seed() -> None:
    """Migrate, and load the built-in content (prompt library); safe to run again."""
    from backend.checkins.library import load_library

    upgrade(directory=current_app.extensions["migrate"].directory)
    report = load_library()
    click.echo(
        f"Prompt library: {report.prompts_created} prompts added, {report.prompts_revised} "
        f"revised, {report.prompts_retired} retired; {report.sets_created} sets added, "
        f"{report.sets_changed} changed, {report.sets_retired} retired."
    )


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--scheduler/--no-scheduler",
    default=True,
    show_default=True,
    help="Run the scheduled jobs inside this process (the embedded default).",
)
@click.option("--demo", is_flag=True, help="Fill in the demo couple first (see `trustline demo`).")
@with_appcontext
def serve(host: str, port: int, scheduler: bool, demo: bool) -> None:
    """Migrate the database and run the API (the embedded default: one process, SQLite)."""
    from werkzeug.serving import run_simple

    from backend.scheduling.runner import start_scheduler

    migrate_to_head()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if demo:
        from backend.demo import build_demo, describe

        click.echo(describe(build_demo(), base_url=f"http://{host}:{port}"))
    if scheduler:
        start_scheduler(app)
    click.echo(
        f"Trustline API on http://{host}:{port}/api/v1  (docs: http://{host}:{port}/api/docs)"
    )
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


@main.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the scheduled jobs alone (production: beside gunicorn workers). SIGTERM stops it.

    It does not migrate: run `trustline seed` once per release first, so that several
    scheduler processes starting together never race on the schema or the library.
    """
    from backend.scheduling.runner import run_forever

    run_forever(current_app._get_current_object())  # type: ignore[attr-defined]


@main.command("tick")
@click.option(
    "--at",
    "moment",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"]),
    default=None,
    help="Run as if it were this instant (e.g. 2026-11-29T18:01:00+00:00), to try schedules.",
)
@with_appcontext
def tick_command(moment: datetime | None) -> None:
    """Run the scheduled jobs once, now (or --at an instant), and print what they did."""
    from backend import clock
    from backend.scheduling.jobs import tick

    with clock.at(moment) if moment else nullcontext():
        report = tick()
    click.echo(
        f"opened {report.opened}, missed {report.missed}, expired {report.expired}, "
        f"reminded {report.reminded}, purged {report.purged}"
    )


def render_openapi() -> str:
    """The OpenAPI document of this code, as YAML with stable ordering."""
    spec = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    return yaml.safe_dump(spec, sort_keys=True, allow_unicode=True, width=100)


@main.command("openapi")
@click.option(
    "--output",
    "-o",
    default="openapi.yaml",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the spec ('-' for standard output).",
)
@click.option("--check", is_flag=True, help="Exit 1 if the file differs from the code.")
@with_appcontext
def openapi(output: Path, check: bool) -> None:
    """Write openapi.yaml from the code (never edit it by hand)."""
    text = render_openapi()
    if str(output) == "-":
        click.echo(text, nl=False)
        return
    if check:
        current = output.read_text() if output.exists() else ""
        if current != text:
            click.echo(f"{output} is out of date: run `trustline openapi`.", err=True)
            sys.exit(1)
        click.echo(f"{output} is up to date.")
        return
    output.write_text(text)
    click.echo(f"Wrote {output}.")


@main.command("demo")
@with_appcontext
def demo_command() -> None:
    """Fill the database with a demo couple, their counselor and eight weeks of history."""
    from backend.demo import build_demo, describe

    migrate_to_head()
    click.echo(describe(build_demo()))
