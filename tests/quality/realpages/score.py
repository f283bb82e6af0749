"""Scoring Rasid's article bodies on the real pages of ``../shared/realpages`` (its README says how).

The pages are read from where they are published beside the project, never copied into it:
``<repo>/../shared/realpages`` or ``RASID_REALPAGES``. Per page: token precision, recall and F1 of
the extracted body against the human-written ``gold_text`` (bags of normalised tokens), and the
``with`` snippets missing / ``without`` snippets leaked.

``.venv/bin/python tests/quality/realpages/score.py [-v]`` prints the table and the means.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
DEFAULT_DIR = REPO.parent / "shared" / "realpages"
_DIACRITICS = re.compile(r"[\u064B-\u065F\u0670\u06D6-\u06ED\u0640]")  # harakat, dagger alef, Quranic marks, tatweel
_ALEF = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا"})


def realpages_dir() -> Path:
    return Path(os.environ.get("RASID_REALPAGES") or DEFAULT_DIR)


def normalise(text: str) -> str:
    return _DIACRITICS.sub("", unicodedata.normalize("NFKC", text)).translate(_ALEF)


def _edge(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PS"


def tokens(text: str) -> list[str]:
    out = []
    for tok in normalise(text).split():
        i, j = 0, len(tok)
        while i < j and _edge(tok[i]):
            i += 1
        while j > i and _edge(tok[j - 1]):
            j -= 1
        if i < j:
            out.append(tok[i:j])
    return out


def prf(extracted: str, gold: str) -> tuple[float, float, float]:
    e, g = Counter(tokens(extracted)), Counter(tokens(gold))
    common = sum((e & g).values())
    if not common:
        return 0.0, 0.0, 0.0
    p, r = common / sum(e.values()), common / sum(g.values())
    return p, r, 2 * p * r / (p + r)


def _squash(text: str) -> str:
    return "".join(normalise(text).split())


@dataclass
class PageScore:
    file: str
    lang: str
    precision: float
    recall: float
    f1: float
    missing: list[str] = field(default_factory=list)  # `with` snippets not found
    leaked: list[str] = field(default_factory=list)  # `without` snippets found
    error: str | None = None


def load_manifest(folder: Path | None = None) -> tuple[Path, list[dict[str, Any]]]:
    folder = folder or realpages_dir()
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        raise FileNotFoundError(
            f"the real-pages set is not there: looked for {manifest} (set RASID_REALPAGES to its folder; "
            "CI has it beside the project as ../shared/realpages)")
    return folder, json.loads(manifest.read_text(encoding="utf-8"))


def read_page(folder: Path, entry: dict[str, Any]) -> bytes:
    data = (folder / entry["file"]).read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def score_pages(folder: Path | None = None) -> list[PageScore]:
    """Every page of the manifest through the chain ``rasid process`` runs (in-process)."""
    from pipeline.core.errors import BadRecord
    from pipeline.core.settings import get_settings
    from pipeline.stages.process import ChainConfig, StageFailed, canonical, process_page_full

    folder, entries = load_manifest(folder)
    config = ChainConfig.from_settings(get_settings())
    out = []
    for e in entries:
        try:
            res = process_page_full(read_page(folder, e), canonical(e["url"]), "realpages", config=config)
            body, err = res.article.body, None
        except (StageFailed, BadRecord) as x:
            body, err = "", f"{type(x).__name__}: {x}"
        p, r, f = prf(body, e["gold_text"])
        got = _squash(body)
        out.append(PageScore(e["file"], e["lang"], p, r, f,
                             missing=[s for s in e.get("with") or [] if _squash(s) not in got],
                             leaked=[s for s in e.get("without") or [] if _squash(s) in got], error=err))
    return out


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def table(scores: list[PageScore]) -> str:
    lines = [f"{'F1':>6} {'P':>6} {'R':>6}  lang  file"]
    for s in sorted(scores, key=lambda s: s.f1):
        extra = (f"  leaked={s.leaked}" if s.leaked else "") + (f"  error={s.error}" if s.error else "")
        lines.append(f"{s.f1:6.3f} {s.precision:6.3f} {s.recall:6.3f}  {s.lang:<4}  {s.file}{extra}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    scores = score_pages()
    if "-v" in argv:
        print(table(scores))
    ar = [s.f1 for s in scores if s.lang == "ar"]
    print(f"pages={len(scores)} mean F1={mean([s.f1 for s in scores]):.4f} arabic mean F1={mean(ar):.4f} "
          f"min F1={min(s.f1 for s in scores):.3f} leaked={sum(len(s.leaked) for s in scores)} "
          f"missing with={sum(len(s.missing) for s in scores)}")
    return 0


if __name__ == "__main__":
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    sys.exit(main(sys.argv[1:]))
