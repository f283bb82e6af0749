"""Loader, renderer, validator and pairwise scorer of the labelled STORY set.

The set (see README.md next to this file) measures how Rasid groups articles into
stories (events) across outlets. Three splits: ``tune`` (tune on it), ``heldout`` and ``heldout2``
(the honest estimate; never tune on it).

    load_split(name)                 -> list[dict], sorted by published_at, then id
    gold_stories(articles)           -> {article id: story id}
    render_split(name, out_dir)      -> [(html path, article)], in publication order
    rasid_ids(articles)              -> {rasid document id: article id}
    predicted_from_records(records, articles, key="story_id") -> {article id: predicted story}
    pairwise_scores(gold, predicted) -> (precision, recall, f1) over all unordered pairs
    validate_split(name)             -> list of error strings (empty = valid)

Typical use against ``rasid process`` (one JSON line per file, in the order given)::

    arts = load_split("tune")
    pages = render_split("tune", "/tmp/stories-tune")
    # .venv/bin/rasid process /tmp/stories-tune/*.html > out.jsonl   (the file names sort in publication order)
    records = [json.loads(line) for line in open("out.jsonl")]
    pred = predicted_from_records(records, arts)          # by position, else by url/id
    print(pairwise_scores(gold_stories(arts), pred))

Run directly for a summary of both splits (and validation):
``.venv/bin/python tests/quality/stories/load.py [--render DIR]``.
"""

from __future__ import annotations

import re
import sys
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
SPLITS = ("tune", "heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout6", "heldout7", "heldout8", "heldout9", "heldout10", "heldout11", "heldout12", "heldout13", "heldout14", "heldout15", "heldout16", "heldout17", "heldout18",
          "heldout19", "heldout20", "heldout21", "heldout22", "heldout23", "heldout24",
          "heldout25", "heldout26", "heldout27", "heldout28", "heldout29", "heldout30", "heldout31", "heldout32", "heldout33", "heldout34", "heldout35", "heldout36", "heldout37", "heldout38", "heldout39", "heldout40", "heldout41", "heldout42", "heldout43", "heldout44", "heldout45", "heldout46", "heldout47", "heldout48", "heldout49", "heldout50", "heldout51", "heldout52", "heldout53", "heldout54",
          "heldout55", "heldout56", "heldout57", "heldout58", "heldout59", "heldout60", "heldout61", "heldout62",
          "heldout63", "heldout64", "heldout65", "heldout66", "heldout67", "heldout68", "heldout69", "heldout70",
          "heldout71", "heldout72", "heldout73", "heldout74",
          "heldout75", "heldout76")

REQUIRED = ("id", "source", "url", "title", "published_at", "language", "paragraphs", "story")
OPTIONAL = ("subtitle", "dateline", "kind", "notes", "negative_of", "negative_type", "caption")
KINDS = ("rewrite", "copy", "followup", "negative")
NEGATIVE_TYPES = (
    "same-place-other-day",      # the same town hit again on another day
    "formula-other-day",         # the same ministry/agency formula statement on another day
    "same-actor-other-event",    # the same officials/actors in a different event (same or next day)
    "same-area-same-day",        # a different incident in the same province on the same day
    "same-body-other-subject",   # the same body (UNSC, OPCW, UN agency) on a different subject/decision
)
MIN_MULTI_GROUPS_TOTAL = 30
FILE_RE = re.compile(r"^(?P<group>[a-z0-9][a-z0-9-]*[a-z0-9])--(?P<nn>\d{2})-(?P<outlet>[a-z0-9-]+)$")
_ARABIC = re.compile(r"[\u0600-\u06FF]")


# --------------------------------------------------------------------------- loading


def published(article: Mapping[str, Any]) -> datetime:
    """``published_at`` as an aware datetime (the files carry an explicit offset)."""
    v = article["published_at"]
    dt = v if isinstance(v, datetime) else datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError(f"{article.get('id')}: published_at without a timezone: {v!r}")
    return dt


def split_dir(name: str) -> Path:
    if name not in SPLITS:
        raise ValueError(f"unknown split {name!r}; known: {SPLITS}")
    return HERE / name


def _read(path: Path) -> dict:
    a = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(a, dict):
        raise ValueError(f"{path}: not a mapping")
    if isinstance(a.get("published_at"), datetime):  # an unquoted timestamp: keep the string form
        a["published_at"] = a["published_at"].isoformat()
    a["_file"] = path.name
    return a


def load_split(name: str) -> list[dict]:
    """Every article of split ``name`` (``tune`` or ``heldout``), sorted by published_at, then id.

    Each dict is the YAML mapping plus ``_file`` (the file name)."""
    arts = [_read(p) for p in sorted(split_dir(name).glob("*.yaml"))]
    return sorted(arts, key=lambda a: (published(a).astimezone(timezone.utc), a["id"]))


def gold_stories(articles: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """{article id: story id}."""
    return {a["id"]: a["story"] for a in articles}


# --------------------------------------------------------------------------- rendering for `rasid process`


def _shape_for(article: Mapping[str, Any], shapes: list[str]) -> str:
    import hashlib

    h = int.from_bytes(hashlib.sha256(article["id"].encode()).digest()[:4], "big")
    return shapes[h % len(shapes)]


def render_article(article: Mapping[str, Any], shape: str | None = None, seed: int = 0) -> bytes:
    """One article as a realistic outlet page (devstack.pages — the renderer the cleaning gate uses;
    it was tests/quality/render.py before). ``shape=None`` picks a CMS shape from the id, so a split
    is spread over all shapes deterministically."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from devstack.pages import SHAPES, render

    art = {k: v for k, v in article.items() if not k.startswith("_")}
    return render(art, shape or _shape_for(article, list(SHAPES)), seed=seed)


def render_split(name: str, out_dir: str | Path, shape: str | None = None, seed: int = 0) -> list[tuple[Path, dict]]:
    """Render split ``name`` into ``out_dir`` as ``NNN-<id>.html``: the names sort in publication order,
    so ``rasid process DIR/*.html`` sees the articles as the stream would. Returns [(path, article)]."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    done = []
    for i, a in enumerate(load_split(name)):
        p = out / f"{i:03d}-{a['id']}.html"
        p.write_bytes(render_article(a, shape, seed))
        done.append((p, a))
    return done


def rasid_ids(articles: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """{the id Rasid gives the page (hash of its canonical URL): article id}."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from pipeline.core.ids import article_id
    from pipeline.stages.process import canonical

    return {article_id(canonical(a["url"]) or a["url"]): a["id"] for a in articles}


def predicted_from_records(records: list[Mapping[str, Any]], articles: list[Mapping[str, Any]],
                           key: str = "story_id") -> dict[str, str]:
    """{article id: predicted story} from ``rasid process`` output records.

    When there is one record per article the records are matched by position (the order the
    files were given); otherwise by Rasid id / url. A record without ``key`` (or with an error)
    leaves its article unassigned: ``pairwise_scores`` then counts it as a singleton."""
    by_rid = rasid_ids(articles)
    by_url = {a["url"]: a["id"] for a in articles}
    pred: dict[str, str] = {}
    positional = len(records) == len(articles)
    for i, r in enumerate(records):
        aid = by_rid.get(r.get("id")) or by_url.get(r.get("url"))
        if aid is None and positional:
            aid = articles[i]["id"]
        if aid is None or r.get(key) in (None, ""):
            continue
        pred[aid] = str(r[key])
    return pred


# --------------------------------------------------------------------------- scoring


def _pairs(sizes: Iterable[int]) -> int:
    return sum(n * (n - 1) // 2 for n in sizes)


def pair_counts(gold: Mapping[str, str], predicted: Mapping[str, str]) -> tuple[int, int, int]:
    """(true, false, missed) same-story pairs over all unordered pairs of the articles in ``gold``: what
    splits pool. An article missing from ``predicted`` is its own singleton; ids in ``predicted`` but not in
    ``gold`` are ignored."""
    pred = {aid: ("p", predicted[aid]) if aid in predicted else ("solo", aid) for aid in gold}
    tp = _pairs(Counter((gold[a], pred[a]) for a in gold).values())
    return tp, _pairs(Counter(pred.values()).values()) - tp, _pairs(Counter(gold.values()).values()) - tp


def pairwise_scores(gold: Mapping[str, str], predicted: Mapping[str, str]) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 over all unordered pairs of the articles in ``gold``
    (:func:`pair_counts`). A pair is positive when both articles are in the same story.
    With no predicted positive pair precision is 1.0 (nothing wrong was claimed); with no gold
    positive pair recall is 1.0; F1 is 0.0 when both precision and recall are 0."""
    tp, fp, fn = pair_counts(gold, predicted)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


# --------------------------------------------------------------------------- validation and counts


def validate_article(a: Mapping[str, Any]) -> list[str]:
    """Field-level problems of one article (its file name is in ``_file``)."""
    where = a.get("_file", a.get("id", "?"))
    errs = []
    for k in REQUIRED:
        if a.get(k) in (None, "", []):
            errs.append(f"{where}: missing {k}")
    unknown = set(a) - set(REQUIRED) - set(OPTIONAL) - {"_file"}
    if unknown:
        errs.append(f"{where}: unknown fields {sorted(unknown)}")
    stem = str(where).removesuffix(".yaml")
    m = FILE_RE.match(stem)
    if not m:
        errs.append(f"{where}: file name is not <group>--<nn>-<outlet>.yaml")
    else:
        if a.get("id") != stem:
            errs.append(f"{where}: id {a.get('id')!r} is not the file name")
        if a.get("story") != m["group"]:
            errs.append(f"{where}: story {a.get('story')!r} is not the file's group {m['group']!r}")
        if a.get("source") and not a["source"].startswith(m["outlet"]):
            errs.append(f"{where}: source {a.get('source')!r} does not start with the outlet {m['outlet']!r}")
    if a.get("language") not in (None, "ar"):
        errs.append(f"{where}: language must be ar")
    try:
        published(a)
    except Exception as e:  # noqa: BLE001
        errs.append(f"{where}: published_at: {e}")
    paras = a.get("paragraphs") or []
    if not isinstance(paras, list) or not all(isinstance(p, str) and p.strip() for p in paras):
        errs.append(f"{where}: paragraphs must be a list of non-empty strings")
    elif not 3 <= len(paras) <= 8:
        errs.append(f"{where}: {len(paras)} paragraphs (3-8 expected)")
    if a.get("title") and not _ARABIC.search(str(a["title"])):
        errs.append(f"{where}: title is not Arabic")
    if not str(a.get("url", "")).startswith("https://"):
        errs.append(f"{where}: url must be https")
    kind = a.get("kind")
    if kind is not None and kind not in KINDS:
        errs.append(f"{where}: kind {kind!r} not in {KINDS}")
    if (kind == "negative") != ("negative_of" in a):
        errs.append(f"{where}: kind: negative and negative_of go together")
    if ("negative_of" in a) != ("negative_type" in a):
        errs.append(f"{where}: negative_of needs negative_type (and back)")
    if a.get("negative_type") is not None and a["negative_type"] not in NEGATIVE_TYPES:
        errs.append(f"{where}: negative_type {a['negative_type']!r} not in {NEGATIVE_TYPES}")
    return errs


def validate_split(name: str, arts: list[dict] | None = None) -> list[str]:
    """Every problem of split ``name``: fields, unique ids/urls, story/kind consistency, time spans."""
    arts = load_split(name) if arts is None else arts
    errs: list[str] = []
    for a in arts:
        errs += validate_article(a)
    for field in ("id", "url"):
        dup = [v for v, n in Counter(a.get(field) for a in arts).items() if n > 1]
        if dup:
            errs.append(f"{name}: duplicate {field}s {dup}")
    stories = defaultdict(list)
    for a in arts:
        stories[a.get("story")].append(a)
    for sid, members in stories.items():
        try:
            times = [published(a) for a in members]
        except Exception:  # noqa: BLE001 - reported per article above
            continue
        span_h = (max(times) - min(times)).total_seconds() / 3600
        if span_h > 36:
            errs.append(f"{name}/{sid}: published_at spans {span_h:.1f} h (at most ~30 h within a story)")
        first = min(members, key=lambda a: (published(a), a["id"]))
        for a in members:
            if a is not first and a.get("kind") == "negative":
                errs.append(f"{a['_file']}: only the first article of a story may be kind: negative")
            if a is not first and a.get("kind") is None:
                errs.append(f"{a['_file']}: a later article of a story needs kind rewrite|copy|followup")
        if first.get("kind") in ("rewrite", "copy", "followup"):
            errs.append(f"{first['_file']}: the first article of a story cannot be a {first['kind']}")
    for a in arts:
        target = a.get("negative_of")
        if target is not None:
            if target not in stories:
                errs.append(f"{a['_file']}: negative_of {target!r} is no story of split {name}")
            elif target == a.get("story"):
                errs.append(f"{a['_file']}: negative_of names its own story")
    return errs


def counts(arts: list[dict]) -> dict[str, Any]:
    stories = Counter(a["story"] for a in arts)
    neg_stories = {a["story"]: a for a in arts if a.get("negative_of")}
    with_close_negative = set()
    for a in neg_stories.values():
        with_close_negative |= {a["story"], a["negative_of"]}
    return {
        "articles": len(arts),
        "groups": len(stories),
        "multi_article_groups": sum(1 for n in stories.values() if n > 1),
        "singletons": sum(1 for n in stories.values() if n == 1),
        "positive_pairs": _pairs(stories.values()),
        "kinds": dict(sorted(Counter(a.get("kind") or "first" for a in arts).items())),
        "negatives_by_type": dict(sorted(Counter(a["negative_type"] for a in neg_stories.values()).items())),
        "groups_in_a_close_negative_pair": len(with_close_negative),
        "outlets": len({a["source"] for a in arts}),
        "years": dict(sorted(Counter(published(a).year for a in arts).items())),
    }


def main(argv: list[str]) -> int:
    render_to = None
    if "--render" in argv:
        render_to = Path(argv[argv.index("--render") + 1])
    bad = 0
    multi = 0
    ids: Counter = Counter()
    stories_by_split = {}
    for name in SPLITS:
        arts = load_split(name)
        errs = validate_split(name, arts)
        c = counts(arts)
        multi += c["multi_article_groups"]
        ids.update(a["id"] for a in arts)
        stories_by_split[name] = {a["story"] for a in arts}
        print(f"[{name}] " + ", ".join(f"{k}={v}" for k, v in c.items()))
        for e in errs:
            print("  ERROR", e)
        bad += len(errs)
        if render_to:
            pages = render_split(name, render_to / name)
            print(f"  rendered {len(pages)} pages into {render_to / name}")
    names = list(stories_by_split)
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            shared = stories_by_split[first] & stories_by_split[second]
            if shared:
                print(f"ERROR stories in both splits {first} and {second}:", sorted(shared))
                bad += 1
    if multi < MIN_MULTI_GROUPS_TOTAL:
        print(f"ERROR only {multi} multi-article groups (>= {MIN_MULTI_GROUPS_TOTAL} expected)")
        bad += 1
    print(f"total multi-article groups: {multi}; {'OK' if not bad else f'{bad} problem(s)'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
