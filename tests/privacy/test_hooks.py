"""Each domain's part of the export and of erasure: all registered, run in order, all or none."""

from __future__ import annotations

import pytest

from backend import PERSONAL_DATA
from backend.accounts.models import User
from backend.couples.models import Couple
from backend.errors import Invalid
from backend.export_schemas import ExportCoupleSchema, ExportSchema
from backend.extensions import db
from backend.privacy import service as privacy
from backend.privacy.service import Step
from tests.helpers import PASSWORD, answers_for
from tests.privacy.test_erasure import database_dump


@pytest.fixture
def registries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hooks a test registers are gone after it (each registry is a copy for the test)."""
    monkeypatch.setattr(privacy, "_sections", dict(privacy._sections))
    monkeypatch.setattr(privacy, "_couple_sections", dict(privacy._couple_sections))
    monkeypatch.setattr(privacy, "_erasure_hooks", list(privacy._erasure_hooks))


def test_every_part_of_the_document_has_its_domain(app):
    assert list(privacy._sections) and set(privacy._sections) == set(privacy.SECTIONS)
    assert set(privacy._couple_sections) == set(privacy.COUPLE_SECTIONS)
    # The layout is the one the API documents: nothing written that the schema would drop.
    assert {"exported_at", *privacy.SECTIONS} == set(ExportSchema().fields)
    assert set(privacy.COUPLE_SECTIONS) <= set(ExportCoupleSchema().fields)


def test_every_personal_data_module_takes_part(app):
    modules = {
        hook.__module__
        for hook in [
            *privacy._sections.values(),
            *privacy._couple_sections.values(),
            *(hook for _step, hook in privacy._erasure_hooks),
        ]
    }
    assert modules == {f"backend.{domain}.personal_data" for domain in PERSONAL_DATA}


def test_a_part_the_document_does_not_list_is_refused(app, registries):
    with pytest.raises(ValueError, match="not a part of the export"):
        privacy.on_export("horoscope")(lambda request: None)
    with pytest.raises(ValueError, match="already written"):
        privacy.on_export("journal")(lambda request: [])


def test_a_new_domain_s_part_is_exported_in_its_place(app, alice, couple, registries, monkeypatch):
    monkeypatch.setattr(privacy, "SECTIONS", (*privacy.SECTIONS[:2], "garden"))
    monkeypatch.setattr(privacy, "COUPLE_SECTIONS", ("plants", *privacy.COUPLE_SECTIONS))
    seen = []

    @privacy.on_export("garden")
    def export_garden(request: privacy.Export) -> list[str]:
        seen.append(request.user.id)
        return ["tulips"]

    @privacy.on_export_of_couple("plants")
    def export_plants(request: privacy.Export, shared: privacy.SharedCouple) -> str:
        return f"ferns of {shared.id}"

    user = db.session.get(User, alice.user["id"])
    document = privacy.export(user=user)
    assert list(document) == ["exported_at", "account", "couples", "garden"]
    assert document["garden"] == ["tulips"] and seen == [user.id]
    [exported] = document["couples"]
    assert exported["plants"] == f"ferns of {couple['id']}"
    assert list(exported)[list(exported).index("members") + 1] == "plants"


def test_a_new_domain_s_part_of_erasure_runs_at_its_step(app, alice, bob, couple, registries):
    seen: list[tuple[str, object]] = []

    # Registered last, each still runs at its own step.
    @privacy.on_erase(Step.SCRUB)
    def scrub_garden(erasure: privacy.Erasure) -> None:
        seen.append(("scrub", (set(erasure.couple_ids), set(erasure.people))))

    @privacy.on_erase(Step.CONFIRM)
    def confirm_garden(erasure: privacy.Erasure) -> None:
        seen.append(("confirm", db.session.get(Couple, couple["id"]).status))

    assert alice.delete("/me", json={"password": PASSWORD}).status_code == 204
    assert seen == [
        ("confirm", "active"),
        ("scrub", ({couple["id"]}, {alice.user["id"], bob.user["id"]})),
    ]


def test_erasure_that_fails_at_any_step_leaves_everything_as_it_was(
    app, alice, bob, couple, registries
):
    checkin = alice.post("/couple/checkins", json={"prompt_set": "daily_pulse"}).get_json()
    alice.put(
        f"/checkins/{checkin['id']}/answers",
        json={"answers": answers_for(checkin), "submit": True},
    )
    alice.post("/me/journal", json={"text": "kept"})
    before = database_dump()

    @privacy.on_erase(Step.SCRUB)
    def fail_late(erasure: privacy.Erasure) -> None:
        raise Invalid("The garden is closed.")

    user = db.session.get(User, alice.user["id"])
    with pytest.raises(Invalid):
        privacy.erase(user=user, password=PASSWORD)
    db.session.expire_all()
    assert database_dump() == before
    assert bob.get("/couple").get_json()["status"] == "active"


def test_a_wrong_password_erases_nothing(app, alice, bob, couple):
    alice.post("/me/journal", json={"text": "kept"})
    before = database_dump()
    assert alice.delete("/me", json={"password": "someone else's guess"}).status_code == 422
    db.session.expire_all()
    assert database_dump() == before


def test_the_export_never_holds_the_partner_s_private_answers_even_before_reveal(
    alice, bob, couple
):
    checkin = alice.post("/couple/checkins", json={"prompt_set": "after_a_trigger"}).get_json()
    private = answers_for(checkin, text="bob's secret", visibility="private")
    shared = answers_for(checkin, text="bob's shared")
    bob.put(f"/checkins/{checkin['id']}/answers", json={"answers": private, "submit": False})
    assert "bob's secret" not in alice.get("/me/export").get_data(as_text=True)
    bob.put(f"/checkins/{checkin['id']}/answers", json={"answers": shared, "submit": True})
    # Submitted but not revealed (Alice has not answered): nothing of Bob's yet.
    assert "bob's shared" not in alice.get("/me/export").get_data(as_text=True)
    assert "bob's shared" in bob.get("/me/export").get_data(as_text=True)
