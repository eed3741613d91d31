"""Settings, read from TRUSTLINE_* environment variables with safe defaults.

Every variable is listed in the README's configuration table; keep the two in step.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ACCESS_TOKEN_MINUTES = 15
REFRESH_TOKEN_DAYS = 30
MAX_BODY_BYTES = 1024 * 1024
# A token counts as "fresh" (for actions that widen who sees data) this long after a password login.
FRESH_LOGIN_MINUTES = 5


def setting(name: str, *args: Any) -> Any:
    """One setting of the running app (`args`: a default when it is not set), so that services
    read their settings without importing the web framework."""
    from flask import current_app

    return current_app.config.get(name, *args) if args else current_app.config[name]


def instance_dir() -> Path:
    """The folder holding the embedded database and generated secrets: ./instance."""
    return Path(os.environ.get("TRUSTLINE_INSTANCE_DIR", "instance")).resolve()


def _default_database_url() -> str:
    return f"sqlite:///{instance_dir() / 'trustline.db'}"


def _default_secret_key() -> str:
    """Read the instance's secret key, creating it (readable by the owner only) on first use."""
    path = instance_dir() / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write a complete file aside, then link it into place: of several processes starting
        # at once, one link wins and every process reads that same, complete key.
        temporary = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return path.read_text().strip()


class ConfigError(ValueError):
    """A TRUSTLINE_* setting Trustline can't use: one line naming it and what is expected."""


# Settings whose values may hold a password or a key: their errors never quote the value.
SECRET_SETTINGS = frozenset(
    {
        "TRUSTLINE_SECRET_KEY",
        "TRUSTLINE_DATABASE_URL",
        "TRUSTLINE_RATELIMIT_STORAGE_URI",
        "TRUSTLINE_PUSH_WEBHOOK_URL",
        "TRUSTLINE_PUSH_WEBHOOK_SECRET",
    }
)
MIN_SECRET_KEY_LENGTH = 32
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")  # backend/logs.py
METRICS_MODES = ("off", "local", "on")


def _shown(raw: str) -> str:
    """A bad value as an error may quote it: on one line, and not too long."""
    return repr(raw if len(raw) <= 40 else raw[:40] + "...")


def _raw(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return None if value is None or value.strip() == "" else value.strip()


def _int(
    env: Mapping[str, str], name: str, default: int | None, *, low: int, high: int
) -> int | None:
    """An integer setting within [low, high] (seconds, counts, sizes)."""
    raw = _raw(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(
            f"{name} must be an integer from {low} to {high}, got {_shown(raw)}"
        ) from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be an integer from {low} to {high}, got {value}")
    return value


def _choice(
    env: Mapping[str, str], name: str, default: str | None, choices: tuple[str, ...]
) -> str | None:
    """One of a fixed set of words (compared without regard to case)."""
    raw = _raw(env, name)
    if raw is None:
        return default
    for choice in choices:
        if raw.lower() == choice.lower():
            return choice
    raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {_shown(raw)}")


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def _database_url(env: Mapping[str, str]) -> str:
    """The database URL: PostgreSQL through psycopg 3, or SQLite (the embedded default)."""
    name = "TRUSTLINE_DATABASE_URL"
    raw = _raw(env, name)
    if raw is None:
        return _default_database_url()
    import sqlalchemy as sa

    expected = f"{name} must be a postgresql://user:password@host:5432/name or sqlite:///path URL"
    try:
        url = sa.engine.make_url(normalize_database_url(raw))
    except sa.exc.ArgumentError:
        raise ConfigError(f"{expected}; the value is not a URL") from None
    backend, driver = url.get_backend_name(), url.get_driver_name()
    if (backend, driver) not in {("sqlite", "pysqlite"), ("postgresql", "psycopg")}:
        raise ConfigError(f"{expected}; got one starting {_scheme(raw)}://")
    return raw


def _default_storage_uri() -> str:
    """The failure counters' default: a SQLite file in the instance folder, which every
    process on this machine that shares the folder counts in (backend/ratelimit_sqlite.py)."""
    return f"sqlite:///{instance_dir() / 'ratelimit.db'}"


def _storage_uri(env: Mapping[str, str]) -> str:
    """A storage URI of the limits library (redis://, rediss://, memory://, ...), or
    sqlite:///path of Trustline's own SQLite store."""
    from limits.errors import ConfigurationError
    from limits.storage import SCHEMES

    from backend import ratelimit_sqlite

    name = "TRUSTLINE_RATELIMIT_STORAGE_URI"
    raw = _raw(env, name)
    if raw is None:
        return _default_storage_uri()
    scheme = _scheme(raw)
    if scheme not in SCHEMES or scheme.startswith("async+"):
        shown = f"one starting {scheme}://" if scheme else "a value that is not a URI"
        raise ConfigError(
            f"{name} must be a storage URI of the limits library such as redis://host:6379/0, "
            f"or sqlite:///path/to/ratelimit.db; got {shown}"
        )
    if scheme == ratelimit_sqlite.SCHEME:
        try:
            ratelimit_sqlite.path_of(raw)
        except ConfigurationError as exc:
            raise ConfigError(f"{name}: {exc}") from None
    return raw


def _http_url(env: Mapping[str, str], name: str) -> str | None:
    """An http:// or https:// URL with a host, or None when unset."""
    from urllib.parse import urlsplit

    raw = _raw(env, name)
    if raw is None:
        return None
    try:
        parts = urlsplit(raw)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        valid = False
    if not valid:
        raise ConfigError(f"{name} must be an https:// (or http://) URL with a host")
    return raw


def _secret_key(env: Mapping[str, str]) -> str | None:
    """The shared secret, when set: long enough to sign tokens (its value is never shown)."""
    name = "TRUSTLINE_SECRET_KEY"
    raw = _raw(env, name)
    if raw is not None and len(raw) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(
            f"{name} must be at least {MIN_SECRET_KEY_LENGTH} characters long (the value set "
            f"has {len(raw)}); make one with: python3 -c 'import secrets; "
            f"print(secrets.token_urlsafe(48))'"
        )
    return raw


def gunicorn_workers(env: Mapping[str, str]) -> int | None:
    """TRUSTLINE_WORKERS, when set: gunicorn's worker count (gunicorn.conf.py)."""
    return _int(env, "TRUSTLINE_WORKERS", None, low=1, high=64)


def several_processes_need_a_secret(env: Mapping[str, str], *, processes: int, what: str) -> None:
    """Refuse to start `processes` > 1 serving processes without one shared secret key.

    The generated key is per machine (per instance folder): processes elsewhere would sign
    tokens with keys of their own and refuse each other's.
    """
    if processes > 1 and _raw(env, "TRUSTLINE_SECRET_KEY") is None:
        raise ConfigError(
            f"TRUSTLINE_SECRET_KEY must be set, to the same value everywhere, when {what}"
        )


def _check_gunicorn_worker(env: Mapping[str, str]) -> None:
    """Inside gunicorn, refuse to serve without the shared secret unless it runs one worker.

    gunicorn.conf.py checks this in the master and tells its workers the count; under
    gunicorn started without it, the count is unknown, so the secret is required.
    """
    if not env.get("SERVER_SOFTWARE", "").startswith("gunicorn/"):
        return
    workers = env.get("TRUSTLINE_GUNICORN_WORKERS", "")
    processes = int(workers) if workers.isdigit() else 2
    several_processes_need_a_secret(
        env, processes=processes, what="gunicorn runs more than one worker"
    )


def load_config(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config from the environment, checking every value (ConfigError)."""
    env = os.environ if env is None else env
    _check_gunicorn_worker(env)
    return {
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(_database_url(env)),
        "SECRET_KEY": _secret_key(env),
        "TRUSTLINE_RATELIMIT_STORAGE_URI": _storage_uri(env),
        "TRUSTLINE_LOG_LEVEL": _choice(env, "TRUSTLINE_LOG_LEVEL", "INFO", LOG_LEVELS),
        "TRUSTLINE_LOG_FORMAT": _choice(env, "TRUSTLINE_LOG_FORMAT", "text", LOG_FORMATS),
        "TRUSTLINE_TRUSTED_PROXIES": _int(env, "TRUSTLINE_TRUSTED_PROXIES", 0, low=0, high=10),
        "TRUSTLINE_SCHEDULER_INTERVAL_SECONDS": _int(
            env, "TRUSTLINE_SCHEDULER_INTERVAL_SECONDS", 30, low=1, high=3600
        ),
        "TRUSTLINE_SCHEDULER_BATCH_SIZE": _int(
            env, "TRUSTLINE_SCHEDULER_BATCH_SIZE", 500, low=1, high=100_000
        ),
        "TRUSTLINE_PUSH_WEBHOOK_URL": _http_url(env, "TRUSTLINE_PUSH_WEBHOOK_URL"),
        "TRUSTLINE_PUSH_WEBHOOK_SECRET": env.get("TRUSTLINE_PUSH_WEBHOOK_SECRET") or None,
        "TRUSTLINE_PUSH_MAX_ATTEMPTS": _int(env, "TRUSTLINE_PUSH_MAX_ATTEMPTS", 6, low=1, high=100),
        "TRUSTLINE_PUSH_TIMEOUT_SECONDS": _int(
            env, "TRUSTLINE_PUSH_TIMEOUT_SECONDS", 5, low=1, high=300
        ),
        "TRUSTLINE_PUSH_BACKOFF_SECONDS": _int(
            env, "TRUSTLINE_PUSH_BACKOFF_SECONDS", 30, low=1, high=86_400
        ),
        # A path to a YAML or JSON file replacing the built-in safety resources.
        "TRUSTLINE_SAFETY_RESOURCES": env.get("TRUSTLINE_SAFETY_RESOURCES") or None,
        # argon2id cost: RFC 9106's second recommended option (64 MiB, 3 passes) by default.
        "TRUSTLINE_ARGON2_TIME_COST": _int(env, "TRUSTLINE_ARGON2_TIME_COST", 3, low=1, high=100),
        # argon2 needs at least 8 KiB per lane; 4 GiB is far past any sensible cost.
        "TRUSTLINE_ARGON2_MEMORY_KIB": _int(
            env, "TRUSTLINE_ARGON2_MEMORY_KIB", 65536, low=1024, high=4 * 1024 * 1024
        ),
        "TRUSTLINE_ARGON2_PARALLELISM": _int(
            env, "TRUSTLINE_ARGON2_PARALLELISM", 4, low=1, high=64
        ),
        # None: decided by how the app is served (see backend/metrics.py).
        "TRUSTLINE_METRICS": _choice(env, "TRUSTLINE_METRICS", None, METRICS_MODES),
        "TRUSTLINE_SCHEDULER_METRICS_PORT": _int(
            env, "TRUSTLINE_SCHEDULER_METRICS_PORT", None, low=1, high=65535
        ),
        "TRUSTLINE_WORKERS": gunicorn_workers(env),
    }


def normalize_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in the common short form."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def finalize_config(config: dict[str, Any]) -> None:
    """Fill in values that depend on others (secret key, SQLite folder, fixed limits)."""
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _default_secret_key()
    uri: str = config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///") and uri != "sqlite:///:memory:":
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    config.setdefault("JSON_SORT_KEYS", False)
