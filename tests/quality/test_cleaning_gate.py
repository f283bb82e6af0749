"""Quality gate of extract + clean over the labelled corpus rendered as real CMS pages.

Every article of tests/quality/articles/ is rendered in several CMS shapes
(devstack/pages), run through extract() then clean(), and measured:

- sentence recall: share of gold sentences found in the body (after repair);
- no-noise rate (boilerplate precision): share of body lines that are gold text;
- title exact-match rate; plus date, dateline and language agreement.

Floors are pinned just below what the stages achieve; the figures are printed
(`pytest -s tests/quality/test_cleaning_gate.py`, or run this file directly for
a per-page report of every miss).

How far to trust the figures: the first eight shapes are the ones extract/clean
were developed against, so their perfect scores are optimistic by construction.
Two batches of CMS shapes were written afterwards and measured once before any fix:
- batch 1 (jnews, next_tailwind, blogger, aspnet_agency; 192 pages):
  sentence recall 0.756, no-noise 0.812 — Blogger lost every story (its post sits
  in a "date-outer" wrapper that was pruned, and its <br>-separated <span> text was
  not scored as a story block); next_tailwind kept a newsletter box. Fixed in general
  form (CMS-marked story containers protect their ancestors, inline text scoring,
  second-person newsletter lines), then 1.000 / 1.000;
- batch 2 (wp_classic, sputnik_like, joomla; 144 pages, written after batch 1 was
  fixed): 1.000 / 1.000 on the first run.
The held-out articles (tests/quality/heldout/, by helper "topics") are rendered too.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest

from devstack.pages import SHAPES, load_articles, render  # noqa: E402

from pipeline.core.arabic import normalize  # noqa: E402
from pipeline.stages.clean import clean
from pipeline.stages.boilerplate import load_rules  # noqa: E402
from pipeline.stages.extract import extract  # noqa: E402

# Pinned floors, just below the measured figures (printed by the test). At pinning time:
# 384 pages, recall 1.000, no-noise 1.000, title 1.000, date 0.997, dateline 1.000, language 1.000.
RULES = load_rules(Path(__file__).resolve().parents[2] / "config" / "boilerplate.yaml")
MIN_SENTENCE_RECALL = 0.995
MIN_NO_NOISE = 0.995
MIN_TITLE_EXACT = 0.99
MIN_DATE_DAY = 0.98
MIN_DATELINE = 0.97
MAX_PAGES = 420  # bound on gate time: articles × shapes beyond this rotate through the shapes

_SENT_SPLIT_RE = re.compile(r"(?<=[.!؟?])[\"»”']*\s+")


def gold_sentences(article: dict) -> list[str]:
    out = []
    for p in article["paragraphs"]:
        for s in _SENT_SPLIT_RE.split(p):
            k = normalize(s)
            if len(k.split()) >= 3:
                out.append(k)
    return out


@dataclass
class Score:
    sentences: int = 0
    sentences_found: int = 0
    lines: int = 0
    lines_gold: int = 0
    titles: int = 0
    titles_exact: int = 0
    dates: int = 0
    dates_ok: int = 0
    datelines: int = 0
    datelines_ok: int = 0
    langs: int = 0
    langs_ok: int = 0
    pages: int = 0
    seconds: float = 0.0
    misses: list[str] = field(default_factory=list)

    def add(self, other: "Score") -> None:
        for k, v in vars(other).items():
            setattr(self, k, getattr(self, k) + v)

    @property
    def recall(self) -> float:
        return self.sentences_found / max(1, self.sentences)

    @property
    def no_noise(self) -> float:
        return self.lines_gold / max(1, self.lines)

    @property
    def title_rate(self) -> float:
        return self.titles_exact / max(1, self.titles)

    def summary(self) -> str:
        return (f"pages={self.pages} sentence_recall={self.recall:.4f} ({self.sentences_found}/{self.sentences}) "
                f"no_noise={self.no_noise:.4f} ({self.lines_gold}/{self.lines}) "
                f"title_exact={self.title_rate:.4f} ({self.titles_exact}/{self.titles}) "
                f"date_day={self.dates_ok}/{self.dates} dateline={self.datelines_ok}/{self.datelines} "
                f"language={self.langs_ok}/{self.langs} extract+clean={self.seconds / max(1, self.pages) * 1000:.1f} ms/page")


def _published_day(v) -> str | None:
    if not v:
        return None
    if isinstance(v, datetime):
        return v.date().isoformat()
    return str(v)[:10]


def score_page(article: dict, shape: str, seed: int = 0) -> Score:
    sc = Score(pages=1)
    page = render(article, shape, seed=seed)
    t0 = time.perf_counter()
    ex = extract(page, url=article.get("url"))
    cl = clean(ex, rules=RULES)
    sc.seconds = time.perf_counter() - t0
    tag = f"{article['id']}/{shape}"

    body_key = " " + " ".join(normalize(p) for p in cl.paragraphs) + " "
    for s in gold_sentences(article):
        sc.sentences += 1
        if f" {s} " in body_key:
            sc.sentences_found += 1
        else:
            sc.misses.append(f"{tag} MISSING: {s[:120]}")
    gold_key = " " + " | ".join(normalize(p) for p in article["paragraphs"]) + " "
    for line in cl.paragraphs:
        k = normalize(line)
        sc.lines += 1
        if k and f" {k} " in gold_key:
            sc.lines_gold += 1
        else:
            sc.misses.append(f"{tag} NOISE: {line[:120]}")
    sc.titles = 1
    if " ".join((cl.title or "").split()) == " ".join(article["title"].split()):
        sc.titles_exact = 1
    else:
        sc.misses.append(f"{tag} TITLE: {cl.title!r} != {article['title']!r}")
    gold_day = _published_day(article.get("published_at"))
    if gold_day:
        sc.dates = 1
        got = ex.published_at.date().isoformat() if ex.published_at else None
        # legacy pages only show a day; a datetime in another zone may shift the day
        if got == gold_day or (ex.published_at and got and abs((datetime.fromisoformat(got) - datetime.fromisoformat(gold_day)).days) <= 1):
            sc.dates_ok = 1
        else:
            sc.misses.append(f"{tag} DATE: {got} != {gold_day}")
    if article.get("dateline"):
        sc.datelines = 1
        d = cl.dateline or {}
        gold_place = re.split(r"\s*[–—\-:/|(]", article["dateline"])[0].strip()
        if d and normalize(d.get("place") or "") == normalize(gold_place):
            sc.datelines_ok = 1
        else:
            sc.misses.append(f"{tag} DATELINE: {d} != {article['dateline']!r}")
    sc.langs = 1
    if ex.language == article.get("language", "ar"):
        sc.langs_ok = 1
    else:
        sc.misses.append(f"{tag} LANGUAGE: {ex.language} != {article.get('language')}")
    return sc


def plan(articles: list[dict]) -> list[tuple[dict, str]]:
    """Every article × every shape, or a rotation through the shapes when the corpus is large."""
    if len(articles) * len(SHAPES) <= MAX_PAGES:
        return [(a, s) for a in articles for s in SHAPES]
    per = max(2, MAX_PAGES // max(1, len(articles)))
    return [(a, SHAPES[(i + j) % len(SHAPES)]) for i, a in enumerate(articles) for j in range(per)]


HERE = Path(__file__).resolve().parent


def corpus() -> list[dict]:
    """The tuning corpus and the held-out one (written by helper "topics"; never tuned on here either)."""
    arts = load_articles()
    if (HERE / "heldout").is_dir():
        arts += load_articles(str(HERE / "heldout"))
    return arts


def run_gate() -> tuple[Score, dict[str, Score]]:
    total, by_shape = Score(), {s: Score() for s in SHAPES}
    for article, shape in plan(corpus()):
        sc = score_page(article, shape)
        total.add(sc)
        by_shape[shape].add(sc)
    return total, by_shape


@pytest.fixture(scope="module")
def gate():
    return run_gate()


def test_corpus_present():
    arts = corpus()
    assert len(arts) >= 6
    assert len({a["id"] for a in arts}) == len(arts)


def test_cleaning_gate(gate):
    total, by_shape = gate
    print("\n[cleaning gate] " + total.summary())
    for s, sc in by_shape.items():
        if sc.pages:
            print(f"  {s:20s} " + sc.summary())
    for m in total.misses[:40]:
        print("  " + m)
    assert total.recall >= MIN_SENTENCE_RECALL
    assert total.no_noise >= MIN_NO_NOISE
    assert total.title_rate >= MIN_TITLE_EXACT
    assert total.dates_ok >= MIN_DATE_DAY * total.dates
    assert total.datelines_ok >= MIN_DATELINE * total.datelines
    assert total.langs_ok == total.langs


def test_every_shape_keeps_the_article(gate):
    """No single CMS shape may fall apart (the total could hide one)."""
    _, by_shape = gate
    for s, sc in by_shape.items():
        assert sc.pages, f"shape {s} not exercised"
        assert sc.recall >= 0.98, (s, sc.summary())
        assert sc.no_noise >= 0.97, (s, sc.summary())


def test_render_is_deterministic_and_page_sized():
    article = load_articles()[0]
    for shape in SHAPES:
        page = render(article, shape, seed=3)
        assert page == render(article, shape, seed=3)
        assert page != render(article, shape, seed=4)
        assert 100_000 <= len(page) <= 160_000, (shape, len(page))
    legacy = render(article, "legacy_1256")
    assert b"charset=windows-1256" in legacy
    with pytest.raises(UnicodeDecodeError):
        legacy.decode("utf-8")


def test_clean_pages_without_noise_are_untouched():
    """Rendered without noise, an article's every gold line survives and nothing else appears."""
    for article in load_articles()[:8]:
        for shape in ("wordpress_jannah", "legacy_1256"):
            page = render(article, shape, noise=False)
            cl = clean(extract(page, url=article.get("url")), rules=RULES)
            gold = [normalize(p) for p in article["paragraphs"]]
            got = [normalize(p) for p in cl.paragraphs]
            missing = [g for g in gold if g not in got]
            assert not missing, (article["id"], shape, missing[:3])


if __name__ == "__main__":
    total, by_shape = run_gate()
    for m in total.misses:
        print(m)
    print(total.summary())
    for s, sc in by_shape.items():
        print(f"  {s:20s} " + sc.summary())
