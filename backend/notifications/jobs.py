"""Notifications' timed work: push what is due to the relay.

It runs after the other domains' work (stage "deliver"), so a reminder stored in this tick is
pushed in this tick.
"""

from __future__ import annotations

from backend.jobs import Counts, JobRun, job
from backend.notifications import delivery

# Rounds of delivery per tick, each of at most `deliver_due`'s limit: a huge backlog
# continues at the next tick.
MAX_ROUNDS = 50


# Its own transactions on purpose: delivery commits its lease and each notification's state
# before it waits on the network, so no transaction stays open during a push.
@job(
    "notifications.deliver_push",
    counts=("pushed", "push_retries", "push_failures"),
    stage="deliver",
    own_transactions=True,
)
def deliver_push(run: JobRun) -> Counts:
    """Lease and send the notifications whose push is due, round after round."""
    pushed = retries = failures = 0
    for _ in range(MAX_ROUNDS):
        report = delivery.deliver_due(now=run.now)
        pushed += report.delivered
        retries += report.retried
        failures += report.failed
        if not (report.delivered + report.retried + report.failed + report.skipped):
            break
    return {"pushed": pushed, "push_retries": retries, "push_failures": failures}
