"""A realistic benchmark corpus: Arabic article pages at real page weight.

Articles come from the labelled quality corpus (``tests/quality/articles/*.yaml``)
and the raw seeds (``/work/shared/seeds`` or ``RASID_SEEDS_DIR``); each page is
rendered by ``tests/quality/render.py`` in one of its CMS shapes (menus, scripts,
styles, cards, tickers, "اقرأ أيضاً" blocks...), so extraction and cleaning work
on what a fetcher really brings home, not on a bare ``<p>`` list.

A corpus of N pages is more than N copies of the same few articles: after the
first pass over the source articles, pages are *remixes* (a title plus paragraphs
drawn from the whole pool, so the near-duplicate index grows as it does on real
traffic) and, for about one page in seven, a *wire copy* of an earlier article
with a small edit (so de-duplication also finds matches). Every page has its own
canonical URL, hence its own article id. Generation is deterministic for a seed.
"""

from __future__ import annotations

import os
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
QUALITY_DIR = PROJECT_ROOT / "tests" / "quality"
ARTICLES_DIR = QUALITY_DIR / "articles"
DEFAULT_SEEDS_DIR = PROJECT_ROOT.parent / "shared" / "seeds"

WIRE_COPY_EVERY = 7  # about one page in this many is a near-duplicate of an earlier one
# Pages are dated like live traffic: one after another from this instant, not on their source
# articles' dates (2017–2025), which would spread a run over dozens of monthly indices.
START = datetime(2024, 12, 2, 6, 0, tzinfo=timezone.utc)
SPACING = timedelta(minutes=2)


@dataclass(frozen=True)
class Page:
    """One rendered page, as a connector would put it on the raw topic."""

    n: int
    url: str
    source: str
    shape: str
    kind: str  # "original" | "remix" | "wire_copy"
    base_id: str  # the source article this page was built from
    html: bytes
    charset: str | None = None


@dataclass
class Corpus:
    pages: list[Page]
    articles: int  # distinct source articles
    shapes: list[str]
    seed: int
    info: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        sizes = sorted(len(p.html) for p in self.pages)
        by_shape: dict[str, int] = {}
        by_kind: dict[str, int] = {}
        for p in self.pages:
            by_shape[p.shape] = by_shape.get(p.shape, 0) + 1
            by_kind[p.kind] = by_kind.get(p.kind, 0) + 1
        n = len(sizes)
        return {
            "pages": n,
            "source_articles": self.articles,
            "seed": self.seed,
            "shapes": by_shape,
            "kinds": by_kind,
            "bytes_total": sum(sizes),
            "bytes_mean": round(sum(sizes) / n) if n else 0,
            "bytes_min": sizes[0] if n else 0,
            "bytes_median": sizes[n // 2] if n else 0,
            "bytes_max": sizes[-1] if n else 0,
            **self.info,
        }


def load_render() -> ModuleType:
    """The page renderer (devstack.pages)."""
    import devstack.pages

    return devstack.pages


def load_labelled(articles_dir: Path = ARTICLES_DIR) -> list[dict[str, Any]]:
    """The labelled articles (one YAML mapping per file), in file-name order."""
    out = []
    for path in sorted(articles_dir.glob("*.yaml")):
        with path.open(encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
        if isinstance(doc, dict) and doc.get("title") and doc.get("paragraphs"):
            doc.setdefault("id", path.stem)
            out.append(doc)
    return out


_CODE_RE = re.compile(r"[{};]\s*$|google_ad|function\s*\(|\$\(")
_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def load_seeds(seeds_dir: Path | None = None) -> list[dict[str, Any]]:
    """The raw seed texts as article dicts: first line the title, long lines the paragraphs.

    Seeds are raw scrapes, so their paragraphs keep some of the original noise
    (censor-broken words, "إقرأ أيضاً: ..." lines): the cleaner has to handle it.
    """
    seeds_dir = Path(os.environ.get("RASID_SEEDS_DIR", seeds_dir or DEFAULT_SEEDS_DIR))
    out = []
    for path in sorted(seeds_dir.glob("*.txt")) if seeds_dir.is_dir() else []:
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8", errors="replace").splitlines()]
        lines = [ln for ln in lines if ln]
        # a lone section label ("سوريا") can precede the headline
        while lines and len(lines[0]) < 12:
            lines.pop(0)
        if not lines:
            continue
        title = lines[0]
        paras = [ln for ln in lines[1:] if len(ln) >= 60 and not _CODE_RE.search(ln)]
        if len(paras) < 2:
            continue
        m = _DATE_RE.search(path.read_text(encoding="utf-8", errors="replace"))
        published = (
            datetime(int(m[1]), int(m[2]), int(m[3]), 9, 0, tzinfo=timezone.utc)
            if m
            else datetime(2020, 1, 1, tzinfo=timezone.utc)
        )
        out.append(
            {
                "id": f"seed-{path.stem}",
                "source": "seed",
                "url": f"https://seeds.example.org/news/{path.stem}",
                "title": title,
                "published_at": published,
                "language": "ar",
                "paragraphs": paras,
                "topics": [],
                "places": [],
            }
        )
    return out


def _with_url(art: dict[str, Any], n: int) -> str:
    base = str(art.get("url") or f"https://news.example.org/{art['id']}").rstrip("/")
    return f"{base}-b{n}" if n else base


def source_articles(seeds_dir: Path | None = None, articles_dir: Path = ARTICLES_DIR) -> list[dict[str, Any]]:
    """Labelled articles plus seeds, Arabic first; English ones kept (outlets publish both)."""
    arts = load_labelled(articles_dir) + load_seeds(seeds_dir)
    if not arts:
        raise RuntimeError(f"no source articles: neither {articles_dir} nor the seeds directory has any")
    return arts


def build_corpus(
    n: int,
    seed: int = 0,
    shapes: list[str] | None = None,
    noise: bool = True,
    seeds_dir: Path | None = None,
    articles_dir: Path = ARTICLES_DIR,
    start: datetime = START,
    spacing: timedelta = SPACING,
) -> Corpus:
    """Render ``n`` pages dated ``start + i * spacing``; deterministic for ``seed``."""
    render = load_render()
    shapes = list(shapes or render.SHAPES)
    arts = source_articles(seeds_dir, articles_dir)
    rng = random.Random(seed)
    pool = [(a["id"], p) for a in arts for p in a["paragraphs"] if isinstance(p, str) and len(p) >= 40]
    sources = sorted({str(a.get("source") or "seed") for a in arts})
    pages: list[Page] = []
    for i in range(n):
        base = arts[i % len(arts)]
        shape = shapes[i % len(shapes)]
        art = dict(base)
        if i < len(arts):
            kind = "original"
        elif i % WIRE_COPY_EVERY == 0 and pages:
            # a wire copy of an earlier page's article: other outlet, one sentence changed
            kind = "wire_copy"
            paras = list(base["paragraphs"])
            if len(paras) > 2:
                paras.pop(rng.randrange(1, len(paras)))
            art["paragraphs"] = paras
            art["source"] = rng.choice(sources)
        else:
            kind = "remix"
            k = rng.randint(4, min(12, max(4, len(pool))))
            art["paragraphs"] = [p for _, p in rng.sample(pool, min(k, len(pool)))]
            art["source"] = rng.choice(sources)
            art.pop("subtitle", None)
            art.pop("near_duplicate_of", None)
            art["title"] = f"{base['title']} ({i})"
        art["url"] = _with_url(base, i)
        art["published_at"] = start + i * spacing
        html = render.render(art, shape, noise=noise, seed=seed * 100_003 + i)
        pages.append(
            Page(
                n=i,
                url=art["url"],
                source=str(art.get("source") or "seed"),
                shape=shape,
                kind=kind,
                base_id=str(base["id"]),
                html=html,
            )
        )
    info = {"published_from": start.isoformat(), "published_to": (start + max(0, n - 1) * spacing).isoformat()}
    return Corpus(pages=pages, articles=len(arts), shapes=shapes, seed=seed, info=info)


def write_corpus(corpus: Corpus, out_dir: Path) -> list[Path]:
    """Write the pages as files (what ``rasid process FILE...`` reads)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for p in corpus.pages:
        path = out_dir / f"{p.n:05d}-{p.shape}.html"
        path.write_bytes(p.html)
        paths.append(path)
    return paths
