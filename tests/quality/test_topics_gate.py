"""Quality gate for the classify and enrich stages over the labelled corpus.

Runs ``classify(title, body)`` and ``enrich(title, body, dateline)`` on every
article of tests/quality/articles (tuning corpus), tests/quality/heldout and
heldout2 / heldout3 / heldout4 (written after tuning rounds; heldout4 never tuned on) and tests/quality/blind
(an independent evaluator's set; its places named but out of DESIGN's scope or
missing from the gazetteer when it was written are neither required nor errors), prints per-topic precision/recall and
place precision/recall, and asserts pinned floors. Floors are pinned slightly
below the figures measured when they were set; raise them when the stages
improve, never lower them to let a regression through.

Run ``.venv/bin/python tests/quality/test_topics_gate.py [-v]`` for the report
with every disagreement (false positives/negatives with their evidence).
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from pipeline.stages.topics import TOPIC_IDS, parse_topics
from pipeline.stages.classify import classify, explain
from pipeline.stages.enrich import enrich
from pipeline.stages.gazetteer import load_gazetteer

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
MAIN_DIR = HERE / "articles"
HELDOUT_DIR = HERE / "heldout"
HELDOUT2_DIR = HERE / "heldout2"
HELDOUT3_DIR = HERE / "heldout3"
HELDOUT4_DIR = HERE / "heldout4"
BLIND_DIR = HERE / "blind"
CORPORA = (MAIN_DIR, HELDOUT_DIR, HELDOUT2_DIR, HELDOUT3_DIR, HELDOUT4_DIR, BLIND_DIR)
TOPICS_FILE = ROOT / "config" / "topics.yaml"
GAZETTEER_FILE = ROOT / "config" / "gazetteer.yaml"

# Pinned floors, a little below the figures measured when they were set (in the comments;
# see tests/quality/README.md). The main corpus was tuned on; the held-out one was not.
FLOORS = {
    # measured: micro-F1 0.997, macro-F1 0.998, places P 1.000 R 1.000, negatives 15/15
    "main": {"micro_f1": 0.98, "macro_f1": 0.98, "place_p": 0.98, "place_r": 0.98, "neg_clean": 0.93},
    # first run (untuned): micro-F1 0.946; its misses were then named to the generalisation pass,
    # after which: micro-F1 1.000, macro-F1 1.000, places 1.000/1.000, negatives 6/6
    "heldout": {"micro_f1": 0.96, "macro_f1": 0.96, "place_p": 0.97, "place_r": 0.97, "neg_clean": 0.83},
    # written after the generalisation pass, measured untuned: micro P/R/F1 0.857/0.857/0.857,
    # macro-F1 0.855, places P 1.000 R 0.978, negatives 6/6; its gaps were then named to the second
    # pass (families of expressions), after which micro P/R/F1 1.000/0.952/0.976, macro-F1 0.958,
    # places 1.000/1.000, negatives 6/6 (floors raised; it is no longer an estimate)
    # after the substantiveness pass: 1.000/1.000/1.000, macro-F1 1.000
    "heldout2": {"micro_f1": 0.97, "macro_f1": 0.96, "place_p": 0.97, "place_r": 0.97, "neg_clean": 0.9},
    # written after the second pass, before the classifier ever ran on it; first run (untuned):
    # micro P/R/F1 0.833/0.882/0.857, macro-F1 0.857, places P 0.939 R 0.984, negatives 3/6. Its
    # disagreements were then named to the substantiveness pass (third pass), after which micro
    # 0.971/1.000/0.986, macro-F1 0.984, places 0.939/0.984, negatives 6/6 (no longer an estimate)
    "heldout3": {"micro_f1": 0.96, "macro_f1": 0.96, "place_p": 0.92, "place_r": 0.96, "neg_clean": 0.95},
    # written after the third pass, labels decided before the classifier ever ran on it; first and
    # only run (untuned): micro P/R/F1 1.000/0.952/0.976, macro-F1 0.984, places P 1.000 R 0.969,
    # negatives 7/7 — the current estimate (its disagreements are listed, unfixed, in the README)
    "heldout4": {"micro_f1": 0.95, "macro_f1": 0.96, "place_p": 0.97, "place_r": 0.95, "neg_clean": 0.95},
    # the evaluator's blind set (44): 0.931 micro-F1 before the generalisation pass (its errors were
    # reported to it, so it is no longer blind); after: micro P/R/F1 0.980/1.000/0.990, macro-F1 0.989,
    # places 1.000/1.000 (out-of-scope venues and then-missing places neutral), negatives 14/14
    "blind": {"micro_f1": 0.975, "macro_f1": 0.975, "place_p": 0.98, "place_r": 0.98, "neg_clean": 0.95},
}


def load_corpus(directory: Path) -> list[dict]:
    arts = []
    for p in sorted(directory.glob("*.yaml")):
        with p.open(encoding="utf-8") as f:
            a = yaml.safe_load(f)
        a["_file"] = p.name
        arts.append(a)
    return arts


def article_text(a: dict) -> tuple[str, str]:
    """Title and body as the clean stage hands them on (display paragraphs joined)."""
    paras = ([a["subtitle"]] if a.get("subtitle") else []) + list(a["paragraphs"])
    return a.get("title") or "", "\n\n".join(paras)


def dateline_place(a: dict) -> str | None:
    d = a.get("dateline")
    if not d:
        return None
    for sep in ("–", "—", "/", "-", "|"):
        if sep in d:
            return d.split(sep, 1)[0].strip()
    return d.strip()


@dataclass
class Report:
    n: int = 0
    tp: Counter = field(default_factory=Counter)
    fp: Counter = field(default_factory=Counter)
    fn: Counter = field(default_factory=Counter)
    place_tp: int = 0
    place_fp: int = 0
    place_fn: int = 0
    negatives: int = 0
    negatives_clean: int = 0
    errors: list[str] = field(default_factory=list)

    def prf(self, t: str) -> tuple[float, float, float]:
        tp, fp, fn = self.tp[t], self.fp[t], self.fn[t]
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f

    @property
    def micro(self) -> tuple[float, float, float]:
        tp, fp, fn = sum(self.tp.values()), sum(self.fp.values()), sum(self.fn.values())
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    @property
    def macro_f1(self) -> float:
        present = [t for t in TOPIC_IDS if self.tp[t] + self.fn[t] > 0]
        return sum(self.prf(t)[2] for t in present) / len(present) if present else 0.0

    @property
    def place_p(self) -> float:
        d = self.place_tp + self.place_fp
        return self.place_tp / d if d else 1.0

    @property
    def place_r(self) -> float:
        d = self.place_tp + self.place_fn
        return self.place_tp / d if d else 1.0

    @property
    def neg_clean(self) -> float:
        return self.negatives_clean / self.negatives if self.negatives else 1.0

    def summary(self, name: str) -> str:
        lines = [f"== {name}: {self.n} articles"]
        lines.append(f"{'topic':28} {'P':>6} {'R':>6} {'F1':>6}  tp fp fn")
        for t in TOPIC_IDS:
            p, r, f = self.prf(t)
            lines.append(f"{t:28} {p:6.3f} {r:6.3f} {f:6.3f}  {self.tp[t]:2} {self.fp[t]:2} {self.fn[t]:2}")
        mp, mr, mf = self.micro
        lines.append(f"{'micro':28} {mp:6.3f} {mr:6.3f} {mf:6.3f}")
        lines.append(f"{'macro F1':28} {'':6} {'':6} {self.macro_f1:6.3f}")
        lines.append(
            f"places: P {self.place_p:.3f} R {self.place_r:.3f} "
            f"(tp {self.place_tp}, fp {self.place_fp}, fn {self.place_fn})"
        )
        lines.append(f"hard negatives with no topic: {self.negatives_clean}/{self.negatives}")
        return "\n".join(lines)


def evaluate(arts: list[dict], topics=None, gazetteer=None, verbose: bool = False) -> Report:
    rep = Report()
    for a in arts:
        rep.n += 1
        title, body = article_text(a)
        got = {h.id for h in classify(title, body, topics)}
        gold = set(a.get("topics") or [])
        for t in got & gold:
            rep.tp[t] += 1
        for t in got - gold:
            rep.fp[t] += 1
        for t in gold - got:
            rep.fn[t] += 1
        if not gold:
            rep.negatives += 1
            rep.negatives_clean += not got
        if verbose and got != gold:
            ex = {x.id: x for x in explain(title, body, topics)}
            for t in sorted(got - gold):
                rep.errors.append(f"FP {a['id']}: {t} {ex[t].score}/{ex[t].threshold} {ex[t].evidence[:8]}")
            for t in sorted(gold - got):
                x = ex[t]
                why = "no context" if not x.context_ok else ("vetoed" if x.vetoed else "low score")
                rep.errors.append(f"FN {a['id']}: {t} {x.score}/{x.threshold} {why} {x.evidence[:8]}")
        ents = enrich(title, body, dateline_place(a), gazetteer=gazetteer)
        got_p = {p.name for p in ents.places}
        gold_p = set(a.get("places") or [])
        # blind set: venues outside DESIGN's scope and places the gazetteer lacked when it was written
        neutral = set(a.get("places_out_of_scope") or []) | set(a.get("places_missing") or [])
        got_p -= neutral - gold_p
        rep.place_tp += len(got_p & gold_p)
        rep.place_fp += len(got_p - gold_p)
        rep.place_fn += len(gold_p - got_p)
        if verbose and got_p != gold_p:
            rep.errors.append(
                f"PLACES {a['id']}: extra {sorted(got_p - gold_p)} missing {sorted(gold_p - got_p)}"
            )
    return rep


@pytest.fixture(scope="module")
def topic_set():
    return parse_topics(TOPICS_FILE)


@pytest.fixture(scope="module")
def gazetteer():
    return load_gazetteer(GAZETTEER_FILE)


def _check(rep: Report, floors: dict[str, float], name: str) -> None:
    print()
    print(rep.summary(name))
    got = {
        "micro_f1": rep.micro[2],
        "macro_f1": rep.macro_f1,
        "place_p": rep.place_p,
        "place_r": rep.place_r,
        "neg_clean": rep.neg_clean,
    }
    failed = {k: (round(v, 3), floors[k]) for k, v in got.items() if v < floors[k]}
    assert not failed, f"quality below the pinned floors (got, floor): {failed}"


def test_corpus_is_well_formed():
    ids: set[str] = set()
    for d in CORPORA:
        for a in load_corpus(d):
            assert a["id"] not in ids, f"duplicate id {a['id']}"
            ids.add(a["id"])
            assert a["paragraphs"], a["id"]
            unknown = set(a.get("topics") or []) - set(TOPIC_IDS)
            assert not unknown, f"{a['id']}: unknown topics {unknown}"
    for d in CORPORA:
        for a in load_corpus(d):
            if a.get("near_duplicate_of"):
                assert a["near_duplicate_of"] in ids, a["id"]


def test_gold_places_are_gazetteer_names(gazetteer):
    names = {e.name for e in gazetteer.places()}
    for d in CORPORA:
        for a in load_corpus(d):
            unknown = set(a.get("places") or []) - names
            assert not unknown, f"{a['id']}: gold places not in the gazetteer: {unknown}"


# corpus, floors key, label, at least this many articles, of which at least this many without a topic
GATES = [
    (MAIN_DIR, "main", "main (tuning corpus)", 60, 12),
    (HELDOUT_DIR, "heldout", "held-out", 15, 0),
    (HELDOUT2_DIR, "heldout2", "held-out 2", 15, 5),
    (HELDOUT3_DIR, "heldout3", "held-out 3", 20, 6),
    (HELDOUT4_DIR, "heldout4", "held-out 4", 15, 6),
    (BLIND_DIR, "blind", "blind (independent evaluator)", 40, 0),
]


@pytest.mark.parametrize("corpus,key,label,min_articles,min_negatives", GATES, ids=[g[1] for g in GATES])
def test_corpus_gate(topic_set, gazetteer, corpus, key, label, min_articles, min_negatives):
    arts = load_corpus(corpus)
    assert len(arts) >= min_articles
    assert sum(1 for a in arts if not a.get("topics")) >= min_negatives
    _check(evaluate(arts, topic_set, gazetteer), FLOORS[key], label)


if __name__ == "__main__":
    verbose = "-v" in sys.argv
    ts, gz = parse_topics(TOPICS_FILE), load_gazetteer(GAZETTEER_FILE)
    for d, name, *_ in GATES:
        arts = load_corpus(d)
        if not arts:
            continue
        rep = evaluate(arts, ts, gz, verbose=verbose)
        print(rep.summary(name))
        for e in rep.errors:
            print("  ", e)
        print()
