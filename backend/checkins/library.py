"""Loading the prompt library from backend/content/checkins.yaml into the database.

Loading is idempotent: a prompt whose content did not change is left alone; an edited prompt
gets a new revision (past answers keep pointing at the revision they answered); a prompt or
set removed from the file is retired, never deleted, because answers refer to it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from backend import clock
from backend.checkins.models import (
    PROMPT_KINDS,
    VISIBILITIES,
    Prompt,
    PromptRevision,
    PromptSet,
    PromptSetItem,
)
from backend.extensions import db
from backend.unit_of_work import use_case

CONTENT_FILE = Path(__file__).resolve().parent.parent / "content" / "checkins.yaml"
FREQUENCIES = ("daily", "weekly", "monthly", "as_needed")
# Stored on the revision's `config`: the kind's settings, the visibility an answer takes when
# its author doesn't choose one, and when an answer brings its author the private safety notice.
_CONFIG_KEYS = (
    "min",
    "max",
    "min_label",
    "max_label",
    "options",
    "max_choices",
    "max_length",
    "default_visibility",
    "safety_notice",
)
TEXT_LIMIT = 500  # prompt_revisions.text and .help are String(500)


@dataclass
class LoadReport:
    """What a load changed."""

    prompts_created: int = 0
    prompts_revised: int = 0
    prompts_retired: int = 0
    sets_created: int = 0
    sets_changed: int = 0
    sets_retired: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether anything was written."""
        return any(
            (
                self.prompts_created,
                self.prompts_revised,
                self.prompts_retired,
                self.sets_created,
                self.sets_changed,
                self.sets_retired,
            )
        )


def read_content(path: Path = CONTENT_FILE) -> dict[str, Any]:
    """Parse and check the content file; raise ValueError listing every problem."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    problems = validate_content(data)
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    return data


def validate_content(data: Any) -> list[str]:
    """Every problem with the content, as readable lines (empty when it is sound)."""
    problems: list[str] = []
    if not isinstance(data, dict):
        return ["the file must hold a mapping"]
    categories = {c.get("key") for c in data.get("categories", [])}
    seen: set[str] = set()
    for prompt in data.get("prompts", []):
        key = prompt.get("key")
        where = f"prompt {key!r}"
        if not key or key in seen:
            problems.append(f"{where}: missing or duplicate key")
        seen.add(key)
        if prompt.get("category") not in categories:
            problems.append(f"{where}: unknown category {prompt.get('category')!r}")
        kind = prompt.get("kind")
        if kind not in PROMPT_KINDS:
            problems.append(f"{where}: kind must be one of {', '.join(PROMPT_KINDS)}")
        if not str(prompt.get("text", "")).strip():
            problems.append(f"{where}: text is empty")
        if kind == "scale":
            low, high = prompt.get("min", 1), prompt.get("max", 10)
            if not (isinstance(low, int) and isinstance(high, int) and low < high):
                problems.append(f"{where}: scale needs whole numbers min < max")
            if not (prompt.get("min_label") and prompt.get("max_label")):
                problems.append(f"{where}: scale needs min_label and max_label")
        if kind in ("choice", "multi_choice"):
            values = [o.get("value") for o in prompt.get("options", [])]
            if len(values) < 2 or len(set(values)) != len(values) or not all(values):
                problems.append(f"{where}: needs at least two options with distinct values")
        if kind == "text" and not isinstance(prompt.get("max_length"), int):
            problems.append(f"{where}: text needs max_length")
        for name in ("text", "help"):
            if len(" ".join(str(prompt.get(name) or "").split())) > TEXT_LIMIT:
                problems.append(f"{where}: {name} is longer than {TEXT_LIMIT} characters")
        if prompt.get("default_visibility", "shared") not in VISIBILITIES:
            problems.append(f"{where}: default_visibility must be one of {VISIBILITIES}")
        problems += _notice_problems(where, prompt)
    set_keys: set[str] = set()
    for prompt_set in data.get("prompt_sets", []):
        key = prompt_set.get("key")
        if not key or key in set_keys:
            problems.append(f"set {key!r}: missing or duplicate key")
        set_keys.add(key)
        if prompt_set.get("suggested_frequency") not in FREQUENCIES:
            problems.append(f"set {key!r}: suggested_frequency must be one of {FREQUENCIES}")
        missing = [k for k in prompt_set.get("prompts", []) if k not in seen]
        if missing or not prompt_set.get("prompts"):
            problems.append(f"set {key!r}: unknown or no prompts {missing}")
    return problems


def _notice_problems(where: str, prompt: dict[str, Any]) -> list[str]:
    """What is wrong with a prompt's `safety_notice: {when: {...}, message}`."""
    notice = prompt.get("safety_notice")
    if notice is None:
        return []
    when = notice.get("when") if isinstance(notice, dict) else None
    if not isinstance(when, dict) or not str(notice.get("message") or "").strip():
        return [f"{where}: safety_notice needs `when` and a message"]
    kind = prompt.get("kind")
    if kind == "scale" and set(when) == {"at_most"}:
        low, high = prompt.get("min", 1), prompt.get("max", 10)
        if not (isinstance(when["at_most"], int) and low <= when["at_most"] < high):
            return [f"{where}: safety_notice at_most must be a number on the scale"]
        return []
    if kind in ("choice", "multi_choice") and set(when) == {"one_of"}:
        values = {o.get("value") for o in prompt.get("options", [])}
        chosen = when["one_of"]
        if not isinstance(chosen, list) or not chosen or not set(chosen) <= values:
            return [f"{where}: safety_notice one_of must list option values"]
        return []
    return [f"{where}: safety_notice `when` takes at_most (scale) or one_of (choices)"]


def notice_applies(config: dict[str, Any], value: Any) -> bool:
    """Whether an answer `value` meets its prompt's safety-notice condition."""
    when = (config.get("safety_notice") or {}).get("when") or {}
    if "at_most" in when:
        return isinstance(value, int) and not isinstance(value, bool) and value <= when["at_most"]
    if "one_of" in when:
        chosen = value if isinstance(value, list) else [value]
        return any(v in when["one_of"] for v in chosen)
    return False


def prompt_config(prompt: dict[str, Any]) -> dict[str, Any]:
    """The kind-specific settings of a prompt as stored on its revision."""
    config = {k: prompt[k] for k in _CONFIG_KEYS if k in prompt}
    if "safety_notice" in config:
        notice = config["safety_notice"]
        config["safety_notice"] = {**notice, "message": " ".join(notice["message"].split())}
    if prompt["kind"] == "scale":
        config.setdefault("min", 1)
        config.setdefault("max", 10)
    return config


def _hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


@use_case
def load_library(path: Path = CONTENT_FILE) -> LoadReport:
    """Bring the database's prompt library in line with the content file (one use case)."""
    data = read_content(path)
    report = LoadReport()
    now = clock.now()
    prompts = _load_prompts(data["prompts"], report, now)
    _load_sets(data["prompt_sets"], prompts, report, now)
    return report


def _load_prompts(entries: list[dict], report: LoadReport, now: Any) -> dict[str, Prompt]:
    """Create, revise, move or retire prompts as the file says; every prompt, by key."""
    prompts = {p.key: p for p in db.session.scalars(sa.select(Prompt))}
    in_file: set[str] = set()
    for entry in entries:
        in_file.add(entry["key"])
        content = {
            "kind": entry["kind"],
            "text": entry["text"].strip(),
            "help": (entry.get("help") or "").strip() or None,
            "config": prompt_config(entry),
        }
        digest = _hash(content)
        prompt = prompts.get(entry["key"])
        if prompt is None:
            prompt = Prompt(key=entry["key"], category=entry["category"], current_revision=1)
            db.session.add(prompt)
            db.session.flush()
            prompts[prompt.key] = prompt
            db.session.add(
                PromptRevision(prompt_id=prompt.id, revision=1, content_hash=digest, **content)
            )
            report.prompts_created += 1
            continue
        current = db.session.scalar(
            sa.select(PromptRevision).where(
                PromptRevision.prompt_id == prompt.id,
                PromptRevision.revision == prompt.current_revision,
            )
        )
        moved_or_returned = prompt.retired_at is not None or prompt.category != entry["category"]
        prompt.retired_at = None
        prompt.category = entry["category"]
        if current is not None and current.content_hash == digest:
            report.prompts_revised += moved_or_returned
        else:
            prompt.current_revision += 1
            db.session.add(
                PromptRevision(
                    prompt_id=prompt.id,
                    revision=prompt.current_revision,
                    content_hash=digest,
                    **content,
                )
            )
            report.prompts_revised += 1
    for key, prompt in prompts.items():
        if key not in in_file and prompt.retired_at is None:
            prompt.retired_at = now
            report.prompts_retired += 1
    return prompts


def _load_sets(
    entries: list[dict], prompts: dict[str, Prompt], report: LoadReport, now: Any
) -> None:
    existing = {s.key: s for s in db.session.scalars(sa.select(PromptSet))}
    in_file: set[str] = set()
    for entry in entries:
        in_file.add(entry["key"])
        fields = {
            "title": entry["title"].strip(),
            "description": (entry.get("description") or "").strip(),
            "suggested_frequency": entry["suggested_frequency"],
        }
        digest = _hash({**fields, "prompts": entry["prompts"]})
        prompt_set = existing.get(entry["key"])
        if (
            prompt_set is not None
            and prompt_set.content_hash == digest
            and not prompt_set.retired_at
        ):
            continue
        if prompt_set is None:
            prompt_set = PromptSet(key=entry["key"], content_hash=digest, **fields)
            db.session.add(prompt_set)
            report.sets_created += 1
        else:
            for name, value in fields.items():
                setattr(prompt_set, name, value)
            prompt_set.content_hash = digest
            prompt_set.retired_at = None
            prompt_set.items.clear()
            db.session.flush()
            report.sets_changed += 1
        prompt_set.items.extend(
            PromptSetItem(position=n, prompt_id=prompts[key].id)
            for n, key in enumerate(entry["prompts"])
        )
    for key, prompt_set in existing.items():
        if key not in in_file and prompt_set.retired_at is None:
            prompt_set.retired_at = now
            report.sets_retired += 1
