"""Worlds for tests, built through the services; and bulk data written straight to the tables.

A fixture that needs a couple's history (a linked counselor, a revealed check-in, ...) calls
the domain's service functions here, as a route would, without an HTTP round trip for each
step: tests of an endpoint still call the endpoint. Tests that need thousands of due
schedules (and bench/) use `make_due_schedules`, which writes the rows at once and takes a
second rather than minutes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_jwt_extended import decode_token

from backend.accounts.models import User
from backend.checkins import service as checkins
from backend.checkins.models import Checkin
from backend.checkins.schemas import AnswersPutSchema
from backend.counseling import service as counseling
from backend.counseling.models import CounselorLink
from backend.counseling.schemas import LinkProposeSchema
from backend.couples.models import Couple, CoupleMember
from backend.extensions import db
from backend.ids import new_id
from backend.scheduling.models import Schedule
from tests.helpers import ApiClient, answers_for, user_of

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


def session_id_of(client: ApiClient) -> str:
    """The sign-in a client's access token belongs to."""
    return decode_token(client.access_token)["sid"]


def couple_by_id(couple_id: str) -> Couple:
    """The couple with this id."""
    couple = db.session.get(Couple, couple_id)
    assert couple is not None
    return couple


def propose_counselor(
    partner: ApiClient, counselor: ApiClient, couple_id: str, scope: str = "progress"
) -> CounselorLink:
    """The counselor makes a link code and the partner proposes the link with it."""
    code, _ = counseling.create_link_code(counselor=user_of(counselor))
    data = LinkProposeSchema().load({"code": code, "scope": scope})
    return counseling.propose_link(
        couple=couple_by_id(couple_id),
        user=user_of(partner),
        session_id=session_id_of(partner),
        **data,
    )


def link_counselor(
    proposer: ApiClient,
    consenter: ApiClient,
    counselor: ApiClient,
    couple_id: str,
    scope: str = "progress",
) -> CounselorLink:
    """One partner proposes, the other consents: the counselor is linked."""
    link = propose_counselor(proposer, counselor, couple_id, scope)
    return counseling.consent_link(
        link=link, user=user_of(consenter), session_id=session_id_of(consenter)
    )


def prompts_of(checkin: Checkin) -> dict[str, Any]:
    """The check-in's prompts as the API shows them (enough for `answers_for`)."""
    return {
        "prompts": [
            {"key": item.prompt.key, "kind": item.prompt.kind, **item.prompt.config}
            for item in checkin.items
        ]
    }


def revealed_checkin(
    opener: ApiClient, partner: ApiClient, couple_id: str, prompt_set: str = "daily_pulse"
) -> Checkin:
    """A check-in the opener opens and both partners answer in full (shared): revealed."""
    checkin = checkins.open_checkin(
        couple=couple_by_id(couple_id), prompt_set_key=prompt_set, opened_by=user_of(opener)
    )
    for person in (opener, partner):
        data = AnswersPutSchema().load(
            {"answers": answers_for(prompts_of(checkin)), "submit": True}
        )
        checkin = checkins.save_answers(checkin=checkin, user=user_of(person), **data)
    assert checkin.revealed_at is not None
    return checkin
