"""A team generates a Python client from openapi.yaml and plays the whole journey through it.

openapi-python-client (pinned in the `test` extra) is run over the committed spec exactly as a
phone-app or counselor-tool team would run it. Any generator warning fails the first test: a
warning means a piece of the API is missing from the client. The second test plays the partner
journey against a live `trustline serve` through the generated package only (no hand-written
HTTP), and counts the steps that run as generated.

Where today's spec forces a workaround, the step is written the way it should work and the
workaround is taken and named as one of the `SPEC_PROBLEMS`. The test fails when a problem
not in `STILL_OPEN` is met, and also when one in it is gone (so the list is kept true).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
import yaml

from tests import clockshift
from tests.test_serve import free_port, start, stop, wait_until_up

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "openapi.yaml"
CONFIG = Path(__file__).with_name("openapi-python-client.yaml")
PACKAGE = "trustline_client"
PASSWORD = "a generated-client password"

# Spec problems a generated client meets, each named by the schema or operation at fault; the
# journey records the key when it has to work around one (issue 16 has the whole story).
SPEC_PROBLEMS: dict[str, str] = {
    "operationId": "operations have no operationId, so functions are named after URL paths",
    "dropped: SafetyCheck": "the generator drops SafetyCheck (its `answers` generates a model "
    "named SafetyCheckAnswers, which collides with the request schema), so GET/PUT "
    "/me/safety-check return no parsed body",
    "untyped: Checkin.partner": "a nullable nested object generates as an untyped dict",
    "untyped: Conversation.current_step": "a nullable nested object generates as an untyped dict",
    "untyped: Export.account": "`account` is a bare `type: object`",
    "no field: Agreement.etag": "the version to send back in If-Match is only in the ETag "
    "response header, which generated functions do not return",
    "kinds: GET /couple/timeline": "`kinds=a&kinds=b` (how the client sends a list) returns "
    "the first kind only",
}
# The problems today's spec still has: the journey must meet exactly these. Take a key out once
# the spec is fixed (the test says which); one met but not listed here is a regression.
STILL_OPEN: set[str] = set()

# The names the journey calls operations by (the operationIds it expects), with the operation.
OPERATIONS: dict[str, tuple[str, str]] = {
    "register_account": ("post", "/api/v1/auth/register"),
    "log_in": ("post", "/api/v1/auth/login"),
    "create_pairing_code": ("post", "/api/v1/pairing-invites"),
    "accept_pairing_code": ("post", "/api/v1/pairing-invites/accept"),
    "update_couple": ("patch", "/api/v1/couple"),
    "get_couple": ("get", "/api/v1/couple"),
    "open_checkin": ("post", "/api/v1/couple/checkins"),
    "get_checkin": ("get", "/api/v1/checkins/{checkin_id}"),
    "save_checkin_answers": ("put", "/api/v1/checkins/{checkin_id}/answers"),
    "list_couple_checkins": ("get", "/api/v1/couple/checkins"),
    "create_couple_schedule": ("post", "/api/v1/couple/schedules"),
    "create_couple_agreement": ("post", "/api/v1/couple/agreements"),
    "get_agreement": ("get", "/api/v1/agreements/{agreement_id}"),
    "propose_agreement_version": ("post", "/api/v1/agreements/{agreement_id}/versions"),
    "consent_to_agreement": ("post", "/api/v1/agreements/{agreement_id}/consent"),
    "start_conversation": ("post", "/api/v1/couple/conversations"),
    "write_conversation_entry": ("post", "/api/v1/conversations/{conversation_id}/entries"),
    "mark_ready_to_move_on": ("post", "/api/v1/conversations/{conversation_id}/ready"),
    "create_counselor_link_code": ("post", "/api/v1/counselor/link-codes"),
    "propose_counselor_link": ("post", "/api/v1/couple/counselor-links"),
    "consent_to_counselor_link": ("post", "/api/v1/counselor-links/{link_id}/consent"),
    "assign_exercise": ("post", "/api/v1/counselor/couples/{couple_id}/exercises"),
    "list_couple_exercises": ("get", "/api/v1/couple/exercises"),
    "complete_exercise": ("post", "/api/v1/exercises/{exercise_id}/complete"),
    "get_counselor_couple": ("get", "/api/v1/counselor/couples/{couple_id}"),
    "assign_measure": ("post", "/api/v1/counselor/couples/{couple_id}/measure-assignments"),
    "list_my_measure_responses": ("get", "/api/v1/me/measure-responses"),
    "get_measure_response": ("get", "/api/v1/measure-responses/{response_id}"),
    "save_measure_response": ("put", "/api/v1/measure-responses/{response_id}"),
    "get_my_measure_scores": ("get", "/api/v1/me/measures/{measure_key}/scores"),
    "get_my_measure_sharing": ("get", "/api/v1/me/measure-sharing"),
    "set_my_measure_sharing": ("put", "/api/v1/me/measure-sharing"),
    "list_shared_measure_scores": ("get", "/api/v1/counselor/couples/{couple_id}/measures"),
    "list_couple_timeline": ("get", "/api/v1/couple/timeline"),
    "list_my_notifications": ("get", "/api/v1/me/notifications"),
    "mark_my_notifications_read": ("post", "/api/v1/me/notifications/read"),
    "create_my_journal_entry": ("post", "/api/v1/me/journal"),
    "list_my_journal_entries": ("get", "/api/v1/me/journal"),
    "get_my_safety_check": ("get", "/api/v1/me/safety-check"),
    "answer_my_safety_check": ("put", "/api/v1/me/safety-check"),
    "get_my_export": ("get", "/api/v1/me/export"),
    "delete_my_account": ("delete", "/api/v1/me"),
}

# The headings openapi-python-client prints for each problem it meets (GeneratorError.header).
WARNING_HEADING = re.compile(
    r"^(?:(?:WARNING|ERROR) parsing .*|Unable to .*|Problem creating .*|Skipping Integration"
    r"|Conflicting property names|Enum values must .*|Unsupported enum .*"
    r"|Endpoint requires a body.*|Failed to parse .*|Invalid (?:JSON|YAML) .*|Could not get .*"
    r"|.* failed)$"
)


def generate_client(spec: Path, into: Path) -> tuple[Path, list[str]]:
    """Run the generator as a team would; return the package folder and its warnings."""
    package = into / PACKAGE
    # The console script beside this interpreter: the venv's, whatever PATH says.
    generator = Path(sys.executable).parent / "openapi-python-client"
    result = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(spec),
            "--output-path",
            str(package),
            "--meta",
            "none",
            "--config",
            str(CONFIG),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    lines = [line.strip() for line in output.splitlines()]
    warnings = []
    for at, line in enumerate(lines):
        if WARNING_HEADING.match(line):
            # The heading and the first line of its detail, which says what went wrong.
            detail = next((text for text in lines[at + 1 :] if text), "")
            warnings.append(f"{line} {detail}")
    if (result.returncode or "encountered while generating" in output) and not warnings:
        warnings = [output.strip() or f"exit status {result.returncode}"]
    return package, warnings


@dataclass
class Generated:
    """The generated package, imported, and what the generator said."""

    package: ModuleType
    warnings: list[str]
    spec: dict[str, Any]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    folder = tmp_path_factory.mktemp("generated")
    package, warnings = generate_client(SPEC, folder)
    assert (package / "__init__.py").exists(), warnings
    sys.path.insert(0, str(folder))
    try:
        yield Generated(
            package=importlib.import_module(PACKAGE),
            warnings=warnings,
            spec=yaml.safe_load(SPEC.read_text()),
        )
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def test_the_generator_reads_the_spec_without_a_warning(generated):
    assert generated.warnings == [], (
        f"openapi-python-client gave {len(generated.warnings)} warning(s) on openapi.yaml:\n"
        + "\n".join(generated.warnings)
    )


@dataclass
class Step:
    """One thing a user does in the journey, and the spec problems it had to work around."""

    name: str
    problems: list[str] = field(default_factory=list)


class Journey:
    """The generated client as the journey uses it, keeping count of the workarounds taken."""

    def __init__(self, generated: Generated, base_url: str) -> None:
        self.package = generated.package
        self.models = importlib.import_module(f"{PACKAGE}.models")
        self.client_module = importlib.import_module(f"{PACKAGE}.client")
        self.base_url = base_url
        self.steps: list[Step] = []
        self.last: Any = None  # the last response, for a workaround that reads it
        self._modules = self._index_operations(generated.spec)

    def _index_operations(self, spec: dict[str, Any]) -> dict[str, tuple[str, bool]]:
        """Each journey operation's generated module name, and whether the spec names it."""
        from openapi_python_client.parser.openapi import generate_operation_id
        from openapi_python_client.schema.untrusted_string import UntrustedString
        from openapi_python_client.strings import PythonIdentifier

        modules = {
            path.stem: f"{PACKAGE}.api.{path.parent.name}.{path.stem}"
            for path in Path(self.package.__file__).parent.glob("api/*/*.py")
        }
        index = {}
        for name, (method, path) in OPERATIONS.items():
            operation = spec["paths"][path][method]
            operation_id = operation.get("operationId")
            if operation_id:
                python_name = PythonIdentifier(operation_id, prefix="field_")
            else:
                python_name = generate_operation_id(
                    path=UntrustedString(path), method=method, prefix="field_"
                )
            assert str(python_name) in modules, f"no function for {method.upper()} {path}"
            assert not operation_id or str(python_name) == name, (
                f"{method.upper()} {path} is now `{python_name}`: rename `{name}` in OPERATIONS "
                "(and know that every generated client's code breaks the same way)"
            )
            index[name] = (modules[str(python_name)], bool(operation_id))
        return index

    @contextmanager
    def step(self, name: str) -> Iterator[Step]:
        """Play one step of the journey."""
        self.steps.append(Step(name))
        yield self.steps[-1]

    def workaround(self, problem: str) -> None:
        """Record that this step needed a workaround for a spec problem."""
        assert problem in SPEC_PROBLEMS, f"name and describe it in SPEC_PROBLEMS: {problem}"
        if problem not in self.steps[-1].problems:
            self.steps[-1].problems.append(problem)

    def anonymous(self) -> Any:
        """A client with no token, for registering and logging in."""
        return self.client_module.Client(base_url=self.base_url, raise_on_unexpected_status=True)

    def signed_in(self, token: str) -> Any:
        """A client carrying an access token."""
        return self.client_module.AuthenticatedClient(
            base_url=self.base_url, token=token, raise_on_unexpected_status=True
        )

    def operation(self, name: str) -> ModuleType:
        """The generated module of an operation (it holds `sync`, `sync_detailed`, ...)."""
        module, named = self._modules[name]
        if not named:
            self.workaround("operationId")
        return importlib.import_module(module)

    def generated(self, name: str) -> bool:
        """Whether the generated module of an operation imports at all."""
        try:
            self.operation(name)
        except ImportError:
            return False
        return True

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call a generated operation; return its parsed body (a model) after a 2xx."""
        response = self.operation(name).sync_detailed(*args, **kwargs)
        self.last = response
        assert 200 <= response.status_code < 300, (name, response.status_code, response.content)
        return response.parsed

    def without_the_generated_function(self, name: str, client: Any, body: dict) -> None:
        """A workaround only: send an operation's request through the client's own httpx."""
        method, path = OPERATIONS[name]
        response = client.get_httpx_client().request(method, path, json=body)
        self.last = response
        assert 200 <= response.status_code < 300, (name, response.status_code, response.content)

    def parsed(self, value: Any, model: str, problem: str) -> Any:
        """A response body as the model it should be (for a dropped model: its JSON, loosely)."""
        if value is not None and type(value).__name__ == model:
            return value
        self.workaround(problem)
        return json.loads(self.last.content, object_hook=lambda d: SimpleNamespace(**d))

    def typed(self, value: Any, model: str, problem: str) -> Any:
        """A nested object as the model it should be, rather than an untyped dict."""
        cls = getattr(self.models, model)
        if isinstance(value, cls):
            return value
        self.workaround(problem)
        return cls.from_dict(value.to_dict())

    def enum_of(self, name: str, parameter: str) -> type:
        """The enum a list-valued query parameter of an operation takes."""
        hints = typing.get_type_hints(self.operation(name).sync_detailed)
        [member] = [a for a in typing.get_args(hints[parameter]) if typing.get_origin(a) is list]
        return typing.get_args(member)[0]


@dataclass
class Person:
    """Someone using the generated client: their email, and a client with their access token."""

    email: str
    client: Any


def answer_for(prompt: Any) -> Any:
    """A valid answer to a prompt of any kind."""
    kind = str(prompt.kind.value if hasattr(prompt.kind, "value") else prompt.kind)
    if kind == "scale":
        return prompt.max_
    if kind in ("choice", "multi_choice"):
        first = prompt.options[0].value
        return first if kind == "choice" else [first]
    return "Said gently."


def measure_answer(item: Any) -> Any:
    """An answer to a questionnaire item: one above the bottom of a scale, else the first
    option, else a word."""
    kind = str(item.kind.value if hasattr(item.kind, "value") else item.kind)
    if kind == "scale":
        return item.min_ + 1
    if kind == "single_choice":
        return item.options[0].value
    return "Steady."


def play_the_journey(j: Journey, tmp_path: Path, env: dict[str, str]) -> None:
    """Register, pair, check in, agree, talk, see a counselor, look back, leave no trace."""
    m = j.models

    def register(email: str, name: str, role: str) -> Person:
        tokens = j.call(
            "register_account",
            client=j.anonymous(),
            body=m.Register(
                email=email, password=PASSWORD, display_name=name, role=m.RegisterRole(role)
            ),
        )
        return Person(email, j.signed_in(tokens.access_token))

    def login(person: Person) -> Person:
        tokens = j.call(
            "log_in", client=j.anonymous(), body=m.Login(email=person.email, password=PASSWORD)
        )
        return Person(person.email, j.signed_in(tokens.access_token))

    def tick_at(moment: Any) -> str:
        """Run the scheduler once at `moment` (its own clock only); what it printed."""
        return subprocess.run(
            clockshift.command("trustline", "tick", "--at", moment.strftime("%Y-%m-%dT%H:%M:%S%z")),
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    with j.step("Sam registers"):
        sam = register("sam@client.example", "Sam", "partner")
    with j.step("Alex registers"):
        alex = register("alex@client.example", "Alex", "partner")
    with j.step("Dr Lee registers as a counselor"):
        dr = register("dr@client.example", "Dr Lee", "counselor")

    with j.step("Sam makes a pairing code"):
        invite = j.call("create_pairing_code", client=sam.client)
    with j.step("Alex pairs with it"):
        couple = j.call(
            "accept_pairing_code", client=alex.client, body=m.AcceptInvite(code=invite.code)
        )
        ids = {member.display_name: member.id for member in couple.members}
    with j.step("Sam sets the couple's time zone"):
        couple = j.call(
            "update_couple", client=sam.client, body=m.CoupleUpdate(timezone="Europe/Berlin")
        )
        assert couple.timezone == "Europe/Berlin"

    with j.step("Sam opens a check-in"):
        checkin = j.call(
            "open_checkin", client=sam.client, body=m.CheckinCreate(prompt_set="daily_pulse")
        )
        prompts = checkin.prompts
    with j.step("Alex answers, keeping one answer private"):
        answers = [
            m.AnswerIn(
                prompt=p.key,
                value=answer_for(p),
                visibility=m.AnswerInVisibility("private" if i == 0 else "shared"),
            )
            for i, p in enumerate(prompts)
        ]
        j.call(
            "save_checkin_answers",
            checkin.id,
            client=alex.client,
            body=m.AnswersPut(answers=answers, submit=True),
        )
    with j.step("Sam answers, and both are revealed"):
        shared = [m.AnswerIn(prompt=p.key, value=answer_for(p)) for p in prompts]
        revealed = j.call(
            "save_checkin_answers",
            checkin.id,
            client=sam.client,
            body=m.AnswersPut(answers=shared, submit=True),
        )
        assert revealed.status.value == "revealed"
    with j.step("Sam sees Alex's shared answers and not the private one"):
        seen = j.call("get_checkin", checkin.id, client=sam.client)
        partner = j.typed(seen.partner, "PartnerResponse", "untyped: Checkin.partner")
        assert {a.prompt for a in partner.answers} == {p.key for p in prompts[1:]}

    with j.step("Sam schedules a daily check-in"):
        schedule = j.call(
            "create_couple_schedule",
            client=sam.client,
            body=m.ScheduleCreate(
                prompt_set="daily_pulse",
                frequency=m.ScheduleCreateFrequency("daily"),
                local_time="21:00",
            ),
        )
    with j.step("The scheduler fires it when the clock reaches it"):
        assert "opened 1" in tick_at(schedule.next_due_at + timedelta(minutes=1))
    with j.step("Alex finds the scheduled check-in"):
        page = j.call("list_couple_checkins", client=alex.client)
        assert [c.source.value for c in page.items].count("scheduled") == 1

    with j.step("Sam proposes a transparency agreement"):
        item = m.ItemIn(category=m.ItemInCategory("plans"), text="We share plans.")
        agreement = j.call(
            "create_couple_agreement",
            client=sam.client,
            body=m.AgreementCreate(title="For now", items=[item]),
        )
    with j.step("Alex consents and it is active"):
        agreement = j.call(
            "consent_to_agreement", agreement.id, client=alex.client, body=m.Consent(version=1)
        )
        assert agreement.status.value == "active"
    with j.step("Sam reads it, with the version to send back"):
        agreement = j.call("get_agreement", agreement.id, client=sam.client)
        etag = getattr(agreement, "etag", None)
        if not isinstance(etag, str):
            j.workaround("no field: Agreement.etag")
            etag = j.last.headers["ETag"]
    with j.step("Sam amends it under If-Match"):
        more = m.ItemIn(category=m.ItemInCategory("contact"), text="We say who we met.")
        amended = j.call(
            "propose_agreement_version",
            agreement.id,
            client=sam.client,
            body=m.VersionCreate(items=[item, more]),
            if_match=etag,
        )
        assert amended.pending_proposal is not None
    with j.step("Alex consents to the amendment"):
        agreement = j.call(
            "consent_to_agreement", agreement.id, client=alex.client, body=m.Consent(version=2)
        )
        assert len(agreement.versions) == 2

    with j.step("Alex starts a guided conversation"):
        roles = m.ConversationCreateRoles()
        roles["hurt_partner"] = ids["Alex"]
        talk = j.call(
            "start_conversation",
            client=alex.client,
            body=m.ConversationCreate(template="processing_a_trigger", roles=roles),
        )
    with j.step("They walk it to its end"):
        people = {ids["Sam"]: sam, ids["Alex"]: alex}
        for _ in range(20):  # more than any template has steps
            if talk.status.value == "completed":
                break
            current = j.typed(
                talk.current_step, "CurrentStep", "untyped: Conversation.current_step"
            )
            writers = [people[p.id] for p in current.expected_writers]
            for writer in writers[:1] if current.writers.value == "either" else writers:
                j.call(
                    "write_conversation_entry",
                    talk.id,
                    client=writer.client,
                    body=m.EntryCreate(text="Said gently."),
                )
            for person in (sam, alex):
                talk = j.call("mark_ready_to_move_on", talk.id, client=person.client)
        assert talk.status.value == "completed"

    with j.step("Dr Lee makes a link code"):
        link_code = j.call("create_counselor_link_code", client=dr.client)
    with j.step("Sam logs in again and proposes the link"):
        sam = login(sam)
        link = j.call(
            "propose_counselor_link", client=sam.client, body=m.LinkPropose(code=link_code.code)
        )
    with j.step("Alex logs in again and consents"):
        alex = login(alex)
        link = j.call("consent_to_counselor_link", link.id, client=alex.client)
        assert link.status.value == "active"
    with j.step("Dr Lee assigns a reflection"):
        exercise = j.call(
            "assign_exercise",
            couple.id,
            client=dr.client,
            body=m.ExerciseCreate(
                kind=m.ExerciseCreateKind("reflection"), prompts=["What helped?"]
            ),
        )
    with j.step("Both find it and complete it"):
        [found] = j.call("list_couple_exercises", client=alex.client)
        assert found.id == exercise.id
        for person in (sam, alex):
            j.call("complete_exercise", exercise.id, client=person.client)
    with j.step("Dr Lee sees it completed"):
        detail = j.call("get_counselor_couple", couple.id, client=dr.client)
        assert detail.exercises[0].status.value == "completed"

    with j.step("Dr Lee asks Sam to fill in the GAD-7 once"):
        assignment = j.call(
            "assign_measure",
            couple.id,
            client=dr.client,
            body=m.AssignmentCreate(
                measure="gad7",
                partners=[ids["Sam"]],
                frequency=m.AssignmentCreateFrequency("once"),
                local_time="09:00",
            ),
        )
        [assigned] = assignment.partners
        assert assigned.user.id == ids["Sam"]
    with j.step("The scheduler opens it when the clock reaches it"):
        tick_at(assigned.next_due_at + timedelta(minutes=1))
    with j.step("Sam finds the questionnaire waiting"):
        status = m.ListMyMeasureResponsesStatus("open")
        [waiting] = j.call("list_my_measure_responses", client=sam.client, status=status).items
        assert (waiting.measure.key, waiting.source.value) == ("gad7", "assigned")
    with j.step("Sam opens it and saves a first answer"):
        response = j.call("get_measure_response", waiting.id, client=sam.client)
        items = response.questionnaire.items
        first = m.MeasureAnswerIn(item=items[0].key, value=measure_answer(items[0]))
        saved = j.call(
            "save_measure_response",
            response.id,
            client=sam.client,
            body=m.MeasureResponsePut(answers=[first]),
        )
        assert saved.status.value == "open" and len(saved.answers) == 1
    with j.step("Sam submits every answer and gets a score and its band"):
        answers = [m.MeasureAnswerIn(item=i.key, value=measure_answer(i)) for i in items]
        saved = j.call(
            "save_measure_response",
            response.id,
            client=sam.client,
            body=m.MeasureResponsePut(answers=answers, submit=True),
        )
        assert saved.status.value == "submitted" and saved.safety_notice is None
        assert (saved.score, saved.band.key) == (7, "mild")  # one point on each of 7 items
    with j.step("Sam reads her GAD-7 scores"):
        series = j.call("get_my_measure_scores", "gad7", client=sam.client)
        assert [(p.response_id, p.score) for p in series.points] == [(response.id, 7)]
    with j.step("Alex cannot open Sam's questionnaire"):
        hidden = j.operation("get_measure_response").sync_detailed(response.id, client=alex.client)
        assert hidden.status_code == 404
    with j.step("Dr Lee sees no scores while Sam does not share"):
        shared = j.call("list_shared_measure_scores", couple.id, client=dr.client)
        assert shared.partners == []
    with j.step("Sam logs in again and shares her scores with Dr Lee"):
        sam = login(sam)
        [choice] = j.call("get_my_measure_sharing", client=sam.client).counselors
        assert (choice.counselor_link_id, choice.share) == (link.id, False)
        sharing = j.call(
            "set_my_measure_sharing",
            client=sam.client,
            body=m.SharingPut(counselor_link_id=link.id, share=True),
        )
        assert [c.share for c in sharing.counselors] == [True]
    with j.step("Dr Lee reads Sam's shared scores"):
        shared = j.call("list_shared_measure_scores", couple.id, client=dr.client)
        [partner] = shared.partners
        [gad7] = partner.measures
        assert (partner.user.id, gad7.measure.key) == (ids["Sam"], "gad7")
        assert [(p.score, p.band.key) for p in gad7.points] == [(7, "mild")]

    with j.step("Sam looks back at reveals and agreements only"):
        kind = j.enum_of("list_couple_timeline", "kinds")
        wanted = {"checkin_revealed", "agreement_activated"}
        page = j.call(
            "list_couple_timeline",
            client=sam.client,
            kinds=[kind(k) for k in sorted(wanted)],
            limit=100,
        )
        kinds = {event.kind.value for event in page.items}
        if kinds != wanted:
            j.workaround("kinds: GET /couple/timeline")
            kinds = {
                event.kind.value
                for k in sorted(wanted)
                for event in j.call(
                    "list_couple_timeline", client=sam.client, kinds=[kind(k)], limit=100
                ).items
            }
        assert kinds == wanted

    with j.step("Alex reads the notifications and marks them read"):
        feed = j.call("list_my_notifications", client=alex.client)
        assert feed.unread_count > 0
        marked = j.call(
            "mark_my_notifications_read",
            client=alex.client,
            body=m.MarkRead(ids=[n.id for n in feed.items]),
        )
        assert j.call("list_my_notifications", client=alex.client).unread_count < feed.unread_count
        assert marked is not None

    with j.step("Sam writes in the journal"):
        entry = j.call(
            "create_my_journal_entry", client=sam.client, body=m.JournalCreate(text="Only mine.")
        )
    with j.step("Sam reads the journal back"):
        journal = j.call("list_my_journal_entries", client=sam.client)
        assert [e.id for e in journal.items] == [entry.id]

    with j.step("Sam opens the safety check"):
        check = j.parsed(
            j.call("get_my_safety_check", client=sam.client), "SafetyCheck", "dropped: SafetyCheck"
        )
        questions = check.questions
    with j.step("Sam answers it"):
        answers = {"answers": {question.key: "no" for question in questions}}
        if hasattr(m, "SafetyCheckAnswers") and j.generated("answer_my_safety_check"):
            body = m.SafetyCheckAnswers.from_dict(answers)
            saved = j.call("answer_my_safety_check", client=sam.client, body=body)
        else:
            j.workaround("dropped: SafetyCheck")
            saved = j.without_the_generated_function("answer_my_safety_check", sam.client, answers)
        result = j.parsed(saved, "SafetyCheck", "dropped: SafetyCheck")
        assert result.completed_at is not None

    with j.step("Sam logs in again and exports everything"):
        sam = login(sam)
        export = j.call("get_my_export", client=sam.client)
        account = export.account
        if not hasattr(account, "email"):
            j.workaround("untyped: Export.account")
            account = SimpleNamespace(**account.to_dict())
        assert account.email == sam.email
        assert export.journal
        assert [r.id for r in export.measures.responses] == [response.id]
    with j.step("Alex logs in again and erases the account"):
        alex = login(alex)
        j.call("delete_my_account", client=alex.client, body=m.Erase(password=PASSWORD))
    with j.step("Alex's login no longer works"):
        gone = j.operation("log_in").sync_detailed(
            client=j.anonymous(), body=m.Login(email=alex.email, password=PASSWORD)
        )
        assert gone.status_code == 401


def test_a_couple_and_their_counselor_play_the_journey_through_the_generated_client(
    generated, tmp_path
):
    port = free_port()
    secret = {"TRUSTLINE_SECRET_KEY": "c" * 40}
    server = start(tmp_path, "--port", str(port), "--no-scheduler", env=secret)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTLINE_")} | secret
    journey: Journey | None = None
    try:
        wait_until_up(f"http://127.0.0.1:{port}/readyz", server)
        journey = Journey(generated, f"http://127.0.0.1:{port}")
        play_the_journey(journey, tmp_path, env)
    finally:
        stop(server)
        if journey is not None:
            report(journey.steps)

    met = {problem for step in journey.steps for problem in step.problems}
    back = {problem: SPEC_PROBLEMS[problem] for problem in met - STILL_OPEN}
    assert not back, f"the spec got worse for generated clients: {back}"
    fixed = STILL_OPEN - met
    assert not fixed, f"fixed in the spec, take these out of STILL_OPEN: {sorted(fixed)}"


def report(steps: list[Step]) -> None:
    """Print how many steps ran as generated, and what the others worked around."""
    clean = [s for s in steps if not s.problems]
    print(f"\n{len(clean)} of {len(steps)} journey steps ran as generated")
    naming_only = [s for s in steps if s.problems == ["operationId"]]
    if naming_only:
        print(f"({len(naming_only)} more needed only the path-based function names)")
    for step in steps:
        if step.problems:
            print(f"  {step.name}: {', '.join(step.problems)}")
