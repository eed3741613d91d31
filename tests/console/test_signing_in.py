"""Signing in to the console: as safe as POST /auth/login, and ended like any other login."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.conftest import build_app
from tests.console.helpers import csrf_of, sign_in, signed_in, text_of
from tests.helpers import PASSWORD, make_counselor

COOKIE = "trustline_console"


def set_cookie(response, name: str = COOKIE) -> str:
    """The Set-Cookie header that sets `name`."""
    found = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    assert found, response.headers
    return found[-1]


def test_a_counselor_signs_in_and_lands_on_their_couples(app, counselor):
    browser = app.test_client()
    response = sign_in(browser, counselor.user["email"])
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/console/")
    page = browser.get("/console/")
    assert page.status_code == 200
    assert "Your couples" in text_of(page) and "Dr Kim" in text_of(page)


def test_the_cookie_is_httponly_samesite_console_only_and_holds_no_person(app, counselor):
    response = sign_in(app.test_client(), counselor.user["email"])
    cookie = set_cookie(response)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # plain http on a developer's machine
    assert "@" not in cookie and "Dr Kim" not in cookie
    device = set_cookie(response, "trustline_console_device")
    assert "HttpOnly" in device and "SameSite=Strict" in device and "Path=/console" in device


def test_the_cookie_is_secure_over_https(app, counselor):
    browser = app.test_client()
    token = csrf_of(browser.get("/console/sign-in", base_url="https://localhost"))
    response = browser.post(
        "/console/sign-in",
        base_url="https://localhost",
        data={"email": counselor.user["email"], "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 303
    assert "Secure" in set_cookie(response)
    assert "Secure" in set_cookie(response, "trustline_console_device")


def test_the_cookie_is_secure_behind_a_trusted_proxy_that_says_https(app, counselor):
    proxied = build_app(app.config["SQLALCHEMY_DATABASE_URI"], TRUSTLINE_TRUSTED_PROXIES=1)
    browser = proxied.test_client()
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    token = csrf_of(browser.get("/console/sign-in", headers=forwarded))
    response = browser.post(
        "/console/sign-in",
        headers=forwarded,
        data={"email": counselor.user["email"], "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 303
    assert "Secure" in set_cookie(response)


def test_the_console_login_is_in_the_counselors_sessions_list(app, counselor):
    browser = app.test_client()
    sign_in(browser, counselor.user["email"])
    browser_ua = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36"}
    second = app.test_client()
    token = csrf_of(second.get("/console/sign-in", headers=browser_ua))
    second.post(
        "/console/sign-in",
        headers=browser_ua,
        data={"email": counselor.user["email"], "password": PASSWORD, "csrf_token": token},
    )
    described = [s["description"] for s in counselor.get("/me/sessions").get_json()["items"]]
    assert "Console in Chrome on Linux" in described


def test_a_partner_is_told_politely_that_the_console_is_for_counselors(app, alice):
    browser = app.test_client()
    before = len(alice.get("/me/sessions").get_json()["items"])
    response = sign_in(browser, alice.user["email"])
    assert response.status_code == 403
    assert "This console is for counselors" in text_of(response)
    assert "Trustline app" in text_of(response)
    # the login it opened ended at once, and the browser is not signed in
    assert len(alice.get("/me/sessions").get_json()["items"]) == before
    assert browser.get("/console/").status_code == 302


def test_a_wrong_password_is_refused_like_the_api_and_names_nothing(app, counselor):
    browser = app.test_client()
    response = sign_in(browser, counselor.user["email"], "not the password")
    assert response.status_code == 401
    assert "The e-mail or password is not right." in text_of(response)
    unknown = sign_in(browser, "nobody@example.com", "not the password")
    assert unknown.status_code == 401
    assert "The e-mail or password is not right." in text_of(unknown)
    assert browser.get("/console/").status_code == 302


def test_an_empty_form_names_its_fields(app):
    browser = app.test_client()
    token = csrf_of(browser.get("/console/sign-in"))
    response = browser.post("/console/sign-in", data={"csrf_token": token})
    assert response.status_code == 422
    page = text_of(response)
    assert 'id="email-error"' in page and 'aria-describedby="email-error"' in page
    assert 'id="password-error"' in page and 'aria-invalid="true"' in page


def test_failures_are_counted_with_the_apis_and_then_refused_with_retry_after(app, counselor):
    browser = app.test_client()
    for _ in range(3):
        assert sign_in(browser, counselor.user["email"], "wrong").status_code == 401
    for _ in range(2):  # the API's failures fill the same windows
        response = app.test_client().post(
            "/api/v1/auth/login", json={"email": counselor.user["email"], "password": "wrong"}
        )
        assert response.status_code == 401
    refused = sign_in(browser, counselor.user["email"])  # even the right password, for now
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "Too many failed attempts" in text_of(refused)
    assert browser.get("/console/").status_code == 302


def test_a_browser_that_signed_in_before_is_not_locked_out_by_someone_elses_failures(
    app, counselor
):
    own = app.test_client()
    signed_in(own, counselor)
    token = csrf_of(own.get("/console/"))
    own.post("/console/sign-out", data={"csrf_token": token})
    stranger = app.test_client()
    for _ in range(5):
        sign_in(stranger, counselor.user["email"], "guessing")
    assert sign_in(stranger, counselor.user["email"]).status_code == 429
    # the counselor's own browser keeps its device token, and its own allowance
    assert sign_in(own, counselor.user["email"]).status_code == 303
    assert own.get("/console/").status_code == 200


def test_after_30_idle_minutes_the_login_ends(app):
    with time_machine.travel(datetime.now(UTC), tick=False) as traveller:
        counselor = make_counselor(app, "idle@example.com", "Dr Idle")
        browser = signed_in(app.test_client(), counselor)
        traveller.shift(timedelta(minutes=29))
        assert browser.get("/console/").status_code == 200  # activity: the clock starts again
        traveller.shift(timedelta(minutes=29))
        assert browser.get("/console/links").status_code == 200
        traveller.shift(timedelta(minutes=31))
        response = browser.get("/console/")
        assert response.status_code == 302
        assert response.headers["Location"].endswith("/console/sign-in")
        page = browser.get("/console/sign-in")
        assert "signed out after 30 minutes without activity" in text_of(page)
        # ended on the server too: no live login is left behind
        counselor.login()
        described = [s["description"] for s in counselor.get("/me/sessions").get_json()["items"]]
        assert not [d for d in described if d.startswith("Console")]


def test_signing_out_ends_the_login(app, counselor):
    browser = signed_in(app.test_client(), counselor)
    old_cookie = browser.get_cookie(COOKIE, path="/console").value
    response = browser.post(
        "/console/sign-out", data={"csrf_token": csrf_of(browser.get("/console/"))}
    )
    assert response.status_code == 303
    assert browser.get("/console/").status_code == 302
    assert "You are signed out." in text_of(browser.get("/console/sign-in"))
    # the old cookie, replayed, opens nothing: the login behind it was ended
    replay = app.test_client()
    replay.set_cookie(COOKIE, old_cookie, path="/console")
    assert replay.get("/console/").status_code == 302


@pytest.mark.parametrize("how", ["password_change", "erasure", "end_other_sessions"])
def test_ending_the_persons_other_logins_ends_the_console_too(app, counselor, how):
    browser = signed_in(app.test_client(), counselor)
    assert browser.get("/console/").status_code == 200
    if how == "password_change":
        response = counselor.post(
            "/me/password",
            json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
        )
        assert response.status_code == 204, response.get_json()
    elif how == "erasure":
        response = counselor.delete("/me", json={"password": PASSWORD})
        assert response.status_code == 204, response.get_json()
    else:
        response = counselor.post("/me/sessions/end-others")
        assert response.status_code in (200, 204), response.get_json()
    response = browser.get("/console/")
    assert response.status_code == 302
    assert "Your sign-in has ended" in text_of(browser.get("/console/sign-in"))


def test_a_signed_in_counselor_visiting_the_sign_in_page_goes_to_their_couples(app, counselor):
    browser = signed_in(app.test_client(), counselor)
    assert browser.get("/console/sign-in").headers["Location"].endswith("/console/")


def test_the_console_cookie_opens_nothing_outside_the_console_and_the_api_sets_none(
    app, counselor, alice
):
    browser = app.test_client()
    cookie = set_cookie(sign_in(browser, counselor.user["email"])).split(";")[0]
    # sent by hand to the API (a browser would not: Path=/console), it is not a login there
    # and is neither read nor renewed
    for path in ("/auth/sessions", "/counselor/couples", "/console-elsewhere"):
        response = app.test_client().get(path, headers={"Cookie": cookie})
        assert response.status_code in (401, 404), path
        assert not response.headers.getlist("Set-Cookie"), path
    # an API caller's requests carry no cookie either way
    response = alice.get("/couple/timeline")
    assert response.status_code in (200, 404)
    assert not response.headers.getlist("Set-Cookie")
    # and the console itself still knows its counselor
    assert "Your couples" in text_of(browser.get("/console/"))
