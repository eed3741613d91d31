"""Both partners submitting at the same moment: exactly one reveal."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from backend.extensions import db
from backend.timeline.models import TimelineEvent
from tests.helpers import answers_for


@pytest.mark.parametrize("attempt", range(5))
def test_simultaneous_submissions_reveal_once(app, backend_name, alice, bob, couple, attempt):
    checkin = alice.post("/couple/checkins", json={"prompt_set": "daily_pulse"}).get_json()
    barrier = threading.Barrier(2)
    results: list[dict] = []

    def submit(user):
        with app.app_context():
            barrier.wait()
            response = user.put(
                f"/checkins/{checkin['id']}/answers",
                json={"answers": answers_for(checkin), "submit": True},
            )
            results.append(response.get_json())
            assert response.status_code == 200

    threads = [threading.Thread(target=submit, args=(u,)) for u in (alice, bob)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2
    db.session.expire_all()
    reveals = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(TimelineEvent)
        .where(TimelineEvent.kind == "checkin_revealed", TimelineEvent.subject_id == checkin["id"])
    )
    assert reveals == 1
    assert alice.get(f"/checkins/{checkin['id']}").get_json()["status"] == "revealed"
