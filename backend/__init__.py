"""Trustline: the backend of a couples trust-rebuilding companion."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from backend.config import ACCESS_TOKEN_MINUTES, REFRESH_TOKEN_DAYS, finalize_config, load_config

API_TITLE = "Trustline API"
API_VERSION = "1.0.0"
# The domains that hold something about a person: each one's `personal_data` module is its part
# of the export and of erasure (backend/privacy/service.py).
PERSONAL_DATA = (
    "accounts",
    "couples",
    "checkins",
    "scheduling",
    "agreements",
    "conversations",
    "counseling",
    "timeline",
    "journal",
    "notifications",
    "safety",
    "idempotency",
    "calendar_feeds",
    "measures",
)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask application; `config` overrides settings read from the environment."""
    from backend.fastjson import FastJSONProvider
    from backend.http import TrustlineFlask

    # TrustlineFlask runs a request again after a transient database conflict (backend/http.py).
    app = TrustlineFlask(__name__, instance_relative_config=False)
    app.json = FastJSONProvider(app)  # orjson for response bodies (backend/fastjson.py)
    settings = load_config()
    settings.update(config or {})
    finalize_config(settings)
    app.config.update(settings)
    _configure_libraries(app)
    register_extensions(app)
    register_blueprints(app)
    register_personal_data()
    register_jobs()
    register_error_handlers(app)
    _prepare_at_start()
    if app.config["TRUSTLINE_TRUSTED_PROXIES"]:
        hops = app.config["TRUSTLINE_TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    return app


def _prepare_at_start() -> None:
    """What a request would otherwise build the first time it needs it, once per process: the
    safety phrases' patterns (about a third of a second), or the first person who writes free
    text after a start waits for them. Built before gunicorn forks, the workers share them."""
    from backend.safety import phrases

    phrases.matcher()


def _configure_libraries(app: Flask) -> None:
    from datetime import timedelta

    config = app.config
    if config.get("TRUSTLINE_PUSH_WEBHOOK_URL") and not config.get("TRUSTLINE_PUSH_WEBHOOK_SECRET"):
        raise ValueError(
            "TRUSTLINE_PUSH_WEBHOOK_URL is set without TRUSTLINE_PUSH_WEBHOOK_SECRET: pushes "
            "must be signed. Set both, or neither to keep notifications in-app."
        )
    if config.get("TRUSTLINE_PUSH_WEBHOOK_SECRET"):
        from backend.notifications.delivery import signing_key

        signing_key(config["TRUSTLINE_PUSH_WEBHOOK_SECRET"])  # a malformed whsec_ stops the start
    # No test statement when a connection leaves the pool: a connection the server closed is
    # found by its first statement and the request runs again (backend/database.py, `is_stale`).
    engine_options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {"pool_pre_ping": False})
    # A statement's parameters are what people typed (a journal entry, a name, an e-mail): a
    # failing statement is raised and logged without them (backend/redaction.py does the rest).
    engine_options["hide_parameters"] = True
    config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options
    if config.get("TRUSTLINE_SAFETY_RESOURCES"):
        from backend.safety.service import check_override

        check_override(config["TRUSTLINE_SAFETY_RESOURCES"])
    config["JWT_SECRET_KEY"] = config["SECRET_KEY"]
    config["JWT_TOKEN_LOCATION"] = ["headers"]
    config["JWT_ACCESS_TOKEN_EXPIRES"] = timedelta(minutes=ACCESS_TOKEN_MINUTES)
    config["JWT_REFRESH_TOKEN_EXPIRES"] = timedelta(days=REFRESH_TOKEN_DAYS)
    config["API_TITLE"] = API_TITLE
    config["API_VERSION"] = API_VERSION
    config["OPENAPI_VERSION"] = "3.0.3"
    config["OPENAPI_URL_PREFIX"] = "/api/v1"
    config["OPENAPI_JSON_PATH"] = "openapi.json"
    config["API_SPEC_OPTIONS"] = {
        "info": {
            "description": (
                "Trustline helps two partners rebuild trust: pairing, shared check-ins, "
                "transparency agreements, guided conversations and a counselor link. Errors are "
                "RFC 9457 problem details (application/problem+json)."
            )
        },
    }


def register_extensions(app: Flask) -> None:
    """Bind the extension objects and the failure limiter to the app."""
    from backend.accounts.access import init_jwt
    from backend.extensions import api, db, jwt, migrate
    from backend.http import init_http
    from backend.idempotency.middleware import init_idempotency
    from backend.logs import configure_logging
    from backend.metrics import init_metrics
    from backend.openapi import ConventionsPlugin
    from backend.ratelimit import FailureLimiter, init_limit_fields
    from backend.redaction import protect_logs

    configure_logging(app)
    protect_logs()
    db.init_app(app)
    init_metrics(app)
    migrate.init_app(app, db, directory=_migrations_dir(), render_as_batch=True)
    jwt.init_app(app)
    init_jwt(app)
    api.init_app(app, spec_kwargs={"extra_plugins": [ConventionsPlugin()]})
    app.extensions["trustline_limiter"] = FailureLimiter(
        app.config["TRUSTLINE_RATELIMIT_STORAGE_URI"]
    )
    init_limit_fields(app)
    init_http(app)
    init_idempotency(app)


def register_blueprints(app: Flask) -> None:
    """Register every domain's routes (flask-smorest blueprints are documented in the spec)."""
    from backend.accounts.routes import blp as accounts
    from backend.agreements.routes import blp as agreements
    from backend.calendar_feeds.routes import blp as calendar_feeds
    from backend.checkins.routes import blp as checkins
    from backend.conversations.routes import blp as conversations
    from backend.counseling.routes import blp as counseling
    from backend.couples.routes import blp as couples
    from backend.extensions import api
    from backend.journal.routes import blp as journal
    from backend.measures.routes import blp as measures
    from backend.notifications.routes import blp as notifications
    from backend.ops.routes import blp as ops
    from backend.ops.routes import docs_blp
    from backend.safety.routes import blp as safety
    from backend.scheduling.routes import blp as schedules
    from backend.timeline.routes import blp as timeline

    for blueprint in (
        ops,
        accounts,
        couples,
        timeline,
        checkins,
        schedules,
        agreements,
        conversations,
        counseling,
        notifications,
        calendar_feeds,
        journal,
        safety,
        measures,
    ):
        api.register_blueprint(blueprint)
    app.register_blueprint(docs_blp)
    # The counselors' web console: HTML pages, not part of the API or its spec.
    from backend.console.routes import blp as console

    app.register_blueprint(console)


def register_personal_data() -> None:
    """Register every domain's part of the export and of erasure with privacy."""
    from importlib import import_module

    for domain in PERSONAL_DATA:
        import_module(f"backend.{domain}.personal_data")


def register_jobs() -> None:
    """Import every domain's jobs module: each registers its timed work with the tick
    (backend/jobs.py). This is the one place that lists them; the order they run in is the
    registry's, not this import order."""
    import backend.accounts.jobs
    import backend.agreements.jobs
    import backend.checkins.jobs
    import backend.conversations.jobs
    import backend.counseling.jobs
    import backend.idempotency.jobs
    import backend.measures.jobs
    import backend.notifications.jobs  # noqa: F401 - imported for what it registers


def register_error_handlers(app: Flask) -> None:
    """problem+json for every error."""
    from backend.errors import register_error_handlers as install

    install(app)


def _migrations_dir() -> str:
    from pathlib import Path

    return str(Path(__file__).parent / "migrations")
