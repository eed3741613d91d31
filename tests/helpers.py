"""Small helpers that let tests read as what a user does."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, has_app_context
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from backend.accounts import service as accounts
from backend.accounts.models import User
from backend.accounts.schemas import TokensSchema
from backend.couples import service as couples
from backend.couples.schemas import CoupleSchema
from backend.extensions import db

PASSWORD = "correct horse battery"
PROBLEM = "application/problem+json"


class ApiClient:
    """A test client that sends JSON to /api/v1 with the caller's access token."""

    def __init__(self, client: FlaskClient, tokens: dict[str, Any] | None = None) -> None:
        self.client = client
        self.tokens = tokens or {}

    @property
    def access_token(self) -> str | None:
        return self.tokens.get("access_token")

    @property
    def user(self) -> dict[str, Any]:
        return self.tokens["user"]

    def login(self, password: str = PASSWORD) -> ApiClient:
        """Log in again (for instance after moving the clock past the token's life)."""
        response = self.client.post(
            "/api/v1/auth/login", json={"email": self.user["email"], "password": password}
        )
        assert response.status_code == 200, response.get_json()
        self.tokens = response.get_json()
        return self

    def _url(self, path: str) -> str:
        return path if path.startswith("/api/") or path.startswith("/healthz") else f"/api/v1{path}"

    def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> TestResponse:
        all_headers = dict(headers or {})
        if self.access_token and "Authorization" not in all_headers:
            all_headers["Authorization"] = f"Bearer {self.access_token}"
        return self.client.open(self._url(path), method=method, headers=all_headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("DELETE", path, **kwargs)


def register(
    client: FlaskClient,
    email: str,
    display_name: str,
    *,
    role: str = "partner",
    password: str = PASSWORD,
) -> dict[str, Any]:
    """Register through the API and return the token response."""
    response = client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": password, "display_name": display_name, "role": role},
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@contextmanager
def inside(app: Flask) -> Iterator[None]:
    """Run the block in `app`'s context: the test's own when it has one (as its requests do),
    else a new one."""
    if has_app_context() and current_app._get_current_object() is app:
        yield
    else:
        with app.app_context():
            yield


def make_user(app: Flask, email: str, display_name: str, *, role: str) -> ApiClient:
    """Someone registered through the accounts service, logged in as registering leaves them
    (the same tokens POST /auth/register answers with)."""
    with inside(app):
        tokens = accounts.register(
            email=email,
            password=PASSWORD,
            display_name=display_name,
            role=role,
            client_address="127.0.0.1",
        )
        return ApiClient(app.test_client(), TokensSchema().dump(tokens))


def make_partner(app: Flask, email: str, display_name: str) -> ApiClient:
    """A partner, registered and logged in."""
    return make_user(app, email, display_name, role="partner")


def make_counselor(app: Flask, email: str, display_name: str) -> ApiClient:
    """A counselor, registered and logged in."""
    return make_user(app, email, display_name, role="counselor")


def user_of(client: ApiClient) -> User:
    """The account a client is logged in as."""
    user = db.session.get(User, client.user["id"])
    assert user is not None
    return user


def assert_problem(response: TestResponse, status: int, *fields: str) -> dict[str, Any]:
    """The response is a problem+json of `status` naming each of `fields`."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    for field in fields:
        assert field in body.get("errors", {}), body
    return body


def pair(inviter: ApiClient, partner: ApiClient) -> dict[str, Any]:
    """Pair two partners through the couples service (the inviter's code, the partner enters
    it) and return the couple as POST /pairing-invites/accept answers."""
    with inside(inviter.client.application):
        invite = couples.create_invite(user=user_of(inviter))
        couple = couples.accept_invite(user=user_of(partner), code=invite.code)
        return CoupleSchema().dump(couple)


def pair_through_api(inviter: ApiClient, partner: ApiClient) -> dict[str, Any]:
    """Pair two partners through the API (for tests of what requests do: logs, limits)."""
    invite = inviter.post("/pairing-invites")
    assert invite.status_code == 201, invite.get_json()
    accepted = partner.post("/pairing-invites/accept", json={"code": invite.get_json()["code"]})
    assert accepted.status_code == 201, accepted.get_json()
    return accepted.get_json()


def valid_value(prompt: dict[str, Any], text: str = "A few honest words.") -> Any:
    """A valid answer to a prompt as the API describes it."""
    kind = prompt["kind"]
    if kind == "scale":
        return prompt["max"]
    if kind == "choice":
        return prompt["options"][0]["value"]
    if kind == "multi_choice":
        return [prompt["options"][0]["value"]]
    return text


def answers_for(checkin: dict[str, Any], *, visibility: str = "shared", text: str = "") -> list:
    """An answer to every prompt of a check-in."""
    return [
        {
            "prompt": p["key"],
            "value": valid_value(p, text or f"My words on {p['key']}."),
            "visibility": visibility,
        }
        for p in checkin["prompts"]
    ]


def ok(response: TestResponse, status: int = 200) -> TestResponse:
    """The response has the status asked for (so a check of what its body lacks means something)."""
    assert response.status_code == status, response.get_data(as_text=True)
    return response


def ok_text(response: TestResponse, status: int = 200) -> str:
    """The body of a response that has the status asked for."""
    return ok(response, status).get_data(as_text=True)


def ok_json(response: TestResponse, status: int = 200) -> Any:
    """The JSON body of a response that has the status asked for."""
    return ok(response, status).get_json()
