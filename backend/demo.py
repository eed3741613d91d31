"""`trustline demo`: a demo couple and their counselor with eight weeks of history.

Everything is made through the real services, with the clock set to the moment each thing
happens (clock.at), so the timeline, trends and notifications tell a true story. Running it
again changes nothing: the demo accounts are found and reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from backend import clock
from backend.accounts import service as accounts
from backend.agreements import service as agreements
from backend.agreements.models import Agreement
from backend.checkins import service as checkins
from backend.checkins.models import Checkin
from backend.conversations import service as conversations
from backend.conversations.models import Conversation
from backend.counseling import service as counseling
from backend.couples import service as couples
from backend.couples.service import couple_of
from backend.extensions import db
from backend.journal import service as journal
from backend.scheduling import service as schedules
from backend.scheduling.jobs import tick

PASSWORD = "trustline-demo-2026"  # noqa: S105 - the public demo accounts' password
SAM = "sam@demo.trustline.invalid"
ALEX = "alex@demo.trustline.invalid"
COUNSELOR = "dr.rivera@demo.trustline.invalid"
TIMEZONE = "Europe/Berlin"
WEEKS = 8
TOLD_SAME_DAY = "We each tell the other the same day if the person involved gets in touch."
PLANS_UNASKED = "We tell each other our plans for evenings out, without being asked."
# Offered, for a while, never questioning on demand (see docs/content.md).
OFFERED_MESSAGES = "For now, we each offer to show a message that might worry the other."
AGREEMENT_ITEMS = [
    {"category": "contact", "applies_to": "both", "text": TOLD_SAME_DAY},
    {"category": "plans", "applies_to": "both", "text": PLANS_UNASKED},
    {"category": "devices", "applies_to": "both", "text": OFFERED_MESSAGES},
]
NOTICE_TRUST = "Before our next session, each of you notice one moment you felt trust."
# Weeks (0-based) in which Alex didn't get to the check-in before it closed.
ALEX_MISSES = (2, 5)
WORDS = {
    "appreciations_week": [
        "You made coffee every morning and asked how I slept.",
        "You told me about the dinner plans before I had to ask.",
        "You listened when I needed to talk, without fixing it.",
    ],
    "went_well_week": [
        "We talked on Wednesday without it turning into a fight.",
        "The walk on Saturday felt easy again.",
        "We laughed about the neighbours' dog. It felt like us.",
    ],
    "one_worry_week": [
        "When your phone buzzed late I felt the old knot in my stomach.",
        "I worry that things are better only because we're busy.",
        "Nothing big this week.",
    ],
    "one_request_week": [
        "Could you tell me when you'll be home late, even by text?",
        "Can we keep our Sunday walk, even when it's cold?",
        "Please say it when you're tired, instead of going quiet.",
    ],
    "small_step_next_week": [
        "I'll say out loud when I'm starting to assume the worst.",
        "I'll plan one evening for just the two of us.",
        "I'll keep the small promise about the dishes.",
    ],
}


@dataclass(frozen=True)
class DemoReport:
    """What the demo made (or found)."""

    created: bool
    couple_id: str
    accounts: tuple[tuple[str, str, str], ...]


def _answers(checkin: Checkin, *, week: int, person: int) -> list[dict]:
    """Answers that improve gently over the weeks."""
    answers = []
    for item in checkin.items:
        prompt = item.prompt
        config = prompt.config
        if prompt.kind == "scale":
            low, high = config["min"], config["max"]
            value = min(high, max(low, 3 + week * 6 // WEEKS + person))
        elif prompt.kind == "choice":
            value = config["options"][week % len(config["options"])]["value"]
        elif prompt.kind == "multi_choice":
            value = [config["options"][(week + person) % len(config["options"])]["value"]]
        else:
            options = WORDS.get(prompt.key, ["A few honest words."])
            value = options[(week + person) % len(options)]
        visibility = "private" if prompt.key == "one_worry_week" and person == 1 else "shared"
        answers.append({"prompt": prompt.key, "value": value, "visibility": visibility})
    return answers


@dataclass
class _Story:
    """The demo's people and couple as the weeks unfold, and the local start of week 0."""

    start: datetime
    sam: accounts.User
    alex: accounts.User
    counselor: accounts.User
    couple: couples.Couple | None = None
    agreement: Agreement | None = None

    def at(self, days: float, hours: float = 0) -> datetime:
        """The moment `days` (and `hours`) after the start: Monday 18:00 local, week 0."""
        return self.start + timedelta(days=days, hours=hours)


def build_demo(*, now: datetime | None = None) -> DemoReport:
    """Create the demo couple's eight weeks, unless they exist."""
    accounts_list = (
        (SAM, PASSWORD, "partner"),
        (ALEX, PASSWORD, "partner"),
        (COUNSELOR, PASSWORD, "counselor"),
    )
    existing = accounts.find_user_by_email(SAM)
    if existing is not None:
        couple = couple_of(existing)
        return DemoReport(False, couple.id if couple else "", accounts_list)
    now = now or clock.now()
    zone = ZoneInfo(TIMEZONE)
    local_start = (now.astimezone(zone) - timedelta(weeks=WEEKS)).date()
    local_start -= timedelta(days=local_start.weekday())  # a Monday
    story = _meet(datetime.combine(local_start, time(18, 0), tzinfo=zone))
    for week in range(WEEKS):
        _weekly_checkin(story, week)
        _what_else_happened(story, week)
    _journal(story)
    with clock.at(now):
        tick()
    return DemoReport(True, story.couple.id, accounts_list)


def _meet(start: datetime) -> _Story:
    """Day 0 and 1: the three accounts, the pairing, the weekly schedule, the counselor link."""
    with clock.at(start):
        sam = accounts.register(
            email=SAM, password=PASSWORD, display_name="Sam", role="partner"
        ).user
        sam.timezone = TIMEZONE
        alex = accounts.register(
            email=ALEX, password=PASSWORD, display_name="Alex", role="partner"
        ).user
        alex.timezone = TIMEZONE
        counselor = accounts.register(
            email=COUNSELOR, password=PASSWORD, display_name="Dr Rivera", role="counselor"
        ).user
        invite = couples.create_invite(user=sam)
    story = _Story(start=start, sam=sam, alex=alex, counselor=counselor)
    with clock.at(story.at(0, 1)):
        story.couple = couples.accept_invite(user=alex, code=invite.code)
        couples.update_couple(
            couple=story.couple, user=sam, changes={"name": "Sam & Alex", "timezone": TIMEZONE}
        )
        schedules.create_schedule(
            couple=story.couple,
            user=sam,
            data={
                "prompt_set": "weekly_trust_checkin",
                "frequency": "weekly",
                "weekdays": ["sun"],
                "local_time": "19:00",
                "window_hours": 48,
                "reminder_hours_before_close": 12,
            },
        )
    with clock.at(story.at(1)):
        code, _ = counseling.create_link_code(counselor=counselor)
        link = counseling.propose_link(couple=story.couple, user=sam, code=code, scope="progress")
    with clock.at(story.at(1, 3)):
        counseling.consent_link(link=link, user=alex)
    return story


def _weekly_checkin(story: _Story, week: int) -> None:
    """Sunday's check-in: opened by the tick, Sam answers, Alex too (but in two weeks), and
    the tick closes it two days later."""
    sunday = story.at(6 + 7 * week, 1)  # Sunday 19:00 local
    with clock.at(sunday + timedelta(minutes=1)):
        tick()
    checkin = db.session.scalar(
        sa.select(Checkin)
        .where(Checkin.couple_id == story.couple.id, Checkin.status == "open")
        .order_by(Checkin.opened_at.desc())
    )
    if checkin is None:  # pragma: no cover - the tick always opens it
        return
    with clock.at(sunday + timedelta(hours=2)):
        checkins.save_answers(
            checkin=checkin,
            user=story.sam,
            answers=_answers(checkin, week=week, person=0),
            submit=True,
        )
    if week not in ALEX_MISSES:
        with clock.at(sunday + timedelta(hours=20)):
            checkins.save_answers(
                checkin=db.session.get(Checkin, checkin.id),
                user=story.alex,
                answers=_answers(checkin, week=week, person=1),
                submit=True,
            )
    with clock.at(sunday + timedelta(hours=49)):
        tick()


def _what_else_happened(story: _Story, week: int) -> None:
    """The week's other events, if it had any."""
    happening = {
        1: _agreement_made,
        2: _hard_conversation,
        3: _reflection_exercise,
        4: _pulse_exercise,
        5: _agreement_revised,
    }.get(week)
    if happening is not None:
        happening(story)


def _agreement_made(story: _Story) -> None:
    """Week 1: Sam proposes their first agreement, Alex consents that evening."""
    with clock.at(story.at(9)):
        story.agreement = agreements.create_agreement(
            couple=story.couple,
            user=story.sam,
            title="Our first months back",
            items=AGREEMENT_ITEMS,
            review_on=story.at(9).date() + timedelta(days=42),
        )
    with clock.at(story.at(9, 20)):
        agreements.consent(agreement=story.agreement, user=story.alex, version_number=1)


def _hard_conversation(story: _Story) -> None:
    """Week 2: Alex opens a conversation about a trigger, and they walk it through."""
    with clock.at(story.at(16)):
        talk = conversations.start(
            couple=story.couple,
            user=story.alex,
            template_key="processing_a_trigger",
            roles={"triggered_partner": story.alex.id},
        )
    _walk(talk, story.couple, story.sam, story.alex, base=story.at(16))


def _reflection_exercise(story: _Story) -> None:
    """Week 3: the counselor assigns a reflection; both complete their part."""
    with clock.at(story.at(23)):
        exercise = counseling.assign_exercise(
            couple=story.couple,
            counselor=story.counselor,
            kind="reflection",
            template=None,
            instructions=NOTICE_TRUST,
            prompts=["When did you feel you could rely on your partner this week?"],
            due_on=story.at(30).date(),
        )
    with clock.at(story.at(25)):
        counseling.complete_part(exercise=exercise, user=story.sam)
    with clock.at(story.at(27)):
        counseling.complete_part(exercise=exercise, user=story.alex)


def _pulse_exercise(story: _Story) -> None:
    """Week 4: the counselor assigns a short check-in, left open."""
    with clock.at(story.at(31)):
        counseling.assign_exercise(
            couple=story.couple,
            counselor=story.counselor,
            kind="checkin",
            template="daily_pulse",
            instructions="A short pulse after our session.",
            prompts=[],
            due_on=story.at(34).date(),
        )


def _agreement_revised(story: _Story) -> None:
    """Week 5: Alex proposes a second version that steps one commitment down; Sam consents."""
    agreement_id = story.agreement.id
    with clock.at(story.at(40)):
        current = db.session.get(Agreement, agreement_id)
        agreements.propose_version(
            agreement=current,
            user=story.alex,
            if_match=agreements.etag(current),
            # stepping down: the devices commitment is no longer needed
            items=AGREEMENT_ITEMS[:2],
            review_on=story.at(40).date() + timedelta(days=30),
        )
    with clock.at(story.at(40, 4)):
        agreements.consent(
            agreement=db.session.get(Agreement, agreement_id),
            user=story.sam,
            version_number=2,
        )


def _journal(story: _Story) -> None:
    """A few private journal entries along the weeks."""
    for day, who, text in (
        (3, story.sam, "First week with the app. I caught myself expecting the worst twice."),
        (12, story.alex, "The trigger conversation was hard, but the time-out helped."),
        (26, story.sam, "I noticed I checked less this week. Small, but real."),
        (44, story.alex, "Felt close on the walk. Want to remember this."),
    ):
        with clock.at(story.at(day, 4)):
            journal.write(user=who, text=text)


def _walk(talk, couple, sam: accounts.User, alex: accounts.User, *, base: datetime) -> None:
    """Walk a conversation through, with a time-out in the middle."""
    people = {sam.id: sam, alex.id: alex}
    moment = base
    for index, step in enumerate(talk.steps):
        moment += timedelta(minutes=25)
        current = db.session.get(Conversation, talk.id)
        writers = conversations.writers_of(current, index)
        if step["writers"] == "either":
            writers = writers[:1]
        for writer in writers:
            with clock.at(moment):
                conversations.write_entry(
                    conversation=db.session.get(Conversation, talk.id),
                    user=people[writer],
                    text=_entry_text(step["key"]),
                )
        if index == 1:
            with clock.at(moment + timedelta(minutes=5)):
                conversations.pause(
                    conversation=db.session.get(Conversation, talk.id),
                    user=alex,
                    minutes=30,
                )
            moment += timedelta(minutes=40)
        for person in (sam, alex):
            with clock.at(moment + timedelta(minutes=10)):
                conversations.mark_ready(
                    conversation=db.session.get(Conversation, talk.id), user=person
                )


def _entry_text(step_key: str) -> str:
    return {
        "name_it": "When you got a message late at night, I froze and assumed the worst.",
        "reflect_back": "You froze when my phone lit up late, and the old fear came back.",
        "feel_understood": "Yes, that's it. And it felt like the old days, all at once.",
        "validate": "It makes sense you'd feel that, after what happened.",
        "ask_for_what_helps": "It would help if you just told me who it was, without me asking.",
        "offer_what_helps": "I can do that. I'll say who it is when my phone goes late.",
        "one_next_step": "Late messages: we say who it is, lightly, and move on.",
    }.get(step_key, "We talked it through.")


def describe(report: DemoReport, base_url: str = "http://127.0.0.1:8000") -> str:
    """The accounts and three commands to try."""
    lines = [
        "Demo ready." if report.created else "Demo already there (nothing changed).",
        "",
        "Accounts (password for all: " + PASSWORD + "):",
    ]
    lines += [f"  {role:9}  {email}" for email, _, role in report.accounts]
    lines += [
        "",
        "Try:",
        f"  TOKEN=$(curl -s '{base_url}/api/v1/auth/login' -H 'Content-Type: application/json' "
        f'-d \'{{"email": "{SAM}", "password": "{PASSWORD}"}}\' | python3 -c '
        "'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')",
        f"  curl -s '{base_url}/api/v1/couple/timeline?limit=5' "
        '-H "Authorization: Bearer $TOKEN"',
        f"  curl -s '{base_url}/api/v1/couple/trends?prompt=felt_safe_week' "
        '-H "Authorization: Bearer $TOKEN"',
        "",
        f"Counselor's web console: {base_url}/console/ (sign in as {COUNSELOR})",
    ]
    return "\n".join(lines)
