"""The `trustline` command: serve, openapi, and Flask-Migrate's `db` group."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path

import click
import yaml
from flask import Flask, current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext
from flask_migrate import upgrade

from backend import create_app
from backend.config import ConfigError, several_processes_need_a_secret

# Every `trustline` command but `serve` is one process: its metrics stay in its memory.
# Multiprocess mode is gunicorn's (gunicorn.conf.py), whose folder it wipes at start: a
# scheduler writing there would lose its values, and would report the workers' requests as its
# own. `trustline serve` runs gunicorn workers of its own: their values add up in a folder of
# this run, which must be named before prometheus_client is imported (it reads it then).
SERVE_METRICS_DIR: str | None = None
os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
if sys.argv[1:2] == ["serve"]:
    SERVE_METRICS_DIR = tempfile.mkdtemp(prefix="trustline-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = SERVE_METRICS_DIR


def create_checked_app() -> Flask:
    """The app, or one line naming the setting that stops it (no traceback, no value)."""
    try:
        return create_app()
    except ValueError as exc:
        if isinstance(exc, ConfigError) or str(exc).startswith("TRUSTLINE_"):
            raise click.ClickException(str(exc).splitlines()[0]) from None
        raise


class TrustlineGroup(FlaskGroup):
    """Flask's command group, whose --help names a bad setting in one line, not a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The commands; when the app can't be built, say why and list Trustline's own."""
        try:
            ctx.ensure_object(ScriptInfo).load_app()
        except click.ClickException as exc:
            click.secho(f"Error: {exc.format_message()}\n", err=True, fg="red")
            return sorted(click.Group.list_commands(self, ctx))
        return super().list_commands(ctx)


@click.group(cls=TrustlineGroup, create_app=create_checked_app, add_version_option=False)
def main() -> None:
    """Trustline: the backend of a couples trust-rebuilding companion."""


def migrate_to_head() -> None:
    """Create the database if needed, apply every migration and load the built-in content."""
    from backend.checkins.library import load_library
    from backend.measures.library import load_library as load_measures

    upgrade(directory=current_app.extensions["migrate"].directory)
    load_library()
    load_measures()


@main.command("seed")
@with_appcontext
def seed() -> None:
    """Migrate, and load the built-in content (prompt library); safe to run again."""
    from backend.checkins.library import load_library
    from backend.logs import report
    from backend.measures.library import load_library as load_measures

    upgrade(directory=current_app.extensions["migrate"].directory)
    loaded = load_library()
    measures = load_measures()
    report(
        current_app,
        f"Prompt library: {loaded.prompts_created} prompts added, {loaded.prompts_revised} "
        f"revised, {loaded.prompts_retired} retired; {loaded.sets_created} sets added, "
        f"{loaded.sets_changed} changed, {loaded.sets_retired} retired.",
    )
    report(
        current_app,
        f"Measure library: {measures.created} added, {measures.revised} revised, "
        f"{measures.retired} retired.",
    )


# Not in an app context (Flask's commands get one unless told otherwise): the master's would be
# inherited by every forked worker, and a sync worker serves in that same thread, so its requests
# would reuse it instead of pushing their own: `g` and the database session would never be torn
# down, and a request would see objects an earlier one loaded (an old password hash among them).
@main.command("serve", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="gunicorn worker processes [default: TRUSTLINE_WORKERS, else 2; 1 with threads when "
    "TRUSTLINE_RATELIMIT_STORAGE_URI is memory://].",
)
@click.option(
    "--scheduler/--no-scheduler",
    default=True,
    show_default=True,
    help="Run the scheduled jobs inside the server (the embedded default).",
)
@click.option("--demo", is_flag=True, help="Fill in the demo couple first (see `trustline demo`).")
def serve(host: str, port: int, workers: int | None, scheduler: bool, demo: bool) -> None:
    """Migrate the database and run the API on gunicorn (the embedded default: one command,
    SQLite, the scheduler inside)."""
    from backend import embedded
    from backend.config import gunicorn_workers
    from backend.extensions import db
    from backend.logs import report
    from backend.metrics import default_mode

    app = click.get_current_context().ensure_object(ScriptInfo).load_app()
    # Everything done once happens here, in gunicorn's master, before the workers fork; and
    # outside any app context, so that no worker inherits one (each request gets its own `g`).
    with app.app_context():
        migrate_to_head()
        if app.config["TRUSTLINE_METRICS"] is None:
            app.config["TRUSTLINE_METRICS"] = default_mode(host)
        if demo:
            from backend.demo import build_demo, describe

            click.echo(describe(build_demo(), base_url=f"http://{host}:{port}"))
        db.session.remove()
        db.engine.dispose()  # no worker may share the master's connections
    shared = embedded.several_workers_allowed(app.config["TRUSTLINE_RATELIMIT_STORAGE_URI"])
    count = (
        workers or gunicorn_workers(os.environ) or (embedded.SHARED_STORE_WORKERS if shared else 1)
    )
    if count > 1 and not shared:
        # Each process would count failed logins and wrong codes on its own, multiplying
        # every allowance a guesser has: refuse rather than weaken the limits quietly.
        raise click.UsageError(
            f"{count} workers would each count failed logins and wrong codes on their own "
            "(TRUSTLINE_RATELIMIT_STORAGE_URI is memory://). Unset it (the counts are then "
            "shared in the instance folder's ratelimit.db) or point it at Redis, or serve "
            "with one worker."
        )
    master = os.getpid()
    lock = None
    if scheduler:
        handle, lock = tempfile.mkstemp(prefix="trustline-scheduler-", suffix=".lock")
        os.close(handle)
    address = f"http://{embedded.bind_address(host, port)}"
    report(
        app,
        f"Trustline API on {address}/api/v1  (docs: {address}/api/docs); "
        f"{count} worker{'s' if count > 1 else ''}",
    )
    try:
        embedded.run(app, host=host, port=port, workers=count, scheduler_lock=lock)
    finally:
        # Workers leave through here too (gunicorn forks inside `run`): only the master tidies.
        if os.getpid() == master:
            if lock:
                Path(lock).unlink(missing_ok=True)
            if SERVE_METRICS_DIR:
                shutil.rmtree(SERVE_METRICS_DIR, ignore_errors=True)


@main.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the scheduled jobs alone (production: beside gunicorn workers). SIGTERM stops it.

    It does not migrate: run `trustline seed` once per release first, so that several
    scheduler processes starting together never race on the schema or the library.
    """
    from backend.scheduling.runner import run_forever, serve_scheduler_metrics

    try:
        # The scheduler beside gunicorn is a second process: both must sign with one key.
        several_processes_need_a_secret(
            os.environ, processes=2, what="a separate `trustline scheduler` runs"
        )
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    serve_scheduler_metrics(app)
    run_forever(app)


# What `trustline tick` reports, in this order (also fields of its JSON record).
TICK_COUNTS = ("opened", "missed", "expired", "reminded", "purged")


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
    from backend.logs import report
    from backend.scheduling.jobs import tick

    started = time.perf_counter()
    with clock.at(moment) if moment else nullcontext():
        done = tick()
    counts = {name: getattr(done, name) for name in TICK_COUNTS}
    report(
        current_app,
        ", ".join(f"{name} {count}" for name, count in counts.items()),
        **counts,
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
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
