"""Story assignment at scale: time per article and memory with 10k / 50k / 200k live articles.

Why this shape: the dedupe agent is one partition, so its time per article bounds the article rate
of the whole deployment. The live state is built the way a restart builds it (store entries →
:class:`pipeline.stages.dedupe.DedupeIndex` rebuild), then ``--measure`` more articles are assigned
one by one and timed (``assign`` only: features and sketches are computed in the process pool).

Synthetic but shaped like the stream: a vocabulary of Arabic-letter words, places, organisations and
people drawn with Zipfian frequencies (a few very common, a long tail of rare ones); articles come in
events (1–8 articles sharing a set of event words, a place, people and counts), publication times
spread over the story window (every live article is a possible candidate: the hard case), random
MinHash signatures (no near-copies: the event path always runs to the end).

    .venv/bin/python -m benchmarks.stories_bench [--sizes 10000,50000,200000] [--measure 2000]
    rasid bench --stories 10000,50000,200000
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from pipeline.stages.dedupe import NUM_PERM, DedupeIndex, Sketch
from pipeline.stages.stories import MAX_KEYS, EventIndex, encode_features

LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
WINDOW_H = EventIndex().window_s / 3600  # the story window: every live article is inside it


def _rss_mb() -> float:
    import psutil

    return psutil.Process(os.getpid()).memory_info().rss / 2**20


class Synth:
    """Zipfian vocabularies and event-shaped feature sets (deterministic for a seed)."""

    def __init__(self, seed: int = 0, vocab: int = 60_000, places: int = 3_000, orgs: int = 800,
                 people: int = 4_000) -> None:
        self.rng = np.random.default_rng(seed)
        self.words = self._names(vocab, 3, 8)
        self.places = ["p:" + w for w in self._names(places, 3, 7)]
        self.orgs = ["o:" + w for w in self._names(orgs, 4, 9)]
        self.people = ["e:" + w for w in self._names(people, 4, 9)]

    def _names(self, n: int, lo: int, hi: int) -> list[str]:
        out = set()
        while len(out) < n:
            k = int(self.rng.integers(lo, hi + 1))
            out.add("".join(LETTERS[i] for i in self.rng.integers(0, len(LETTERS), k)))
        return sorted(out)

    def _zipf(self, items: list[str], k: int, a: float = 1.1) -> list[str]:
        idx = (self.rng.zipf(a, k * 2) - 1) % len(items)
        return list(dict.fromkeys(items[i] for i in idx))[:k]

    def event(self) -> dict:
        return {"words": [self.words[int(i)] for i in self.rng.integers(0, len(self.words), 18)],
                "places": self._zipf(self.places, 2), "people": self._zipf(self.people, 2),
                "orgs": self._zipf(self.orgs, 1), "nums": ["#" + str(int(x)) for x in self.rng.integers(10, 500, 2)],
                "size": int(self.rng.integers(1, 9)),
                # where the headline says it happened (a town), for about 4 events in 10
                "point": (f"@{self.rng.uniform(32.5, 37.0):.4f},{self.rng.uniform(35.8, 42.0):.4f}"
                          if self.rng.random() < 0.4 else None)}

    def article(self, ev: dict) -> dict[str, int]:
        r = self.rng
        keys: dict[str, int] = {}
        for w in ev["words"]:
            if r.random() < 0.55:
                keys[w] = int(r.integers(2, 8))
        for w in self._zipf(self.words, 40):
            keys.setdefault(w, int(r.integers(1, 4)))
        for e in ev["places"] + ev["people"] + ev["orgs"]:
            if r.random() < 0.8:
                keys[e] = 4
        for nkey in ev["nums"]:
            if r.random() < 0.7:
                keys[nkey] = 2
        top = dict(sorted(keys.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_KEYS])
        if ev["point"] and r.random() < 0.8:
            top[ev["point"]] = 1
        top[f"!$outlet{int(r.integers(0, 60))}"] = 1  # its outlet, one of 60 (the same-outlet floor's lookup)
        return top

    def stream(self, n: int):
        """n feature sets, in events."""
        made = 0
        while made < n:
            ev = self.event()
            for _ in range(min(ev["size"], n - made)):
                made += 1
                yield self.article(ev)

    def sketch(self) -> Sketch:
        return Sketch(self.rng.integers(0, 2**32, NUM_PERM, dtype=np.uint64).astype(np.uint32), 200)


def run_size(live: int, measure: int = 2000, seed: int = 0, common_df: int = 200) -> dict:
    gc.collect()
    rss0 = _rss_mb()
    syn = Synth(seed)
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    t_end = now.timestamp()
    store: dict[str, dict] = {}
    t0 = time.perf_counter()
    for i, feats in enumerate(syn.stream(live)):
        t = t_end - WINDOW_H * 3600 * (1 - i / live)
        store[f"a{i:07d}"] = {"s": f"a{i:07d}", "d": None, "t": t, "a": t, "h": syn.sketch().encode(),
                              "w": encode_features(feats)}
    built_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    index = DedupeIndex(store, window=timedelta(days=7), max_entries=live + measure + 10,
                        events=EventIndex(common_df=common_df))
    rebuild_s = time.perf_counter() - t0
    gc.collect()
    rss_live = _rss_mb()
    live_before = len(index.events)
    times, cands, joined = [], [], 0
    feats_list = list(syn.stream(measure))
    sketches = [syn.sketch() for _ in range(measure)]
    for j, feats in enumerate(feats_list):
        enc = encode_features(feats)
        when = datetime.fromtimestamp(t_end + j, timezone.utc)
        s = time.perf_counter()
        v = index.assign(f"m{j:07d}", sketches[j], when, now=when, features=enc)
        times.append(time.perf_counter() - s)
        cands.append(index.events.last_candidates)
        joined += v.event_score is not None
    ms = np.array(times) * 1000
    p50, p95 = float(np.percentile(ms, 50)), float(np.percentile(ms, 95))
    return {"live": live_before, "live_after": len(index.events), "p50_ms": round(p50, 3), "p95_ms": round(p95, 3),
            "mean_ms": round(float(ms.mean()), 3), "max_candidates_seen": int(max(cands)),
            "joined_share": round(joined / measure, 3),
            "rate_per_s_at_mean": round(1000 / float(ms.mean())),
            "rss_mb": round(_rss_mb(), 1), "rss_state_mb": round(rss_live - rss0, 1),
            "build_s": round(built_s, 1), "rebuild_s": round(rebuild_s, 1)}


BACKGROUND_DIRS = ("articles", "heldout", "heldout2", "heldout3", "heldout4", "blind", "claims/tune", "claims/heldout")


def write_background(out: Path, min_df: int = 2) -> int:
    """Write the story stage's background document frequencies (``pipeline/stages/story_background.txt``)
    from the labelled topic/claims corpora of ``tests/quality`` (Syria news of every kind; not the
    stories splits): each article's event keys as the stream computes them (title, body, the
    gazetteer's places, organisations, people)."""
    from collections import Counter

    import yaml

    from pipeline.core.settings import get_settings
    from pipeline.stages.enrich import enrich
    from pipeline.stages.gazetteer import load_gazetteer
    from pipeline.stages.stories import article_features

    root = Path(__file__).resolve().parents[1] / "tests" / "quality"
    gaz = load_gazetteer(get_settings().gazetteer_file)
    df: Counter = Counter()
    n = 0
    seen = set()
    for d in BACKGROUND_DIRS:
        for f in sorted((root / d).glob("*.yaml")):
            a = yaml.safe_load(f.read_text(encoding="utf-8"))
            if not isinstance(a, dict) or a.get("language", "ar") != "ar" or not a.get("paragraphs"):
                continue
            body = "\n".join(a["paragraphs"]) if isinstance(a["paragraphs"], list) else str(a["paragraphs"])
            if (a.get("title"), body[:200]) in seen:
                continue
            seen.add((a.get("title"), body[:200]))
            e = enrich(a.get("title") or "", body, None, gazetteer=gaz)
            feats = article_features({"title": a.get("title") or "", "body": body, "places": e.places,
                                      "organizations": e.organizations, "people": e.people}, max_keys=100_000)
            df.update(k for k in feats if k[:1] not in ("@", "!", "?"))  # marks are not keys
            n += 1
    lines = [f"# {n} articles: document frequencies of event keys (benchmarks/stories_bench.py --write-background)"]
    lines += [f"{k}\t{c}" for k, c in sorted(df.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_df]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--write-background", action="store_true",
                    help="(re)write pipeline/stages/story_background.txt and exit")
    ap.add_argument("--sizes", default="10000,50000,200000")
    ap.add_argument("--measure", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out" / "stories_bench.json")
    args = ap.parse_args(argv)
    if args.write_background:
        from pipeline.stages import story_keys

        print(write_background(story_keys.BACKGROUND_FILE), "articles")
        return 0
    rows = []
    print(f"{'live':>8} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8} {'art/s':>7} {'cands':>6} {'state MB':>9} {'RSS MB':>8} {'rebuild s':>9}")
    for n in [int(x) for x in args.sizes.split(",") if x.strip()]:
        r = run_size(n, args.measure, args.seed)
        rows.append(r)
        print(f"{r['live']:>8} {r['p50_ms']:>8} {r['p95_ms']:>8} {r['mean_ms']:>8} {r['rate_per_s_at_mean']:>7} "
              f"{r['max_candidates_seen']:>6} {r['rss_state_mb']:>9} {r['rss_mb']:>8} {r['rebuild_s']:>9}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"sizes": rows, "measure": args.measure}, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
