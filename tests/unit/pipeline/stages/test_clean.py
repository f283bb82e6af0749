"""Clean stage: noise lines go by shape, real sentences stay even when they contain noise words."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.core.arabic import normalize
from pipeline.stages.boilerplate import RulesError, load_rules
from pipeline.stages.clean import clean as clean_with

DEFAULT_RULES_FILE = Path(__file__).resolve().parents[4] / "config" / "boilerplate.yaml"


def clean(extracted, site_name=None, rules=None):
    """The clean stage with the shipped rules unless others are given."""
    return clean_with(extracted, site_name, rules=rules or load_rules(DEFAULT_RULES_FILE))
from pipeline.core.errors import BadRecord
from pipeline.stages.extract import Extracted

S1 = "قالت مصادر محلية إن طائرات حربية روسية شنت صباح اليوم غارات على أطراف بلدة البارة في جبل الزاوية جنوبي إدلب."
S2 = "وأضافت المصادر أن فرق الدفاع المدني انتشلت جثتي مدنيين من تحت الأنقاض، فيما أصيب خمسة آخرون بجروح متفاوتة."
S3 = "وتشهد المنطقة تصعيداً متواصلاً منذ مطلع الشهر الجاري رغم اتفاق وقف إطلاق النار الموقع بين موسكو وأنقرة."


def ex(paragraphs, title="غارات روسية على جبل الزاوية", **kw) -> Extracted:
    kw.setdefault("language", "ar")
    return Extracted(title=title, paragraphs=list(paragraphs), **kw)


def body_of(paragraphs, **kw) -> list[str]:
    return clean(ex(paragraphs, **kw)).paragraphs


# --------------------------------------------------------------------------- noise lines

NOISE_LINES = [
    "اقرأ أيضاً",
    "إقرأ أيضاً: مخابرات بشار الأسد تقطع الطريق أمام رتل أمريكي وتمنعه من المرور.. شاهد",
    "اقرأ ايضًا .. الليرة السورية تسجل انخفاضاً جديداً",
    "📚 اقرأ أيضاً: تكوين السباكة والتدفئة",
    "شاهد أيضاً: بالفيديو.. لحظة انتشال طفل من تحت الأنقاض",
    "اقرأ المزيد",
    "للمزيد: اضغط هنا",
    "ذات صلة",
    "مقالات ذات صلة",
    "أخبار ذات صلة",
    "قد يهمك أيضاً",
    "المزيد من الأخبار",
    "الأكثر قراءة",
    "زر الذهاب إلى الأعلى",
    "العودة إلى الأعلى",
    "التعليقات",
    "commentالتعليقات",
    "التعليقات (3)",
    "أضف تعليقك",
    "لا توجد تعليقات",
    "شارك",
    "شارك هذا المقال",
    "فيسبوك تويتر واتساب",
    "شارك عبر: فيسبوك | تويتر | واتساب | نسخ الرابط",
    "طباعة | أرسل لصديق | حجم الخط",
    "تابعونا على تلغرام",
    "تابعونا على مواقع التواصل الاجتماعي",
    "لمتابعة آخر الأخبار اشترك في قناتنا على تلغرام",
    "انضموا إلى قناتنا على واتساب",
    "اشترك في النشرة البريدية ليصلك كل جديد",
    "لمتابعة أخبار سوريا على تلغرام اضغط هنا",
    "نستخدم ملفات تعريف الارتباط (الكوكيز) لتحسين تجربتك على موقعنا. باستمرارك في التصفح فإنك توافق على سياسة الخصوصية.",
    "جميع الحقوق محفوظة © 2020 أورينت نت",
    "حقوق النشر محفوظة لـعنب بلدي © 2023",
    "© نورث برس 2019",
    "المصدر: وكالات",
    "المصدر: الأناضول + رويترز",
    "المصدر : الجزيرة + وكالات",
    "تحرير: محمد الأحمد",
    "إعداد وتحرير: هبة الحلبي",
    "بقلم: سارة العلي",
    "تصوير: عمر الشامي",
    "الصورة: رويترز",
    "(الصورة: أ ف ب)",
    "مصدر الصورة: وسائل التواصل",
    "الوسوم: إدلب، روسيا، هيئة تحرير الشام",
    "الكلمات المفتاحية: سوريا حلب",
    "منذ 3 ساعات",
    "آخر تحديث: منذ يومين",
    "آخر تحديث: 12 ديسمبر 2019 - 10:30",
    "تاريخ النشر: 2020-09-25 09:06",
    "الخميس، 12 كانون الأول 2019 | 10:30 ص",
    "٢٥ أيلول ٢٠٢٠",
    "وقت القراءة: 3 دقائق",
    "4 دقائق للقراءة",
    "عدد القراءات: 5122",
    "1200 مشاهدة",
    "Loading...",
    "جار التحميل...",
    "- إعلان -",
    "Advertisement",
    "الرئيسية / أخبار / سوريا",
    "من نحن | اتصل بنا | سياسة الخصوصية",
    "المقال يعبر عن رأي كاتبه ولا يعبر بالضرورة عن رأي الموقع",
    "(سانا)",
    "وكالات",
    "ع.ح",
    "(ي.ص/ن.ع)",
    "(ع ح ش)",
    "انتهى",
    "#سوريا #إدلب #عاجل",
    "عاجل | اجتماع طارئ لمجلس الأمن",
    "1 / 5",
    "صورة أرشيفية",
    "pic.twitter.com/AbC123xyz",
    "https://www.facebook.com/Orient.Tv.Net/",
    "TT",
    'if($(\'.nav-wrapper\').width()<900){ google_ad_client = "ca-pub-8530768961177157"; google_ad_slot = "8024336238"; }',
    "(adsbygoogle = window.adsbygoogle || []).push({});",
    "googletag.cmd.push(function() { googletag.display('div-gpt-ad-1'); });",
    "window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);} gtag('js', new Date());",
    ".post-meta{color:#999;font-size:12px}",
    # a headline ticker: headlines glued together without spaces
    "غارات لطائرات الاحتلال الروسي على بلدة البارة جنوب إدلب.ميليشيا أسد تعرقل المفاوضات وتصر على الحل الأمني في درعا"
    " .اجتماع موسع للجان ووجهاء درعا بحضور الفيلق الخامس.مقتل مجموعة عناصر من ميليشيا أسد بكمين محكم شرق درعا",
    # captions
    "تدريب مقاتلين لتحرير الشام - وسائل التواصل",
    "الرئيس السوري المخلوع بشار الأسد (رويترز - أرشيفية)",
    "عناصر من الدفاع المدني خلال عملية إنقاذ (أ ف ب)",
    # English pages
    "Read more: Turkey sends more troops to northwest Syria",
    "Share this article",
    "Share on Facebook Share on Twitter Email",
    "Follow us on Twitter for the latest updates",
    "Sign up for our newsletter",
    "Reporting by Suleiman Al-Khalidi; Editing by Alex Richardson",
    "© 2021 Reuters. All rights reserved.",
    "Civil defence workers search the rubble. REUTERS/Khalil Ashawi",
    "Your browser does not support the video tag.",
    "3 hours ago",
]


@pytest.mark.parametrize("line", NOISE_LINES)
def test_noise_line_is_removed(line):
    got = body_of([S1, line, S2])
    assert got == [S1, S2], got


# --------------------------------------------------------------------------- sentences that look like noise

KEEP_LINES = [
    "قالت وكالة رويترز إن القوات التركية دخلت إدلب فجر اليوم.",
    "المصدر أكد أن الهجوم استهدف مقراً عسكرياً قرب سراقب، مشيراً إلى سقوط قتلى في صفوف المهاجمين.",
    "المصدر: قال مصدر عسكري إن الهجوم استهدف مقراً قرب سراقب، وإن الطائرات حلقت لساعات فوق المنطقة قبل أن تنسحب شمالاً.",
    "وذكرت وكالة الأنباء الفرنسية (أ ف ب) أن الغارات أوقعت ثلاثة قتلى.",
    "وقال لافروف إن موسكو لن تتخلى عن حلفائها في سوريا (رويترز).",
    "وتابع الوزير عبر تويتر قائلاً إن بلاده لن تسمح بتكرار الهجوم.",
    "شارك في الاجتماع ممثلون عن تركيا وروسيا وإيران.",
    "للمزيد من الضغط على النظام، فرضت واشنطن عقوبات جديدة شملت 12 شخصية.",
    "تابعوا سيرهم نحو الحدود التركية رغم القصف.",
    "شاهد عيان قال إن القصف استهدف السوق الشعبي في المدينة.",
    "منذ ساعات الصباح الأولى تشهد المدينة قصفاً عنيفاً.",
    "وطالب المحتجون بضمان جميع الحقوق المدنية للمعتقلين.",
    "وقال إن على العالم أن يقرأ أيضاً ما بين السطور.",
    "كتب الرئيس السابق في تغريدة أن الحرب انتهت بالنسبة إليه.",
    "وأعلنت الرئاسة الروسية في بيان نشرته على قناتها في تلغرام أن بوتين تلقى اتصالاً من أردوغان.",
    "قتل ثلاثة مدنيين.",
    "Share prices fell sharply in Damascus after the announcement.",
]


@pytest.mark.parametrize("line", KEEP_LINES)
def test_sentence_with_noise_words_is_kept(line):
    lang = "en" if line.isascii() else "ar"
    got = body_of([S1, line, S2], language=lang)
    assert got == [S1, line, S2], got


def test_subheads_are_kept():
    paras = [S1, "مزاعم مزيفة", S2, "آخر التطورات", S3, "المزيد من الضحايا", S1 + " وأكد ذلك."]
    assert body_of(paras) == paras


# --------------------------------------------------------------------------- structure


def test_read_also_block_with_links_is_removed_but_following_subhead_kept():
    paras = [S1, "اقرأ أيضاً", "قسد تعلن اعتقال خلية تابعة لتنظيم داعش", "الليرة السورية تسجل انخفاضاً جديداً",
             S2, "مقالات ذات صلة", "تصعيد متجدد", S3]
    got = clean(ex(paras, link_density=[0, 0, 1, 1, 0, 0, 0, 0])).paragraphs
    assert got == [S1, S2, "تصعيد متجدد", S3]


def test_related_list_without_link_info_at_the_end():
    paras = [S1, S2, "إقرأ أيضاً", "غارات لطائرات الاحتلال الروسي على بلدة البارة", "ميليشيا أسد تعرقل المفاوضات في درعا"]
    assert body_of(paras) == [S1, S2]


def test_headline_linked_elsewhere_on_the_page_is_removed():
    h = "الاتحاد الأوروبي يمدد العقوبات المفروضة على النظام السوري"
    assert body_of([S1, h, S2], link_texts=[h]) == [S1, S2]


def test_top_of_body_title_subtitle_caption_labels():
    title = "سجال غربي ـ روسي حول استخدام «الكيماوي»"
    sub = "موسكو تتحدث عن خسائر كبرى للمسلحين في جنوب إدلب"
    paras = ["سوريا", title, sub, "TT", title, "الرئيس السوري في صورة أرشيفية (رويترز)", "الخميس 23 أيار 2019",
             "محمد الأحمد", S1, S2]
    c = clean(ex(paras, title=title + " | الشرق الأوسط", subtitle=sub, site_name="الشرق الأوسط"))
    assert c.title == title
    assert c.paragraphs == [S1, S2]
    assert "TT" in c.removed


def test_caption_matching_figcaption_or_alt_is_removed_anywhere():
    cap = "جلسة لمجلس الأمن الدولي حول سوريا"
    assert body_of([S1, cap, S2], captions=[cap]) == [S1, S2]
    assert body_of([S1, cap, S2], image_alts=[cap]) == [S1, S2]


def test_inline_read_also_tail_is_cut_off_a_sentence():
    got = clean(ex([S1 + " اقرأ أيضاً: منتخب سوريا يتعادل مع نظيره اللبناني", S2]))
    assert got.paragraphs == [S1, S2]
    assert any("منتخب سوريا" in r for r in got.removed)
    got = clean(ex([S1 + " قد يهمك: مباحثات أردنية سورية حول المعبر", S2]))
    assert got.paragraphs == [S1, S2]


def test_pasted_ad_code_is_stripped_from_a_sentence():
    assert body_of([S1 + " (adsbygoogle = window.adsbygoogle || []).push({});", S2]) == [S1, S2]


def test_author_box_at_the_end():
    paras = [S1, S2, "رنا يوسف", "صحفية سورية مقيمة في إسطنبول تكتب في الشأن الإنساني."]
    assert body_of(paras, author="رنا يوسف") == [S1, S2]


def test_duplicated_paragraph_kept_once():
    assert body_of([S1, S2, S1]) == [S1, S2]


def test_censor_breaks_repaired_in_body_and_match_text():
    c = clean(ex(["قالت روسيا إن الهيئة نقلت أسلـ.حتها الثقيلة، متهـ.مة الخوذ البيضاء بالإعداد لاستـ.فزازات كيمـ\u200cيائية."],
                 title="روسيا تتحدث عن استفزازات كيمـ.يائية"))
    assert c.paragraphs == ["قالت روسيا إن الهيئة نقلت أسلحتها الثقيلة، متهمة الخوذ البيضاء بالإعداد لاستفزازات كيميائية."]
    assert c.title == "روسيا تتحدث عن استفزازات كيميائية"
    assert "كيميائيه" in c.match_text.split()
    assert c.match_text == normalize(c.title + "\n" + c.body)
    assert c.body == "\n\n".join(c.paragraphs)


def test_nothing_left_is_a_bad_record():
    with pytest.raises(BadRecord) as e:
        clean(ex(["اقرأ أيضاً", "التعليقات", "زر الذهاب إلى الأعلى"]))
    assert e.value.reason == "empty_body"


# --------------------------------------------------------------------------- datelines


@pytest.mark.parametrize(
    "line, place, agency",
    [
        ("إدلب – NPA", "إدلب", "NPA"),
        ("دمشق - سانا", "دمشق", "سانا"),
        ("دمشق-سانا", "دمشق", "سانا"),
        ("القامشلي – نورث برس", "القامشلي", "نورث برس"),
        ("بيروت: كارولين عاكوم", "بيروت", "كارولين عاكوم"),
        ("نور سلطان/ الأناضول", "نور سلطان", "الأناضول"),
        ("دير الزور – نورث برس", "دير الزور", "نورث برس"),
        ("بيروت - «الشرق الأوسط»", "بيروت", "الشرق الأوسط"),
        ("خاص - عنب بلدي", None, "عنب بلدي"),
    ],
)
def test_dateline_line(line, place, agency):
    c = clean(ex([line, S1, S2]))
    assert c.dateline == {"place": place, "agency": agency, "raw": line}
    assert c.paragraphs == [S1, S2]


@pytest.mark.parametrize(
    "first, place, agency",
    [
        ("حلب (الأناضول) - قال مسؤول محلي إن القصف استهدف حي الشعار صباح اليوم.", "حلب", "الأناضول"),
        ("دمشق - سانا: أعلنت وزارة الدفاع أن وحداتها تصدت لهجوم على محور كفر نبودة.", "دمشق", "سانا"),
        ("موسكو - قالت وزارة الخارجية الروسية إن الاتصالات مع أنقرة مستمرة بشأن إدلب.", "موسكو", None),
    ],
)
def test_dateline_prefix_keeps_the_sentence(first, place, agency):
    c = clean(ex([first, S2]))
    assert c.dateline["place"] == place and c.dateline["agency"] == agency
    assert c.paragraphs[0] == first


def test_dateline_dropped_by_the_extractor_is_read_from_the_lead_lines():
    c = clean(ex([S1, S2], lead_lines=["إدلب – NPA"]))
    assert c.dateline["place"] == "إدلب"


def test_caption_or_label_is_not_a_dateline():
    for line in ("صورة تعبيرية (رويترز)", "آخر تحديث: منذ يومين", "إعداد وتحرير: خالد المصري", "وأضاف - في بيان"):
        c = clean(ex([line, S1, S2]))
        assert c.dateline is None, line


# --------------------------------------------------------------------------- the rules file


def test_rules_file_errors_name_the_rule(tmp_path: Path):
    bad = tmp_path / "b.yaml"
    bad.write_text("lines:\n  - {name: broken, pattern: '^(اقرا'}\n", encoding="utf-8")
    with pytest.raises(RulesError, match=r"lines\[0\] \(broken\).*regular expression"):
        load_rules(bad)
    bad.write_text("lines:\n  - {name: typo, pattern: 'x', on: text}\n", encoding="utf-8")
    with pytest.raises(RulesError, match="unknown keys"):
        load_rules(bad)
    bad.write_text("vocab:\n  chrome:\n    - on\n", encoding="utf-8")
    with pytest.raises(RulesError, match="not text"):
        load_rules(bad)


def test_invalid_edit_keeps_last_good_rules(tmp_path: Path):
    f = tmp_path / "boilerplate.yaml"
    shutil.copy(DEFAULT_RULES_FILE, f)
    good = load_rules(f)
    import os
    import time

    f.write_text("lines:\n  - {pattern: '(('}\n", encoding="utf-8")
    os.utime(f, (time.time() + 5, time.time() + 5))
    assert load_rules(f) is good
    assert body_of([S1, "اقرأ أيضاً", S2]) == [S1, S2]


def test_analyst_rule_takes_effect(tmp_path: Path):
    f = tmp_path / "boilerplate.yaml"
    f.write_text(DEFAULT_RULES_FILE.read_text(encoding="utf-8").replace(
        "lines:\n", "lines:\n  - {name: promo_x, pattern: '^حمل تطبيق الوسيلة$'}\n", 1), encoding="utf-8")
    rules = load_rules(f)
    assert clean(ex([S1, "حمّل تطبيق الوسيلة", S2]), rules=rules).paragraphs == [S1, S2]


def test_english_article_noise():
    e1 = "Russian jets struck villages in Syria's Idlib province on Wednesday, killing at least seven civilians, rescuers said."
    e2 = "The strikes were among the heaviest since a ceasefire brokered by Moscow and Ankara last year."
    paras = ["Middle East", "By John Smith", "3 min read", e1, "Read more: UN warns of funding gap", "Advertisement", e2,
             "Reporting by Suleiman Al-Khalidi; Editing by Alex Richardson", "Share this article", "Related", "Syrian pound hits record low"]
    c = clean(Extracted(title="Russian strikes hit Idlib", paragraphs=paras, language="en"))
    assert c.paragraphs == [e1, e2]


# --------------------------------------------------------------------------- shapes seen on real pages (realpages pass)


def test_comment_policy_and_site_disclaimer_go_real_sentence_stays():
    policy = ("يسعدنا النقاش البنّاء في موقعنا، ولكي لا نضطر إلى مراجعة التعليقات قبل نشرها ننصحك بقراءة "
              "إرشادات المشاركة. وقد تُستخدم مشاركاتك مع اسمك وفق سياسة الخصوصية وشروط الاستخدام.")
    disclaimer = "التعليقات المنشورة أدناه لا تعبر عن رأي الموقع، بل تعكس وجهات نظر أصحابها فقط."
    sentence = "وقال المتحدث إن التصريحات الأخيرة تعكس وجهة نظر الحكومة في ملف إدلب وليست موقفاً شخصياً."
    body = body_of([S1, S2, sentence, policy, disclaimer])
    assert body == [S1, S2, sentence]


def test_icon_label_glued_to_caption_and_dated_credit_caption():
    cap = "عناصر من الدفاع المدني يزيلون الركام في بلدة سرمين بريف إدلب - 3 آذار 2020 - (وكالة سمارت)"
    body = body_of([cap, "photo icon" + cap, "share icon ع ع ع", S1, S2])
    assert body == [S1, S2]
    # a sentence that ends with a bracketed agency and a year stays
    s = "وقصفت قوات النظام البلدة مرات عدة منذ مطلع عام 2019 (بحسب المرصد)."
    assert body_of([S1, s]) == [S1, s]


def test_published_date_tacked_after_last_sentence_is_cut():
    body = body_of([S1, S2 + " نشرت في : 14/02/2020"])
    assert body == [S1, S2]


def test_trailing_teaser_card_goes_but_an_ellipsis_inside_the_story_stays():
    teaser_head = "ندوة في القامشلي تستعيد سيرة ناشطة راحلة"
    teaser_text = "بعد عام على رحيل الناشطة الحقوقية، اجتمع زملاؤها في القامشلي ليستذكروا…"
    assert body_of([S1, S2, S3, teaser_head, teaser_text]) == [S1, S2, S3]
    quoted = "وختم بيانه بالقول: «سنبقى هنا مهما طال الزمن...»"
    assert body_of([S1, S2, quoted]) == [S1, S2, quoted]


def test_agency_then_place_in_brackets_and_city_country_prefix_datelines():
    c = clean(ex(["رويترز (دمشق)", S1, S2]))
    assert c.dateline and c.dateline["place"] == "دمشق" and c.dateline["agency"] == "رويترز"
    assert c.paragraphs == [S1, S2]
    lead = "حلب، سوريا (رويترز) -- " + S1
    c = clean(ex([lead, S2]))
    assert c.dateline and c.dateline["place"] == "حلب" and c.dateline["agency"] == "رويترز"
    assert c.paragraphs[0] == lead  # the dateline prefix stays part of the sentence


def test_match_text_equals_normalizing_title_and_body_again():
    """match_text is assembled from the per-line keys; it must equal the match form of the
    whole title + body, also with censor breaks, presentation forms, zero-width characters,
    diacritics and odd spaces at line edges."""
    paras = [
        "\u200bقالت مصادر محلية إن الكيمـ.يائية وصلت إلى ريف إدلب الجنوبي صباح اليوم\u00a0",
        "ﺍﻟﻤﺪﻳﻨﺔ شهدت قصفاً مُكثّفاً خلال الساعات الماضية، وفق ما أفاد ناشطون في المنطقة.",
        "ـوأضاف المرصد السوري لحقوق الإنسان أن\u2009الاشتباكات مستمرة حتى الآن في محيط البلدة.",
    ]
    ex = Extracted(title="عنوان  الخبر: قصف على إدلب", paragraphs=paras, language="ar")
    cl = clean(ex)
    assert cl.paragraphs
    assert cl.match_text == normalize((cl.title or "") + "\n" + cl.body)
    untitled = clean(Extracted(title=None, paragraphs=paras, language="ar"))
    assert untitled.match_text == normalize("\n" + untitled.body)
