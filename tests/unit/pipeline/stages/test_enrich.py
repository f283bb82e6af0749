"""Unit tests of the enrich stage: gazetteer matching guards, validation and the shipped gazetteer."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pipeline.stages.gazetteer import GazetteerError, load_gazetteer
from pipeline.stages.enrich import enrich
from pipeline.core.schema import Place

ROOT = Path(__file__).resolve().parents[4]
GAZ = ROOT / "config" / "gazetteer.yaml"


@pytest.fixture(scope="module")
def gz():
    return load_gazetteer(GAZ)


def places(text, gz, title=None, dateline=None):
    return [p.name for p in enrich(title, text, dateline, gazetteer=gz).places]


@pytest.mark.parametrize("word", ["إدلب", "بإدلب", "وإدلب", "لإدلب", "فإدلب", "ادلب", "إدلـ.ـب"])
def test_proclitics_and_spellings(gz, word):
    ents = enrich(None, f"قصف على {word} اليوم", None, gazetteer=gz)
    assert [p.name for p in ents.places] == ["إدلب"]
    p = ents.places[0]
    assert isinstance(p, Place) and p.name_en == "Idlib"
    assert p.location == {"lat": pytest.approx(35.93, abs=0.05), "lon": pytest.approx(36.63, abs=0.05)}


def test_latin_names(gz):
    assert places("Russian jets struck Idlib and Maarat al-Numan; Hmeimim air base", gz) == [
        "إدلب", "معرة النعمان", "حميميم",
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("طرق الباب بقوة ثم فتح الباب", []),  # a door
        ("انفجار سيارة مفخخة في مدينة الباب شرقي حلب", ["الباب", "حلب"]),
        ("أعزاز والباب وجرابلس", ["أعزاز", "الباب", "جرابلس"]),  # a list of places cues the guarded name
        ("معبر باب الهوى", ["باب الهوى"]),
    ],
)
def test_al_bab_needs_a_cue(gz, text, expected):
    assert places(text, gz) == expected


def test_hama_not_protection(gz):
    assert places("حماية المدنيين في حماة", gz) == ["حماة"]
    assert places("قصيدة حماة الديار عليكم سلام", gz) == []


def test_assad_is_a_person_not_a_place(gz):
    ents = enrich(None, "قال بشار الأسد إن الأسد باق، وأكد نظام أسد ذلك", None, gazetteer=gz)
    assert ents.places == [] and ents.people == ["بشار الأسد"]
    # the father is a different person, not a second mention of Bashar
    assert enrich(None, "في عهد حافظ الأسد", None, gazetteer=gz).people == ["حافظ الأسد"]


def test_douma_is_not_the_duma(gz):
    ents = enrich(None, "أقر مجلس الدوما قانوناً، وصوت نواب الدوما عليه", None, gazetteer=gz)
    assert ents.places == [] and ents.organizations == ["مجلس الدوما"]
    assert places("الهجوم الكيماوي على مدينة دوما بريف دمشق", gz) == ["دوما", "ريف دمشق"]


def test_article_is_required_for_names_written_with_it(gz):
    assert places("فرقة إنقاذ وفرقه الثانية", gz) == []  # ف + رقة is not الرقة
    assert places("بالرقة وللرقة والرقة", gz) == ["الرقة"]


def test_longest_match_wins_within_a_kind(gz):
    assert places("في ريف دمشق", gz) == ["ريف دمشق"]
    ents = enrich(None, "مركز حميميم للمصالحة", None, gazetteer=gz)
    assert [p.name for p in ents.places] == ["حميميم"] and ents.organizations == ["مركز المصالحة الروسي"]


def test_context_dependent_names(gz):
    lebanon = enrich(None, "انتشل الدفاع المدني ضحايا الغارة في صور جنوب لبنان", None, gazetteer=gz)
    assert lebanon.organizations == []
    syria = enrich(None, "قال الدفاع المدني إن فرقه انتشلت ضحايا في سرمدا وإدلب شمال سوريا", None, gazetteer=gz)
    assert syria.organizations == ["الدفاع المدني السوري"]
    assert places("زار أريحا في الضفة الغربية", gz) == []


def test_jassim_is_the_town_after_a_place_word_not_the_man(gz):
    text = "في سوريا: قيادي في داعش يفجر نفسه في جاسم بريف درعا، وقال جاسم محمد إن الوضع في سوريا صعب"
    assert places(text, gz) == ["جاسم", "درعا"]
    assert places("استقبل الشيخ جاسم بن حمد وفدا سوريا", gz) == []


def test_villages_from_geonames_count_in_syrian_articles_only(gz):
    """The coast's, Qalamoun's and Sweida's villages an analyst filters on, with their coordinates; a name
    alone in an article about somewhere else is not taken for them."""
    syria = enrich(None, "قالت مصادر في سوريا إن الجيش السوري قصف عسال الورد ودير عطية، وإن القصف السوري طال "
                   "القدموس ومشتى الحلو وصلاخد", None, gazetteer=gz)
    assert [p.name for p in syria.places] == ["عسال الورد", "دير عطية", "القدموس", "مشتى الحلو", "صلاخد"]
    qadmus = syria.places[2]
    assert qadmus.location == {"lat": pytest.approx(35.10, abs=0.05), "lon": pytest.approx(36.16, abs=0.05)}
    assert places("افتتح مطعم جديد في دير عطية", gz) == []


@pytest.mark.parametrize("spelling", ["أكار", "أقار", "آكار", "خلوصي أكار"])
def test_people_spelling_variants(gz, spelling):
    assert enrich(None, f"قال وزير الدفاع التركي {spelling}", None, gazetteer=gz).people == ["خلوصي أكار"]


def test_organisation_aliases(gz):
    ents = enrich(None, "اتهمت «تحرير الشام» وداعش وقسد، ومنظمة حظر الأسلحة الكيمياوية، ومجلس الأمن القومي التركي", None, gazetteer=gz)
    assert ents.organizations == ["هيئة تحرير الشام", "تنظيم الدولة الإسلامية", "قوات سوريا الديمقراطية",
                                  "منظمة حظر الأسلحة الكيميائية"]
    # «القاعدة» is a base unless it is the organisation
    assert enrich(None, "قاعدة حميميم والقاعدة الروسية", None, gazetteer=gz).organizations == []
    assert enrich(None, "فصيل مرتبط بتنظيم القاعدة", None, gazetteer=gz).organizations == ["تنظيم القاعدة"]


def test_dateline_place_comes_first(gz):
    ents = enrich("عنوان", "قصف على حلب", "القامشلي", gazetteer=gz)
    assert [p.name for p in ents.places] == ["القامشلي", "حلب"]
    assert [p.name for p in enrich(None, "نص", "مدريد", gazetteer=gz).places] == []


def test_each_entity_once_in_order_of_first_mention(gz):
    assert places("حلب ثم إدلب ثم حلب وبحلب", gz) == ["حلب", "إدلب"]


# --- the shipped gazetteer -----------------------------------------------------------------

GOVERNORATES = ["دمشق", "ريف دمشق", "حلب", "إدلب", "حماة", "حمص", "اللاذقية", "طرطوس", "درعا", "السويداء",
                "القنيطرة", "دير الزور", "الرقة", "الحسكة"]


def test_shipped_gazetteer_coverage(gz):
    names = {e.name: e for e in gz.places()}
    assert len(names) >= 150
    assert all(g in names for g in GOVERNORATES)
    for town in ["معرة النعمان", "سراقب", "خان شيخون", "جسر الشغور", "كفر نبودة", "أريحا", "كفر نبل", "حميميم",
                 "عين العرب", "تدمر", "البوكمال", "أبو الظهور", "البارة", "جبل الزاوية", "سرمدا", "الدانا", "أطمة",
                 "باب الهوى", "كفر زيتا", "اللطامنة", "مورك", "قلعة المضيق", "جورين", "كبانة", "بيروت", "عمّان",
                 "بغداد", "أنقرة", "إسطنبول", "غازي عنتاب", "أنطاكيا", "موسكو", "طهران", "جنيف", "أستانة", "سوتشي"]:
        assert town in names, town
    for e in names.values():
        assert e.name_en and e.country
        if e.country == "SY":  # inside Syria's bounding box
            assert 32.3 <= e.lat <= 37.4 and 35.5 <= e.lon <= 42.5, e.name


@pytest.mark.parametrize(
    "alias, name",
    [("كوباني", "عين العرب"), ("الكبينة", "كبانة"), ("كفرنبل", "كفر نبل"), ("أبو ظهور", "أبو الظهور"),
     ("نور سلطان", "أستانة"), ("Deir ez-Zor", "دير الزور"), ("خان سيخون", "خان شيخون"), ("اسطنبول", "إسطنبول")],
)
def test_shipped_aliases(gz, alias, name):
    assert places(f"وصل إلى {alias} أمس", gz) == [name]


# --- validation ---------------------------------------------------------------------------------


def write(tmp_path, text):
    p = tmp_path / "gazetteer.yaml"
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def test_place_without_coordinates_is_an_error(tmp_path):
    p = write(tmp_path, """\
        places:
          - {name: إدلب, lat: 35.9, lon: 36.6}
          - {name: حلب, lat: 36.2}
        """)
    with pytest.raises(GazetteerError, match=r"gazetteer.yaml:3: place 'حلب' needs numeric lat and lon"):
        load_gazetteer(p)


def test_duplicate_entry_is_an_error(tmp_path):
    p = write(tmp_path, """\
        people:
          - {name: بوتين}
          - {name: بوتين}
        """)
    with pytest.raises(GazetteerError, match=r":3: duplicate person 'بوتين'"):
        load_gazetteer(p)


def test_yaml_error_has_a_line(tmp_path):
    p = write(tmp_path, "places:\n  - {name: x, lat: 1, lon: 2\n  - {name: y}\n")
    with pytest.raises(GazetteerError, match=r"gazetteer.yaml:\d+: YAML error"):
        load_gazetteer(p)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("في بادية الميادين شرقي دير الزور", ["الميادين", "دير الزور"]),
        ("على الطريق بين الميادين وتدمر", ["الميادين", "تدمر"]),  # a list cues the guarded names on both sides
        ("نشر ناشطون الصور على مواقع التواصل", []),  # «الصور» the pictures, not the town
        ("غارة على بلدة في قضاء صور جنوب لبنان", ["صور"]),
        ("اشتباكات في زملكا وعين ترما", ["زملكا", "عين ترما"]),
        ("مقتل عنصر بانفجار عبوة ناسفة قرب هجين", ["هجين"]),  # «قرب» and a side cue a guarded town
        ("مقتل راع بانفجار لغم جنوب غربي الميادين", ["الميادين"]),
        ("صورة من الميادين", []),  # a bare «من»: the squares, a channel
    ],
)
def test_guarded_names_cued_by_lists_and_regions(gz, text, expected):
    assert places(text, gz) == expected


def test_hatay_spelling_variant(gz):
    assert places("أغلقت السلطات المعبر مع ولاية هطاي", gz) == ["هاتاي"]


def test_reporting_sources_do_not_anchor_rules(gz):
    from pipeline.stages.terms import make_doc

    ms = {m.entry.name: m.entry for m in gz.mentions(make_doc(None, "وثقت الشبكة السورية لحقوق الإنسان مقتل مدنيين في إدلب"))}
    assert ms["الشبكة السورية لحقوق الإنسان"].anchor is False
    assert ms["إدلب"].anchor is True


def test_places_joined_by_or_cue_each_other(gz):
    # «عمّان» (Amman, not Oman) needs a cue; a list «X أو Y» of places is one
    assert places("لم يصدر أي تعليق رسمي من عمّان أو دمشق", gz) == ["عمّان", "دمشق"]
    assert places("لم يصدر تعليق من دمشق أو عمان", gz) == ["دمشق", "عمّان"]
    assert places("وصل وفد من عمان أمس", gz) == []


@pytest.mark.parametrize("title,expected", [
    ("قتلى بانفجار عبوة ناسفة في مدينة الدانا شمالي إدلب", ["الدانا"]),  # إدلب after «شمالي»: a landmark
    ("مقتل 18 مدنيا في قصف روسي على مركز مدينة إدلب", ["إدلب"]),  # a seat after «مدينة»: the city
    ("19 قتيلا بغارات على إدلب رغم الهدنة", []),  # a seat alone: the governorate, not a town
    ("غارة على مخيم قرب حارم شمالي إدلب", []),
    ("قصف على بلدات بريف حماة", []),  # «بريف»: the cue read through its proclitic
    ("قمة في أنقرة حول إدلب", []),  # a foreign venue is not where an incident happened
    ("الجيش يسيطر على سهل الغاب وقلعة المضيق", ["قلعة المضيق"]),  # a region never counts
    ("إنقاذ رضيعة في جنديرس وعائلة في حارم", ["جنديرس", "حارم"]),
    ("مواجهات في درعا البلد ضد خلية لتنظيم الدولة", ["درعا"]),  # a longer alias of a seat: the city itself
    ("اشتباكات في درعا وريفها", []),
])
def test_incident_places_are_the_headlines_towns(gz, title, expected):
    assert [p.name for p in enrich(title, "نص الخبر في سراقب", gazetteer=gz).incident] == expected


@pytest.mark.parametrize("title,near", [
    ("غارة على مخيم قرب حارم شمالي إدلب", ["حارم"]),  # a town after a «beside» cue: a landmark
    ("الطيران الروسي يستأنف غاراته على ريف جسر الشغور", ["جسر الشغور"]),
    ("قصف على بلدات بريف حماة", []),  # a seat is never a landmark: half a governorate
    ("قتلى بانفجار عبوة ناسفة في مدينة الدانا شمالي إدلب", []),
])
def test_headline_landmarks_are_the_towns_it_happened_near(gz, title, near):
    assert [p.name for p in enrich(title, "نص الخبر في سراقب", gazetteer=gz).near] == near


def test_incident_places_come_from_the_headline_only(gz):
    assert enrich("غارات جوية على ريف إدلب", "وقتل مدنيان في بلدة سرمين", gazetteer=gz).incident == []
