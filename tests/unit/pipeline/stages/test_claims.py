"""Unit tests of the claims stage: the rules file (errors name file and line, reload keeps the last
valid version), negation, attribution chains, unnamed sources, quotes, headlines, offsets, and the
stage's place in the chain."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.core.schema import TopicHit
from pipeline.stages.claim_rules import ClaimRulesError, load_claim_rules, parse_claim_rules
from pipeline.stages.claims import extract_claims
from pipeline.stages.gazetteer import load_gazetteer

ROOT = Path(__file__).resolve().parents[4]
RULES = ROOT / "config" / "claims.yaml"
GAZ = ROOT / "config" / "gazetteer.yaml"
SYRIA = "في محافظة إدلب السورية."


@pytest.fixture(scope="module")
def rules():
    return parse_claim_rules(RULES)


@pytest.fixture(scope="module")
def gz():
    return load_gazetteer(GAZ)


def claims(rules, gz, body, title=None, publisher=None, topics=None):
    return extract_claims(title, body, rules=rules, gazetteer=gz, publisher=publisher, topics=topics)


def who(cs):
    return [(c.speaker, c.stance) for c in cs]


# --- the rules file ----------------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "claims.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def shipped_with(old: str, new: str) -> str:
    text = RULES.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


@pytest.mark.parametrize("old,new,needle,message", [
    ("  نفى:\n    stance: denies", "  نفى:\n    stance: refutes", "stance: refutes", "stance must be one of"),
    ("  زعم:\n    stance: accuses\n    forms: [زعم,", "  زعم:\n    stance: accuses\n    forms: [قال,",
     "  زعم:\n    stance: accuses\n    forms: [قال,", "already a form of"),
    ("  نفى:\n    stance: denies", "  نفى:\n    stance: denies\n    colour: red", "stance: denies\n    colour",
     "unknown key"),
    ("organization_types:\n", "organization_types:\n  - {type: nonsense, words: [x]}\n", "type: nonsense",
     "needs a type"),
    ("negation: [", "negations: [", "negations:", "unknown section"),
])
def test_rules_errors_name_file_and_line(tmp_path, old, new, needle, message):
    text = shipped_with(old, new)
    p = write(tmp_path, text)
    with pytest.raises(ClaimRulesError) as err:
        parse_claim_rules(p)
    assert str(err.value).startswith(f"{p}:"), str(err.value)
    assert message in str(err.value)
    assert err.value.line is not None and abs(err.value.line - line_of(text, needle)) <= 3, (err.value.line,
                                                                                            line_of(text, needle))


def test_duplicate_key_and_yaml_errors_have_a_line(tmp_path):
    text = shipped_with("  نفى:\n", "  قال:\n    stance: states\n    forms: [قالت]\n  نفى:\n")
    with pytest.raises(ClaimRulesError, match=r"claims\.yaml:\d+: .*duplicate key"):
        parse_claim_rules(write(tmp_path, text))
    with pytest.raises(ClaimRulesError, match=r"claims\.yaml:\d+: YAML error"):
        parse_claim_rules(write(tmp_path, "verbs: [broken\n"))


def test_reload_keeps_the_last_valid_version(tmp_path, gz):
    p = write(tmp_path, RULES.read_text(encoding="utf-8"), "live.yaml")
    first = load_claim_rules(p)
    assert who(claims(first, gz, f"ونفت الوزارة التركية ذلك {SYRIA}")) == [("الوزارة التركية", "denies")]
    p.write_text(shipped_with("  نفى:\n    stance: denies", "  نفى:\n    stance: maybe"), encoding="utf-8")
    os.utime(p, (1, 1))
    assert load_claim_rules(p) is first  # broken edit: the last valid version stays in force
    p.write_text(shipped_with("  نفى:\n    stance: denies", "  نفى:\n    stance: states"), encoding="utf-8")
    os.utime(p, (2, 2))
    fixed = load_claim_rules(p)
    assert fixed is not first
    assert who(claims(fixed, gz, f"ونفت الوزارة التركية ذلك {SYRIA}")) == [("الوزارة التركية", "states")]


def test_shipped_rules_cover_the_verbs_of_the_issue(rules):
    for form in ("قال", "قالت", "يقول", "تقول", "قالوا", "اكد", "اكدت", "يؤكد", "نفي", "نفت", "ينفي", "اتهم",
                 "اتهمت", "يتهم", "متهما", "حذر", "طالب", "دعا", "زعم", "ادعي", "اعلن", "اوضح", "اشار"):
        assert form in rules.verbs, form
    assert rules.verbs["نفت"].stance == "denies" and rules.verbs["نفت"].fem
    assert rules.verbs["قالوا"].plural and rules.verbs["متهما"].participle


# --- verbs, forms and stances --------------------------------------------------------------------


@pytest.mark.parametrize("body,expected", [
    (f"قال وزير الدفاع التركي خلوصي أكار إن قواته سترد {SYRIA}", [("خلوصي أكار", "states")]),
    (f"وتقول الحكومة السورية إن الجيش لم يستخدم السلاح {SYRIA}", [("الحكومة السورية", "states")]),
    (f"فنفت وزارة الدفاع الروسية أي غارات {SYRIA}", [("وزارة الدفاع الروسية", "denies")]),
    (f"واتهمت قسد الجيش التركي باستهداف محطة كهرباء {SYRIA}", [("قوات سوريا الديمقراطية", "accuses")]),
    (f"وحذر بيدرسون من أن التصعيد يهدد بكارثة {SYRIA}", [("غير بيدرسن", "warns")]),
    (f"وطالبت الوزارة التركية الجانب الروسي بوقف الهجمات {SYRIA}", [("الوزارة التركية", "demands")]),
    (f"وأكد مصدر عسكري مقتل عنصرين {SYRIA}", [("مصدر عسكري", "confirms")]),
    (f"وأكد مصدر عسكري أن الجيش صد الهجوم {SYRIA}", [("مصدر عسكري", "states")]),
])
def test_verb_forms_and_stances(rules, gz, body, expected):
    assert who(claims(rules, gz, body)) == expected


def test_a_continuation_gives_a_second_claim_only_with_a_new_stance(rules, gz):
    cs = claims(rules, gz, f"وأوضح رائد الصالح أن فرقه لا تملك مواد كيميائية، مشيراً إلى عملها، داعياً الأمم "
                           f"المتحدة إلى إرسال مراقبين {SYRIA}")
    assert who(cs) == [("رائد الصالح", "states"), ("رائد الصالح", "demands")]
    assert cs[1].target == "الأمم المتحدة" and cs[0].text == cs[1].text
    cs = claims(rules, gz, f"نفت الحكومة السورية أي مسؤولية عن الهجوم، وقالت إن الجيش لم يستخدمها {SYRIA}")
    assert who(cs) == [("الحكومة السورية", "denies")]


# --- negation ------------------------------------------------------------------------------------


def test_negated_verbs_make_no_claim_but_keep_their_subject(rules, gz):
    cs = claims(rules, gz, f'ولم يؤكد "المرصد السوري لحقوق الإنسان" سيطرة الفصائل، لكنه أشار إلى أن الاشتباكات '
                           f"مستمرة {SYRIA}")
    assert who(cs) == [("المرصد السوري لحقوق الإنسان", "states")] and cs[0].verb == "أشار"
    cs = claims(rules, gz, f"ولم تنفِ السلطات وقوع انتهاكات، إذ أقر مسؤول في الرئاسة السورية بتجاوزات فردية {SYRIA}")
    assert who(cs) == [("مسؤول في الرئاسة السورية", "confirms")]
    assert claims(rules, gz, f'ولم تعلّق منظمة "الخوذ البيضاء" على البيان {SYRIA}') == []
    assert claims(rules, gz, f"ولا ينفي الجيش التركي وجود قواته {SYRIA}") == []


def test_a_negated_form_listed_as_a_verb_is_a_claim(rules, gz):
    cs = claims(rules, gz, f"ولم يستبعد مسؤول في الأمم المتحدة، طلب عدم ذكر اسمه، أن تنفد المواد الغذائية {SYRIA}")
    assert who(cs) == [("مسؤول في الأمم المتحدة", "warns")] and cs[0].verb == "لم يستبعد"


def test_silence_before_a_denial(rules, gz):
    cs = claims(rules, gz, f'ولم تعلّق منظمة "الخوذ البيضاء" على البيان الروسي، غير أنها نفت في مناسبات سابقة أي '
                           f"صلة لها بالمواد الكيميائية {SYRIA}")
    assert who(cs) == [("الدفاع المدني السوري", "denies")]


# --- attribution chains --------------------------------------------------------------------------


def test_relay_resolves_to_the_innermost_speaker_and_keeps_the_carrier(rules, gz):
    cs = claims(rules, gz, f'من جهتها، نقلت وكالة "إنترفاكس" عن مصدر في وزارة الدفاع الروسية قوله إن الوزارة '
                           f'"تتابع الوضع" {SYRIA}')
    assert [(c.speaker, c.speaker_type, c.carrier, c.verb) for c in cs] == [
        ("مصدر في وزارة الدفاع الروسية", "anonymous", "إنترفاكس", "نقلت ... عن")]
    cs = claims(rules, gz, f'ونقلت وكالة الأنباء الرسمية (سانا) عن مصدر مسؤول قوله إنها "عارية عن الصحة" {SYRIA}')
    assert [(c.speaker, c.carrier) for c in cs] == [("مصدر مسؤول", "وكالة سانا")]


def test_carrier_after_the_speaker_and_the_publisher_itself(rules, gz):
    body = f"وقال مصدر في الوزارة لوكالة «سانا» إن العقوبات تكشف زيف الادعاءات {SYRIA}"
    assert [(c.speaker, c.carrier) for c in claims(rules, gz, body)] == [("مصدر في الوزارة", "وكالة سانا")]
    assert [(c.speaker, c.carrier) for c in claims(rules, gz, body, publisher="sana")] == [("مصدر في الوزارة", None)]
    body = f"واعتبرت وزارة الخارجية السورية أن العقوبات غير شرعية، بحسب ما نقلته وكالة \"سانا\" {SYRIA}"
    assert [(c.speaker, c.carrier) for c in claims(rules, gz, body)] == [("وزارة الخارجية السورية", "وكالة سانا")]


def test_own_correspondent_and_monitoring_are_not_claims(rules, gz):
    body = (f"وقال مراسل عنب بلدي إن الطائرات قصفت البلدة {SYRIA}\n\n"
            f"وتأتي الاتهامات مع حشود عسكرية، وفق ما رصدته عنب بلدي {SYRIA}")
    assert claims(rules, gz, body, publisher=["enab-baladi", "عنب بلدي"]) == []


# --- unnamed sources -----------------------------------------------------------------------------


@pytest.mark.parametrize("body,speaker", [
    (f"وقال مصدر محلي من القحطانية لنورث برس إن السكان يعتمدون على المولدات {SYRIA}", "مصدر محلي"),
    (f'اتهم ناشطون في إدلب "هيئة تحرير الشام" بتعذيب شاب {SYRIA}', "ناشطون"),
    (f'وأكد مصدر عسكري في "قسد" لنورث برس أن الخلية اعتقلت {SYRIA}', "مصدر عسكري في قسد"),
    (f"وبحسب مصادر محلية، استهدف القصف محيط النقطة {SYRIA}", "مصادر محلية"),
    (f"وقال أحد أقارب الشاب لأورينت نت إن العائلة تسلمت الجثة {SYRIA}", "أحد أقارب الشاب"),
])
def test_anonymous_sources_as_written_without_place(rules, gz, body, speaker):
    cs = claims(rules, gz, body)
    assert [(c.speaker, c.speaker_type) for c in cs] == [(speaker, "anonymous")]


def test_references_back(rules, gz):
    body = (f"نفى مصدر عسكري اليوم استخدام مواد كيميائية {SYRIA}\n\n"
            "وقال المصدر في تصريح إن الادعاءات عارية عن الصحة.\n\n"
            "وقال رئيس المركز، اللواء أليكسي تسيغانكوف، إن الشحنة نقلت.\n\n"
            "وأضاف تسيغانكوف أن المسلحين يعتزمون تصوير مشاهد.\n\n"
            "وأضاف أن الهدف هو الاتهام.")
    assert who(claims(rules, gz, body)) == [
        ("مصدر عسكري", "denies"), ("مصدر عسكري", "states"), ("أليكسي تسيغانكوف", "states"),
        ("أليكسي تسيغانكوف", "states"), ("أليكسي تسيغانكوف", "states")]


# --- quotes, headlines, offsets, topics ------------------------------------------------------------


def test_direct_quotes_both_kinds(rules, gz):
    for q in ('"لدينا معلومات موثوقة، وقد نفى المسلحون ذلك"', "«لدينا معلومات موثوقة، وقد نفى المسلحون ذلك»"):
        cs = claims(rules, gz, f"وقال لافرنتييف للصحفيين في أستانا: {q} {SYRIA}")
        assert who(cs) == [("ألكسندر لافرنتييف", "states")]  # the verb inside the quote is part of it


def test_headlines(rules, gz):
    body = (f"حذّر المركز الروسي للمصالحة من أن مسلحي جبهة النصرة يستعدون لاستفزاز {SYRIA}\n\n"
            "وقالت وزارة الدفاع الروسية إن المسلحين يحضرون.")
    cs = claims(rules, gz, body, title='مركز حميميم: "النصرة" تحضر لاستفزاز كيميائي')
    assert (cs[0].speaker, cs[0].stance, cs[0].verb, cs[0].in_title) == ("مركز المصالحة الروسي", "warns", ":", True)
    cs = claims(rules, gz, f"وقالت الوزارة إن الاتهامات باطلة {SYRIA}", title="موسكو تنفي حصول هجوم كيميائي في دوما")
    assert (cs[0].speaker, cs[0].stance, cs[0].in_title) == ("موسكو", "denies", True)
    assert claims(rules, gz, f"وقعت الاشتباكات {SYRIA}", title="عاجل: اشتباكات عنيفة في إدلب") == []


def test_offsets_and_texts(rules, gz):
    title = "الدفاع التركية: إصابة جنديين بقصف"
    body = f"مقدمة بلا إسناد {SYRIA}\n\nوقالت وزارة الدفاع التركية في بيان إن القوات ردت. ثم أضافت أن الوضع هادئ."
    cs = claims(rules, gz, body, title=title)
    assert cs[0].in_title and title[cs[0].start:cs[0].end] == cs[0].text == title
    for c in cs[1:]:
        assert not c.in_title and body[c.start:c.end] == c.text
    assert [c.text for c in cs[1:]] == ["وقالت وزارة الدفاع التركية في بيان إن القوات ردت.", "ثم أضافت أن الوضع هادئ."]


def test_topic_ids_from_evidence_inside_the_claim(rules, gz):
    body = (f"حذرت وزارة الدفاع الروسية من استفزاز بالأسلحة الكيميائية {SYRIA}\n\n"
            "وقال الدفاع المدني السوري إن فرقه انتشلت الضحايا.")
    topics = [TopicHit(id="chemical_weapons", score=9.0, evidence=["الأسلحة الكيميائية"]),
              TopicHit(id="white_helmets", score=5.0, evidence=["الدفاع المدني السوري"])]
    cs = claims(rules, gz, body, topics=topics)
    assert [c.topic_ids for c in cs] == [["chemical_weapons"], ["white_helmets"]]


# --- the chain ---------------------------------------------------------------------------------------


def test_claims_in_the_chain_and_the_process_contract():
    from devstack.pages import load_articles, render
    from pipeline.core.metrics import STAGES
    from pipeline.core.settings import load_settings
    from pipeline.stages.process import ChainConfig, process_page
    from pipeline.stream.agents import PROCESS_STAGES
    from pipeline.stream.batch import OUTPUT_FIELDS

    config = ChainConfig.from_settings(load_settings())
    assert config.claims_file is not None and config.claims_file.name == "claims.yaml"
    art = {a["id"]: a for a in load_articles()}["aa-akar-hatay-border-units"]
    page = process_page(render(art, "wordpress_jannah"), art["url"], art["source"], config=config)
    assert ("خلوصي أكار", "person") in {(c.speaker, c.speaker_type) for c in page.claims}
    for c in page.claims:
        assert (page.title if c.in_title else page.body)[c.start:c.end] == c.text
    assert OUTPUT_FIELDS[OUTPUT_FIELDS.index("people") + 1] == "claims"
    assert "claims" in STAGES and PROCESS_STAGES[-1] == "claims"


@pytest.mark.parametrize("body", [
    f"ورحب الائتلاف الوطني السوري بالقرار {SYRIA}",
    f"وأعرب غوتيريش عن قلقه البالغ إزاء التصعيد {SYRIA}",
    f"ولم يصدر أي تعليق من الحكومة السورية {SYRIA}",
    f"ولم تتبنَّ أي جهة الهجوم {SYRIA}",
    f"ويتضمن الاتفاق وقفاً لإطلاق النار {SYRIA}",
    f"وبحسب الاتفاق، تنسحب القوات إلى مسافة 15 كيلومتراً {SYRIA}",
    f"وأقر مجلس الدوما الروسي، اليوم، مشروع قانون جديداً {SYRIA}",
])
def test_not_claims(rules, gz, body):
    assert claims(rules, gz, body) == []


@pytest.mark.parametrize("body,expected", [
    (f"وقتل عشرة مدنيين، بحسب ما ذكره المرصد السوري لحقوق الإنسان {SYRIA}",
     ("المرصد السوري لحقوق الإنسان", "states", None)),
    (f"وأفادت وكالة الصحافة الفرنسية نقلاً عن مصدر أمني بأن الهجوم استهدف حاجزاً {SYRIA}",
     ("مصدر أمني", "states", "فرانس برس")),
    (f"وزعمت وسائل إعلام موالية للنظام أن المسلحين قصفوا الحي {SYRIA}",
     ("وسائل إعلام موالية للنظام", "accuses", None)),
    (f"وقال الناطق باسم الجيش الوطني، الرائد يوسف حمود، إن قواته صدت الهجوم {SYRIA}",
     ("يوسف حمود", "states", None)),
])
def test_formulas_and_phrases(rules, gz, body, expected):
    assert [(c.speaker, c.stance, c.carrier) for c in claims(rules, gz, body)] == [expected]


def test_coordinated_speakers_each_claim(rules, gz):
    cs = claims(rules, gz, f"وكانت الولايات المتحدة وفرنسا قد اتهمتا قوات النظام بتنفيذ الهجوم {SYRIA}")
    assert who(cs) == [("الولايات المتحدة", "accuses"), ("فرنسا", "accuses")]
