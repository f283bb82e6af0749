"""De-duplication on realistic pairs, persistence of its state, idempotent replays.

WIRE_* are one Russian MoD story as three outlets published it (new headline,
dropped or added paragraphs, reworded sentences, spelling variants, a censor
break). STATEMENT_OTHER_DAY and LAVROV_* are statements of the same centre /
the same minister on other days: they share the formula sentences and the
outlet's background paragraphs but report something else.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from pipeline.stages import dedupe
from pipeline.stages.dedupe import DedupeIndex, Sketch, sketch

T0 = datetime(2019, 12, 12, 18, 0, tzinfo=timezone.utc)

WIRE_ORIGINAL = """روسيا تتحدث عن حشود عسكرية في محيط مدينة حلب.. ما القصة؟
قالت روسيا أن وسائل استطلاعها رصدت حشد "هيئة تحرير الشام" لقواتها وأسلحتها الثقيلة في محيط مدينة حلب، متهمة منظمة "الخوذ البيضاء" بالإعداد لما أسمتها استفزازات كيميائية جديدة في محافظة إدلب.
جاء ذلك في بيان صادر عن مدير مركز حميميم لمصالحة الأطراف المتناحرة في سوريا والتابعة لوزارة الدفاع الروسية، اللواء يوري بورينكوف، مساء اليوم الخميس 12 كانون الأول 2019 رصدته الوسيلة.
وقال أن وسائل الاستطلاع رصدت على مدار اليومين الماضيين "عملية نقل راجمات صواريخ ومدرعات من التشكيلات المسلحة غير الشرعية باتجاه مدينة حلب وبلدة أبو ظهور في محافظة إدلب"، وفق موقع "RT".
وأضاف البيان: "كما وردت إلى مركز المصالحة الروسي معلومات تفيد بأن قادة تنظيم هيئة تحرير الشام الإرهابي، بالتعاون مع تنظيم الخوذ البيضاء الذي يزعم أنه إنساني، يخططون في بلدات واقعة جنوب منطقة إدلب لخفض التصعيد لتنفيذ عملية مفبركة لاستخدام مواد سامة وتدمير مواقع بنية تحتية".
واعتبرت وزارة الدفاع الروسية أن "هدف هذه الاستفزازات يكمن في إعداد صور ومقاطع فيديو، ليتم في مواقع الإنترنت ووسائل الإعلام في الشرق الأوسط والغرب نشر تقارير تتضمن اتهامات إلى القوات الحكومية السورية باستخدام أسلحة كيميائية ضد المواطنين المدنيين وشن ضربات عشوائية".
ويتهم النظام السوري وحليفه الروسي الخوذ البيضاء التي تضم مسعفين متطوعين يعملون ضمن المناطق التي تتعرض للقصف، بدعم الفصائل المعارضة والمقاتلة في المناطق حيث يعملون.
وقالت وزارة الخارجية الأمريكية، في 2 كانون الأول 2019، إن النظام السوري يستخدم الأسلحة الكيميائية كل عام منذ انضمام سوريا إلى اتفاقية حظر الأسلحة الكيميائية عام 2013.
وكانت فرنسا وبريطانيا والولايات المتحدة الأمريكية صاغت في شباط 2017، مشروع قرار يفرض عقوبات على مسؤولين في النظام بتهمة استخدام الأسلحة الكيميائية ضد المدنيين.
وطرحت الدول القرار للتصويت حيث وافقت عليه تسع دول، ورفضته كل من روسيا والصين وبوليفيا، في حين امتنعت مصر وكازاخستان وأثيوبيا عن التصويت.
وأصدرت "لجنة التحقيق" التي تضم خبراء من الأمم المتحدة ومنظمة حظر الأسلحة الكيمياوية تقريرا اتهمت النظام السوري بالضلوع في هجمات كيمياوية ضد المدنيين.
وشمل التقرير هجوم مدينة خان شيخون بإدلب، ومدينة دوما بريف دمشق حيث قتل عشرات المدنيين وأصيب مئات آخرون بحالات اختناق نتيجة الغازات السامة التي استخدمها النظام."""

# Another outlet: new headline, reworded lead, attribution changed, the last two
# background paragraphs dropped, a censor-broken word and a spelling variant.
WIRE_COPY_EDITED = """موسكو: "تحرير الشام" تحشد قرب حلب و"الخوذ البيضاء" تعد لاستفزاز كيماوي
زعمت روسيا أن وسائل استطلاعها رصدت حشد "هيئة تحرير الشام" لقواتها وأسلـ.حتها الثقيلة في محيط مدينة حلب، متهمة منظمة "الخوذ البيضاء" بالإعداد لما أسمتها استفزازات كيماوية جديدة في محافظة إدلب.
جاء ذلك في بيان صادر عن مدير مركز حميميم لمصالحة الأطراف المتناحرة في سوريا والتابعة لوزارة الدفاع الروسية، اللواء يوري بورينكوف، مساء الخميس.
وقال إن وسائل الاستطلاع رصدت على مدار اليومين الماضيين "عملية نقل راجمات صواريخ ومدرعات من التشكيلات المسلحة غير الشرعية باتجاه مدينة حلب وبلدة أبو ظهور في محافظة إدلب"، بحسب ما نقلت قناة روسيا اليوم.
وأضاف البيان: "كما وردت إلى مركز المصالحة الروسي معلومات تفيد بأن قادة تنظيم هيئة تحرير الشام الإرهابي، بالتعاون مع تنظيم الخوذ البيضاء الذي يزعم أنه إنساني، يخططون في بلدات واقعة جنوب منطقة إدلب لخفض التصعيد لتنفيذ عملية مفبركة لاستخدام مواد سامة وتدمير مواقع بنية تحتية".
واعتبرت وزارة الدفاع الروسية أن "هدف هذه الاستفزازات يكمن في إعداد صور ومقاطع فيديو، ليتم في مواقع الإنترنت ووسائل الإعلام في الشرق الأوسط والغرب نشر تقارير تتضمن اتهامات إلى القوات الحكومية السورية باستخدام أسلحة كيماوية ضد المواطنين المدنيين وشن ضربات عشوائية".
ويتهم النظام السوري وحليفه الروسي الخوذ البيضاء التي تضم مسعفين متطوعين يعملون ضمن المناطق التي تتعرض للقصف، بدعم الفصائل المعارضة والمقاتلة في المناطق حيث يعملون.
وقالت وزارة الخارجية الأمريكية، في 2 كانون الأول 2019، إن النظام السوري يستخدم الأسلحة الكيميائية كل عام منذ انضمام سوريا إلى اتفاقية حظر الأسلحة الكيميائية عام 2013.
وكانت فرنسا وبريطانيا والولايات المتحدة صاغت في شباط 2017، مشروع قرار يفرض عقوبات على مسؤولين في النظام بتهمة استخدام الأسلحة الكيميائية ضد المدنيين، ورفضته روسيا والصين."""

# A third outlet: dateline, the US paragraph dropped, a paragraph of its own added.
WIRE_COPY_EXTENDED = """روسيا تتهم "الخوذ البيضاء" بالتحضير لاستفزازات كيميائية في إدلب
موسكو – وكالات
قالت روسيا إن وسائل استطلاعها رصدت حشد "هيئة تحرير الشام" لقواتها وأسلحتها الثقيلة في محيط مدينة حلب، متهمة منظمة "الخوذ البيضاء" بالإعداد لما أسمتها استفزازات كيميائية جديدة في محافظة إدلب.
جاء ذلك في بيان صادر عن مدير مركز حميميم لمصالحة الأطراف المتناحرة في سوريا والتابعة لوزارة الدفاع الروسية، اللواء يوري بورينكوف، مساء اليوم الخميس 12 كانون الأول 2019.
وقال إن وسائل الاستطلاع رصدت على مدار اليومين الماضيين "عملية نقل راجمات صواريخ ومدرعات من التشكيلات المسلحة غير الشرعية باتجاه مدينة حلب وبلدة أبو ظهور في محافظة إدلب".
وأضاف البيان: "كما وردت إلى مركز المصالحة الروسي معلومات تفيد بأن قادة تنظيم هيئة تحرير الشام الإرهابي، بالتعاون مع تنظيم الخوذ البيضاء الذي يزعم أنه إنساني، يخططون في بلدات واقعة جنوب منطقة إدلب لخفض التصعيد لتنفيذ عملية مفبركة لاستخدام مواد سامة وتدمير مواقع بنية تحتية".
واعتبرت وزارة الدفاع الروسية أن "هدف هذه الاستفزازات يكمن في إعداد صور ومقاطع فيديو، ليتم في مواقع الإنترنت ووسائل الإعلام في الشرق الأوسط والغرب نشر تقارير تتضمن اتهامات إلى القوات الحكومية السورية باستخدام أسلحة كيميائية ضد المواطنين المدنيين وشن ضربات عشوائية".
ويتهم النظام السوري وحليفه الروسي الخوذ البيضاء التي تضم مسعفين متطوعين يعملون ضمن المناطق التي تتعرض للقصف، بدعم الفصائل المعارضة والمقاتلة في المناطق حيث يعملون.
وأصدرت "لجنة التحقيق" التي تضم خبراء من الأمم المتحدة ومنظمة حظر الأسلحة الكيميائية تقريرا اتهمت النظام السوري بالضلوع في هجمات كيميائية ضد المدنيين، شملت هجوم خان شيخون بإدلب وهجوم دوما بريف دمشق.
ويشهد ريف إدلب الجنوبي منذ أسابيع قصفا جويا ومدفعيا مكثفا من قوات النظام والطائرات الروسية، أدى إلى نزوح عشرات آلاف المدنيين نحو المخيمات القريبة من الحدود التركية."""

# The same centre, a month later: same formula sentences and the same outlet's
# background paragraphs, different facts.
STATEMENT_OTHER_DAY = """روسيا تزعم رصد تحضيرات لهجوم كيميائي مفبرك في سراقب
قالت روسيا إن مركز المصالحة التابع لها سجل 32 خرقا لنظام وقف إطلاق النار خلال الساعات الأربع والعشرين الماضية، في محافظات إدلب وحلب واللاذقية وحماة، متهمة منظمة "الخوذ البيضاء" بالتحضير لاستفزاز جديد في بلدة سراقب.
جاء ذلك في بيان صادر عن مدير مركز حميميم لمصالحة الأطراف المتناحرة في سوريا والتابعة لوزارة الدفاع الروسية، اللواء يوري بورينكوف، مساء اليوم الاثنين 20 كانون الثاني 2020.
وقال بورينكوف إن المسلحين قصفوا أحياء الحمدانية وجمعية الزهراء في مدينة حلب بقذائف الهاون، ما أدى إلى مقتل مدنيين اثنين وإصابة سبعة آخرين، فيما تعرضت بلدة كفرنبودة في ريف حماة لقصف بالمدفعية.
وأضاف البيان: "كما وردت إلى مركز المصالحة الروسي معلومات تفيد بأن قادة تنظيم هيئة تحرير الشام الإرهابي، بالتعاون مع تنظيم الخوذ البيضاء، يخططون في بلدة سراقب لتنفيذ عملية مفبركة لاستخدام مواد سامة".
وأشار إلى أن الجانب الروسي أبلغ الجانب التركي بالانتهاكات عبر قنوات التنسيق، داعيا أنقرة إلى الوفاء بالتزاماتها في منطقة خفض التصعيد.
ويتهم النظام السوري وحليفه الروسي الخوذ البيضاء التي تضم مسعفين متطوعين يعملون ضمن المناطق التي تتعرض للقصف، بدعم الفصائل المعارضة والمقاتلة في المناطق حيث يعملون.
وقالت وزارة الخارجية الأمريكية، في 2 كانون الأول 2019، إن النظام السوري يستخدم الأسلحة الكيميائية كل عام منذ انضمام سوريا إلى اتفاقية حظر الأسلحة الكيميائية عام 2013."""

LAVROV_DAY1 = """لافروف: لا يمكن التسامح مع وجود الإرهابيين في إدلب إلى ما لا نهاية
قال وزير الخارجية الروسي سيرغي لافروف، اليوم الثلاثاء، إن موسكو لا يمكنها أن تتسامح إلى ما لا نهاية مع وجود عشرات الآلاف من المتشددين المتطرفين المرتبطين بتنظيم القاعدة في منطقة خفض التصعيد في إدلب.
وأضاف لافروف في مؤتمر صحفي عقده في موسكو مع نظيره التركي مولود جاويش أوغلو، أن بلاده تبحث مع أنقرة عن حل لا يضر بالسكان المدنيين، مشددا على وجوب القضاء على الإرهابيين المتواجدين هناك.
وأوضح أن الاتفاقات الروسية التركية بشأن إدلب لم تنفذ بالكامل، وأن المسلحين يواصلون قصف قاعدة حميميم الجوية بالطائرات المسيرة انطلاقا من مناطق سيطرتهم.
من جهته، قال جاويش أوغلو إن تركيا ملتزمة بتفاهمات سوتشي، وإن نقاط المراقبة التركية ستبقى في أماكنها، داعيا إلى وقف هجمات قوات النظام على المدنيين.
ولمح لافروف إلى أن القضاء على بؤرة الإرهاب في سوريا يعتبر من مصلحة الاتحاد الأوروبي لأنه سيخفض مستوى التهديد الإرهابي القادم من المنطقة ويقلل من تدفق المهاجرين."""

LAVROV_DAY2 = """لافروف يتهم الغرب بتسييس ملف الكيماوي في سوريا
قال وزير الخارجية الروسي سيرغي لافروف، اليوم الجمعة، إن الدول الغربية تسعى إلى تسييس عمل منظمة حظر الأسلحة الكيميائية، واستخدام تقاريرها ذريعة لتوجيه ضربات جديدة إلى سوريا.
وأضاف لافروف في مؤتمر صحفي عقده في موسكو مع نظيره الأردني أيمن الصفدي، أن تقرير فريق التحقيق وتحديد الهوية بشأن اللطامنة اعتمد على شهادات من الخوذ البيضاء، ولم يزر المحققون موقع الهجوم.
وأوضح أن روسيا ستطرح في مجلس الأمن مشروع قرار يطالب بمراجعة أساليب عمل المنظمة، محذرا من أن تكرار هذه الممارسات سيقوض اتفاقية حظر الأسلحة الكيميائية.
من جهته، قال الصفدي إن الأردن يدعم حلا سياسيا للأزمة السورية وفق القرار 2254، ويعمل على تهيئة الظروف لعودة اللاجئين السوريين إلى بلادهم.
وشدد لافروف على وجوب القضاء على الإرهابيين المتواجدين في إدلب، معتبرا أن ذلك من مصلحة الاتحاد الأوروبي لأنه سيخفض مستوى التهديد الإرهابي ويقلل من تدفق المهاجرين."""


WIRE_SHORTENED = "\n".join(WIRE_ORIGINAL.split("\n")[:4])  # headline + first three paragraphs only


def sk(text: str) -> Sketch:
    s = sketch(text)
    assert s is not None
    return s


def true_jaccard(a: str, b: str) -> float:
    x, y = dedupe.shingles(a), dedupe.shingles(b)
    return len(x & y) / len(x | y)


@pytest.mark.parametrize(
    "a,b",
    [
        (WIRE_ORIGINAL, WIRE_COPY_EDITED),
        (WIRE_ORIGINAL, WIRE_COPY_EXTENDED),
        (WIRE_COPY_EDITED, WIRE_COPY_EXTENDED),
    ],
)
def test_wire_copies_are_near_duplicates(a: str, b: str) -> None:
    assert true_jaccard(a, b) >= 0.45
    idx = DedupeIndex()
    first = idx.assign("a", sk(a), T0)
    second = idx.assign("b", sk(b), T0 + timedelta(hours=5))
    assert first.duplicate_of is None and first.story_id == "a"
    assert second.duplicate_of == "a" and second.story_id == "a"


@pytest.mark.parametrize(
    "a,b",
    [
        (WIRE_ORIGINAL, STATEMENT_OTHER_DAY),
        (WIRE_COPY_EDITED, STATEMENT_OTHER_DAY),
        (WIRE_COPY_EXTENDED, STATEMENT_OTHER_DAY),
        (LAVROV_DAY1, LAVROV_DAY2),
    ],
)
def test_other_statements_sharing_boilerplate_stay_apart(a: str, b: str) -> None:
    # they do share phrasing (the hard part), but not the story
    assert 0.05 < true_jaccard(a, b) < 0.3
    idx = DedupeIndex()
    idx.assign("a", sk(a), T0)
    v = idx.assign("b", sk(b), T0 + timedelta(days=1))
    assert v.duplicate_of is None and v.story_id == "b"


def test_shortened_copy_joins_by_containment() -> None:
    assert true_jaccard(WIRE_ORIGINAL, WIRE_SHORTENED) < 0.4  # Jaccard alone would miss it
    idx = DedupeIndex()
    idx.assign("full", sk(WIRE_ORIGINAL), T0)
    v = idx.assign("short", sk(WIRE_SHORTENED), T0 + timedelta(hours=1))
    assert v.duplicate_of == "full"


def test_story_is_the_first_article_and_duplicate_of_the_closest() -> None:
    idx = DedupeIndex()
    a = idx.assign("orig", sk(WIRE_ORIGINAL), T0)
    b = idx.assign("other", sk(STATEMENT_OTHER_DAY), T0 + timedelta(hours=1))
    c = idx.assign("edited", sk(WIRE_COPY_EDITED), T0 + timedelta(hours=2))
    d = idx.assign("extended", sk(WIRE_COPY_EXTENDED), T0 + timedelta(hours=3))
    assert (a.story_id, b.story_id, c.story_id, d.story_id) == ("orig", "other", "orig", "orig")
    assert c.duplicate_of == "orig"
    assert d.duplicate_of in {"orig", "edited"}
    # every copy is kept: the index holds all four
    assert len(idx) == 4


def test_replay_is_idempotent() -> None:
    idx = DedupeIndex()
    idx.assign("orig", sk(WIRE_ORIGINAL), T0)
    first = idx.assign("copy", sk(WIRE_COPY_EDITED), T0 + timedelta(hours=1))
    idx.assign("later", sk(WIRE_COPY_EXTENDED), T0 + timedelta(hours=2))
    # the same id again, even with other text or time, gets the stored verdict
    again = idx.assign("copy", sk(LAVROV_DAY1), T0 + timedelta(days=3))
    assert again.replay
    assert (again.story_id, again.duplicate_of) == (first.story_id, first.duplicate_of) == ("orig", "orig")
    first_orig = idx.assign("orig", sk(WIRE_ORIGINAL), T0)
    assert (first_orig.story_id, first_orig.duplicate_of) == ("orig", None)
    assert len(idx) == 3


def test_state_survives_a_restart() -> None:
    store: dict[str, dict] = {}
    idx = DedupeIndex(store)
    idx.assign("orig", sk(WIRE_ORIGINAL), T0)
    idx.assign("other", sk(STATEMENT_OTHER_DAY), T0)
    # the entries are plain JSON-able values (what the faust table's changelog carries)
    import json

    store = json.loads(json.dumps(store))
    restarted = DedupeIndex(store)
    assert restarted.live == 2
    v = restarted.assign("copy", sk(WIRE_COPY_EDITED), T0 + timedelta(hours=2))
    assert (v.story_id, v.duplicate_of) == ("orig", "orig")
    assert restarted.assign("orig", None).story_id == "orig"


def test_window_bounds_matching_and_memory() -> None:
    store: dict[str, dict] = {}
    idx = DedupeIndex(store, window=timedelta(days=7), retention=timedelta(days=30))
    idx.assign("orig", sk(WIRE_ORIGINAL), T0, now=T0)
    # published 10 days later: a new story (a formula weeks apart never links)
    day10 = T0 + timedelta(days=10)
    assert idx.assign("late-copy", sk(WIRE_COPY_EDITED), day10, now=day10).duplicate_of is None
    # and the old sketch left the matcher (arrived > 7 days ago); its id -> story entry stays
    assert idx.live == 1 and store["orig"]["h"] is None
    assert idx.assign("orig", None, now=day10).story_id == "orig"
    # after the retention (by arrival) the entries themselves go
    day45 = T0 + timedelta(days=45)
    idx.assign("much-later", sk(LAVROV_DAY2), day45, now=day45)
    assert "orig" not in store and "late-copy" not in store and "much-later" in store


def test_backfilled_old_news_groups_by_publication_time() -> None:
    idx = DedupeIndex()
    idx.assign("today", sk(LAVROV_DAY1), T0, now=T0)
    idx.assign("o1", sk(WIRE_ORIGINAL), datetime(2015, 1, 1, tzinfo=timezone.utc), now=T0)
    v = idx.assign("o2", sk(WIRE_COPY_EDITED), datetime(2015, 1, 2, tzinfo=timezone.utc), now=T0 + timedelta(hours=1))
    assert v.duplicate_of == "o1"


def test_max_entries_evicts_oldest_sketches() -> None:
    idx = DedupeIndex(max_entries=2)
    for i, (key, text) in enumerate([("orig", WIRE_ORIGINAL), ("l1", LAVROV_DAY1), ("l2", LAVROV_DAY2)]):
        idx.assign(key, sk(text), T0 + timedelta(hours=i), now=T0 + timedelta(hours=i))
    assert idx.live == 2
    assert idx.assign("copy", sk(WIRE_COPY_EDITED), T0, now=T0 + timedelta(hours=3)).duplicate_of is None


def test_no_text_and_future_dates() -> None:
    idx = DedupeIndex()
    assert sketch("") is None and sketch(" ... ") is None
    v = idx.assign("empty", None, T0, now=T0)
    assert (v.story_id, v.duplicate_of) == ("empty", None)
    # a wildly future publication date does not push the window and evict everything
    idx.assign("orig", sk(WIRE_ORIGINAL), T0, now=T0)
    idx.assign("future", sk(LAVROV_DAY1), T0 + timedelta(days=3650), now=T0)
    assert idx.assign("copy", sk(WIRE_COPY_EDITED), T0, now=T0).duplicate_of == "orig"


def test_sketch_encoding_round_trip_and_normalisation() -> None:
    s = sk(WIRE_ORIGINAL)
    back = Sketch.decode(s.encode())
    assert back.size == s.size and (back.sig == s.sig).all()
    with pytest.raises(ValueError):
        Sketch.decode("12:AAAA")
    # a match_text can be split instead of normalised again: same shingles
    from pipeline.core.arabic import normalize

    assert dedupe.shingles(normalize(WIRE_COPY_EDITED), normalized=True) == dedupe.shingles(WIRE_COPY_EDITED)
    # censor breaks, diacritics and alef/ta-marbuta variants do not change the shingles
    assert dedupe.shingles("أسلـ.حتها الكيميائيّة في إدلب") == dedupe.shingles("اسلحتها الكيميائيه في ادلب")


def test_sketching_loads_datasketch_minhash_without_scipy() -> None:
    """A pool process sketches with datasketch's MinHash without importing scipy (38 MB, ~1 s per
    process, needed only by datasketch's LSH); a later ``import datasketch`` still works and gives
    the same class, with the same values as a MinHash made the documented way."""
    import subprocess
    import sys

    code = """
import sys, zlib
from pipeline.stages.dedupe import sketch, NUM_PERM, SCHEME, shingles
s = sketch("قصف مدفعي على ريف إدلب الجنوبي صباح اليوم وسط نزوح الأهالي نحو الشمال")
assert s is not None and s.sig.shape == (NUM_PERM,)
assert "scipy" not in sys.modules, "scipy was imported"
import datasketch
from pipeline.stages import dedupe
assert datasketch.MinHash is dedupe._minhash_class()
m = datasketch.MinHash(num_perm=NUM_PERM, scheme=SCHEME, hashfunc=zlib.crc32)
m.update_batch(shingles("قصف مدفعي على ريف إدلب الجنوبي صباح اليوم وسط نزوح الأهالي نحو الشمال"))
assert (m.hashvalues == s.sig).all()
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_retention_keeps_an_id_stored_again_after_its_first_arrival() -> None:
    store: dict[str, dict] = {}
    idx = DedupeIndex(store, window=timedelta(days=1), retention=timedelta(days=10))
    idx.assign("a", sk(WIRE_ORIGINAL), T0, now=T0)
    del store["a"]  # e.g. dropped by hand; it comes back 5 days later
    day5 = T0 + timedelta(days=5)
    idx.assign("a", sk(WIRE_ORIGINAL), day5, now=day5)
    day12 = T0 + timedelta(days=12)
    idx.assign("b", sk(LAVROV_DAY1), day12, now=day12)
    assert "a" in store  # its first arrival passed the retention, its second did not
    day16 = T0 + timedelta(days=16)
    idx.assign("c", sk(LAVROV_DAY2), day16, now=day16)
    assert "a" not in store and "b" in store


def test_restart_reads_the_store_as_a_stream_and_each_live_entry_once() -> None:
    class CountingStore(dict):
        gets = 0

        def get(self, key, default=None):
            CountingStore.gets += 1
            return super().get(key, default)

        def items(self):  # a faust table or DiskMapping pages through its rows: no list of them all
            return iter(list(super().items()))

    store = CountingStore()
    idx = DedupeIndex(store, window=timedelta(hours=5), retention=timedelta(days=10))
    texts = [WIRE_ORIGINAL, LAVROV_DAY1, LAVROV_DAY2]
    for i, text in enumerate(texts * 3):
        t = T0 + timedelta(hours=2 * i)
        idx.assign(f"a{i}", sk(text), t, now=t)
    live_before = idx.live
    assert live_before == 3  # a6, a7, a8: within 5 hours of the last arrival
    CountingStore.gets = 0
    again = DedupeIndex(store, window=timedelta(hours=5), retention=timedelta(days=10))
    assert again.live == live_before and again.ids_retained == idx.ids_retained == len(store)
    assert CountingStore.gets == live_before  # only the live entries are read back one by one
    t = T0 + timedelta(hours=16, minutes=30)
    assert again.assign("x", sk(WIRE_ORIGINAL), t, now=t).duplicate_of == "a6"  # the live one, as before


def test_the_live_window_is_sized_for_its_cap_and_answers_the_same_preallocated_or_not() -> None:
    texts = [WIRE_ORIGINAL, LAVROV_DAY1, LAVROV_DAY2] * 30
    runs = []
    for pre in (False, True):
        idx = DedupeIndex({}, max_entries=70, window=timedelta(days=30), preallocate=pre)
        if pre:  # claimed at start: room for the cap plus the one added before the oldest goes
            assert len(idx._t) == 71 and len(idx.events._t) >= 71
        verdicts = []
        for i, text in enumerate(texts):
            t = T0 + timedelta(minutes=i)
            verdicts.append(idx.assign(f"a{i}", sk(text), t, now=t))
        assert idx.live == 70 and len(idx._t) == 71  # grown by doubling, never past the cap
        runs.append([(v.story_id, v.duplicate_of) for v in verdicts])
    assert runs[0] == runs[1]
