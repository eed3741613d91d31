"""Conversations' timed work: a long pause prompts both partners, once."""

from __future__ import annotations

from backend.conversations import service
from backend.jobs import Counts, JobRun, job


@job("conversations.prompt_long_pauses", counts=("pause_prompts",))
def prompt_long_pauses(run: JobRun) -> Counts:
    """A conversation paused for a day prompts both partners, once, to pick it up."""
    return {"pause_prompts": service.prompt_long_pauses(now=run.now)}
