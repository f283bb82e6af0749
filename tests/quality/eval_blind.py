"""Measure classify + enrich on the blind evaluation set (tests/quality/blind/).

The blind set was written by an evaluator who had not seen config/topics.yaml,
pipeline/classify.py or the other corpora, so its figures estimate quality on
unseen text. This is a report, not a gate: it is not collected by pytest and
nothing may be tuned on these articles (write a fresh blind batch instead).

Run: ``python tests/quality/eval_blind.py`` (``--with-subtitle`` also feeds the
subtitle to classify/enrich, as the main gate does).

Place scoring: ``places`` are the gold places in DESIGN's scope (Syrian places and
neighbouring countries' main cities); ``places_out_of_scope`` are gazetteer names
(Moscow, Geneva, …) named in the text but outside that scope — a prediction of one
is an error in the *strict* figure and ignored in the *lenient* one;
``places_missing`` are places named in the text that the gazetteer lacks (gaps):
they are not expected, only listed.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pipeline.stages.classify import classify, explain  # noqa: E402
from pipeline.stages.enrich import enrich  # noqa: E402
from pipeline.stages.gazetteer import load_gazetteer  # noqa: E402
from pipeline.stages.topics import load_topics  # noqa: E402

BLIND = Path(__file__).resolve().parent / "blind"
TOPIC_SET = load_topics(ROOT / "config" / "topics.yaml")
GAZETTEER = load_gazetteer(ROOT / "config" / "gazetteer.yaml")
TOPICS = [
    "chemical_weapons",
    "military_escalation",
    "russian_role",
    "jihadist_factions",
    "white_helmets",
    "turkish_role",
    "displacement_humanitarian",
    "international_diplomacy",
    "regime_change",
]


def load() -> list[dict]:
    arts = []
    for p in sorted(BLIND.glob("*.yaml")):
        with p.open(encoding="utf-8") as f:
            arts.append(yaml.safe_load(f))
    return arts


def dateline_place(d: str | None) -> str | None:
    """The place part of a dateline as written («أنقرة/ الأناضول», «موسكو: «الشرق الأوسط»», «AMSTERDAM (Reuters)»)."""
    if not d:
        return None
    return re.split(r"\s*[–—/\-|:(]\s*", d.strip(), maxsplit=1)[0].strip() or None


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--with-subtitle", action="store_true", help="prepend the subtitle to the body")
    args = ap.parse_args(argv)

    arts = load()
    tp, fp, fn = Counter(), Counter(), Counter()
    lang_c: dict[str, Counter] = {}
    p_tp = p_fp_strict = p_fp_lenient = p_fn = 0
    negs = negs_clean = 0
    topic_dis: list[str] = []
    place_dis: list[str] = []
    gaps: Counter = Counter()

    for a in arts:
        paras = list(a["paragraphs"])
        if args.with_subtitle and a.get("subtitle"):
            paras = [a["subtitle"]] + paras
        title, body = a.get("title") or "", "\n\n".join(paras)
        hits = classify(title, body, TOPIC_SET)
        got = {h.id for h in hits}
        gold = set(a.get("topics") or [])
        lc = lang_c.setdefault(a.get("language", "?"), Counter())
        for t in TOPICS:
            if t in got and t in gold:
                tp[t] += 1
                lc["tp"] += 1
            elif t in got:
                fp[t] += 1
                lc["fp"] += 1
            elif t in gold:
                fn[t] += 1
                lc["fn"] += 1
        if not gold:
            negs += 1
            negs_clean += not got
        if got != gold:
            ex = {e.id: e for e in explain(title, body, TOPIC_SET)}
            lines = [f"{a['id']}  gold={sorted(gold)}  predicted={sorted(got)}"]
            for h in hits:
                if h.id not in gold:
                    lines.append(f"    FP {h.id} score={h.score}: {h.evidence}")
            for t in sorted(gold - got):
                e = ex.get(t)
                if e is None:
                    lines.append(f"    FN {t}: (topic not defined)")
                    continue
                why = "below threshold"
                if not e.context_ok:
                    why = "no Syrian context"
                elif e.vetoed:
                    why = "vetoed"
                lines.append(f"    FN {t} score={e.score}/{e.threshold} ({why}): {e.evidence}")
            topic_dis.append("\n".join(lines))

        ents = enrich(title, body, dateline_place(a.get("dateline")), gazetteer=GAZETTEER)
        pred = [p.name for p in ents.places]
        gp = set(a.get("places") or [])
        oos = set(a.get("places_out_of_scope") or [])
        for g in a.get("places_missing") or []:
            gaps[g] += 1
        extra = [p for p in pred if p not in gp]
        missed = sorted(gp - set(pred))
        p_tp += len(gp & set(pred))
        p_fn += len(missed)
        p_fp_strict += len(extra)
        p_fp_lenient += len([p for p in extra if p not in oos])
        bad_extra = [p for p in extra if p not in oos]
        if missed or bad_extra:
            place_dis.append(
                f"{a['id']}  missed={missed}  extra={bad_extra}"
                + (f"  (out-of-scope predicted, ignored when lenient: {[p for p in extra if p in oos]})" if any(p in oos for p in extra) else "")
            )

    print(f"blind set: {len(arts)} articles ({sum(1 for a in arts if a.get('language') == 'en')} English), "
          f"{negs} hard negatives{'  [with subtitle]' if args.with_subtitle else ''}\n")
    print(f"{'topic':28} {'gold':>4} {'TP':>3} {'FP':>3} {'FN':>3}   {'P':>5} {'R':>5} {'F1':>5}")
    f1s = []
    for t in TOPICS:
        p, r, f = prf(tp[t], fp[t], fn[t])
        f1s.append(f)
        print(f"{t:28} {tp[t] + fn[t]:>4} {tp[t]:>3} {fp[t]:>3} {fn[t]:>3}   {p:5.3f} {r:5.3f} {f:5.3f}")
    P, R, F = prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    print(f"\nmicro P/R/F1 = {P:.3f} / {R:.3f} / {F:.3f}    macro F1 = {sum(f1s) / len(f1s):.3f}")
    for lang, c in sorted(lang_c.items()):
        lp, lr, lf = prf(c["tp"], c["fp"], c["fn"])
        print(f"  language {lang}: micro P/R/F1 = {lp:.3f} / {lr:.3f} / {lf:.3f}  (TP {c['tp']}, FP {c['fp']}, FN {c['fn']})")
    print(f"hard negatives with no topic: {negs_clean}/{negs}")
    exact = len(arts) - len(topic_dis)
    print(f"articles with exactly the gold topic set: {exact}/{len(arts)}")
    ps, rs, _ = prf(p_tp, p_fp_strict, p_fn)
    pl, _, _ = prf(p_tp, p_fp_lenient, p_fn)
    print(f"\nplaces: recall {rs:.3f} ({p_tp}/{p_tp + p_fn}); precision strict {ps:.3f} "
          f"(FP {p_fp_strict}), lenient {pl:.3f} (FP {p_fp_lenient}, out-of-scope venues ignored)")

    print(f"\n== topic disagreements ({len(topic_dis)}) ==")
    for d in topic_dis:
        print(d)
    print(f"\n== place disagreements ({len(place_dis)}) ==")
    for d in place_dis:
        print(d)
    print(f"\n== gazetteer gaps (named in the text, not in the gazetteer) ==")
    for g, n in sorted(gaps.items()):
        print(f"  {g}" + (f" (x{n})" if n > 1 else ""))

    dup_report(arts, args.with_subtitle)
    return 0


def dup_report(arts: list[dict], with_subtitle: bool) -> None:
    """Near-duplicate verdicts of pipeline.stages.dedupe over the blind set in publication order (informative)."""
    from datetime import datetime, timezone

    from pipeline.stages.dedupe import DedupeIndex, sketch

    idx = DedupeIndex()
    order = sorted(arts, key=lambda a: (a["published_at"], a["id"]))
    got: dict[str, str | None] = {}
    for a in order:
        paras = ([a["subtitle"]] if with_subtitle and a.get("subtitle") else []) + list(a["paragraphs"])
        sk = sketch((a.get("title") or "") + "\n\n" + "\n\n".join(paras))
        when = a["published_at"] if isinstance(a["published_at"], datetime) else None
        v = idx.assign(a["id"], sk, when, now=when or datetime.now(timezone.utc))
        got[a["id"]] = v.duplicate_of
    print("\n== near-duplicates (pipeline.stages.dedupe, informative) ==")
    ok = True
    for a in arts:
        want, have = a.get("near_duplicate_of"), got[a["id"]]
        if want or have:
            mark = "ok" if want == have else "DISAGREE"
            ok &= want == have
            print(f"  {a['id']}: gold={want} predicted={have}  {mark}")
    print("  all near-duplicate verdicts agree" if ok else "  some near-duplicate verdicts disagree")
    pairs = [a["id"] for a in arts if "different days" in (a.get("notes") or "")]
    for i in pairs:
        print(f"  {i}: must not be a duplicate -> predicted={got[i]}  {'ok' if got[i] is None else 'DISAGREE'}")


if __name__ == "__main__":
    sys.exit(main())
