"""Taking and answering questionnaires as a partner would."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from backend.extensions import db

PHQ9_ITEMS = [f"phq9_{n}" for n in range(1, 10)]
GAD7_ITEMS = [f"gad7_{n}" for n in range(1, 8)]


def start(partner, measure: str = "phq9") -> dict[str, Any]:
    """The partner takes a library questionnaire on their own."""
    response = partner.post("/me/measure-responses", json={"measure": measure})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def phq9_answers(*values: int) -> list[dict[str, Any]]:
    """Answers to the nine scored PHQ-9 items (missing values are 0)."""
    padded = list(values) + [0] * (9 - len(values))
    return [{"item": key, "value": value} for key, value in zip(PHQ9_ITEMS, padded, strict=True)]


def submit(partner, response_id: str, answers: list[dict[str, Any]]) -> dict[str, Any]:
    """Submit answers; returns the saved response."""
    saved = partner.put(
        f"/measure-responses/{response_id}", json={"answers": answers, "submit": True}
    )
    assert saved.status_code == 200, saved.get_json()
    return saved.get_json()


def share(partner, link_id: str, *, alert: bool = False) -> dict[str, Any]:
    """The partner shares their scores with a linked counselor (their login is fresh)."""
    response = partner.put(
        "/me/measure-sharing",
        json={"counselor_link_id": link_id, "share": True, "alert_on_risk": alert},
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


COUNSELOR_MEASURE = {
    "title": "Between sessions",
    "instructions": "Think of the days since our last session.",
    "items": [
        {
            "key": "felt_heard",
            "kind": "scale",
            "text": "How heard did you feel by your partner?",
            "min": 0,
            "max": 4,
            "anchors": [{"value": 0, "label": "Not at all"}, {"value": 4, "label": "Fully"}],
        },
        {
            "key": "safe_home",
            "kind": "single_choice",
            "text": "Did you feel safe at home?",
            "options": [{"value": "yes", "label": "Yes"}, {"value": "no", "label": "No"}],
            "risk": {"one_of": ["no"]},
        },
        {
            "key": "one_word",
            "kind": "short_text",
            "text": "One word for the week.",
            "optional": True,
        },
    ],
    "scoring": {
        "method": "sum",
        "bands": [
            {"min": 0, "max": 1, "key": "low", "label": "Low"},
            {"min": 2, "max": 4, "key": "high", "label": "Higher"},
        ],
    },
}


def published_measure(counselor) -> dict[str, Any]:
    """A counselor writes and publishes a questionnaire."""
    draft = counselor.post("/counselor/measures", json=COUNSELOR_MEASURE)
    assert draft.status_code == 201, draft.get_json()
    published = counselor.post(f"/counselor/measures/{draft.get_json()['id']}/publish")
    assert published.status_code == 200, published.get_json()
    return published.get_json()


def row_counts() -> dict[str, int]:
    """How many rows each table holds (to show that nothing was written)."""
    db.session.expire_all()
    return {
        table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }
