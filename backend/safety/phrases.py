"""Hearing fear in free text: a normalizer and a matcher built from content/safety_phrases.yaml.

The data file holds word classes and patterns; this module expands the classes, compiles every
pattern once per process, and matches normalized text. Nothing here stores, logs or returns the
text it reads: callers get a category name or None.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

PHRASES_FILE = Path(__file__).resolve().parent.parent / "content" / "safety_phrases.yaml"
CATEGORIES = ("fear", "threat", "harm", "control", "monitoring")

# Every way an apostrophe reaches us from a phone keyboard or a pasted message.
_APOSTROPHES = str.maketrans(dict.fromkeys("\u2018\u2019\u201b\u02bc\u02b9\u0060\u00b4\uff07", "'"))
_CLASS_REF = re.compile(r"@([a-z_]+)")
_WORD = re.compile(r"[\w']+")
_NOT_WORD = re.compile(r"[^\w\s']+")


@dataclass(frozen=True)
class Matcher:
    """The compiled phrase data: contraction tables and one pattern per category."""

    words: dict[str, str]
    suffixes: tuple[tuple[str, str], ...]
    patterns: dict[str, re.Pattern[str]]

    def normalize(self, text: str) -> str:
        """Lower-cased, NFKC, straight apostrophes, contractions expanded, single spaces."""
        text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()
        # Hyphens and other punctuation separate words ("self-harm", "him.").
        text = _NOT_WORD.sub(" ", text)
        return " ".join(self._expand(word) for word in _WORD.findall(text))

    def _expand(self, word: str) -> str:
        word = word.strip("'") or word
        if word in self.words:
            return self.words[word]
        for ending, replacement in self.suffixes:
            if word.endswith(ending) and len(word) > len(ending):
                return word[: -len(ending)] + replacement
        return word

    def category(self, text: str) -> str | None:
        """The first category whose pattern the text matches, or None."""
        normalized = self.normalize(text)
        for name, pattern in self.patterns.items():
            if pattern.search(normalized):
                return name
        return None


def _expand_class(name: str, classes: dict[str, list[str]], seen: tuple[str, ...]) -> str:
    if name not in classes:
        raise ValueError(f"safety_phrases.yaml: unknown class @{name}")
    if name in seen:
        raise ValueError(f"safety_phrases.yaml: class @{name} refers to itself")
    entries = []
    for entry in classes[name]:
        literal = re.escape(" ".join(str(entry).split()))
        entries.append(_expand_refs(literal, classes, (*seen, name)))
    # Longest first, so "my ex husband" wins over "my ex".
    return "(?:" + "|".join(sorted(entries, key=len, reverse=True)) + ")"


def _expand_refs(template: str, classes: dict[str, list[str]], seen: tuple[str, ...] = ()) -> str:
    return _CLASS_REF.sub(lambda m: _expand_class(m.group(1), classes, seen), template)


def build_matcher(data: dict[str, Any]) -> Matcher:
    """Expand the classes into the patterns and compile them; refuse data that can't work."""
    contractions = data.get("contractions") or {}
    words = {str(k).casefold(): str(v) for k, v in (contractions.get("words") or {}).items()}
    suffixes = tuple(
        sorted(
            ((str(k).casefold(), str(v)) for k, v in (contractions.get("suffixes") or {}).items()),
            key=lambda pair: len(pair[0]),
            reverse=True,
        )
    )
    classes = {str(k): list(v) for k, v in (data.get("classes") or {}).items()}
    compiled: dict[str, re.Pattern[str]] = {}
    for category in CATEGORIES:
        templates = (data.get("patterns") or {}).get(category) or []
        if not templates:
            raise ValueError(f"safety_phrases.yaml: no patterns for {category}")
        alternatives = [rf"\b(?:{_expand_refs(str(t), classes)})\b" for t in templates]
        try:
            compiled[category] = re.compile("|".join(alternatives))
        except re.error as exc:
            raise ValueError(f"safety_phrases.yaml: a {category} pattern is broken: {exc}") from exc
    return Matcher(words=words, suffixes=suffixes, patterns=compiled)


@cache
def matcher() -> Matcher:
    """The matcher for the built-in phrase data, compiled once per process."""
    return build_matcher(yaml.safe_load(PHRASES_FILE.read_text(encoding="utf-8")))


def signal_category(text: str) -> str | None:
    """Which kind of danger free text speaks of (fear, threat, harm, control, monitoring)."""
    return matcher().category(text) if text else None
