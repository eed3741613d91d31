"""Bulk data for scale tests and benchmarks, written straight to the tables.

Unit tests build users and couples through the services; tests that need thousands of due
schedules (and bench/) use this instead, which takes a second rather than minutes.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from backend.accounts.models import User
from backend.couples.models import Couple, CoupleMember
from backend.extensions import db
from backend.ids import new_id
from backend.scheduling.models import Schedule

CHUNK = 5000
# Not a valid hash of anything: these accounts cannot log in.
NO_PASSWORD = "$argon2id$v=19$m=1024,t=1,p=1$bm9uZQ$bm9uZQ"


def make_due_schedules(
    count: int, *, due_at: datetime, prompt_set: str = "daily_pulse", window_hours: int = 24
) -> list[str]:
    """`count` couples, each with one daily schedule due at `due_at`; returns schedule ids."""
    users, couples, members, schedules = [], [], [], []
    local_time = due_at.strftime("%H:%M")
    for n in range(count):
        couple_id = new_id()
        pair = [new_id(), new_id()]
        for k, user_id in enumerate(pair):
            users.append(
                {
                    "id": user_id,
                    "email": f"bulk-{n}-{k}-{couple_id}@example.com",
                    "display_name": f"Partner {n}-{k}",
                    "role": "partner",
                    "password_hash": NO_PASSWORD,
                    "timezone": "UTC",
                    "created_at": due_at,
                    "updated_at": due_at,
                    "password_changed_at": due_at,
                }
            )
            members.append(
                {"id": new_id(), "couple_id": couple_id, "user_id": user_id, "joined_at": due_at}
            )
        couples.append(
            {
                "id": couple_id,
                "status": "active",
                "timezone": "UTC",
                "created_at": due_at,
                "updated_at": due_at,
            }
        )
        schedules.append(
            {
                "id": new_id(),
                "couple_id": couple_id,
                "prompt_set_key": prompt_set,
                "frequency": "daily",
                "weekdays": [],
                "local_time": local_time,
                "timezone": "UTC",
                "window_hours": window_hours,
                "paused": False,
                "status": "active",
                "next_due_at": due_at,
                "created_at": due_at,
                "updated_at": due_at,
            }
        )
    for model, rows in (
        (User, users),
        (Couple, couples),
        (CoupleMember, members),
        (Schedule, schedules),
    ):
        for start in range(0, len(rows), CHUNK):
            db.session.execute(sa.insert(model), rows[start : start + CHUNK])
    db.session.commit()
    return [s["id"] for s in schedules]
