"""Render a labelled corpus article as a realistic Arabic news page of one CMS shape.

Why: the extract/clean quality gate and the benchmarks need pages that carry the
noise real outlets wrap around an article — menus, inline CSS/JS, JSON-LD, cards,
tickers, "اقرأ أيضاً" blocks (with and without telling class names), leaked ad
JavaScript, comment sections, share bars, cookie banners, duplicated title and
subtitle lines, photo captions, bylines and datelines, words broken on purpose —
at real page weight (~100–150 KB), deterministically from a seed.

``render(article, shape, noise=True, seed=0) -> bytes``; ``SHAPES`` lists the shapes.
The gold text of the article is ``article["paragraphs"]`` (display form, repaired);
the page contains it with censor breaks inserted into some words.
"""

from __future__ import annotations

from pathlib import Path

from devstack.pages.parts import pad, rng_for
from devstack.pages.shapes import SHAPE_FUNCS


# the labelled quality corpus the pages are rendered from (test data, read by path)
LABELLED = Path(__file__).resolve().parents[2] / "tests" / "quality" / "articles"

SHAPES = [
    "wordpress_jannah",
    "wordpress_newspaper",
    "drupal",
    "custom_cms",
    "amp",
    "arc_spa",
    "legacy_1256",
    "generic_divs",
    # written after the stages were tuned on the shapes above, measured once before any fix
    # (see tests/quality/test_cleaning_gate.py for the first-run figures), then kept
    "jnews",
    "next_tailwind",
    "blogger",
    "aspnet_agency",
    "wp_classic",
    "sputnik_like",
    "joomla",
]


def render(article: dict, shape: str, noise: bool = True, seed: int = 0) -> bytes:
    """The article as a page of ``shape`` (bytes in the page's declared charset)."""
    if shape not in SHAPE_FUNCS:
        raise ValueError(f"unknown shape {shape!r}; known: {SHAPES}")
    rng = rng_for(article, shape, seed)
    page = SHAPE_FUNCS[shape](article, rng, noise)
    return pad(page, rng, "cp1256" if shape == "legacy_1256" else "utf-8")


def load_articles(directory: str | None = None) -> list[dict]:
    """Every corpus article (tests/quality/articles/*.yaml), sorted by id."""
    from pathlib import Path

    import yaml

    d = Path(directory) if directory else LABELLED
    arts = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(d.glob("*.yaml"))]
    return sorted((a for a in arts if a and a.get("paragraphs")), key=lambda a: a["id"])


if __name__ == "__main__":  # pragma: no cover - manual inspection helper
    import sys

    arts = {a["id"]: a for a in load_articles()}
    art = arts[sys.argv[1]] if len(sys.argv) > 1 else next(iter(arts.values()))
    shape = sys.argv[2] if len(sys.argv) > 2 else SHAPES[0]
    sys.stdout.buffer.write(render(art, shape))
