"""A `limits` storage in a SQLite file: failure counts shared by the processes of one machine.

`sqlite:///path/to/ratelimit.db` (four slashes for an absolute path, as in a SQLAlchemy URL)
names the file. It is the default store (`TRUSTLINE_RATELIMIT_STORAGE_URI` unset: the file
`ratelimit.db` in the instance folder), so that every gunicorn worker on a machine counts a
guesser's failures in one place, without Redis. Counters on several machines need Redis.

- Its own file, not a table of the app's database: a failure is counted in a transaction of
  its own (the request's may be rolled back, and its count must stay), and no request's
  transaction waits behind it for SQLite's one writer.
- Exact across processes: every change is one `BEGIN IMMEDIATE` transaction, which takes the
  file's write lock before it reads, so two processes can never both see room for the last
  attempt of a window. Readers never wait (WAL); writers wait up to `timeout` seconds.
- Every error is `sqlite3.Error` (or `OSError` when the folder can't be made), which
  `ratelimit.STORAGE_ERRORS` turns into a refusal: a store that can't be read lets no guess
  through.
- Time is `time.time()` of the calling process, as in the `limits` memory store, so tests
  move it with time_machine. Rows whose window has passed are deleted by every write.
- One connection per thread and per process: a connection is never used after a fork (the
  child opens its own, and leaves the inherited one unclosed, since closing it there would
  drop locks of the parent's).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from limits.errors import ConfigurationError
from limits.storage import MovingWindowSupport, Storage

SCHEME = "sqlite"
# How long a write waits for another process's write to finish before it fails (and the
# attempt is refused). A count takes well under a millisecond.
DEFAULT_TIMEOUT_SECONDS = 5.0

_SCHEMA = (
    # The moving window: one row per counted failure (or `amount` of them at one instant).
    "CREATE TABLE IF NOT EXISTS window_entries ("
    " key TEXT NOT NULL, at REAL NOT NULL, expires_at REAL NOT NULL, amount INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_window_entries_key_at ON window_entries (key, at)",
    "CREATE INDEX IF NOT EXISTS ix_window_entries_expires_at ON window_entries (expires_at)",
    # Fixed windows (the `limits` storage interface; Trustline itself uses moving windows).
    "CREATE TABLE IF NOT EXISTS counters ("
    " key TEXT PRIMARY KEY, value INTEGER NOT NULL, expires_at REAL NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS ix_counters_expires_at ON counters (expires_at)",
)


def path_of(uri: str) -> Path:
    """The file a `sqlite:///relative.db` or `sqlite:////absolute.db` URI names."""
    parts = urlsplit(uri)
    path = parts.path[1:]
    if parts.scheme != SCHEME or parts.netloc or parts.query or not path or path == ":memory:":
        raise ConfigurationError(
            "a SQLite rate-limit store is named by sqlite:///relative/path.db or "
            "sqlite:////absolute/path.db (a file that every process can open)"
        )
    return Path(path)


class SQLiteStorage(Storage, MovingWindowSupport):
    """Rate-limit counters in a SQLite file, shared by every process that opens it."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(
        self,
        uri: str,
        wrap_exceptions: bool = False,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        **options: Any,
    ) -> None:
        # Resolved now: a relative path means the folder the server started in.
        self.path = path_of(uri).resolve()
        self.timeout = float(timeout)
        self._local = threading.local()
        # Connections inherited through a fork: kept, never used, never closed (see above).
        self._inherited: list[sqlite3.Connection] = []
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return (sqlite3.Error, OSError)

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, opened (and the file set up) on first use."""
        held: tuple[int, sqlite3.Connection] | None = getattr(self._local, "held", None)
        if held is not None:
            pid, connection = held
            if pid == os.getpid():
                return connection
            self._inherited.append(connection)
            self._local.held = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # `timeout` is SQLite's busy timeout; no isolation level: transactions are explicit.
        connection = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            # No fsync per count: a power cut may forget the last counts, a crash of the
            # process never does (WAL), and a forgotten failure only gives one more try.
            connection.execute("PRAGMA synchronous = NORMAL")
            # Readers never wait for a writer. The mode is the file's: set once, kept.
            mode = _one(connection, "PRAGMA journal_mode = WAL")[0]
            if mode != "wal":
                raise sqlite3.OperationalError(f"journal mode {mode}, not wal")
            with _immediate(connection):
                for statement in _SCHEMA:
                    connection.execute(statement)
        except BaseException:
            connection.close()
            raise
        self._local.held = (os.getpid(), connection)
        return connection

    # The moving window (what Trustline's FailureLimiter uses).

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Count `amount` entries under `key` unless its last `expiry` seconds hold too many."""
        if amount > limit:
            return False
        connection = self._connection()
        now = time.time()
        with _immediate(connection):
            _purge(connection, now)
            held = _entries_since(connection, key, now - expiry)[1]
            if held + amount > limit:
                return False
            connection.execute(
                "INSERT INTO window_entries (key, at, expires_at, amount) VALUES (?, ?, ?, ?)",
                (key, now, now + expiry, amount),
            )
        return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(the oldest entry's time, or now when there is none; the entries) of the window."""
        now = time.time()
        oldest, held = _entries_since(self._connection(), key, now - expiry)
        return (oldest if held else now), held

    # Fixed windows.

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add `amount` to `key`'s counter, which expires `expiry` seconds after it began."""
        connection = self._connection()
        now = time.time()
        with _immediate(connection):
            _purge(connection, now)
            connection.execute(
                "INSERT INTO counters (key, value, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = value + excluded.value",
                (key, amount, now + expiry),
            )
            return int(_one(connection, "SELECT value FROM counters WHERE key = ?", (key,))[0])

    def get(self, key: str) -> int:
        """`key`'s counter (0 once it has expired)."""
        row = _one(
            self._connection(),
            "SELECT value FROM counters WHERE key = ? AND expires_at > ?",
            (key, time.time()),
        )
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        """When `key`'s counter expires (now when there is none)."""
        now = time.time()
        row = _one(
            self._connection(),
            "SELECT expires_at FROM counters WHERE key = ? AND expires_at > ?",
            (key, now),
        )
        return float(row[0]) if row else now

    # Upkeep.

    def check(self) -> bool:
        """Whether the file can be opened and read."""
        _one(self._connection(), "SELECT count(*) FROM counters")
        return True

    def clear(self, key: str) -> None:
        """Forget `key`'s entries and counter."""
        connection = self._connection()
        with _immediate(connection):
            connection.execute("DELETE FROM window_entries WHERE key = ?", (key,))
            connection.execute("DELETE FROM counters WHERE key = ?", (key,))

    def reset(self) -> int | None:
        """Forget every key; the number of rows deleted."""
        connection = self._connection()
        with _immediate(connection):
            entries = connection.execute("DELETE FROM window_entries").rowcount
            counters = connection.execute("DELETE FROM counters").rowcount
        return entries + counters


def _one(connection: sqlite3.Connection, sql: str, parameters: tuple[Any, ...] = ()) -> Any:
    """The first row of `sql` (or None), its statement closed at once: a statement left open
    would hold its read snapshot, and later reads on the connection would not see new counts."""
    cursor = connection.execute(sql, parameters)
    try:
        return cursor.fetchone()
    finally:
        cursor.close()


@contextmanager
def _immediate(connection: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, holding the file's write lock from its first statement."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def _entries_since(connection: sqlite3.Connection, key: str, since: float) -> tuple[float, int]:
    """(the oldest entry's time, the number of entries) under `key` after `since`."""
    oldest, held = _one(
        connection,
        "SELECT min(at), coalesce(sum(amount), 0) FROM window_entries WHERE key = ? AND at > ?",
        (key, since),
    )
    return (float(oldest) if oldest is not None else since), int(held)


def _purge(connection: sqlite3.Connection, now: float) -> None:
    """Delete what has outlived its window, in the write transaction in hand."""
    connection.execute("DELETE FROM window_entries WHERE expires_at <= ?", (now,))
    connection.execute("DELETE FROM counters WHERE expires_at <= ?", (now,))
