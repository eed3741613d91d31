"""Reading and changing one's own profile."""

from __future__ import annotations

from tests.helpers import assert_problem


def test_me_returns_only_my_account(alice, bob):
    me = alice.get("/me").get_json()
    assert me["id"] == alice.user["id"]
    assert me["email"] == "alice@example.com"
    assert set(me) == {
        "id",
        "email",
        "display_name",
        "role",
        "timezone",
        "discreet_notifications",
        "created_at",
        "safety_check_completed",
        "safety_notice",
    }
    assert me["safety_notice"] is None and me["safety_check_completed"] is False
    assert me["discreet_notifications"] is True


def test_patch_me_sets_timezone_and_display_name(alice):
    response = alice.patch("/me", json={"timezone": "Europe/Berlin", "display_name": " Ali "})
    assert response.status_code == 200
    assert response.get_json()["timezone"] == "Europe/Berlin"
    assert alice.get("/me").get_json()["display_name"] == "Ali"


def test_invalid_timezone_is_named_and_nothing_changes(alice):
    response = alice.patch("/me", json={"timezone": "Mars/Olympus_Mons"})
    body = assert_problem(response, 422, "timezone")
    assert "Mars" not in body["errors"]["timezone"][0]  # what was sent is never echoed
    assert alice.get("/me").get_json()["timezone"] == "UTC"


def test_email_and_role_cannot_be_patched(alice):
    assert_problem(alice.patch("/me", json={"role": "counselor"}), 422, "role")
    assert_problem(alice.patch("/me", json={"email": "x@example.com"}), 422, "email")
    assert alice.get("/me").get_json()["role"] == "partner"


def test_wrong_types_are_named(alice):
    assert_problem(alice.patch("/me", json={"display_name": 42}), 422, "display_name")
