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
    sys.argv = [executable, *rest]
    runpy.run_path(executable, run_name="__main__")
