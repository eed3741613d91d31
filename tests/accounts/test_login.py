"""Logging in, and failures that look alike."""

from __future__ import annotations

from unittest import mock

from backend.accounts import passwords, service
from tests.helpers import PASSWORD, assert_problem


def login(api, email="alice@example.com", password=PASSWORD, **extra):
    return api.post("/auth/login", json={"email": email, "password": password, **extra})


def test_login_with_the_right_password(api, alice):
    response = login(api, email="ALICE@example.com")
    assert response.status_code == 200
    body = response.get_json()
    assert body["user"]["id"] == alice.user["id"]
    me = api.get("/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.get_json()["email"] == "alice@example.com"


def test_unknown_email_and_wrong_password_look_alike(api, alice):
    wrong_password = login(api, password="not the password")
    unknown_email = login(api, email="nobody@example.com")
    assert_problem(wrong_password, 401)
    assert_problem(unknown_email, 401)
    strip = lambda r: {k: v for k, v in r.get_json().items() if k != "request_id"}  # noqa: E731
    assert strip(wrong_password) == strip(unknown_email)


def test_unknown_email_still_spends_a_password_verification(api, alice):
    with mock.patch.object(service, "verify_password", wraps=passwords.verify_password) as spy:
        login(api, email="nobody@example.com")
    spy.assert_called_once()
    assert spy.call_args.args[0] is None  # no hash: the dummy hash is verified instead


def test_login_rehashes_a_password_made_with_weaker_settings(app, api, alice):
    from backend.accounts.models import User
    from backend.extensions import db

    user = db.session.get(User, alice.user["id"])
    with mock.patch.object(service, "needs_rehash", return_value=True):
        assert login(api).status_code == 200
    db.session.refresh(user)
    assert passwords.verify_password(user.password_hash, PASSWORD)


def test_login_needs_both_fields(api):
    assert_problem(api.post("/auth/login", json={}), 422, "email", "password")
