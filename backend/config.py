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


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


def load_config(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config from the environment."""
    env = os.environ if env is None else env
    database_url = env.get("TRUSTLINE_DATABASE_URL") or _default_database_url()
    return {
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(database_url),
        "SECRET_KEY": env.get("TRUSTLINE_SECRET_KEY") or None,
        "TRUSTLINE_RATELIMIT_STORAGE_URI": env.get("TRUSTLINE_RATELIMIT_STORAGE_URI", "memory://"),
        "TRUSTLINE_LOG_LEVEL": env.get("TRUSTLINE_LOG_LEVEL", "INFO").upper(),
        "TRUSTLINE_TRUSTED_PROXIES": _int(env, "TRUSTLINE_TRUSTED_PROXIES", 0),
        "TRUSTLINE_SCHEDULER_INTERVAL_SECONDS": _int(
            env, "TRUSTLINE_SCHEDULER_INTERVAL_SECONDS", 30
        ),
        "TRUSTLINE_SCHEDULER_BATCH_SIZE": _int(env, "TRUSTLINE_SCHEDULER_BATCH_SIZE", 500),
        "TRUSTLINE_PUSH_WEBHOOK_URL": env.get("TRUSTLINE_PUSH_WEBHOOK_URL") or None,
        "TRUSTLINE_PUSH_WEBHOOK_SECRET": env.get("TRUSTLINE_PUSH_WEBHOOK_SECRET") or None,
        "TRUSTLINE_PUSH_MAX_ATTEMPTS": _int(env, "TRUSTLINE_PUSH_MAX_ATTEMPTS", 6),
        "TRUSTLINE_PUSH_TIMEOUT_SECONDS": _int(env, "TRUSTLINE_PUSH_TIMEOUT_SECONDS", 5),
        "TRUSTLINE_PUSH_BACKOFF_SECONDS": _int(env, "TRUSTLINE_PUSH_BACKOFF_SECONDS", 30),
        # A path to a YAML or JSON file replacing the built-in safety resources.
        "TRUSTLINE_SAFETY_RESOURCES": env.get("TRUSTLINE_SAFETY_RESOURCES") or None,
        # argon2id cost: RFC 9106's second recommended option (64 MiB, 3 passes) by default.
        "TRUSTLINE_ARGON2_TIME_COST": _int(env, "TRUSTLINE_ARGON2_TIME_COST", 3),
        "TRUSTLINE_ARGON2_MEMORY_KIB": _int(env, "TRUSTLINE_ARGON2_MEMORY_KIB", 65536),
        "TRUSTLINE_ARGON2_PARALLELISM": _int(env, "TRUSTLINE_ARGON2_PARALLELISM", 4),
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
