"""The clean stage's rules, from config/boilerplate.yaml: the markers after which a page's story ends,
line patterns of chrome ("اقرأ أيضاً", share bars, newsletter prompts), inline cuts and the
vocabulary of chrome words. Analysts edit the file; an invalid edit keeps the last good rules."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from pipeline.core.arabic import (
    fold_letters,
    normalize,
)
from pipeline.core.yamlfile import ConfigError, load_file, load_yaml_lines


# --------------------------------------------------------------------------- rules


class RulesError(ConfigError):
    """The boilerplate file is invalid; the message names the section and rule."""


@dataclass
class Rule:
    name: str
    regex: re.Pattern
    max_words: int | None
    on: str  # "key" or "text"


@dataclass
class Rules:
    markers: list[Rule]
    lines: list[Rule]
    inline_cut: list[Rule]
    inline_strip: list[Rule]
    vocab: dict[str, frozenset[str]]
    js_strong: tuple[str, ...]
    js_weak: tuple[str, ...]


def _fold_word(w: str) -> str:
    return " ".join(normalize(w).split())


def _compile_rules(data: Any, path: Path) -> Rules:
    if not isinstance(data, dict):
        raise RulesError(f"{path}: top level must be a mapping")

    def section(name: str, raw: bool = False) -> list[Rule]:
        out = []
        for i, item in enumerate(data.get(name) or []):
            where = f"{path}: {name}[{i}]"
            if not isinstance(item, dict) or "pattern" not in item:
                raise RulesError(f"{where}: each rule needs a 'pattern'")
            rname = str(item.get("name") or f"{name}{i}")
            unknown = set(item) - {"name", "pattern", "max_words", "match"}
            if unknown:
                raise RulesError(f"{where} ({rname}): unknown keys {sorted(map(str, unknown))}")
            on = item.get("match", "key")
            if on not in ("key", "text"):
                raise RulesError(f"{where} ({rname}): 'match' must be key or text")
            try:
                pat = str(item["pattern"])
                rx = re.compile(pat if raw else fold_letters(pat, lower=False), re.IGNORECASE)
            except re.error as e:
                raise RulesError(f"{where} ({rname}): bad regular expression: {e}") from None
            mw = item.get("max_words")
            if mw is not None and (not isinstance(mw, int) or mw < 1):
                raise RulesError(f"{where} ({rname}): max_words must be a positive integer")
            out.append(Rule(rname, rx, mw, on))
        return out

    vocab_raw = data.get("vocab") or {}
    vocab: dict[str, frozenset[str]] = {}
    for key, words in vocab_raw.items():
        if key == "date_labels":
            continue
        if not isinstance(words, list):
            raise RulesError(f"{path}: vocab.{key} must be a list")
        toks: set[str] = set()
        for w in words:
            if not isinstance(w, str):
                raise RulesError(f"{path}: vocab.{key} entry {w!r} is not text (quote it: \"{w}\")")
            toks.update(_fold_word(w).split())
        vocab[key] = frozenset(toks)
    # labels a date line may carry ("آخر تحديث:", "نشر في"), as words
    vocab["date_label_words"] = frozenset(t for w in vocab_raw.get("date_labels") or [] for t in _fold_word(str(w)).split())
    js = data.get("js_markers") or {}
    return Rules(
        markers=section("markers"),
        lines=section("lines"),
        inline_cut=section("inline_cut", raw=True),
        inline_strip=section("inline_strip", raw=True),
        vocab=vocab,
        js_strong=tuple(str(x).lower() for x in js.get("strong") or []),
        js_weak=tuple(str(x).lower() for x in js.get("weak") or []),
    )


def parse_rules(path: Path) -> Rules:
    """Read and compile a boilerplate rules file; :class:`RulesError` names the file and the rule."""
    return _compile_rules(load_yaml_lines(path, RulesError), path)


def load_rules(path: str | os.PathLike[str], *, fresh: bool = True) -> Rules:
    """The boilerplate rules of ``path`` in force (:func:`pipeline.core.yamlfile.load_file`)."""
    return load_file(path, parse_rules, fresh=fresh, what="boilerplate rules", stage="clean")
