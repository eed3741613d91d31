"""The whole journey, over HTTP, as a phone app would, against a live `trustline serve`."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from datetime import datetime, timedelta

import pytest

from backend.conversations.library import templates
from tests import clockshift
from tests.test_serve import free_port, start, stop, wait_until_up

PASSWORD = "a walkthrough password"
pytestmark = pytest.mark.slow


class Phone:
    """A client speaking HTTP to the live server, as the app would."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.token: str | None = None
        self.email: str | None = None

    def call(self, method: str, path: str, body: dict | None = None, **headers: str):
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{self.base}/api/v1{path}",
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={
                **({"Content-Type": "application/json"} if body is not None else {}),
                **({"Authorization": f"Bearer {self.token}"} if self.token else {}),
                **headers,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                text = response.read()
                return response.status, (json.loads(text) if text else None), response.headers
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null"), error.headers

    def ok(self, method: str, path: str, body: dict | None = None, **headers: str):
        status, data, _ = self.call(method, path, body, **headers)
        assert status < 300, (method, path, status, data)
        return data

    def register(self, email: str, name: str, role: str = "partner") -> Phone:
        data = self.ok(
            "POST",
            "/auth/register",
            {"email": email, "password": PASSWORD, "display_name": name, "role": role},
        )
        self.token, self.email = data["access_token"], email
        return self

    def login(self) -> Phone:
        data = self.ok("POST", "/auth/login", {"email": self.email, "password": PASSWORD})
        self.token = data["access_token"]
        return self


def valid(prompt: dict) -> object:
    return {
        "scale": prompt.get("max"),
        "choice": (prompt.get("options") or [{}])[0].get("value"),
        "multi_choice": [(prompt.get("options") or [{}])[0].get("value")],
    }.get(prompt["kind"], "Honest words.")


def test_a_couple_and_their_counselor_walk_the_whole_journey(tmp_path):
    port = free_port()
    secret = {"TRUSTLINE_SECRET_KEY": "w" * 40}
    server = start(tmp_path, "--port", str(port), "--no-scheduler", env=secret)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/readyz", server)
        base = f"http://127.0.0.1:{port}"
        sam = Phone(base).register("sam@walk.example", "Sam")
        alex = Phone(base).register("alex@walk.example", "Alex")
        dr = Phone(base).register("dr@walk.example", "Dr Lee", role="counselor")

        # pair
        code = sam.ok("POST", "/pairing-invites")["code"]
        couple = alex.ok("POST", "/pairing-invites/accept", {"code": code})
        sam.ok("PATCH", "/couple", {"timezone": "Europe/Berlin"})

        # a schedule, and the scheduler opening its check-in when the clock reaches it
        schedule = sam.ok(
            "POST",
            "/couple/schedules",
            {"prompt_set": "daily_pulse", "frequency": "daily", "local_time": "21:00"},
        )
        due = datetime.fromisoformat(schedule["next_due_at"].replace("Z", "+00:00"))
        moment = (due + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S%z")
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTLINE_")}
        ticked = subprocess.run(
            clockshift.command("trustline", "tick", "--at", moment),
            cwd=tmp_path,
            env={**env, **secret},
            capture_output=True,
            text=True,
            check=True,
        )
        assert "opened 1" in ticked.stdout
        [checkin] = alex.ok("GET", "/couple/checkins")["items"]
        assert checkin["source"] == "scheduled"

        # answer on their own; revealed when both have
        full = alex.ok("GET", f"/checkins/{checkin['id']}")
        answers = [{"prompt": p["key"], "value": valid(p)} for p in full["prompts"]]
        for phone in (alex, sam):
            result = phone.ok(
                "PUT", f"/checkins/{checkin['id']}/answers", {"answers": answers, "submit": True}
            )
        assert result["status"] == "revealed" and result["partner"]["answers"]

        # a transparency agreement, drafted and consented
        drafted = sam.ok(
            "POST",
            "/couple/agreements",
            {"title": "For now", "items": [{"category": "plans", "text": "We share plans."}]},
        )
        agreement = alex.ok("POST", f"/agreements/{drafted['id']}/consent", {"version": 1})
        assert agreement["status"] == "active"

        # a guided conversation, to the end
        people = {m["id"]: (sam if m["display_name"] == "Sam" else alex) for m in couple["members"]}
        alex_id = next(m["id"] for m in couple["members"] if m["display_name"] == "Alex")
        talk = alex.ok(
            "POST",
            "/couple/conversations",
            {"template": "processing_a_trigger", "roles": {"hurt_partner": alex_id}},
        )
        for _ in templates()["processing_a_trigger"]["steps"]:
            step = talk["current_step"]
            writers = [people[p["id"]] for p in step["expected_writers"]]
            for writer in writers[:1] if step["writers"] == "either" else writers:
                writer.ok("POST", f"/conversations/{talk['id']}/entries", {"text": "Said gently."})
            for phone in (sam, alex):
                talk = phone.ok("POST", f"/conversations/{talk['id']}/ready")
        assert talk["status"] == "completed"

        # a counselor, linked by both (each with a fresh login), assigns; both complete
        link_code = dr.ok("POST", "/counselor/link-codes")["code"]
        link = sam.login().ok("POST", "/couple/counselor-links", {"code": link_code})
        alex.login().ok("POST", f"/counselor-links/{link['id']}/consent")
        exercise = dr.ok(
            "POST",
            f"/counselor/couples/{couple['id']}/exercises",
            {"kind": "reflection", "prompts": ["What helped?"]},
        )
        for phone in (sam, alex):
            phone.ok("POST", f"/exercises/{exercise['id']}/complete")
        seen = dr.ok("GET", f"/counselor/couples/{couple['id']}")
        assert seen["exercises"][0]["status"] == "completed"

        # the timeline tells it; the export holds it; leaving is quiet
        kinds = {e["kind"] for e in sam.ok("GET", "/couple/timeline?limit=100")["items"]}
        assert {
            "paired",
            "checkin_revealed",
            "agreement_activated",
            "conversation_completed",
            "counselor_linked",
            "exercise_completed",
        } <= kinds
        export = sam.login().ok("GET", "/me/export")
        assert export["account"]["email"] == "sam@walk.example"
        assert export["couples"][0]["checkins"]
        left = alex.ok("POST", "/couple/leave", {})
        assert left["status"] == "ended"
        assert sam.ok("GET", "/couple")["status"] == "ended"
    finally:
        stop(server)
