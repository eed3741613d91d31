"""Two people entering the same code at the same moment form exactly one couple."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from backend.couples.models import Couple, CoupleMember
from backend.extensions import db
from tests.helpers import make_partner


@pytest.mark.parametrize("attempt", range(3))
def test_same_code_accepted_at_once_makes_one_couple(app, backend_name, attempt):
    if backend_name != "postgresql":
        pytest.skip("row locks race only on PostgreSQL; SQLite serializes writers")
    inviter = make_partner(app, "inviter@example.com", "Inviter")
    racers = [make_partner(app, f"racer{n}@example.com", f"Racer {n}") for n in range(6)]
    code = inviter.post("/pairing-invites").get_json()["code"]
    barrier = threading.Barrier(len(racers))
    statuses: list[int] = []

    def accept(racer):
        with app.app_context():
            barrier.wait()
            response = racer.post("/pairing-invites/accept", json={"code": code})
            statuses.append(response.status_code)

    threads = [threading.Thread(target=accept, args=(r,)) for r in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [404] * 5
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Couple)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CoupleMember)) == 2


def test_someone_accepting_two_codes_at_once_joins_one_couple(app, backend_name):
    if backend_name != "postgresql":
        pytest.skip("row locks race only on PostgreSQL; SQLite serializes writers")
    joiner = make_partner(app, "joiner@example.com", "Joiner")
    inviters = [make_partner(app, f"inv{n}@example.com", f"Inv {n}") for n in range(4)]
    codes = [i.post("/pairing-invites").get_json()["code"] for i in inviters]
    barrier = threading.Barrier(len(codes))
    statuses: list[int] = []

    def accept(code):
        with app.app_context():
            barrier.wait()
            statuses.append(joiner.post("/pairing-invites/accept", json={"code": code}).status_code)

    threads = [threading.Thread(target=accept, args=(c,)) for c in codes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(201) == 1
    assert set(statuses) <= {201, 409}
    active = (
        sa.select(sa.func.count())
        .select_from(CoupleMember)
        .where(CoupleMember.user_id == joiner.user["id"], CoupleMember.ended_at.is_(None))
    )
    assert db.session.scalar(active) == 1
