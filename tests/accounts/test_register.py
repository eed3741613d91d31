"""Registering an account."""

from __future__ import annotations

import sqlalchemy as sa

from backend.accounts.models import User
from backend.extensions import db
from tests.helpers import PASSWORD, assert_problem


def registration(**overrides):
    return {
        "email": "Alice@Example.com",
        "password": PASSWORD,
        "display_name": "  Alice  ",
        **overrides,
    }


def test_register_returns_the_user_and_tokens(api):
    response = api.post("/auth/register", json=registration(role="partner"))
    assert response.status_code == 201
    body = response.get_json()
    assert body["user"]["email"] == "alice@example.com"
    assert body["user"]["display_name"] == "Alice"
    assert body["user"]["role"] == "partner"
    assert body["user"]["timezone"] == "UTC"
    assert body["user"]["created_at"].endswith("Z")
    assert body["access_token"] and body["refresh_token"] and body["device_token"]
    assert body["expires_in"] == 900
    assert "password" not in str(body)


def test_role_defaults_to_partner_and_counselors_can_register(api):
    assert api.post("/auth/register", json=registration()).get_json()["user"]["role"] == "partner"
    counselor = api.post(
        "/auth/register", json=registration(email="c@example.com", role="counselor")
    )
    assert counselor.get_json()["user"]["role"] == "counselor"


def test_ids_are_opaque_random_strings(api):
    first = api.post("/auth/register", json=registration()).get_json()["user"]["id"]
    second = api.post("/auth/register", json=registration(email="b@example.com")).get_json()
    assert not first.isdigit() and len(first) >= 20
    assert first != second["user"]["id"]


def test_password_is_stored_as_an_argon2id_hash(api):
    api.post("/auth/register", json=registration())
    user = db.session.scalar(sa.select(User))
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_email_is_unique_case_insensitively(api):
    assert api.post("/auth/register", json=registration()).status_code == 201
    again = api.post("/auth/register", json=registration(email=" ALICE@example.COM"))
    assert_problem(again, 409, "email")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_password_needs_ten_characters(api):
    assert_problem(
        api.post("/auth/register", json=registration(password="123456789")), 422, "password"
    )
    assert api.post("/auth/register", json=registration(password="1234567890")).status_code == 201


def test_missing_fields_are_named(api):
    assert_problem(api.post("/auth/register", json={}), 422, "email", "password", "display_name")
