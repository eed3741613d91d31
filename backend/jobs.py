"""Scheduled work, declared by the domain that owns it, and run once per tick.

A domain with timed work has a `jobs.py` that registers each of its jobs here:

    @job("checkins.close_expired", counts=("expired",))
    def close_expired(run: JobRun) -> Counts:
        return {"expired": service.close_expired(now=run.now, limit=10_000)}

The tick (backend/scheduling/jobs.py) first opens the check-ins of due schedules, then calls
`run_jobs`, which runs every registered job once:
- stage by stage: the domains' work first (it may create notifications), then push delivery
  (so what this tick created is sent in this tick), then purges. Within a stage, domain by
  domain in alphabetical order, and a domain's jobs in the order its module registers them:
  never in the order modules happened to be imported. A job may rely on the jobs of its own
  domain before it, never on another domain's in its stage;
- each run is one use case (backend.unit_of_work): committed when the job returns, all rolled
  back when it raises, and the error ends the tick (the next tick runs everything again).
  A job that commits per batch on purpose (a crash keeps the batches done; a push is never
  sent from inside an open transaction) says so with `own_transactions=True` and is run as
  it is;
- between jobs, a stop request (SIGTERM) ends the tick;
- a job returns what it did as counts, each a name it declared; the tick adds them up into
  its report (`tick().expired`).

This module imports no domain. The app factory (`backend.register_jobs`) imports every
domain's jobs module: the one place that lists them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa

from backend.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

Stage = Literal["work", "deliver", "purge"]
STAGES: tuple[Stage, ...] = ("work", "deliver", "purge")
Counts = Mapping[str, int]
# What firing one claimed batch did: (claimed, opened, missed).
BatchCounts = tuple[int, int, int]


@dataclass(frozen=True)
class JobRun:
    """What a job is told when it runs: the tick's instant, and whether to stop early."""

    now: datetime
    stop: threading.Event | None = None

    @property
    def stopping(self) -> bool:
        """Whether the process asked to stop (a long job checks between its batches)."""
        return self.stop is not None and self.stop.is_set()


JobFunction = Callable[[JobRun], Counts]


@dataclass(frozen=True)
class Job:
    """One registered job."""

    name: str
    run: JobFunction
    counts: tuple[str, ...]
    stage: Stage = "work"
    own_transactions: bool = False


_registry: dict[str, Job] = {}


def register(
    name: str,
    run: JobFunction,
    *,
    counts: tuple[str, ...],
    stage: Stage = "work",
    own_transactions: bool = False,
) -> Job:
    """Add a job to the tick. `name` is `<domain>.<what it does>`, unique."""
    if name in _registry:
        raise ValueError(f"a job named {name!r} is already registered")
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r} for job {name!r}")
    registered = Job(name, run, tuple(counts), stage, own_transactions)
    _registry[name] = registered
    return registered


def job(
    name: str,
    *,
    counts: tuple[str, ...],
    stage: Stage = "work",
    own_transactions: bool = False,
) -> Callable[[JobFunction], JobFunction]:
    """Register the decorated function as a job: see `register`."""

    def decorate(run: JobFunction) -> JobFunction:
        register(name, run, counts=counts, stage=stage, own_transactions=own_transactions)
        return run

    return decorate


def registered() -> list[Job]:
    """Every registered job, in the order the tick runs them: by stage, then by domain (the
    name's first part); a domain's jobs as it registered them (the sort is stable)."""
    return sorted(_registry.values(), key=lambda j: (STAGES.index(j.stage), j.name.split(".")[0]))


def count_names() -> list[str]:
    """Every count a registered job reports, each once, in the order the tick runs them."""
    return list(dict.fromkeys(name for j in registered() for name in j.counts))


def run_job(registered_job: Job, run: JobRun) -> Counts:
    """Run one job (as one use case unless it keeps its own transactions)."""
    if registered_job.own_transactions:
        counts = registered_job.run(run)
    else:
        with unit_of_work():
            counts = registered_job.run(run)
    undeclared = set(counts) - set(registered_job.counts)
    if undeclared:
        raise ValueError(f"job {registered_job.name!r} reported undeclared {sorted(undeclared)}")
    return counts


def run_jobs(*, now: datetime, stop: threading.Event | None = None) -> dict[str, int]:
    """Run every registered job once; returns each count added up over the jobs."""
    run = JobRun(now=now, stop=stop)
    totals = dict.fromkeys(count_names(), 0)
    for registered_job in registered():
        if run.stopping:
            break
        for name, value in run_job(registered_job, run).items():
            totals[name] += value
    return totals


def fire_batch_at_most_twice(fire: Callable[[bool], BatchCounts], *, what: str) -> BatchCounts:
    """Fire one claimed batch of occurrences; `fire(skip_opened)` claims and opens it in one
    unit of work, with `skip_opened` leaving out the occurrences that exist already.

    A batch that meets an occurrence already opened (its domain's unique key) is rolled back
    whole and fired once more without the occurrences that exist: each was opened exactly
    once, so its schedule moves past it and the rest of the batch opens. If that fails too
    (another process raced it), (0, 0, 0) ends this tick's claims and the next tick claims
    afresh. Never the same batch claimed again and again: the tick's other jobs (closing,
    purging what people erased) run after the claims. `what` names the batch in the log
    ("a batch", "a measure batch")."""
    try:
        return fire(False)
    except sa.exc.IntegrityError:
        log.warning("%s met an occurrence already opened; firing it again without it", what)
    try:
        return fire(True)
    except sa.exc.IntegrityError:
        log.warning("%s met an occurrence opened meanwhile; the next tick claims afresh", what)
        return 0, 0, 0
