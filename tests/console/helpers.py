"""Helpers for the console's tests: a browser's forms, and couples built through the API."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.helpers import PASSWORD, ApiClient, answers_for

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(response: TestResponse) -> str:
    """The CSRF token of the first form on a page."""
    found = CSRF.search(response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)[:2000]
    return found.group(1)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> TestResponse:
    """Fill in and send the sign-in form, as a browser does."""
    token = csrf_of(client.get("/console/sign-in"))
    return client.post(
        "/console/sign-in", data={"email": email, "password": password, "csrf_token": token}
    )


def signed_in(client: FlaskClient, who: ApiClient) -> FlaskClient:
    """The browser, signed in to the console as `who`."""
    response = sign_in(client, who.user["email"])
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


def post_form(client: FlaskClient, page: str, action: str, data: dict[str, Any]) -> TestResponse:
    """Open `page`, take its CSRF token, and post `data` to `action`."""
    token = csrf_of(client.get(page))
    return client.post(action, data={**data, "csrf_token": token})


def answer(partner: ApiClient, checkin_id: str, *, submit: bool = True, **kwargs: Any) -> None:
    """A partner answers every prompt of a check-in (shared, unless told otherwise)."""
    checkin = partner.get(f"/checkins/{checkin_id}").get_json()
    response = partner.put(
        f"/checkins/{checkin_id}/answers",
        json={"answers": answers_for(checkin, **kwargs), "submit": submit},
    )
    assert response.status_code == 200, response.get_json()


def text_of(response: TestResponse) -> str:
    """The page's HTML."""
    return response.get_data(as_text=True)
