"""The story stage on mixed streams: two splits interleaved as a live feed interleaves unrelated reports.

    .venv/bin/python tests/quality/stories/mixed.py [SPLIT,SPLIT,...] [--hours 1] [--hand] [--jobs 2]

Within a split nearly every candidate minutes away reports the same event: its authors wrote events, not a
feed. A live stream carries other reports of the same subjects minutes apart. So the splits are taken two at a
time (A, B): each story of B is moved to begin within ``--hours`` of a story of A that began on the same weekday
(whole days plus the hours, so the leads' «اليوم الإثنين» still hold), both run through ``rasid process``
(:func:`pipeline.stream.batch.run_files`) in publication order, and the pairwise P / R is pooled, with the false
pairs that join a story of A to one of B («across»). ``--hand`` scores by the hand product alone (no pair score),
the comparison :mod:`pipeline.stages.story_pairs` was chosen against.

Tenth session, heldout15-50 in 18 pairs, 1 hour: the hand product 0.786 / 0.916 (949 false pairs, 245
across); the pair score with its headline guard 0.839 / 0.910 (668, 177 across).
Thirteenth session, heldout15-58 in 22 pairs, 1 hour: the pair score 0.814 / 0.915 (971 false pairs, 282 across;
394 missed); with a story's newest members' mean (``EventIndex.members_floor``) 0.867 / 0.891 (631, 187 across; 505).
Fourteenth session, the same 22 pairs: with a pair of one outlet's reports counted only at 0.9
(``EventIndex.same_outlet_floor``) 0.890 / 0.885 (506 false pairs, 160 across; 531 missed).
Fifteenth session, the same 22 pairs: 0.891 / 0.886 (501, 160 across; 530) with a headline's bombing as a planted
bomb; with headlines framing other acts counted only at 0.8 (``EventIndex.other_act_floor``) 0.897 / 0.889 (474
false pairs, 157 across; 515 missed).
Sixteenth session, the same 22 pairs, with bulldozing, holding someone and aid handed out read as acts and «قرب» or a
side cueing a guarded town: 0.899 / 0.889 (460 false pairs, 157 across; 514 missed).
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import tempfile
from collections import defaultdict
from datetime import timedelta
from multiprocessing import Pool
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[2])]

import load  # noqa: E402


def mixed(a_name: str, b_name: str, hours: float, seed: int) -> list[dict]:
    """Split A's articles and split B's moved beside A's stories (B's story ids prefixed «B:»), in
    publication order."""
    rnd = random.Random(seed)
    a_arts, b_arts = load.load_split(a_name), load.load_split(b_name)
    starts = defaultdict(list)  # weekday -> first reports' times of A's stories
    for arts in _stories(a_arts).values():
        t = min(load.published(a) for a in arts)
        starts[t.weekday()].append(t)
    out = list(a_arts)
    for story, arts in sorted(_stories(b_arts).items()):
        t0 = min(load.published(a) for a in arts)
        near = rnd.choice(starts.get(t0.weekday()) or [t for v in starts.values() for t in v])
        shift = near - t0 + timedelta(hours=rnd.uniform(-hours, hours))  # the same weekday, give or take the hours
        out.extend(dict(b, published_at=(load.published(b) + shift).isoformat(), story="B:" + story) for b in arts)
    return sorted(out, key=lambda a: (load.published(a), a["id"]))


def _stories(arts: list[dict]) -> dict[str, list[dict]]:
    by = defaultdict(list)
    for a in arts:
        by[a["story"]].append(a)
    return by


def _run(job: tuple[str, str, float, int, bool]) -> tuple[int, int, int, int]:
    """(true, false, missed, false across) pairs of one mixed stream."""
    a_name, b_name, hours, seed, hand = job
    from pipeline.core.settings import get_settings
    from pipeline.stages import stories
    from pipeline.stream.batch import run_files

    if hand:
        real = stories.EventIndex.__init__

        def init(self, *a, **k):
            real(self, *a, **k)
            self.pair_weights, self.threshold = None, self.hand_threshold

        stories.EventIndex.__init__ = init
    arts = mixed(a_name, b_name, hours, seed)
    with tempfile.TemporaryDirectory() as d:
        files = []
        for i, a in enumerate(arts):
            p = Path(d) / f"{i:03d}-{a['id']}.html"
            p.write_bytes(load.render_article(a))
            files.append(str(p))
        out = io.StringIO()
        run_files(files, settings=get_settings(), jobs=1, out=out)
    pred = load.predicted_from_records([json.loads(line) for line in out.getvalue().splitlines()], arts)
    gold = {a["id"]: a["story"] for a in arts}
    sides = defaultdict(lambda: [0, 0])  # predicted story -> its articles of A, of B
    for aid, story in gold.items():
        sides[pred.get(aid, aid)][story.startswith("B:")] += 1
    return (*load.pair_counts(gold, pred), sum(n_a * n_b for n_a, n_b in sides.values()))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("splits", nargs="?", default=",".join(f"heldout{i}" for i in range(15, 51)),
                    help="taken two at a time, in this order")
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--hand", action="store_true", help="the hand product alone")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    names = args.splits.split(",")
    jobs = [(names[i], names[i + 1], args.hours, i, args.hand) for i in range(0, len(names) - 1, 2)]
    with Pool(args.jobs) as pool:
        tp, fp, fn, across = (sum(r[i] for r in pool.map(_run, jobs)) for i in range(4))
    print(f"{'hand product' if args.hand else 'pair score'}, {len(jobs)} mixed streams, +-{args.hours} h: "
          f"P={tp / max(tp + fp, 1):.3f} R={tp / max(tp + fn, 1):.3f} (false pairs {fp}, {across} across; missed {fn})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
