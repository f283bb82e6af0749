"""One fixture of our own per cause found on real outlets' pages (tests/quality/test_realpages_gate.py),
so each fix stays tested where those pages are absent. The pages are written here, in the shapes
the real ones had: a layout wrapper named after its sidebar, an embedded tweet, a lead in its own
container before the body, and footer and date lines under the story."""

from __future__ import annotations

import pytest

from pipeline.core.settings import load_settings
from pipeline.stages.process import ChainConfig, process_page_full

PARAS = [
    "أعلنت الأمم المتحدة أن أكثر من مئة ألف شخص نزحوا من ريف إدلب الجنوبي خلال الأسبوع الماضي، مع تصاعد القصف "
    "على البلدات القريبة من خطوط التماس، وسط ظروف شتوية قاسية ونقص في الخيام والوقود.",
    "وقال المتحدث باسم مكتب تنسيق الشؤون الإنسانية إن معظم النازحين توجهوا إلى المخيمات المكتظة قرب الحدود "
    "التركية، وإن المنظمات الإغاثية لا تستطيع تلبية سوى جزء من الاحتياجات العاجلة.",
    "وأضاف أن فرق الإغاثة سجلت نقصاً حاداً في مياه الشرب والأدوية، داعياً الأطراف كافة إلى احترام القانون "
    "الدولي الإنساني وتجنيب المدنيين والمنشآت الطبية آثار العمليات العسكرية.",
]


@pytest.fixture(scope="module")
def config() -> ChainConfig:
    return ChainConfig.from_settings(load_settings())


def page(body: str, title: str = "نزوح أكثر من مئة ألف من ريف إدلب خلال أسبوع") -> bytes:
    return (f'<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>{title}</title></head>'
            f'<body><header class="site-header"><nav><a href="/">الرئيسية</a> <a href="/syria">سوريا</a></nav></header>'
            f'{body}</body></html>').encode()


def ps(paras=PARAS) -> str:
    return "".join(f"<p>{p}</p>" for p in paras)


def body_of(config, html: bytes) -> str:
    return process_page_full(html, "https://outlet.example/news/2024/1/idlib", "t", config=config).article.body


def test_a_layout_wrapper_named_after_its_sidebar_keeps_the_story(config):
    html = page(f'<div class="content-with-sidebar-wrp"><div class="main-col"><h1>نزوح</h1>{ps()}</div>'
                '<div class="sidebar"><h3>الأكثر قراءة</h3><ul><li><a href="/a">خبر آخر عن حلب وريفها</a></li>'
                '<li><a href="/b">خبر ثالث عن دمشق</a></li></ul></div></div>'
                '<div class="copyright-wrp"><div class="block-copyright">© 2024 جميع الحقوق محفوظة لشبكة المنفذ</div></div>')
    body = body_of(config, html)
    for p in PARAS:
        assert p[:40] in body
    assert "الأكثر قراءة" not in body and "جميع الحقوق" not in body


def test_an_embedded_tweet_is_part_of_the_story(config):
    tweet = ('<blockquote class="twitter-tweet"><p lang="ar" dir="rtl">ندعو جميع الأطراف إلى وقف فوري لإطلاق '
             'النار في إدلب وحماية المدنيين والعاملين في المجال الإنساني</p>&mdash; مكتب الأمم المتحدة '
             '(@UNOCHA_Syria) <a href="https://twitter.com/x/status/1">February 10, 2020</a></blockquote>')
    html = page(f'<article><div class="entry-content">{ps(PARAS[:2])}{tweet}<p>{PARAS[2]}</p></div></article>'
                '<div class="share-bar"><a href="https://twitter.com/share">تويتر</a></div>')
    body = body_of(config, html)
    assert "وقف فوري لإطلاق النار في إدلب" in body
    assert PARAS[2][:40] in body
    assert "تويتر" not in body


def test_a_lead_in_its_own_container_before_the_body_is_kept(config):
    lead = "الأمم المتحدة تحذر من كارثة إنسانية مع موجة نزوح هي الأكبر منذ بداية الحرب في شمال غربي سوريا"
    html = page(f'<article class="b-article"><h1>نزوح</h1><div class="b-article__lead"><p>{lead}</p></div>'
                f'<div class="b-article__text">{ps()}</div></article>')
    body = body_of(config, html)
    assert lead[:40] in body
    assert all(p[:40] in body for p in PARAS)


def test_footer_and_date_lines_under_the_story_are_dropped(config):
    html = page(f'<div class="article-body">{ps()}<p>الثلاثاء 12 شباط 2020 - 10:45</p>'
                '<p>شركة المنفذ للإعلام المحدودة، رقم السجل التجاري 123456، هاتف: +90 212 555 0101</p></div>')
    body = body_of(config, html)
    assert all(p[:40] in body for p in PARAS)
    assert "السجل التجاري" not in body
    assert "10:45" not in body


SIDE = ('<div class="sidebar"><h3>الأكثر قراءة</h3><ul><li><a href="/a">خبر آخر عن حلب وريفها</a></li>'
        '<li><a href="/b">خبر ثالث عن دمشق</a></li></ul></div>')
COPYRIGHT = ('<div class="copyright"><p>© 2024 جميع الحقوق محفوظة لشبكة المنفذ الإعلامية وشركائها في المنطقة '
             'العربية كلها</p></div>')


@pytest.mark.parametrize("cls", ["sidebar-layout", "main-sidebar-wrap", "layout sidebar-right"])
def test_a_sidebar_named_wrapper_around_the_headline_is_the_story_not_chrome(config, cls):
    """Whatever word the wrapper's class holds, the wrapper of the headline and the story stays."""
    html = page(f'<div class="{cls}"><div class="col-main"><h1>نزوح</h1>{ps()}</div>{SIDE}</div>{COPYRIGHT}')
    body = body_of(config, html)
    assert all(p[:40] in body for p in PARAS)
    assert "الأكثر قراءة" not in body


def test_a_real_sidebar_beside_the_story_still_goes(config):
    html = page(f'<h1>نزوح</h1><div class="article-body">{ps()}</div>'
                '<div class="sidebar-box"><p>تقرير مطول عن أسعار الذهب في الأسواق المحلية وتأثير سعر صرف الليرة التركية '
                'على القدرة الشرائية للسكان في مدن الشمال السوري خلال الشهر الماضي وفق تجار محليين.</p></div>')
    body = body_of(config, html)
    assert all(p[:40] in body for p in PARAS)
    assert "أسعار الذهب" not in body


def test_a_tweet_in_a_widget_wrapper_keeps_its_text_and_attribution(config):
    """Outlets wrap the embed in "widget"/"tweet" containers; the quoted post and its
    "— name (@handle) date" line are part of the story."""
    tweet = ('<div class="article-widget article-tweet"><div class="tweet__inner"><blockquote class="twitter-tweet">'
             '<p lang="ar" dir="rtl">بيان الوزارة بشأن عودة اللاجئين</p>&mdash; وزارة الخارجية (@MFA_example) '
             '<a href="https://twitter.com/MFA_example/status/1">February 10, 2020</a></blockquote>'
             '<script async src="https://platform.twitter.com/widgets.js"></script></div></div>')
    html = page(f'<div class="story-body">{ps(PARAS[:2])}{tweet}<p>{PARAS[2]}</p></div>')
    body = body_of(config, html)
    assert "بيان الوزارة بشأن عودة اللاجئين" in body
    assert "وزارة الخارجية (@MFA_example) February 10, 2020" in body
    assert all(p[:40] in body for p in PARAS)


def test_a_lead_as_loose_text_in_a_summary_container_after_the_photo_is_kept(config):
    """The lead in its own container (text straight in a <div>, no <p>), between the photo and the
    body: the body block alone would lose it."""
    lead = "قُتل ثلاثة مدنيين وأصيب عشرة آخرون في قصف مدفعي استهدف سوقاً شعبية في مدينة أريحا صباح اليوم."
    html = page(f'<article class="article"><h1>نزوح</h1><div class="article__cover"><img src="/a.jpg" alt=""></div>'
                f'<div class="article__share"><a href="https://facebook.com/share">فيسبوك</a></div>'
                f'<div class="article__summary summary">\n  {lead}\n</div><div class="article__text">{ps()}</div>'
                '</article>')
    body = body_of(config, html)
    assert body.startswith(lead[:30])
    assert all(p[:40] in body for p in PARAS)
    assert body.count(lead[:30]) == 1


def test_a_name_s_hover_card_inside_a_sentence_goes_and_the_name_stays(config):
    card = ('<span class="person-rollover"><a href="/people/x">غير بيدرسن</a><span class="rollover-block"><span>'
            '<img src="/p.jpg" alt=""><a href="/people/x">غير بيدرسن</a><a href="/a">بيدرسن يلتقي وفد المعارضة في جنيف</a> '
            '<a href="/b">المبعوث الأممي يدعو إلى استئناف عمل اللجنة الدستورية</a><a href="/people/x">المزيد</a>'
            '</span></span></span>')
    first = f"<p>وقال المبعوث الأممي {card} إن الحل السياسي هو الطريق الوحيد لإنهاء معاناة السوريين، داعياً إلى وقف التصعيد.</p>"
    html = page(f'<div class="article-body">{first}{ps()}</div>')
    body = body_of(config, html)
    assert "وقال المبعوث الأممي غير بيدرسن إن الحل السياسي" in body
    assert "اللجنة الدستورية" not in body and "المزيد" not in body


@pytest.mark.parametrize("line", [
    "شبكة المنفذ الإعلامية - دمشق - شارع بغداد، بناء 12 - هاتف: +963 11 555 0101 - فاكس: +963 11 555 0102",
    "Outlet Media Ltda - CNPJ: 83.102.459/0001-23 - Rua Central, 1111 - Fone: (047) 2106-8000",
])
def test_a_publisher_s_address_and_contact_line_is_dropped(config, line):
    html = page(f'<div class="article-body">{ps()}<p>{line}</p></div>')
    body = body_of(config, html)
    assert all(p[:40] in body for p in PARAS)
    assert line[:20] not in body


@pytest.mark.parametrize("line", [
    "نشر في: 12/02/2020 - 10:45",
    "آخر تحديث: 12 فبراير 2020 الساعة 10:45 بتوقيت دمشق",
    "منذ 3 ساعات",
    "Updated at 1:23 p.m.",
    "Updated 10:45 a.m. ET Feb. 12, 2020",
])
def test_a_bare_date_line_in_the_story_is_dropped(config, line):
    html = page(f'<div class="article-body">{ps(PARAS[:2])}<p>{line}</p><p>{PARAS[2]}</p></div>')
    body = body_of(config, html)
    assert all(p[:40] in body for p in PARAS)
    assert line[:8] not in body


def test_a_live_story_s_time_heading_stays(config):
    """A time alone ("10 p.m.") heads the update that follows it in a live story: not a date line."""
    en = ["Police said a man was stabbed to death near the central market late on Monday, and that a suspect "
          "was arrested at the scene after a short chase.",
          "Officers said the victim was taken to hospital, where he died of his injuries a few hours later, and "
          "that the motive of the attack remained unclear."]
    html = page(f'<div class="article-body"><p>10 p.m.</p><p>{en[0]}</p><p>4:14 p.m.</p><p>{en[1]}</p></div>',
                title="The Latest: man stabbed to death near the market")
    body = body_of(config, html)
    assert "4:14 p.m." in body and en[1] in body


def test_the_dateline_opening_the_body_is_still_found_after_a_lead(config):
    lead = "قُتل ثلاثة مدنيين وأصيب عشرة آخرون في قصف مدفعي استهدف سوقاً شعبية في مدينة أريحا صباح اليوم."
    paras = ["إدلب - سانا: " + PARAS[0]] + PARAS[1:]
    html = page(f'<article><h1>نزوح</h1><div class="article__lead">{lead}</div>'
                f'<div class="article__text">{ps(paras)}</div></article>')
    a = process_page_full(html, "https://outlet.example/news/2024/1/idlib", "t", config=config).article
    assert a.body.startswith(lead[:30])
    assert a.dateline and a.dateline["place"] == "إدلب" and a.dateline["agency"] == "سانا"
