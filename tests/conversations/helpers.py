"""Walking conversations as the partners would."""

from __future__ import annotations

from typing import Any


def start(user, template: str, role: str, holder) -> dict[str, Any]:
    response = user.post(
        "/couple/conversations", json={"template": template, "roles": {role: holder.user["id"]}}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def step_through(conversation: dict[str, Any], partners: dict[str, Any]) -> dict[str, Any]:
    """Write what the current step asks for, then both say they are ready."""
    step = conversation["current_step"]
    writers = [partners[p["id"]] for p in step["expected_writers"]]
    if step["writers"] == "either":
        writers = writers[:1]
    for writer in writers:
        response = writer.post(
            f"/conversations/{conversation['id']}/entries",
            json={"text": f"Words for {step['key']}"},
        )
        assert response.status_code == 201, response.get_json()
    for partner in partners.values():
        response = partner.post(f"/conversations/{conversation['id']}/ready")
        assert response.status_code == 200, response.get_json()
    return response.get_json()
