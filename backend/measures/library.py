"""The measure library as data (backend/content/measures.yaml), and the rules every measure's
definition follows, whoever wrote it (the library or a counselor).

Loading is idempotent: a measure whose content did not change is left alone; an edited one
gets a new version (past responses keep pointing at the version they answered, so their
scores stay comparable); one removed from the file is retired, never deleted.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from backend import clock
from backend.extensions import db
from backend.measures.models import ITEM_KINDS, Measure, MeasureVersion
from backend.unit_of_work import use_case

CONTENT_FILE = Path(__file__).resolve().parent.parent / "content" / "measures.yaml"
LIBRARY_KINDS = ("validated", "trustline_check")
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
TEXT_LIMIT = 500  # measure_versions.description / .instructions, and every item text
TITLE_LIMIT = 120
MAX_ITEMS = 50
MAX_SCALE_POINTS = 11  # 0..10 at most: a scale is read at a glance
SHORT_TEXT_LIMIT = 500


@dataclass
class LoadReport:
    """What a load changed."""

    created: int = 0
    revised: int = 0
    retired: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether anything was written."""
        return bool(self.created or self.revised or self.retired)


@cache
def _messages(path: Path = CONTENT_FILE) -> dict[str, str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    names = ("risk_message", "author_risk_message", "sharing_explained", "alert_explained")
    return {name: " ".join(str(data[name]).split()) for name in names}


def message(name: str) -> str:
    """One of the content's messages (risk_message, author_risk_message, sharing_explained,
    alert_explained), white space folded."""
    return _messages()[name]


def _words(value: Any) -> str:
    return " ".join(str(value or "").split())


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _valid_range(item: dict[str, Any]) -> bool:
    """Whether a scale runs over whole numbers min < max, at most MAX_SCALE_POINTS of them."""
    low, high = item.get("min"), item.get("max")
    return _is_int(low) and _is_int(high) and low < high <= low + MAX_SCALE_POINTS - 1


def _valid_anchors(item: dict[str, Any]) -> bool:
    """Whether a scale (of a valid range) labels both its ends, with distinct values on it."""
    low, high = item["min"], item["max"]
    anchors = item.get("anchors")
    values = [a.get("value") for a in anchors or [] if isinstance(a, dict)]
    labels = [_words(a.get("label")) for a in anchors or [] if isinstance(a, dict)]
    return (
        isinstance(anchors, list)
        and len(values) == len(anchors)
        and all(_is_int(v) and low <= v <= high for v in values)
        and len(set(values)) == len(values)
        and {low, high} <= set(values)
        and all(0 < len(label) <= 120 for label in labels)
    )


def _valid_options(item: dict[str, Any]) -> bool:
    """Whether a choice offers 2-20 labelled options with distinct key-like values."""
    options = item.get("options")
    values = [o.get("value") for o in options or [] if isinstance(o, dict)]
    labels = [_words(o.get("label")) for o in options or [] if isinstance(o, dict)]
    return (
        isinstance(options, list)
        and len(values) == len(options)
        and 2 <= len(values) <= 20
        and all(isinstance(v, str) and KEY_PATTERN.match(v) for v in values)
        and len(set(values)) == len(values)
        and all(0 < len(label) <= 120 for label in labels)
    )


def item_problems(item: Any, where: str) -> dict[str, list[str]]:
    """What is wrong with one item, by field path (`items.3.anchors`)."""
    problems: dict[str, list[str]] = {}

    def add(name: str, text: str) -> None:
        problems.setdefault(f"{where}.{name}" if name else where, []).append(text)

    if not isinstance(item, dict):
        add("", "An item is an object.")
        return problems
    key, kind = item.get("key"), item.get("kind")
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        add("key", "Use 1-32 lower-case letters, digits or _ starting with a letter.")
    if kind not in ITEM_KINDS:
        add("kind", f"Use one of {', '.join(ITEM_KINDS)}.")
    text = _words(item.get("text"))
    if not text or len(text) > TEXT_LIMIT:
        add("text", f"Write the question (1-{TEXT_LIMIT} characters).")
    if kind == "scale":
        if not _valid_range(item):
            add("max", f"A scale runs over whole numbers min < max, at most {MAX_SCALE_POINTS}.")
            return problems
        if not _valid_anchors(item):
            add(
                "anchors",
                "Label at least both ends of the scale: [{value, label}], values on the scale.",
            )
    if kind == "single_choice" and not _valid_options(item):
        add("options", "Give 2-20 options [{value, label}] with distinct key-like values.")
    if kind == "short_text":
        limit = item.get("max_length", SHORT_TEXT_LIMIT)
        if not (_is_int(limit) and 1 <= limit <= SHORT_TEXT_LIMIT):
            add("max_length", f"Use a whole number from 1 to {SHORT_TEXT_LIMIT}.")
    if not isinstance(item.get("optional", False), bool):
        add("optional", "Use true or false.")
    if not problems:
        problem = risk_problem(item)
        if problem:
            add("risk", problem)
    return problems


def risk_problem(item: dict[str, Any]) -> str | None:
    """What is wrong with an item's `risk` condition, or None."""
    risk = item.get("risk")
    if risk is None:
        return None
    kind = item["kind"]
    if kind == "scale" and isinstance(risk, dict) and set(risk) == {"at_least"}:
        if _is_int(risk["at_least"]) and item["min"] < risk["at_least"] <= item["max"]:
            return None
        return "at_least must be a value on the scale above its lowest."
    if kind == "single_choice" and isinstance(risk, dict) and set(risk) == {"one_of"}:
        values = {o["value"] for o in item["options"]}
        chosen = risk["one_of"]
        if isinstance(chosen, list) and chosen and set(chosen) <= values:
            return None
        return "one_of must list option values."
    return "A scale takes {at_least: n}, a single choice {one_of: [values]}; text takes none."


def scoring_problems(scoring: Any, items: list[dict[str, Any]]) -> dict[str, list[str]]:
    """What is wrong with a scoring rule, by field path (`scoring.bands`)."""
    if scoring is None:
        return {}
    if not isinstance(scoring, dict) or scoring.get("method") != "sum":
        return {"scoring.method": ["The one scoring method is sum."]}
    by_key = {i.get("key"): i for i in items if isinstance(i, dict)}
    scored = scoring.get("items")
    if scored is None:
        scored = [k for k, i in by_key.items() if i.get("kind") == "scale"]
    if (
        not isinstance(scored, list)
        or not scored
        or len(set(scored)) != len(scored)
        or not all(isinstance(k, str) for k in scored)
        or any(
            by_key.get(k, {}).get("kind") != "scale" or by_key[k].get("optional") for k in scored
        )
    ):
        return {"scoring.items": ["Sum one or more scale items that are not optional."]}
    low = sum(by_key[k]["min"] for k in scored)
    high = sum(by_key[k]["max"] for k in scored)
    bands = scoring.get("bands") or []
    expected = low
    ok = isinstance(bands, list) and len(bands) <= 10
    keys = set()
    for band in bands if ok else []:
        if (
            not isinstance(band, dict)
            or band.get("min") != expected
            or not _is_int(band.get("max"))
            or band["max"] < band["min"]
            or not (isinstance(band.get("key"), str) and KEY_PATTERN.match(band["key"]))
            or band["key"] in keys
            or not 0 < len(_words(band.get("label"))) <= 60
        ):
            ok = False
            break
        keys.add(band["key"])
        expected = band["max"] + 1
    if not ok or (bands and expected != high + 1):
        return {
            "scoring.bands": [
                f"Bands [{{min, max, key, label}}] must follow each other and cover every "
                f"total from {low} to {high}."
            ]
        }
    return {}


def definition_problems(definition: dict[str, Any]) -> dict[str, list[str]]:
    """Every problem with a measure's title, texts, items and scoring, by field path."""
    problems: dict[str, list[str]] = {}
    title = _words(definition.get("title"))
    if not title or len(title) > TITLE_LIMIT:
        problems["title"] = [f"Give a title (1-{TITLE_LIMIT} characters)."]
    for name in ("description", "instructions"):
        if len(_words(definition.get(name))) > TEXT_LIMIT:
            problems[name] = [f"At most {TEXT_LIMIT} characters."]
    items = definition.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        problems["items"] = [f"Give 1-{MAX_ITEMS} items."]
        return problems
    for n, item in enumerate(items):
        problems.update(item_problems(item, f"items.{n}"))
    keys = [i.get("key") for i in items if isinstance(i, dict)]
    if len(set(keys)) != len(keys):
        problems.setdefault("items", []).append("Each item needs its own key.")
    if not problems:
        problems.update(scoring_problems(definition.get("scoring"), items))
    return problems


def normalized_item(item: dict[str, Any]) -> dict[str, Any]:
    """An item as stored: its kind's settings only, texts with white space folded."""
    out: dict[str, Any] = {
        "key": item["key"],
        "kind": item["kind"],
        "text": _words(item["text"]),
        "optional": bool(item.get("optional", False)),
    }
    if item["kind"] == "scale":
        out["min"], out["max"] = item["min"], item["max"]
        out["anchors"] = sorted(
            ({"value": a["value"], "label": _words(a["label"])} for a in item["anchors"]),
            key=lambda a: a["value"],
        )
    elif item["kind"] == "single_choice":
        out["options"] = [
            {"value": o["value"], "label": _words(o["label"])} for o in item["options"]
        ]
    else:
        out["max_length"] = item.get("max_length", SHORT_TEXT_LIMIT)
    if item.get("risk") is not None:
        out["risk"] = item["risk"]
    return out


def normalized_scoring(scoring: dict[str, Any] | None, items: list[dict]) -> dict | None:
    """A scoring rule as stored: the summed items named, bands with folded labels."""
    if scoring is None:
        return None
    scored = scoring.get("items") or [i["key"] for i in items if i["kind"] == "scale"]
    return {
        "method": "sum",
        "items": list(scored),
        "bands": [
            {"min": b["min"], "max": b["max"], "key": b["key"], "label": _words(b["label"])}
            for b in scoring.get("bands") or []
        ],
    }


def version_content(definition: dict[str, Any]) -> dict[str, Any]:
    """The columns of a version for this (valid) definition."""
    items = [normalized_item(i) for i in definition["items"]]
    return {
        "title": _words(definition["title"]),
        "description": _words(definition.get("description")),
        "instructions": _words(definition.get("instructions")),
        "items": items,
        "scoring": normalized_scoring(definition.get("scoring"), items),
        "source": definition.get("source"),
    }


def content_hash(content: dict[str, Any]) -> str:
    """A digest of a version's content, to tell an edit from a reload."""
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def validate_content(data: Any) -> list[str]:
    """Every problem with the library file, as readable lines (empty when it is sound)."""
    if not isinstance(data, dict) or not isinstance(data.get("measures"), list):
        return ["the file must hold a mapping with a list of measures"]
    problems: list[str] = []
    for name in ("risk_message", "author_risk_message", "sharing_explained", "alert_explained"):
        if not _words(data.get(name)):
            problems.append(f"{name} is missing")
    seen: set[str] = set()
    for measure in data["measures"]:
        key = measure.get("key") if isinstance(measure, dict) else None
        where = f"measure {key!r}"
        if not isinstance(key, str) or not KEY_PATTERN.match(key) or key in seen:
            problems.append(f"{where}: missing, malformed or duplicate key")
            continue
        seen.add(key)
        if measure.get("kind") not in LIBRARY_KINDS:
            problems.append(f"{where}: kind must be one of {LIBRARY_KINDS}")
        source = measure.get("source")
        if not isinstance(source, dict) or not _words(source.get("attribution")):
            problems.append(f"{where}: source needs name and attribution")
        for path, messages in definition_problems(measure).items():
            problems += [f"{where}: {path}: {text}" for text in messages]
    return problems


def read_content(path: Path = CONTENT_FILE) -> dict[str, Any]:
    """Parse and check the library file; raise ValueError listing every problem."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    problems = validate_content(data)
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    return data


@use_case
def load_library(path: Path = CONTENT_FILE) -> LoadReport:
    """Bring the database's measure library in line with the file, in one transaction."""
    data = read_content(path)
    report = LoadReport()
    now = clock.now()
    existing = {
        m.key: m for m in db.session.scalars(sa.select(Measure).where(Measure.origin == "library"))
    }
    in_file: set[str] = set()
    for entry in data["measures"]:
        in_file.add(entry["key"])
        content = version_content(entry)
        digest = content_hash(content)
        measure = existing.get(entry["key"])
        if measure is None:
            measure = Measure(
                key=entry["key"],
                origin="library",
                kind=entry["kind"],
                status="published",
                current_version=1,
                published_at=now,
            )
            measure.versions.append(MeasureVersion(version=1, content_hash=digest, **content))
            db.session.add(measure)
            report.created += 1
            continue
        returned = measure.status != "published" or measure.kind != entry["kind"]
        measure.status, measure.kind, measure.retired_at = "published", entry["kind"], None
        if measure.current().content_hash == digest:
            report.revised += returned
            continue
        measure.current_version += 1
        measure.versions.append(
            MeasureVersion(version=measure.current_version, content_hash=digest, **content)
        )
        report.revised += 1
    for key, measure in existing.items():
        if key not in in_file and measure.status != "retired":
            measure.status, measure.retired_at = "retired", now
            report.retired += 1
    return report
