"""Answers a controlling partner would watch are private unless their author chooses to share,
and an answer that says openness feels like being watched brings its author the safety notice."""

from __future__ import annotations

import sqlalchemy as sa
import yaml

from backend.checkins.library import CONTENT_FILE
from backend.extensions import db
from backend.notifications.models import Notification
from backend.timeline.models import TimelineEvent
from tests.counseling.helpers import link
from tests.helpers import assert_problem, valid_value

CONTENT = yaml.safe_load(CONTENT_FILE.read_text())
DEFAULT_PRIVATE = {p["key"] for p in CONTENT["prompts"] if p.get("default_visibility") == "private"}
SETS_WITH_PRIVATE = [
    s["key"] for s in CONTENT["prompt_sets"] if DEFAULT_PRIVATE & set(s["prompts"])
]
SECRET = "words only their author may read"
SHARED = "words the partner may read"


def open_checkin(partner, prompt_set: str) -> dict:
    response = partner.post("/couple/checkins", json={"prompt_set": prompt_set})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def unchosen_answers(checkin: dict, text: str = SHARED, secret: str = SECRET) -> list[dict]:
    """An answer to every prompt, leaving visibility for the prompt to decide (the words of
    default-private prompts are `secret`)."""
    return [
        {
            "prompt": p["key"],
            "value": valid_value(p, secret if p["default_visibility"] == "private" else text),
        }
        for p in checkin["prompts"]
    ]


def answer(partner, checkin: dict, answers: list[dict], submit: bool = True) -> dict:
    response = partner.put(
        f"/checkins/{checkin['id']}/answers", json={"answers": answers, "submit": submit}
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_library_says_which_prompts_default_to_private(alice):
    listed = {p["key"]: p for p in alice.get("/prompts").get_json()}
    for key in ("forgiveness_progress", "openness_feels", "own_space_week"):
        assert listed[key]["default_visibility"] == "private", key
    assert listed["felt_safe_today"]["default_visibility"] == "shared"
    assert {k for k, p in listed.items() if p["default_visibility"] == "private"} == DEFAULT_PRIVATE


def test_a_check_in_reports_each_prompts_default(alice, bob, couple):
    checkin = open_checkin(alice, "transparency_and_control")
    defaults = {p["key"]: p["default_visibility"] for p in checkin["prompts"]}
    assert defaults["own_space_week"] == defaults["openness_feels"] == "private"
    assert defaults["openness_week"] == "shared"


def test_an_answer_left_unchosen_takes_its_prompts_default_and_a_choice_wins(alice, bob, couple):
    checkin = open_checkin(alice, "transparency_and_control")
    answers = unchosen_answers(checkin)
    chosen = next(a for a in answers if a["prompt"] == "openness_feels")
    chosen["visibility"] = "shared"  # her choice, over the prompt's default
    mine = answer(alice, checkin, answers)["my_response"]["answers"]
    visibility = {a["prompt"]: a["visibility"] for a in mine}
    assert visibility["own_space_week"] == "private"
    assert visibility["openness_feels"] == "shared"
    assert visibility["openness_week"] == "shared"
    answer(bob, checkin, unchosen_answers(checkin, "Bob's words", "Bob's own"))
    seen = {
        a["prompt"] for a in bob.get(f"/checkins/{checkin['id']}").get_json()["partner"]["answers"]
    }
    assert "openness_feels" in seen and "openness_week" in seen
    assert "own_space_week" not in seen


def test_default_private_answers_reach_no_view_the_partner_or_a_counselor_can_reach(
    alice, bob, couple, counselor
):
    link(alice, bob, counselor, "shared_content")
    for prompt_set in SETS_WITH_PRIVATE:
        checkin = open_checkin(alice, prompt_set)
        answer(alice, checkin, unchosen_answers(checkin))
        answer(bob, checkin, unchosen_answers(checkin, "Bob's words", "Bob's own"))
    alice_id = alice.user["id"]
    scales = sorted(
        p["key"] for p in CONTENT["prompts"] if p["key"] in DEFAULT_PRIVATE and p["kind"] == "scale"
    )

    def alices_answers(views: list[dict]) -> set[str]:
        return {a["prompt"] for view in views for a in view["answers"] or []}

    checkins = bob.get("/couple/checkins?limit=100").get_json()["items"]
    assert len(checkins) == len(SETS_WITH_PRIVATE)
    partner_views = [bob.get(f"/checkins/{c['id']}").get_json()["partner"] for c in checkins]
    assert all(view["submitted"] for view in partner_views)
    assert alices_answers(partner_views) and not alices_answers(partner_views) & DEFAULT_PRIVATE

    export = bob.get("/me/export").get_json()
    exported = [c["partner"] for couple_ in export["couples"] for c in couple_["checkins"]]
    assert alices_answers(exported) and not alices_answers(exported) & DEFAULT_PRIVATE

    detail = counselor.get(f"/counselor/couples/{couple['id']}").get_json()
    counselor_views = [
        r for c in detail["shared_checkins"] for r in c["responses"] if r["user"]["id"] == alice_id
    ]
    assert alices_answers(counselor_views) and not alices_answers(counselor_views) & DEFAULT_PRIVATE

    for key in scales:
        for viewer, url in (
            (bob, f"/couple/trends?prompt={key}"),
            (counselor, f"/counselor/couples/{couple['id']}?prompt={key}"),
        ):
            body = viewer.get(url).get_json()
            series = (body.get("trends") or body)["series"]
            assert next(s for s in series if s["user_id"] == alice_id)["points"] == [], key
        mine = alice.get(f"/couple/trends?prompt={key}").get_json()["series"][0]
        assert mine["is_me"] and mine["points"], key  # and she still has her own

    reachable = [
        *(bob.get(f"/checkins/{c['id']}").get_data(as_text=True) for c in checkins),
        bob.get("/couple/timeline?limit=100").get_data(as_text=True),
        bob.get("/me/notifications").get_data(as_text=True),
        bob.get("/me/export").get_data(as_text=True),
        counselor.get(f"/counselor/couples/{couple['id']}").get_data(as_text=True),
    ]
    assert any(SHARED in text for text in reachable)  # her shared words do arrive
    assert not any(SECRET in text for text in reachable)


def test_watched_or_no_space_of_ones_own_brings_the_private_notice(alice, bob, couple):
    checkin = open_checkin(alice, "transparency_and_control")
    answers = unchosen_answers(checkin, "A few words.")
    watched = next(a for a in answers if a["prompt"] == "openness_feels")
    space = next(a for a in answers if a["prompt"] == "own_space_week")
    watched["value"], space["value"] = "freely_given", 8
    assert answer(alice, checkin, answers, submit=False)["safety_notice"] is None

    space["value"] = 1
    notice = answer(alice, checkin, answers, submit=False)["safety_notice"]
    assert notice["reason"] == "words" and notice["resources"] and notice["note"]
    assert "space of your own" in notice["message"]

    space["value"] = 8
    watched["value"] = "feels_like_being_watched"
    notice = answer(alice, checkin, answers)["safety_notice"]
    assert "being watched" in notice["message"]

    # the partner sees nothing of it: not the notice, not the answer, nothing sent or recorded
    answer(bob, checkin, unchosen_answers(checkin, "Bob's words", "Bob's own"))
    seen = bob.get(f"/checkins/{checkin['id']}").get_json()
    assert seen.get("safety_notice") is None
    assert "openness_feels" not in {a["prompt"] for a in seen["partner"]["answers"]}
    recorded = [e.summary for e in db.session.scalars(sa.select(TimelineEvent))] + [
        f"{n.title} {n.body}" for n in db.session.scalars(sa.select(Notification))
    ]
    assert not any("watched" in text or "space" in text for text in recorded)


def test_the_notice_follows_the_answer_not_the_prompt_alone(alice, bob, couple):
    checkin = open_checkin(alice, "money_and_trust")
    answers = unchosen_answers(checkin)
    money = next(a for a in answers if a["prompt"] == "money_of_my_own")
    money["value"] = "yes_enough"
    assert answer(alice, checkin, answers, submit=False)["safety_notice"] is None
    money["value"] = "no_access"
    assert "money" in answer(alice, checkin, answers)["safety_notice"]["message"]


def test_a_bad_visibility_is_named_and_nothing_is_saved(alice, bob, couple, carol):
    checkin = open_checkin(alice, "transparency_and_control")
    url = f"/checkins/{checkin['id']}/answers"
    for bad in ("secret", None, 1):
        answers = unchosen_answers(checkin)
        answers[0]["visibility"] = bad
        assert_problem(alice.put(url, json={"answers": answers}), 422, "answers.0.visibility")
    assert alice.get(f"/checkins/{checkin['id']}").get_json()["my_response"]["answers"] == []
    # another couple's partner can't answer it, or learn that it exists
    assert_problem(carol.put(url, json={"answers": unchosen_answers(checkin)}), 404)
