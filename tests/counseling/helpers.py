"""Linking a counselor as a couple would."""

from __future__ import annotations

from typing import Any


def link_code(counselor) -> str:
    response = counselor.post("/counselor/link-codes")
    assert response.status_code == 201, response.get_json()
    return response.get_json()["code"]


def propose(partner, counselor, scope: str = "progress") -> dict[str, Any]:
    response = partner.post(
        "/couple/counselor-links", json={"code": link_code(counselor), "scope": scope}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def link(alice, bob, counselor, scope: str = "progress") -> dict[str, Any]:
    """Alice proposes, Bob consents: the counselor is linked."""
    proposed = propose(alice, counselor, scope)
    response = bob.post(f"/counselor-links/{proposed['id']}/consent")
    assert response.status_code == 200, response.get_json()
    return response.get_json()
