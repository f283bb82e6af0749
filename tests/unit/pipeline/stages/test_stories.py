"""Event-level stories (pipeline/stages/stories.py through DedupeIndex): rewrites across outlets join,
the same formula statement or the same town on another day stays apart, ids are deterministic and
survive a restart from the store, and a lookup's cost is bounded whatever the live count."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from pipeline.core import arabic
from pipeline.stages.dedupe import DedupeIndex, Verdict, sketch
from pipeline.stages.packed import id_hash
from pipeline.stages.stories import (
    EventIndex,
    decode_features,
    encode_features,
    event_features,
    stem,
)
from pipeline.stages.story_pairs import NAMES, join_probability
from pipeline.stages.story_keys import (ACT_KINDS, AGENTS, MARK_FLAG, MEANS_KINDS, NEAR_MARK, POINT_MARK, WEEKDAYS, headline_acts,
    headline_agents, headline_means,
                                        lead_days, article_features, key_hash, outlet_of)
from pipeline.stages.story_marks import split_marks

T0 = datetime(2019, 5, 6, 8, 0, tzinfo=timezone.utc)

SHELLING = ("مقتل سبعة مدنيين بقصف مدفعي على كفرنبل جنوبي إدلب",
            """قتل سبعة مدنيين بينهم ثلاثة أطفال، صباح اليوم الاثنين، جراء قصف مدفعي لقوات النظام استهدف سوق الخضار في بلدة كفرنبل بريف إدلب الجنوبي، بحسب الدفاع المدني.
وقال مدير مركز الدفاع المدني في كفرنبل إن فرق الإنقاذ انتشلت الجثث من تحت الأنقاض وأسعفت 14 جريحا إلى مستشفى معرة النعمان.
وتتعرض بلدات ريف إدلب الجنوبي لقصف متواصل منذ أسابيع رغم اتفاق خفض التصعيد.""", ["كفرنبل", "إدلب", "معرة النعمان"])

SHELLING_REWRITE = ("سبعة قتلى بينهم أطفال في قصف لقوات النظام على سوق كفرنبل",
                    """استهدفت قوات النظام بقذائف المدفعية سوق الخضار وسط كفرنبل في ريف إدلب، ما أسفر عن سقوط سبعة قتلى مدنيين، ثلاثة منهم أطفال، وإصابة 14 آخرين.
وأفاد الدفاع المدني بأن متطوعيه انتشلوا الضحايا من تحت أنقاض المحال المدمرة، ونقلوا الجرحى إلى مستشفى في معرة النعمان.
ويأتي القصف ضمن حملة تصعيد تشنها قوات النظام بدعم روسي على المنطقة.""", ["كفرنبل", "إدلب", "معرة النعمان"])

SAME_TOWN_NEXT_DAY = ("انفجار سيارة مفخخة عند مدخل كفرنبل",
                      """انفجرت سيارة مفخخة، مساء الثلاثاء، عند حاجز لفصائل المعارضة على المدخل الشمالي لبلدة كفرنبل في ريف إدلب، ما أدى إلى إصابة أربعة عناصر.
وطوقت الفصائل مكان الانفجار وفتحت تحقيقا لتحديد الجهة المسؤولة، في حين لم تتبن أي جهة التفجير.
وتشهد مناطق الشمال السوري تفجيرات متكررة بعبوات ناسفة وسيارات مفخخة.""", ["كفرنبل", "إدلب"])

FORMULA_DAY1 = ("مركز المصالحة الروسي: 32 خرقا لوقف إطلاق النار خلال 24 ساعة",
                """قال مركز حميميم لمصالحة الأطراف المتناحرة التابع لوزارة الدفاع الروسية إنه سجل 32 خرقا لنظام وقف إطلاق النار خلال الساعات الأربع والعشرين الماضية في محافظات إدلب واللاذقية وحماة.
وأضاف المركز في بيانه اليومي أن المسلحين قصفوا بلدات جورين وشطحة في سهل الغاب بقذائف الهاون.
وأشار البيان إلى أن الجانب الروسي أبلغ الجانب التركي بالانتهاكات عبر قنوات التنسيق.""", ["حميميم", "إدلب", "اللاذقية", "حماة"])

FORMULA_DAY2 = ("مركز المصالحة الروسي يسجل 27 خرقا لوقف إطلاق النار",
                """قال مركز حميميم لمصالحة الأطراف المتناحرة التابع لوزارة الدفاع الروسية إنه سجل 27 خرقا لنظام وقف إطلاق النار خلال الساعات الأربع والعشرين الماضية في محافظات إدلب وحلب وحماة.
وأضاف المركز في بيانه اليومي أن المسلحين استهدفوا أحياء في مدينة حلب ومحيط بلدة كفرنبودة بالقذائف الصاروخية.
وأشار البيان إلى أن الجانب الروسي أبلغ الجانب التركي بالانتهاكات عبر قنوات التنسيق.""", ["حميميم", "إدلب", "حلب", "حماة"])

FILLER = [
    ("بيدرسن يبحث في دمشق تشكيل اللجنة الدستورية",
     """بحث المبعوث الأممي غير بيدرسن مع وزير الخارجية وليد المعلم في دمشق الخلاف على أسماء القائمة الثالثة للجنة الدستورية.
وقال بيدرسن للصحفيين إن المحادثات كانت بناءة وإنه سيطلع مجلس الأمن على نتائجها الأسبوع المقبل.""", ["دمشق"]),
    ("الأمم المتحدة: نزوح 150 ألف شخص من ريف حماة الشمالي",
     """قال مكتب تنسيق الشؤون الإنسانية التابع للأمم المتحدة إن نحو 150 ألف شخص نزحوا من ريف حماة الشمالي خلال أسبوع، معظمهم إلى مخيمات قرب الحدود التركية.
وحذر المكتب من نقص حاد في الخيام والمياه النظيفة في مخيمات أطمة وقاح.""", ["حماة", "أطمة"]),
    ("الليرة السورية تهبط إلى مستوى قياسي أمام الدولار",
     """سجلت الليرة السورية تراجعا جديدا في السوق السوداء بدمشق، إذ تجاوز سعر صرف الدولار 600 ليرة للمرة الأولى.
ويعزو تجار التراجع إلى شح القطع الأجنبي والعقوبات المفروضة على المصارف.""", ["دمشق"]),
    ("قسد تعلن اعتقال خلية لتنظيم الدولة في دير الزور",
     """أعلنت قوات سوريا الديمقراطية اعتقال خمسة عناصر من خلية تابعة لتنظيم الدولة الإسلامية في بلدة الشحيل بريف دير الزور الشرقي، بدعم من التحالف الدولي.
وقالت قسد إن الخلية مسؤولة عن اغتيال وجهاء عشائريين خلال الأشهر الماضية.""", ["دير الزور", "الشحيل"]),
]


def feats(item: tuple[str, str, list[str]]) -> str:
    title, body, places = item
    return encode_features(event_features(title, arabic.normalize(f"{title}\n{body}"), places))


def add(index: DedupeIndex, aid: str, item, hours: float):
    when = T0 + timedelta(hours=hours)
    return index.assign(aid, sketch(f"{item[0]}\n{item[1]}"), when, now=when, features=feats(item))


def scenario(index: DedupeIndex, upto: int | None = None, start: int = 0) -> dict[str, str]:
    """A day and a half of a desk's feed; returns article id -> story id."""
    plan = [(f"filler-{i}", f, -6 + i) for i, f in enumerate(FILLER)] + [
        ("shelling", SHELLING, 0.0),
        ("formula-1", FORMULA_DAY1, 1.0),
        ("shelling-rewrite", SHELLING_REWRITE, 3.0),
        ("formula-2", FORMULA_DAY2, 25.0),
        ("same-town-next-day", SAME_TOWN_NEXT_DAY, 34.0),
    ]
    return {aid: add(index, aid, item, h).story_id for aid, item, h in plan[start:upto]}


def test_a_rewrite_by_another_outlet_joins_the_story() -> None:
    ids = scenario(DedupeIndex())
    assert ids["shelling-rewrite"] == ids["shelling"] == "shelling"


def test_rewrite_is_an_event_match_not_a_near_copy() -> None:
    index = DedupeIndex()
    scenario(index, upto=len(FILLER) + 1)
    v = add(index, "rw", SHELLING_REWRITE, 3.0)
    assert v.story_id == "shelling" and v.duplicate_of is None and v.event_score is not None


def test_the_same_formula_statement_on_another_day_stays_apart() -> None:
    ids = scenario(DedupeIndex())
    assert ids["formula-2"] == "formula-2" and ids["formula-1"] == "formula-1"


def test_the_same_town_on_another_day_stays_apart() -> None:
    ids = scenario(DedupeIndex())
    assert ids["same-town-next-day"] == "same-town-next-day"


def test_unrelated_articles_start_their_own_stories() -> None:
    ids = scenario(DedupeIndex())
    assert all(ids[f"filler-{i}"] == f"filler-{i}" for i in range(len(FILLER)))


def test_ids_are_deterministic_for_the_same_input_order() -> None:
    assert scenario(DedupeIndex()) == scenario(DedupeIndex())


def test_restart_from_the_store_gives_the_same_ids() -> None:
    straight = scenario(DedupeIndex())
    store: dict[str, dict] = {}
    first = scenario(DedupeIndex(store), upto=len(FILLER) + 2)
    # a new process: the index is rebuilt from the store alone (the faust table's changelog)
    restarted = DedupeIndex(store)
    assert len(restarted.events) == len(first)
    rest = scenario(restarted, start=len(FILLER) + 2)
    assert {**first, **rest} == straight
    # a replay of an already assigned article returns its recorded story id
    again = add(restarted, "shelling-rewrite", SHELLING_REWRITE, 3.0)
    assert again.replay and again.story_id == straight["shelling-rewrite"]


def test_evicted_articles_leave_the_event_index() -> None:
    index = DedupeIndex(window=timedelta(days=1))
    scenario(index)
    later = T0 + timedelta(days=5)
    index.assign("late", sketch("خبر آخر تماما عن الطقس في الساحل"), later, now=later,
                 features=encode_features({"طقس": 3, "ساحل": 2}))
    assert len(index.events) == 1 and index.live == 1


def test_a_lookup_is_bounded_whatever_the_live_count() -> None:
    ev = EventIndex(common_df=50, query_keys=8, max_candidates=16)
    common = {f"w{i}": 3 for i in range(20)}  # words every article holds
    for i in range(3000):
        f = dict(common, **{f"rare{i % 700}": 5, f"r{i}": 2})
        ev.add(f"a{i:05d}", f"a{i:05d}", 1000.0 + i, encode_features(f))
    q = encode_features(dict(common, rare5=5))
    assert ev.best_story(q, 4000.0) is None or ev.last_candidates <= 16
    assert ev.last_candidates <= 16
    assert ev.last_postings <= 8 * 50  # at most query_keys lists of at most common_df postings
    # the over-common keys retrieve nothing; the rare one finds its few holders
    cands = ev.candidates(q, 4000.0)
    assert 0 < len(cands[1]) <= 16
    assert set(ev.candidate_ids(cands)) <= {f"a{i:05d}" for i in range(5, 3000, 700)}


def test_features_encoding_and_stemming() -> None:
    f = event_features("مقتل 22 جنديا في 22 تموز", "مقتل 22 جنديا في 22 تموز بادلب والسوريين", ["إدلب"])
    assert "#22" in f and "p:ادلب" in f and "تموز" not in f
    keys, ws = decode_features(encode_features(f))
    assert len(keys) == 4 * len(ws) == 4 * len(f)
    assert stem("بادلب") == stem("ادلب") and stem("السوريين") == stem("سوريه")


def test_two_framings_of_the_dead_and_the_fighters_share_their_keys() -> None:
    official = "استشهاد أربعة مدنيين باعتداء الإرهابيين على بلدة"
    other = "مقتل أربعة مدنيين بقصف الفصائل المسلحة على بلدة"
    fo, fx = (event_features(t, arabic.normalize(t)) for t in (official, other))
    assert {"~killed", "~fighters"} <= set(fo) & set(fx)
    assert "استشهاد" not in fo and "مقتل" not in fx  # the concept replaces its forms


def test_a_name_holding_a_concept_word_is_the_name_not_the_concept() -> None:
    hts = "هيئة تحرير الشام"
    meeting = event_features("", arabic.normalize(f"اجتماع لقادة {hts} في إدلب لبحث ملف المعتقلين"),
                             organizations=[hts])
    assert "~capture" not in meeting  # «تحرير» here is HTS's name
    taken = event_features("", arabic.normalize(f"سيطرت {hts} على بلدة بعد معارك مع قوات النظام"),
                           organizations=[hts])
    assert "~capture" in taken and "o:هيئه_تحرير_الشام" in taken


def test_spelling_variants_outlets_alternate_give_one_key() -> None:
    for a, b in (("الأمريكية", "الأميركية"), ("المسؤولين", "المسئولين"), ("الكيميائي", "الكيماوي"),
                 ("كيماوية", "كيميائية"), ("أوروبا", "أوربا"), ("هاتاي", "هطاي")):
        fa, fb = (set(event_features(w, arabic.normalize(w))) for w in (a, b))
        assert fa and fa == fb, (a, b, fa, fb)


RESCUE = ("إنقاذ طفلة من تحت الأنقاض بعد 30 ساعة",
          """انتشل متطوعو الدفاع المدني طفلة حية من تحت أنقاض منزل منهار بعد ثلاثين ساعة من الزلزال، ونقلوها إلى المستشفى.
وقال المتطوعون إن فرق الإنقاذ ما زالت تبحث عن ناجين تحت ركام المباني المنهارة في البلدة.""", [])


def _point(lat: float, lon: float) -> dict:
    return {"name": "x", "location": {"lat": lat, "lon": lon}}


def test_the_same_kind_of_event_in_two_towns_apart_is_two_stories() -> None:
    """Same words, same day; only the headline's town tells them apart (Jindires and Harem, ~25 km)."""
    def run(second_at: tuple[float, float] | None) -> tuple[str, str]:
        index = DedupeIndex()
        title, body, _ = RESCUE
        first = encode_features(event_features(title, arabic.normalize(f"{title}\n{body}"),
                                               incident=[_point(36.3925, 36.6880)]))
        rewrite = ("الدفاع المدني ينقذ طفلة من تحت أنقاض منزل بعد ثلاثين ساعة",
                   body.replace("ونقلوها إلى المستشفى", "وسط تكبيرات الأهالي"))
        second = encode_features(event_features(rewrite[0], arabic.normalize(f"{rewrite[0]}\n{rewrite[1]}"),
                                                incident=[_point(*second_at)] if second_at else ()))
        a = index.assign("a", sketch("a " + body[:60]), T0, now=T0, features=first)
        b = index.assign("b", sketch("b " + rewrite[1][-60:]), T0 + timedelta(hours=1), now=T0, features=second)
        return a.story_id, b.story_id

    a, b = run((36.2081, 36.5186))  # Harem, ~25 km away: another incident
    assert a != b
    a, b = run((36.3980, 36.6900))  # a quarter of the same town: the same event
    assert a == b
    a, b = run(None)  # the second headline names no town: nothing to tell them apart
    assert a == b


def test_a_headline_landmark_is_a_place_near_which_it_happened() -> None:
    """«قرب X», «بريف X»: the event was within ``near_km`` of X. A town 45 km from the landmark is
    another incident; one 25 km from it may be the same (the countryside reaches that far)."""
    title, body, _ = RESCUE
    text = arabic.normalize(f"{title}\n{body}")

    def joins(near_at: tuple[float, float]) -> bool:
        index = EventIndex()
        index.add("a", "a", 0.0, encode_features(event_features(title, text, incident=[_point(35.4517, 36.7344)])))
        q = encode_features(event_features(title, text, near=[_point(*near_at)]))
        return index.best_story(q, 3600.0) is not None

    assert not joins((35.8125, 36.3181))  # «بريف جسر الشغور», ~53 km from al-Tamanah: two incidents
    assert joins((35.6475, 36.6750))  # «قرب معرة النعمان», ~22 km: near enough to be the same
    f = event_features(title, text, near=[_point(35.8125, 36.3181)])
    keys, ws = decode_features(encode_features(f))
    assert sum(1 for w in ws if w in (POINT_MARK, NEAR_MARK)) == 1 and len(f) == len(ws)


def test_incident_points_survive_encoding_and_stay_out_of_the_keys() -> None:
    f = event_features("قصف على سوق", "قصف على سوق", incident=[_point(35.9306, 36.6339)])
    keys, ws = decode_features(encode_features(f))
    assert len(ws) == len(f) and sum(1 for w in ws if w in (POINT_MARK, NEAR_MARK)) == 1
    index = EventIndex()
    index.add("a", "a", 0.0, encode_features(f))
    (lat, lon), = index._pts[index._slot_of.get(id_hash("a"))][:1]
    assert abs(lat - 35.9306) < 0.01 and abs(lon - 36.6339) < 0.01
    marks = sum(1 for w in ws if w & MARK_FLAG == MARK_FLAG)  # the point and the kind of act («قصف»)
    assert marks == 2 and all(index._df[k] == 1 for k in index._ids[0] if k >= 0) and index._kids == len(f) - marks


def test_a_story_takes_articles_only_while_its_first_article_is_in_the_window() -> None:
    """A chain of next-day events must not carry a story on for days through its later members."""
    index = EventIndex()
    words = {f"w{i}": 4 for i in range(12)}
    w = index.window_s
    index.add("s", "s", 0.0, encode_features(words))
    index.add("m1", "s", 0.6 * w, encode_features(words))
    index.add("m2", "s", 0.8 * w, encode_features(words))
    q = encode_features(words)
    assert index.best_story(q, 0.9 * w)[0] == "s"  # first article inside
    assert index.last_follows is None  # it joined
    # past it the story is closed: its first article scores nothing, so its members do not take the article in
    assert index.best_story(q, 1.2 * w) is None
    # ... but m2, within hours of it, would: the article starts a story that follows on from "s"
    assert index.last_follows == "s"
    assert index.best_story(encode_features({f"v{i}": 4 for i in range(12)}), 1.2 * w) is None
    assert index.last_follows is None  # nothing in common: it follows nothing
    assert index.best_story(q, 1.9 * w) is None and index.last_follows is None  # no member within the window


def test_the_next_days_report_a_story_would_take_through_a_late_member_follows_that_story() -> None:
    """A story ends a window after its first report; the next day's report that its latest members would
    take starts a new story recording the one it follows (the thread analysts follow across the cut), kept
    in the store: a replay, an eviction and a restart give it back."""
    store: dict[str, dict] = {}
    index = DedupeIndex(store)
    for i, f in enumerate(FILLER):
        add(index, f"filler-{i}", f, -6 + i)
    assert add(index, "shelling", SHELLING, 0.0).follows is None
    late = add(index, "late-rewrite", SHELLING_REWRITE, 20.0)
    assert late.story_id == "shelling" and late.follows is None  # joined: follows nothing
    v = add(index, "next-day", SHELLING, 30.0)  # 30 hours after "shelling", 10 after the rewrite
    assert (v.story_id, v.duplicate_of, v.follows) == ("next-day", None, "shelling")
    assert store["next-day"]["c"] == "shelling" and "c" not in store["shelling"]
    assert add(index, "next-day", SHELLING, 30.0).follows == "shelling"  # a replay: the recorded link
    restarted = DedupeIndex(store)
    assert add(restarted, "next-day", SHELLING, 30.0) == Verdict("next-day", None, None, replay=True,
                                                                  follows="shelling")
    # the same run again gives the same links
    again = DedupeIndex()
    for i, f in enumerate(FILLER):
        add(again, f"filler-{i}", f, -6 + i)
    add(again, "shelling", SHELLING, 0.0)
    add(again, "late-rewrite", SHELLING_REWRITE, 20.0)
    assert add(again, "next-day", SHELLING, 30.0).follows == "shelling"


def test_the_pair_score_is_a_probability_gated_by_the_hand_product(monkeypatch) -> None:
    """Where the hand product sets a pair apart (a veto: 0) the probability is 0; within the headline guard's
    hours a pair whose headlines share fewer than two keys needs the hand product at its threshold too (reports
    of one subject minutes apart: a convoy entering Idlib, a post evacuated), and past them or with two headline
    keys shared the probability alone decides."""
    index = EventIndex()
    thr, guard_h = index.hand_threshold, index.headline_guard_s / 3600
    x = np.zeros((7, len(NAMES)))
    x[:, NAMES.index("cosine")] = 0.18
    x[:, NAMES.index("log cosine")] = np.log(0.18 + 1e-3)
    x[:, NAMES.index("log keys shared")] = np.log1p(10)
    x[:, NAMES.index("content share")] = 1.0
    x[:5, NAMES.index("no headline key shared")] = 1
    hand = np.array([0.0, 0.5 * thr, 0.5 * thr, 0.5 * thr, thr, 0.5 * thr, 0.5 * thr])
    x[:, NAMES.index("hours apart / 24")] = np.array([0.5, 0.5, guard_h - 0.5, guard_h + 0.5, 0.5, 0.5, 0.5]) / 24
    x[5, NAMES.index("headline keys shared (<=4)")] = 1  # one headline key shared (a place): the guard holds
    x[5, NAMES.index("one headline key shared")] = 1
    x[6, NAMES.index("headline keys shared (<=4)")] = 2  # two: the guard does not apply
    monkeypatch.setattr(EventIndex, "pair_terms", lambda self, q, slots, t: (hand, x))
    p = join_probability(x)
    assert (p > 0.5).all()  # the evidence of many keys shared, minutes apart, alone would join them all
    q = index._query(encode_features({"w": 4}))  # (its outlet unknown)
    got = index.scores(q, np.arange(7), 0.0)
    assert got[0] == 0 and got[1] == 0 and got[2] == 0  # a veto; the guard, half an hour and hours apart
    assert np.allclose(got[3:5], p[3:5])  # past the guard's hours; the hand threshold reached
    assert got[5] == 0 and got[6] == p[6]  # one headline key shared: guarded; two: not
    index.pair_weights = None  # the hand product alone (pairs.py's baseline)
    assert np.array_equal(index.scores(q, np.arange(7), 0.0), hand)


def test_one_official_in_two_meetings_on_one_day_is_two_stories() -> None:
    """al-Sharaa received by Erdoğan, and met by the US envoy, in Istanbul the same day."""
    body = ("بحث الجانبان في قصر دولمة بهجة في إسطنبول رفع العقوبات وإعادة الإعمار ومكافحة تنظيم الدولة،"
            " وقالت الرئاسة إن اللقاء استمر ساعتين وتناول ملف اللاجئين والطاقة والتعاون الأمني.")
    first = ("أردوغان يستقبل الشرع في إسطنبول", ["رجب طيب أردوغان", "أحمد الشرع"])
    other = ("المبعوث الأميركي توم باراك يلتقي الشرع في إسطنبول", ["توم باراك", "أحمد الشرع"])
    same = ("الشرع وأردوغان يبحثان في إسطنبول رفع العقوبات", ["أحمد الشرع", "رجب طيب أردوغان"])

    def f(item) -> str:
        title, people = item
        return encode_features(event_features(title, arabic.normalize(f"{title}\n{body}"), ["إسطنبول"],
                                              people=people))

    index = EventIndex()
    index.add("a", "a", 0.0, f(first))
    assert index.best_story(f(same), 3600.0)[0] == "a"  # the same meeting, in other words
    assert index.best_story(f(other), 3600.0) is None  # the same official in another meeting
    index2 = EventIndex(apart_factor=1.0)
    index2.add("a", "a", 0.0, f(first))
    assert index2.best_story(f(other), 3600.0)[0] == "a"  # without the rule the words alone would join them


def test_one_host_meeting_two_countries_on_one_day_is_two_stories() -> None:
    """A country the headline names is a party like a person: al-Sharaa with Kuwait's foreign minister
    and with Ukraine's, in Damascus, the same day."""
    body = ("وبحث الجانبان في قصر الشعب في دمشق سبل دعم استقرار البلاد وإعادة الإعمار وتعزيز العلاقات الثنائية،"
            " وقال الوزير إن بلاده مستعدة لتقديم المساعدة في المرحلة المقبلة وفتح السفارة قريبا.")

    def f(title: str) -> str:
        return encode_features(event_features(title, arabic.normalize(f"{title}\n{body}"), ["دمشق"],
                                              people=["أحمد الشرع"]))

    index = EventIndex()
    index.add("a", "a", 0.0, f("وزير الخارجية الأوكراني يلتقي الشرع في دمشق"))
    assert index.best_story(f("الشرع يستقبل وزير خارجية أوكرانيا في دمشق"), 3600.0)[0] == "a"  # one meeting
    assert index.best_story(f("وزير خارجية الكويت يلتقي الشرع في دمشق"), 3600.0) is None  # another visitor
    index2 = EventIndex(apart_factor=1.0)
    index2.add("a", "a", 0.0, f("وزير الخارجية الأوكراني يلتقي الشرع في دمشق"))
    assert index2.best_story(f("وزير خارجية الكويت يلتقي الشرع في دمشق"), 3600.0)[0] == "a"  # the words alone join


def _acts(title: str) -> set[str]:
    mask = headline_acts(title)
    return {k for i, k in enumerate(ACT_KINDS) if mask >> i & 1}


def test_the_kind_of_act_is_read_from_the_headlines_first_clause() -> None:
    assert _acts("غارات إسرائيلية قرب الكسوة جنوب دمشق") == {"violence"}
    assert _acts("مصادر: إنزال إسرائيلي بالمروحيات في ريف دمشق") == {"raid"}  # a speaker's prefix is no clause
    assert _acts("الشرع يكلف المهندس محمد البشير بتشكيل حكومة") == {"appointment"}
    assert _acts("الشرع يتوعد بملاحقة المتورطين بتعذيب المعتقلين") == {"speech"}
    assert _acts("الرئيس الشرع يستقبل أمير دولة قطر في قصر الشعب") == {"meeting"}
    # what follows «بعد» names the earlier event; a clause made only of it is passed over
    assert _acts("مجلس الأمن يعقد جلسة طارئة بشأن سوريا بعد الغارات الإسرائيلية على دمشق") == {"session"}
    assert _acts("بعد هجوم أنقرة.. غارات تركية مكثفة على مناطق قسد") == {"violence"}
    assert _acts("النظام يبدأ هجوماً برياً على الغوطة رغم قرار الهدنة") == {"violence"}  # not the truce
    assert _acts("مقتل ناشط برصاص مسلحين في الباب الخاضعة لسيطرة فصائل") == {"violence"}  # a standing, no takeover
    assert _acts("أردوغان يبحث مع بوتين هاتفياً التطورات في إدلب") == {"meeting"}
    # a later clause adds a reaction, not the act
    assert _acts("أنقرة تلمح إلى تقارب مع دمشق.. ومظاهرات غاضبة في الشمال السوري") == set()
    assert _acts("وزارة الصحة: 371 وفاة جراء الزلزال") == set()  # «وزارة» is no visit
    # bulldozing land is what an incursion does; holding a shepherd is an arrest: the same morning's shooting at
    # protesters or the raid on the next village is another event
    assert _acts("جرافات إسرائيلية تجرف أراضي زراعية قرب كودنة بريف القنيطرة") == {"raid"}
    assert _acts("القوات الإسرائيلية تحتجز راعي أغنام قرب الرفيد جنوب القنيطرة") == {"arrest"}
    assert _acts("مركز المصالحة الروسي يوزع مساعدات إنسانية في ريف حماة") == {"rescue"}  # relief
    assert _acts("مجلس الأمن يناقش الوضع الإنساني في سوريا قبل تجديد آلية المساعدات") == set()
    assert _acts("") == set() and _acts("..") == set()


def _means(title: str) -> set[str]:
    mask = headline_means(title)
    return {k for i, k in enumerate(MEANS_KINDS) if mask >> i & 1}


def test_how_the_blow_was_struck_is_read_from_the_headline() -> None:
    assert _means("مسيّرة انتحارية تصيب سيارة مدنية قرب دارة عزة") == {"air"}
    assert _means("إصابة ثلاثة مدنيين بمسيرة للنظام في ريف حلب") == {"air"}  # a proclitic on a short word
    assert _means("قتلى بقصف جوي روسي على أريحا") == {"air"}  # two words
    assert _means("صاروخ موجه يقتل مزارعين في تقاد") == {"ground"}
    assert _means("مقتل طفلين بلغم من مخلفات الحرب في ريف حماة") == {"bomb", "ground"}  # leftovers: a shell or a mine
    assert _means("مقتل قيادي سابق في المعارضة برصاص مجهولين في ريف درعا") == {"gun"}
    assert _means("ثلاثة قتلى بتفجير حافلة عسكرية بين بصر الحرير والمليحة الغربية") == {"bomb"}  # a bombing
    assert _means("انفجار في مستودع للذخيرة قرب حماة") == set()  # a blast says nothing of what caused it
    # what follows «بعد» names the earlier event: Israel answers with artillery
    assert _means("إسرائيل ترد بقصف مدفعي بعد سقوط قذيفتين أطلقتا من سوريا") == {"ground"}
    # a plain «قصف» or «هجوم», air defences, a military college: not said
    assert _means("مقتل مزارعين بقصف لقوات النظام على تقاد") == set()
    assert _means("الدفاعات الجوية تتصدى لعدوان إسرائيلي على المنطقة الجنوبية") == set()
    assert _means("هجوم على حفل تخرج في الكلية الحربية بحمص") == set()
    assert _means("") == set()


def _agents(title: str) -> set[str]:
    mask = headline_agents(title)
    return {k for i, k in enumerate(AGENTS) if mask >> i & 1}


def test_who_struck_is_read_from_the_headline() -> None:
    assert _agents("غارات روسية على محيط كفرتخاريم بريف إدلب الغربي") == {"russia"}
    assert _agents("مقتل مدنيين اثنين بقصف لقوات النظام على إبلين") == {"state"}
    assert _agents("مقتل ثلاثة مدنيين بقصف حكومي على قرى جبل الزاوية") == {"state"}
    assert _agents("الطيران الروسي يغير على أحراش كفرتخاريم") == {"russia"}  # after the strike word
    assert _agents("إسرائيل تقصف مواقع في ريف درعا") == {"israel"}  # before the strike verb
    assert _agents("عدوان إسرائيلي على مطار حلب الدولي") == {"israel"}
    # the target after «على» is not the agent; the first agent after the strike word is
    assert _agents("هجوم لداعش على نقاط لقسد شرق البحرة") == {"isis"}
    assert _agents("مقتل ستة من قسد بهجوم مفخخ لداعش في ريف دير الزور") == {"isis"}  # past «مفخخ»
    assert _agents('مقتل مدنيين بهجوم إرهابي لـ"ي ب ك" في رأس العين') == {"sdf"}
    # two parties: joined by «و», or one backing the other
    assert _agents("مقتل 7 مدنيين في غارات للنظام وروسيا على إدلب") == {"state", "russia"}
    assert _agents("مقتل ناشطة بهجوم للفصائل الموالية لتركيا على الطريق الدولي") == {"opposition", "turkey"}
    # not said: «الإرهابيين» has no side, a speaker is no agent, what follows «بعد» is an earlier event
    assert _agents("استشهاد مدنيين باعتداء الإرهابيين بالقذائف على السقيلبية") == set()
    assert _agents("الدفاع التركية: تحييد 5 إرهابيين حاولوا التسلل") == set()
    assert _agents("احتجاجات في السويداء بعد قصف لقوات النظام") == set()
    assert _agents("") == set()


def test_the_same_morning_regime_shelling_and_russian_raids_nearby_are_two_events() -> None:
    body = ("وقال ناشطون إن القصف استهدف أطراف البلدات في جبل الزاوية وريف إدلب الغربي صباح اليوم، ما أسفر عن"
            " سقوط ضحايا مدنيين نقلوا إلى المشافي القريبة، فيما عملت فرق الدفاع المدني على إسعاف المصابين.")

    def f(title: str) -> str:
        return encode_features(event_features(title, arabic.normalize(f"{title}\n{body}"), ["إدلب"]))

    index = EventIndex()
    index.add("a", "a", 0.0, f("مقتل مدنيين بقصف لقوات النظام على ريف إدلب"))
    assert index.best_story(f("مقتل مدنيين بغارات روسية على ريف إدلب"), 1800.0) is None
    assert index.best_story(f("مقتل مدنيين بقصف للنظام السوري على ريف إدلب"), 1800.0)[0] == "a"
    assert index.best_story(f("مقتل مدنيين بقصف على ريف إدلب"), 1800.0)[0] == "a"  # no agent said
    # a raid from the air is the regime's for one outlet and Russia's for another
    index.add("b", "b", 0.0, f("مقتل مدنيين بغارات للنظام على ريف إدلب الغربي"))
    assert index.best_story(f("مقتل مدنيين بغارات روسية على ريف إدلب الغربي"), 1800.0)[0] == "b"


def test_a_drone_and_a_guided_missile_the_same_morning_are_two_events() -> None:
    body = ("وقال مراسلون في ريف حلب الغربي إن القصف استهدف أطراف البلدة صباح اليوم، وأسفر عن سقوط ضحايا"
            " مدنيين نقلوا إلى المشافي القريبة، فيما قال الدفاع المدني إن فرقه عملت على إسعاف المصابين.")

    def f(title: str) -> str:
        return encode_features(event_features(title, arabic.normalize(f"{title}\n{body}"), ["تقاد"]))

    index = EventIndex(apart_factor=1.0)
    index.add("a", "a", 0.0, f("صاروخ موجه يقتل مدنيين في تقاد غربي حلب"))
    assert index.best_story(f("قذيفة موجهة تقتل مدنيين في تقاد غربي حلب"), 1800.0)[0] == "a"
    index2 = EventIndex()
    index2.add("a", "a", 0.0, f("صاروخ موجه يقتل مدنيين في تقاد غربي حلب"))
    assert index2.best_story(f("مسيرة انتحارية تقتل مدنيين في تقاد غربي حلب"), 1800.0) is None
    assert index2.best_story(f("مقتل مدنيين بقصف على تقاد غربي حلب"), 1800.0)[0] == "a"  # no means said


def test_another_kind_of_act_a_day_later_is_another_event() -> None:
    """Israeli strikes kill six soldiers near al-Kiswah; that night a heliborne landing there: the
    same place, party and words, another act. A reaction to the strikes the same day stays in its story."""
    body = ("وقالت مصادر محلية إن الموقع العسكري قرب الكسوة في ريف دمشق الجنوبي تعرض لعملية إسرائيلية،"
            " وإن مروحيات حلقت فوق التلال المحيطة بالموقع لساعات، فيما أدانت وزارة الخارجية السورية الاعتداء"
            " واعتبرته انتهاكا لاتفاق فض الاشتباك لعام 1974 وطالبت مجلس الأمن بالتحرك.")

    def f(title: str) -> str:
        return encode_features(event_features(title, arabic.normalize(f"{title}\n{body}"), ["الكسوة", "دمشق"],
                                              organizations=["الجيش الإسرائيلي"]))

    strike = f("مقتل 6 جنود سوريين بغارات إسرائيلية على موقع قرب الكسوة")
    landing = f("إنزال جوي إسرائيلي على موقع قرب الكسوة بريف دمشق")
    reaction = f("دمشق تدين الغارات الإسرائيلية على موقع قرب الكسوة")
    index = EventIndex()
    index.add("a", "a", 0.0, strike)
    assert index.best_story(reaction, 3 * 3600.0)[0] == "a"  # the same act, a party's reaction
    assert index.best_story(landing, 20 * 3600.0) is None  # another act, the next day
    assert index.best_story(landing, 3 * 3600.0)[0] == "a"  # within hours: one operation's reports
    index.add("b", "a", 3 * 3600.0, reaction)
    assert index.best_story(landing, 20 * 3600.0) is None  # nor against the story as a whole
    words_only = EventIndex(apart_factor=1.0)
    words_only.add("a", "a", 0.0, strike)
    assert words_only.best_story(landing, 20 * 3600.0)[0] == "a"  # the shared words alone would join them


def _days(text: str) -> set[str]:
    mask = lead_days(arabic.tokens(text))
    return {d for i, d in enumerate(WEEKDAYS) if mask >> i & 1}


def test_the_day_of_the_event_is_the_weekday_the_lead_names_first() -> None:
    assert _days("قتل سبعة مدنيين مساء اليوم الإثنين جراء غارات على أريحا") == {"الاثنين"}
    assert _days("ارتفعت حصيلة القصف الذي استهدف أريحا مساء أمس الاثنين إلى تسعة") == {"الاثنين"}
    # the day of the event before the day of the one that set it off
    assert _days("شهدت مدينة الباب السبت احتجاجات بعد مقتل ناشط وزوجته مساء الجمعة") == {"السبت"}
    # the night between two days is both
    assert _days("قتل سبعة مدنيين ليل الخميس الجمعة بقصف على إدلب") == {"الخميس", "الجمعة"}
    # the day someone spoke on is not the event's
    assert _days("أعلن البنتاغون مساء الخميس أن القوات الأمريكية شنت غارات") == set()
    assert _days("وقال الرئيس التركي السبت إن نظيره الروسي وعد بالتهدئة") == set()
    # ... and then the event's day is not said: the next one named may be the day of what set it off
    assert _days("أعلن الجيش الإسرائيلي صباح الأربعاء أنه شن غارات بعد إطلاق صواريخ أمس الثلاثاء") == set()
    assert _days("رفضت الرئاسة السورية الأحد مخرجات مؤتمر القوى الكردية الذي عقد السبت") == set()
    assert _days("غارات روسية على إدلب وسط تصعيد") == set()


_ARIHA_BODY = (" جراء غارات جوية نفذتها طائرات حربية على مدينة أريحا جنوبي إدلب، وقال الدفاع المدني إن فرقه"
               " انتشلت الضحايا من تحت الأنقاض ونقلت الجرحى إلى المشافي القريبة، وسط تحليق مكثف للطيران الحربي.")


def ariha(title: str, lead: str) -> str:
    """Features of a report on air strikes on Ariha: its own headline and lead, a shared body."""
    return encode_features(event_features(title, arabic.normalize(f"{title}\n{lead}{_ARIHA_BODY}"), ["أريحا", "إدلب"]))


def test_the_same_town_hit_on_another_day_is_another_story() -> None:
    """Ariha: homes struck on Monday evening, the hospital on Tuesday morning; the Monday strike's toll
    rising on Tuesday morning stays in its story."""
    monday = ariha("قتلى مدنيون بغارات جوية على أريحا جنوبي إدلب", "قتل مدنيون مساء اليوم الإثنين")
    toll = ariha("ارتفاع حصيلة الغارات الجوية على أريحا إلى تسعة قتلى", "ارتفعت حصيلة الغارات التي استهدفت المدينة مساء أمس الإثنين")
    tuesday = ariha("غارات جوية على أريحا تخرج مستشفى عن الخدمة", "خرج مستشفى عن الخدمة صباح اليوم الثلاثاء")
    index = EventIndex()
    index.add("a", "a", 0.0, monday)
    assert index.best_story(toll, 14 * 3600.0)[0] == "a"  # the same day named: the toll of Monday's strike
    assert index.best_story(tuesday, 13 * 3600.0) is None  # another day named: another strike
    undated = EventIndex(apart_factor=1.0)
    undated.add("a", "a", 0.0, monday)
    assert undated.best_story(tuesday, 13 * 3600.0)[0] == "a"  # the words alone would join them
    # a lead naming its own day and the day of the strike it follows up refers back to it
    funeral = ariha("تشييع ضحايا الغارات الجوية على أريحا", "شيع الأهالي اليوم الثلاثاء ضحايا الغارات التي استهدفت المدينة مساء الإثنين")
    assert index.best_story(funeral, 15 * 3600.0)[0] == "a"


def test_a_story_is_joined_only_where_its_first_report_allows() -> None:
    """A later member that names no day does not carry Tuesday's hospital strike into Monday's story: an
    article the rules set apart from the story's first report does not join through another member."""
    monday = ariha("قتلى مدنيون بغارات جوية على أريحا جنوبي إدلب", "قتل مدنيون مساء اليوم الإثنين")
    undated = ariha("غارات جوية على أريحا ومستشفى المدينة يستقبل الجرحى", "استقبل مستشفى أريحا الجرحى")
    tuesday = ariha("غارات جوية على أريحا تخرج مستشفى المدينة عن الخدمة", "خرج مستشفى عن الخدمة صباح اليوم الثلاثاء")
    index = EventIndex()
    index.add("a", "a", 0.0, monday)
    index.add("b", "a", 2 * 3600.0, undated)
    assert index.scores(index._query(tuesday), np.array([index._slot_of.get(id_hash("b"))]), 13 * 3600.0)[0] \
        >= index.threshold  # the member alone would carry it in
    assert index.best_story(tuesday, 13 * 3600.0) is None


def test_an_article_joins_a_story_only_if_its_newest_members_take_it_on_average(monkeypatch) -> None:
    """The next attack in the province that day scores high with the one member closest to it and low with
    the others: it takes after that member, not the story, and starts its own. The mean is over the story's
    newest ``recent_members`` live members; one that leaves the window leaves it."""
    index = EventIndex()
    words = encode_features({f"w{i}": 4 for i in range(12)})
    for aid, t in (("s", 0.0), ("m1", 600.0), ("m2", 1200.0)):
        index.add(aid, "s", t, words)
    index.add("o", "o", 1800.0, words)  # another story, scoring nothing: never chosen
    sc = {"s": 0.3, "m1": 0.2, "m2": 0.95, "o": 0.0}
    monkeypatch.setattr(EventIndex, "candidates", lambda self, f, t: (None, np.array(
        [self._slot_of.get(id_hash(a)) for a in sc if self._slot_of.get(id_hash(a)) >= 0])))
    monkeypatch.setattr(EventIndex, "scores", lambda self, q, slots, t: np.array([sc[self._aid[s]] for s in slots.tolist()]))
    # anchored on its first report alone it would join: (0.95 + 0.3) / 2 >= 0.5; the members' mean is 0.48
    assert index.best_story(words, 3600.0) is None
    sc["m1"] = 0.35  # the mean reaches 0.53: it joins through its best member
    assert index.best_story(words, 3600.0)[:2] == ("s", "m2")
    sc["m1"] = 0.0
    index.drop("m1")  # left the window: the mean is over s and m2, 0.625
    assert index.best_story(words, 3600.0)[:2] == ("s", "m2")
    for i in range(5):  # five newer members that score high: the three older ones count no more
        index.add(f"n{i}", "s", 2000.0 + i, words)
        sc[f"n{i}"] = 0.9
    sc["m2"] = 0.0
    sc["n0"] = 0.0
    assert index.best_story(words, 3600.0)[:2] == ("s", "n1")  # (0 + 4 x 0.9) / 5 = 0.72
    assert index.members_floor == 0.5 and index.recent_members == 5


def test_the_features_carry_the_outlet_its_source_id_or_its_pages_host() -> None:
    """The stream knows the source id; a saved page through ``rasid process`` only its URL."""
    assert outlet_of({"source": "sana", "url": "https://sana.sy/?p=1"}) == "sana"
    assert outlet_of({"url": "https://www.enabbaladi.net/archives/1"}) == "enabbaladi.net"
    assert outlet_of({"url": None}) == "" and outlet_of({}) == ""
    art = {"title": "قصف على كفرنبل", "body": "قتل مدنيان في قصف على كفرنبل بريف إدلب الجنوبي."}
    for extra, want in (({"source": "smart"}, key_hash("smart")), ({"url": "https://www.smartnews-agency.com/a"},
                                                                    key_hash("smartnews-agency.com")), ({}, 0)):
        feats = encode_features(article_features({**art, **extra}))
        assert split_marks(*decode_features(feats))[-1] == want
        plain = split_marks(*decode_features(encode_features(article_features(art))))
        assert split_marks(*decode_features(feats))[0].tolist() == plain[0].tolist()  # the keys are untouched


SAME_WORDS = {f"w{i}": 4 for i in range(12)}


def _fixed_score_index(monkeypatch, marks: dict[str, dict]) -> tuple[EventIndex, np.ndarray, dict]:
    """One article per name, each the same words plus its marks, every pair scoring the probability the test puts
    in ``p["v"]``: what ``scores`` then returns is the floors' work alone."""
    from pipeline.stages import stories

    index = EventIndex()
    for name, extra in marks.items():
        index.add(name, name, 0.0, encode_features({**SAME_WORDS, **extra}))
    slots = np.array([index._slot_of.get(id_hash(name)) for name in marks])
    monkeypatch.setattr(EventIndex, "pair_terms", lambda self, q, s, t: (
        np.ones(len(s)), np.full((len(s), len(NAMES)), 4.0)))
    p = {"v": 0.0}
    monkeypatch.setattr(stories, "join_probability", lambda x, w: np.full(len(x), p["v"]))
    return index, slots, p


def test_an_outlets_own_earlier_report_takes_an_article_only_at_the_same_outlet_floor(monkeypatch) -> None:
    """Its next report from the province in its own words is more often another event than an update of the
    first (an update keeps the first one's words): a pair of one outlet's reports joins only at
    ``same_outlet_floor`` (0.9); another outlet's report at the threshold as before. Unknown outlets never match."""
    index, slots, p = _fixed_score_index(monkeypatch, {"own": {"!$sana": 1}, "other": {"!$smart": 1}, "unknown": {}})
    p["v"] = 0.85
    q = index._query(encode_features({**SAME_WORDS, "!$sana": 1}))
    assert q.outlet == key_hash("sana")
    assert index.scores(q, slots, 600.0).tolist() == [0.0, 0.85, 0.85]
    p["v"] = 0.93
    assert index.scores(q, slots, 600.0).tolist() == [0.93, 0.93, 0.93]
    p["v"] = 0.85
    assert index.scores(index._query(encode_features(SAME_WORDS)), slots, 600.0).tolist() == [0.85, 0.85, 0.85]
    index.same_outlet_floor = 0.0  # off
    assert index.scores(q, slots, 600.0).tolist() == [0.85, 0.85, 0.85]
    assert EventIndex().same_outlet_floor == 0.9


def test_headlines_framing_other_acts_within_the_first_hours_join_only_at_the_other_act_floor(monkeypatch) -> None:
    """Within the first hours (past them it is a veto) two headlines that frame their event as different kinds of
    act are more often two events of one place or party that day (the aid handed out, the shelling counted) than
    one event told two ways: such a pair joins only at ``other_act_floor`` (0.8). A vow or a speech frames no act
    of its own (the vow to respond to the strike), nor a deal (a statement on the truce), nor a headline that
    names none."""
    acts = {"strike": 1 << ACT_KINDS.index("violence"), "meeting": 1 << ACT_KINDS.index("meeting"),
            "vow": 1 << ACT_KINDS.index("speech"), "deal": 1 << ACT_KINDS.index("agreement"), "none": 0}
    index, slots, p = _fixed_score_index(
        monkeypatch, {name: ({f"!*{mask}": 1} if mask else {}) for name, mask in acts.items()})
    p["v"] = 0.75
    q = index._query(encode_features({**SAME_WORDS, f"!*{acts['meeting']}": 1}))
    assert index.scores(q, slots, 600.0).tolist() == [0.0, 0.75, 0.75, 0.75, 0.75]
    p["v"] = 0.82
    assert index.scores(q, slots, 600.0).tolist() == [0.82] * 5
    p["v"] = 0.75
    vow = index._query(encode_features({**SAME_WORDS, f"!*{acts['vow']}": 1}))
    assert index.scores(vow, slots, 600.0).tolist() == [0.75] * 5
    index.other_act_floor = 0.0  # off
    assert index.scores(q, slots, 600.0).tolist() == [0.75] * 5
    assert EventIndex().other_act_floor == 0.8
