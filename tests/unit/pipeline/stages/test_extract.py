"""Extract stage on realistic snippets of several CMSs (not the seeds), charsets and bad input."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest

from pipeline.core.errors import BadRecord
from pipeline.core.charset import decode_html
from pipeline.stages.language import detect_language
from pipeline.stages.extract import extract
from pipeline.core.dates import find_first_date, parse_date, zone
from pipeline.stages.meta import strip_site_name

P1 = "قالت مصادر محلية إن طائرات حربية روسية شنت صباح اليوم غارات على أطراف بلدة البارة في جبل الزاوية جنوبي إدلب."
P2 = "وأضافت المصادر أن فرق الدفاع المدني انتشلت جثتي مدنيين من تحت الأنقاض، فيما أصيب خمسة آخرون بجروح متفاوتة."
P3 = "وتشهد المنطقة تصعيداً متواصلاً منذ مطلع الشهر الجاري رغم اتفاق وقف إطلاق النار الموقع بين موسكو وأنقرة في آذار 2020."
P4 = "ويقطن في شمال غربي سوريا أكثر من أربعة ملايين نسمة، نصفهم تقريباً من النازحين من مناطق أخرى."
BODY = [P1, P2, P3, P4]


def _paras(html: str) -> str:
    return "\n".join(extract(html.encode("utf-8")).paragraphs)


def _page(body: str, head: str = "", lang: str = "ar") -> str:
    return f'<!DOCTYPE html><html lang="{lang}" dir="rtl"><head><meta charset="utf-8">{head}</head><body>{body}</body></html>'


# --------------------------------------------------------------------------- CMS shapes


ALJAZEERA_LIKE = _page(
    head=(
        "<title>غارات روسية على جبل الزاوية | أخبار | الجزيرة نت</title>"
        '<meta property="og:title" content="غارات روسية على جبل الزاوية | الجزيرة نت">'
        '<meta property="og:site_name" content="الجزيرة نت">'
        '<link rel="canonical" href="https://www.aljazeera.net/news/2021/6/10/raids">'
        '<script type="application/ld+json">'
        + json.dumps({"@context": "https://schema.org", "@graph": [
            {"@type": "WebSite", "name": "الجزيرة نت"},
            {"@type": "NewsArticle", "headline": "غارات روسية على جبل الزاوية",
             "datePublished": "2021-06-10T09:15:00Z", "author": [{"@type": "Person", "name": "عمر يوسف"}],
             "publisher": {"@type": "Organization", "name": "الجزيرة نت"}}]}, ensure_ascii=False)
        + "</script>"
    ),
    body=(
        '<header class="site-header"><nav><ul><li><a href="/">الرئيسية</a></li><li><a href="/news">أخبار</a></li>'
        '<li><a href="/politics">سياسة</a></li></ul></nav></header>'
        '<main id="main-content"><article><header class="article-header"><h1>غارات روسية على جبل الزاوية</h1>'
        '<div class="article-dates"><span>10/6/2021</span></div></header>'
        '<div class="wysiwyg wysiwyg--all-content">'
        + "".join(f"<p>{p}</p>" for p in BODY[:2])
        + '<div class="more-on"><h2>اقرأ أيضا</h2><ul><li><a href="/a">قسد تعلن اعتقال خلية تابعة لتنظيم الدولة</a></li>'
          '<li><a href="/b">الليرة السورية تسجل انخفاضاً جديداً أمام الدولار</a></li></ul></div>'
        + "".join(f"<p>{p}</p>" for p in BODY[2:])
        + '</div><div class="article-share"><a href="#">فيسبوك</a><a href="#">تويتر</a></div></article>'
        '<section class="related-articles"><h2>مقالات ذات صلة</h2><article><h3><a href="/c">ارتفاع أسعار الخبز في مناطق النظام</a></h3>'
        "<p>قالت مصادر محلية إن أسعار الخبز ارتفعت للمرة الثالثة هذا العام وسط غياب الرقابة.</p></article></section></main>"
        '<footer><p>جميع الحقوق محفوظة © 2021 شبكة الجزيرة الإعلامية</p></footer>'
    ),
)


def test_arc_like_page_metadata_and_body():
    ex = extract(ALJAZEERA_LIKE.encode("utf-8"), url="https://www.aljazeera.net/news/x")
    assert ex.title == "غارات روسية على جبل الزاوية"
    assert ex.site_name == "الجزيرة نت"
    assert ex.url == "https://www.aljazeera.net/news/2021/6/10/raids"
    assert ex.author == "عمر يوسف"
    assert ex.published_at == datetime(2021, 6, 10, 9, 15, tzinfo=timezone.utc)
    assert ex.language == "ar"
    text = "\n".join(ex.paragraphs)
    for p in BODY:
        assert p in text
    # related block, share bar, menu and footer never reach the body
    assert "ارتفاع أسعار الخبز" not in text
    assert "قسد تعلن" not in text
    assert "فيسبوك" not in text and "الرئيسية" not in text and "جميع الحقوق" not in text


BBC_LIKE = _page(
    head='<title>الأمم المتحدة تحذر من نقص التمويل - BBC News عربي</title><meta property="og:site_name" content="BBC News عربي">',
    body=(
        '<div id="root"><header role="banner"><a href="/arabic">BBC News عربي</a></header>'
        '<main role="main"><div dir="rtl"><h1 id="content">الأمم المتحدة تحذر من نقص التمويل</h1>'
        '<time datetime="2023-02-08">8 فبراير/ شباط 2023</time>'
        + "".join(f'<div data-component="text-block"><p>{p}</p></div>' for p in BODY)
        + '<section aria-labelledby="related-content-heading" role="region"><h2 id="related-content-heading">قصص ذات صلة</h2>'
          '<ul><li><a href="/x">لبنان يبدأ ترحيل دفعة جديدة من اللاجئين السوريين</a></li></ul></section></div></main></div>'
    ),
)


def test_bbc_like_paragraph_per_block_and_time_element():
    ex = extract(BBC_LIKE.encode("utf-8"))
    assert ex.title == "الأمم المتحدة تحذر من نقص التمويل"
    assert ex.published_at.date().isoformat() == "2023-02-08"
    assert ex.paragraphs[-4:] == BODY or all(p in ex.paragraphs for p in BODY)
    assert not any("ترحيل دفعة" in p for p in ex.paragraphs)


def test_div_per_paragraph_and_split_story_blocks():
    """No <p> at all, and the story split in two containers around an ad and an image."""
    html = _page(
        head="<title>تصعيد في جبل الزاوية</title>",
        body=(
            '<div class="x1"><div class="x2">'
            + "".join(f'<div class="t">{p}</div>' for p in BODY[:2])
            + '</div><div class="x3"><img src="/a.jpg" alt=""></div><div class="ad-slot"><script>googletag.cmd.push(function(){});</script></div>'
            + '<div class="x2b">' + "".join(f'<div class="t">{p}</div>' for p in BODY[2:]) + "</div></div>"
        ),
    )
    text = _paras(html)
    for p in BODY:
        assert p in text


def test_elementor_story_split_across_widgets():
    widget = ('<div class="elementor-element elementor-widget elementor-widget-text-editor"><div class="elementor-widget-container">'
              "{}</div></div>")
    html = _page(
        head="<title>عنوان</title>",
        body=(
            '<div class="elementor elementor-123"><div class="elementor-column">'
            + widget.format("".join(f"<p>{p}</p>" for p in BODY[:3]))
            + '<div class="elementor-element elementor-widget elementor-widget-image"><img src="/i.jpg" alt=""></div>'
            + widget.format(f"<p>{BODY[3]}</p>")
            + '<div class="elementor-element elementor-widget elementor-widget-share-buttons"><a href="#">فيسبوك</a> <a href="#">واتساب</a></div>'
            + "</div></div>"
        ),
    )
    text = _paras(html)
    for p in BODY:
        assert p in text
    assert "واتساب" not in text


def test_teaser_cards_without_class_names_are_dropped():
    card = '<div><a href="/n{0}"><img src="/t{0}.jpg" alt=""></a><div><a href="/n{0}">{1}</a></div><div>{2}</div></div>'
    teasers = "".join(card.format(i, h, "وأوضح التقرير أن الأسعار ارتفعت بنسبة تجاوزت ثلاثين بالمئة مقارنة بالشهر الماضي.")
                      for i, h in enumerate(["عنوان أول لخبر آخر تماماً", "عنوان ثان لخبر آخر مختلف", "عنوان ثالث لخبر آخر جديد"]))
    html = _page(head="<title>عنوان</title>", body=f"<div><div>{''.join(f'<p>{p}</p>' for p in BODY)}</div><div>{teasers}</div></div>")
    text = _paras(html)
    assert P4 in text
    assert "ثلاثين بالمئة" not in text


def test_author_box_is_dropped():
    html = _page(
        head='<title>عنوان</title><meta name="author" content="رنا يوسف">',
        body=("<div>" + "".join(f"<p>{p}</p>" for p in BODY)
              + '<div><img src="/a.jpg" alt="رنا يوسف"><a href="/author/rana">رنا يوسف</a>'
              "<div>صحفية سورية مقيمة في إسطنبول تكتب في الشأن الإنساني.</div></div></div>"),
    )
    text = _paras(html)
    assert P4 in text and "مقيمة في إسطنبول" not in text


def test_jsonld_article_body_when_page_body_is_a_script_shell():
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": "عنوان التقرير",
          "datePublished": "2020-03-05T10:00:00+03:00", "articleBody": "\n".join(BODY)}
    html = _page(head=f'<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script><title>عنوان التقرير</title>',
                 body='<div id="app"></div><script>window.__STATE__={}</script>')
    ex = extract(html.encode("utf-8"))
    assert ex.method == "jsonld"
    assert ex.paragraphs == BODY
    assert ex.title == "عنوان التقرير"


def test_br_separated_legacy_table_in_windows_1256():
    body = "<br><br>".join(BODY)
    html = (
        '<html dir="rtl"><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1256">'
        "<title>شبكة الأخبار - غارات على جبل الزاوية</title></head><body><table><tr><td>"
        '<a href="a.asp">الرئيسية</a> | <a href="b.asp">أخبار</a> | <a href="c.asp">رياضة</a></td></tr>'
        '<tr><td><img src="logo.gif" alt="شبكة الأخبار"></td></tr><tr><td>'
        '<font color="#666666">10/06/2021</font><br><font size="4"><b>غارات على جبل الزاوية</b></font><br>'
        f'<font face="Arial">{body}</font></td></tr></table></body></html>'
    ).encode("cp1256")
    # the server says latin-1 (a common mislabel); the meta tag is right
    ex = extract(html, charset="ISO-8859-1")
    assert ex.paragraphs == BODY
    assert ex.title == "غارات على جبل الزاوية"
    assert ex.published_at.date().isoformat() == "2021-06-10"


# --------------------------------------------------------------------------- charset


def test_decode_html_charsets():
    text = "<html><body><p>إدلب</p></body></html>"
    assert decode_html(text.encode("utf-8")).text == text
    assert decode_html(text.encode("utf-8"), "windows-1256").text == text  # valid UTF-8 wins over a wrong label
    cp = ('<meta charset="windows-1256">' + text).encode("cp1256")
    assert "إدلب" in decode_html(cp).text
    assert "إدلب" in decode_html(text.encode("cp1256"), "windows-1256").text
    assert "إدلب" in decode_html(text.encode("iso-8859-6"), "iso-8859-6").text
    assert "إدلب" in decode_html(b"\xef\xbb\xbf" + text.encode("utf-8")).text
    assert "إدلب" in decode_html(text.encode("utf-16")).text
    # undeclared legacy bytes: detection, else windows-1256
    assert "إدلب" in decode_html(("<html><body><p>" + P1 + "</p></body></html>").encode("cp1256")).text
    assert decode_html(text).text is text


# --------------------------------------------------------------------------- metadata helpers


def test_strip_site_name():
    assert strip_site_name("روسيا تتحدث عن حشود | عنب بلدي", ["عنب بلدي"]) == "روسيا تتحدث عن حشود"
    assert strip_site_name("أورينت نت - على وقع التصعيد بإدلب", ["أورينت نت"]) == "على وقع التصعيد بإدلب"
    assert strip_site_name("سجال غربي - روسي حول الكيماوي", ["الشرق الأوسط"]) == "سجال غربي - روسي حول الكيماوي"
    assert strip_site_name("عنوان", []) == "عنوان"


@pytest.mark.parametrize(
    "value, iso",
    [
        ("2020-09-25T09:06:00+03:00", "2020-09-25T09:06:00+03:00"),
        ("2020-09-25T06:06:00Z", "2020-09-25T06:06:00+00:00"),
        ("2020-09-25 09:06", "2020-09-25T09:06:00+00:00"),
        ("الخميس 12 كانون الأول 2019", "2019-12-12T00:00:00+00:00"),
        ("25 سبتمبر 2020 - 09:06 م", "2020-09-25T21:06:00+00:00"),
        ("٢٥ أيلول ٢٠٢٠", "2020-09-25T00:00:00+00:00"),
        ("16/12/2024", "2024-12-16T00:00:00+00:00"),
        ("Thu, 12 Dec 2019 10:00:00 GMT", "2019-12-12T10:00:00+00:00"),
    ],
)
def test_parse_date(value, iso):
    assert parse_date(value).isoformat() == iso


def test_parse_date_rejects_nonsense_and_future():
    assert parse_date("غداً") is None
    assert parse_date("2999-01-01") is None
    assert parse_date("") is None
    assert find_first_date("نشر في 3 مارس 2021 ثم عُدّل في 5 مارس 2021").day == 3


def test_detect_language():
    assert detect_language(P1) == "ar"
    assert detect_language("The Syrian government said on Tuesday that its forces had entered the town.") == "en"
    assert detect_language("Le gouvernement syrien a annoncé que les forces sont entrées dans la ville.") == "fr"
    assert detect_language("دولت سوریه اعلام کرد که نیروهایش وارد این شهر شده‌اند و این یک گزارش است.") == "fa"


def test_english_page_is_kept_with_language_set():
    html = _page(head="<title>Russian strikes hit Idlib | Reuters</title>", lang="en",
                 body="<article><h1>Russian strikes hit Idlib</h1>" + "".join(
                     f"<p>{s}</p>" for s in [
                         "Russian jets struck villages in Idlib on Wednesday, killing at least seven civilians, rescuers said.",
                         "The strikes were among the heaviest since a ceasefire brokered by Moscow and Ankara last year.",
                     ]) + "</article>")
    ex = extract(html.encode("utf-8"))
    assert ex.language == "en"
    assert ex.title == "Russian strikes hit Idlib"


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "payload, reason",
    [
        (b"", "empty"),
        (b"   \n\t ", "empty"),
        (b"%PDF-1.7\n...", "not_html"),
        (b"\x89PNG\r\n\x1a\n....", "not_html"),
        (b"\x1f\x8b\x08\x00\x00", "not_html"),
        (b'{"title": "x", "body": "y"}', "not_html"),
        ("مرحبا، هذا نص عادي من دون أي وسوم".encode(), "not_html"),
        (bytes(range(256)) * 20, "not_html"),
        (b"<html></html>", "not_html"),
        (b"<html><body><script>var a = 1;</script></body></html>", "no_article"),
        (b"<html><body>" + b"".join(b'<div><a href="/%d">\xd8\xae\xd8\xa8\xd8\xb1 \xd8\xb1\xd9\x82\xd9\x85 %d \xd8\xb9\xd9\x86 \xd8\xb4\xd9\x8a\xd8\xa1</a></div>' % (i, i) for i in range(300)) + b"</body></html>", "no_article"),
    ],
)
def test_bad_input_is_a_bad_record(payload, reason):
    with pytest.raises(BadRecord) as e:
        extract(payload)
    assert e.value.reason == reason


def test_too_large_is_refused(monkeypatch):
    import pipeline.stages.page as ex_mod

    monkeypatch.setattr(ex_mod, "MAX_PAGE_BYTES", 10_000)
    with pytest.raises(BadRecord) as e:
        extract(b"<html><body>" + b"<p>x</p>" * 5000 + b"</body></html>")
    assert e.value.reason == "too_large"


def test_truncated_html_still_extracts():
    html = ALJAZEERA_LIKE.encode("utf-8")
    cut = html[: html.index(P4.encode("utf-8")) + 40]  # cut inside the last paragraph
    ex = extract(cut)
    assert P1 in "\n".join(ex.paragraphs)


def test_hostile_pages_end_quickly():
    deep = b"<html><body>" + b"<div>" * 100_000 + "نص ".encode() * 100 + b"</div>" * 100_000 + b"</body></html>"
    big_para = ("<p>" + "كلمة " * 300 + "</p>") * 4000
    giant = _page(head="<title>عنوان</title>", body=f"<div>{big_para}</div>").encode("utf-8")
    for payload in (deep, giant):
        t0 = time.perf_counter()
        try:
            ex = extract(payload)
            assert sum(len(p) for p in ex.paragraphs) <= 400_000
        except BadRecord:
            pass
        assert time.perf_counter() - t0 < 10


def test_arabic_typed_with_persian_letters_is_arabic():
    assert detect_language("قالت مصادر محلیة إن طائرات حربیة روسیة شنت غارات على أطراف بلدة البارة في جبل الزاویة.") == "ar"


def test_utf8_cut_inside_a_character_is_still_utf8():
    data = ("<html><body><p>" + P1 + "</p></body></html>").encode("utf-8")
    cut = data[: data.index("إدلب".encode()) + 3]  # inside the second letter
    assert decode_html(cut).text.startswith("<html><body><p>قالت مصادر محلية")


def test_long_reader_comments_do_not_outweigh_a_short_story():
    comment = "أتفق تماماً مع ما ورد في هذا الخبر، والوضع في الشمال السوري يزداد سوءاً يوماً بعد يوم ولا أحد يتحرك لإنقاذ المدنيين هناك."
    html = _page(
        head="<title>غارات روسية على البارة</title>",
        body=(f"<div class='main'><h1>غارات روسية على البارة</h1><div class='txt'><p>{P1}</p><p>{P2}</p></div></div>"
              "<div id='comments'><h3>التعليقات</h3>" + "".join(f"<p>{comment}</p>" for _ in range(8)) + "</div>"),
    )
    text = _paras(html)
    assert P1 in text and P2 in text
    assert "أتفق تماماً" not in text


def test_a_time_without_an_offset_is_read_on_the_outlets_clock():
    """«09:06 م» on a Damascus page is 18:06 UTC, not 21:06; a written offset still wins, an aware value is
    what it says, and a bare date stays a day (UTC midnight), whatever the zone."""
    damascus = zone("Asia/Damascus")
    assert parse_date("25 سبتمبر 2024 - 09:06 م", damascus).astimezone(timezone.utc).isoformat() == \
        "2024-09-25T18:06:00+00:00"
    assert parse_date("2024-09-25 09:06", damascus).astimezone(timezone.utc).hour == 6
    assert parse_date("2024-09-25T09:06:00+02:00", damascus).utcoffset().total_seconds() == 2 * 3600
    assert parse_date("Wed, 25 Sep 2024 09:06:00 GMT", damascus).utcoffset().total_seconds() == 0
    assert parse_date("2024-09-25 09:06 (GMT+0400)", damascus).utcoffset().total_seconds() == 4 * 3600
    assert parse_date("الأربعاء 25 أيلول 2024", damascus).isoformat() == "2024-09-25T00:00:00+00:00"
    # the zone's own rules: Damascus kept summer time until 2022, +02:00 in winter before it
    assert parse_date("2019-12-12 10:00", damascus).astimezone(timezone.utc).hour == 8
    assert find_first_date("نشر في 5 آذار 2024 الساعة 09:30", damascus).astimezone(timezone.utc).hour == 6
    assert parse_date("2024-09-25 09:06").utcoffset().total_seconds() == 0  # no zone given: UTC, as before
    assert zone("Mars/Olympus") is None and zone("") is None and zone(None) is None


def test_extract_reads_the_pages_own_time_in_the_zone_given():
    body = "".join(f"<p>فقرة رقم {i} من الخبر عن قصف مدفعي على مدينة سراقب في ريف إدلب الشرقي وسقوط جرحى.</p>"
                   for i in range(6))
    html = (f"<html><head><title>قصف على سراقب</title><meta property='article:published_time' "
            f"content='2024-03-24T18:20:00'></head><body><article><h1>قصف على سراقب</h1>{body}</article></body></html>")
    assert extract(html).published_at.isoformat() == "2024-03-24T18:20:00+00:00"
    local = extract(html, local_tz=zone("Europe/Istanbul")).published_at
    assert local.astimezone(timezone.utc).isoformat() == "2024-03-24T15:20:00+00:00"


def test_parse_date_keeps_a_written_gmt_offset():
    d = parse_date("الأربعاء، 28 آب/اغسطس 2013، آخر تحديث 14:00 (GMT+0400)")
    assert d is not None and d.utcoffset().total_seconds() == 4 * 3600
    assert d.astimezone(timezone.utc).hour == 10
    assert find_first_date("نشر في 5 آذار 2020 الساعة 09:30 بتوقيت GMT+0200").utcoffset().total_seconds() == 7200
