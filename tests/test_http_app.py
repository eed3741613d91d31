"""The Flask subclass every request runs through (backend/http.py)."""

from __future__ import annotations

import pytest

from backend import http


def test_a_function_is_asked_once_whether_it_is_a_coroutine_and_answered_as_flask_does(app):
    def plain() -> int:
        return 1

    async def coroutine() -> int:
        return 2

    assert app.ensure_sync(plain) is plain
    assert app.ensure_sync(plain) is plain
    with pytest.raises(RuntimeError, match="async"):  # as Flask without its async extra
        app.ensure_sync(coroutine)
    with pytest.raises(RuntimeError, match="async"):
        app.ensure_sync(coroutine)


def test_the_answers_do_not_grow_with_the_requests(app, alice, couple):
    # A MethodView is made anew for each request, and so are its bound methods.
    assert alice.get("/couple/timeline").status_code == 200
    assert alice.get("/me").status_code == 200
    known = len(http._COROUTINES)
    assert known > 0
    for _ in range(20):
        assert alice.get("/couple/timeline").status_code == 200
        assert alice.get("/me").status_code == 200
    assert len(http._COROUTINES) == known
