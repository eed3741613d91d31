"""Run a program of the venv (trustline, gunicorn) with the clock moved as the suite's is.

`pytest --shift-clock-days=N` moves the clock of the pytest process only; the servers and
schedulers that tests start are processes of their own. Tests start them through `command()`,
which runs them under the same shift (this file is then the program: it moves the clock and
runs the real entry point), so a scheduler sees the due times its test wrote.
"""

from __future__ import annotations

import runpy
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

BIN = Path(sys.executable).parent

# Set by tests/conftest.py from --shift-clock-days (or TRUSTLINE_TEST_SHIFT_CLOCK_DAYS).
shift_days = 0


def python_shim(folder: Path) -> Path | None:
    """A `python3` for shell examples that run under the suite's clock (None when unshifted).

    The API guide computes dates like "three weeks from today" with `python3 -c`; a test puts
    this folder first on PATH so those dates agree with the shifted server's."""
    if not shift_days:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    shim = folder / "python3"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{__file__}" {shift_days} - "$@"\n')
    shim.chmod(0o755)
    return folder


def command(program: str, *args: str) -> list[str]:
    """The argv that runs `program` from the venv with the suite's clock."""
    executable = str(BIN / program)
    if not shift_days:
        return [executable, *args]
    return [sys.executable, __file__, str(shift_days), executable, *args]


if __name__ == "__main__":
    import time_machine

    days, executable, *rest = sys.argv[1:]
    time_machine.travel(datetime.now(UTC) + timedelta(days=int(days)), tick=True).start()
    if executable == "-":  # python3 -c CODE [ARGS], from python_shim()
        if rest[:1] != ["-c"] or len(rest) < 2:
            sys.exit("the shifted python3 runs only `python3 -c CODE`")
        sys.argv = ["-c", *rest[2:]]
        exec(compile(rest[1], "<string>", "exec"), {"__name__": "__main__"})  # noqa: S102
    else:
        sys.argv = [executable, *rest]
        runpy.run_path(executable, run_name="__main__")
