"""RSS, Atom, Google News sitemap, sitemap index and section pages built from the seed articles."""

from datetime import datetime, timezone

import pytest

from connectors.base import ParseError
from connectors.kinds import discovery_for
from pipeline.core.urls import canonicalize

from .conftest import BASE, fixture_bytes, make_source


def parse(kind, name, source=None, *, ctype=None, body=None, url=None):
    source = source or make_source()
    ep = {"feed": source.feeds, "sitemap": source.sitemaps, "section": source.sections}[kind][0]
    return discovery_for(kind, source, ep).parse(body if body is not None else fixture_bytes(name), url or ep.url, ctype)


def test_rss():
    out = parse("feed", "rss.xml", ctype="application/rss+xml; charset=utf-8")
    assert out.entries == 5
    urls = [canonicalize(c.url) for c in out.candidates]
    assert urls[0].startswith(BASE + "/ar/news_show/185466/%D8%AA") and "utm_" not in urls[0]
    assert urls[1] == BASE + "/archives/351234"  # relative <link> resolved against the feed
    assert BASE + "/private/report-2019-internal" in urls  # robots are the fetcher's business
    assert out.rejected == [("javascript:alert(document.cookie)", "scheme_javascript")]
    first = out.candidates[0].listing
    assert first.title.startswith("على وقع التصعيد بإدلب")
    assert first.published_at == datetime(2020, 9, 25, 6, 6, tzinfo=timezone.utc)
    assert first.author == "أورينت نت"
    assert first.image == BASE + "/images/185466.jpg"
    assert first.summary.startswith("توعد مسؤول في \"هيئة تحرير الشام\"") and "<b>" not in first.summary
    assert first.via == BASE + "/rss.xml"
    assert out.candidates[1].listing.author == "عنب بلدي"
    assert out.candidates[1].listing.image == BASE + "/images/351234.jpg"
    assert out.last_published() == first.published_at
    assert not out.warnings


def test_atom():
    out = parse("feed", "atom.xml", ctype="application/atom+xml")
    assert [c.listing.title[:10] for c in out.candidates] == ["أسلحة تركي", "سجال غربي "]
    assert canonicalize(out.candidates[0].url) == BASE + "/2019/05/21/turkish-weapons-russians-idlib"
    assert out.candidates[0].listing.published_at == datetime(2019, 5, 21, 9, 0, tzinfo=timezone.utc)
    assert out.candidates[1].url.startswith(BASE + "/node/1837641/")  # relative href resolved
    assert out.candidates[1].listing.image == BASE + "/images/1837641.jpg"
    assert out.candidates[1].listing.author == "الشرق الأوسط"


def test_google_news_sitemap():
    out = parse("sitemap", "news-sitemap.xml")
    assert out.entries == 3
    assert [c.listing.title[:9] for c in out.candidates] == ["سجال غربي", "خسائر للن"]  # document order
    assert out.candidates[1].listing.published_at == datetime(2019, 12, 18, 7, 15, tzinfo=timezone.utc)
    assert out.candidates[0].listing.image == BASE + "/images/1837641.jpg"
    assert out.rejected == [("file:///etc/passwd", "scheme_file")]


def test_sitemap_index_yields_newest_children():
    out = parse("sitemap", "sitemap-index.xml")
    assert out.candidates == []
    assert out.children == [BASE + "/news-sitemap.xml", BASE + "/sitemap-2019-a.xml", BASE + "/sitemap-2018.xml"]
    assert out.rejected == [("ftp://example.org/sitemap.xml", "scheme_ftp")]


def test_gzipped_sitemap():
    import gzip

    out = parse("sitemap", "", body=gzip.compress(fixture_bytes("news-sitemap.xml")))
    assert len(out.candidates) == 2


def test_rss_in_a_sitemap_slot():
    out = parse("sitemap", "rss.xml")
    assert len(out.candidates) == 4 and "feed_in_sitemap_slot" in out.warnings


def test_section_heuristic():
    out = parse("section", "section.html", ctype="text/html; charset=utf-8")
    urls = [canonicalize(c.url) for c in out.candidates]
    assert urls == [BASE + "/news/syria/losses-regime-west-aleppo-chemical-attack",
                    canonicalize(BASE + "/ar/news_show/185466/تحرير-الشام-تتوعد-الاحتلال-الروسي")]
    # image-only link and headline link merged: title from the headline, image from the picture
    first = out.candidates[0].listing
    assert first.title.startswith("خسائر للنظام غرب حلب.. ووسائل")
    assert first.image == BASE + "/images/losses.jpg"
    assert first.published_at == datetime(2019, 12, 18, 7, 15, tzinfo=timezone.utc)  # <time> of the card
    reasons = sorted(r for _, r in out.rejected)
    assert reasons == ["credentials_in_url", "scheme_file", "scheme_javascript"]


def test_section_selector_and_pattern():
    src = make_source(sections=[{"url": BASE + "/section/syria", "selector": "main article.card"}])
    out = parse("section", "section.html", src)
    assert len(out.candidates) == 2
    assert out.candidates[0].listing.published_at == datetime(2019, 12, 18, 7, 15, tzinfo=timezone.utc)
    src = make_source(sections=[{"url": BASE + "/section/syria", "pattern": r"/news_show/\d+"}])
    out = parse("section", "section.html", src)
    assert [c.listing.title[:6] for c in out.candidates] == ["على وق"]


def test_section_in_windows_1256_labelled_latin1():
    html = ("<html><head><meta charset='windows-1256'></head><body>"
            "<a href='/2019/12/18/khasaer-halab'>خسائر للنظام غرب حلب</a></body></html>").encode("cp1256")
    out = parse("section", "", body=html, ctype="text/html; charset=iso-8859-1")
    assert out.candidates[0].listing.title == "خسائر للنظام غرب حلب"


def test_max_items_keeps_newest():
    src = make_source(max_items=2)
    out = parse("feed", "rss.xml", src)
    assert [c.listing.published_at.year for c in out.candidates] == [2020, 2019]
    assert out.candidates[1].listing.published_at.month == 12


def test_truncated_feed_is_recovered_with_warning():
    out = parse("feed", "bad/truncated.xml")
    assert out.candidates and out.candidates[0].listing.title.startswith("على وقع التصعيد")
    assert "recovered_malformed_feed" in out.warnings


def test_truncated_sitemap_is_recovered_with_warning():
    out = parse("sitemap", "bad/truncated-sitemap.xml")
    assert len(out.candidates) >= 1 and "recovered_malformed_xml" in out.warnings


def test_empty_feed_is_fine():
    out = parse("feed", "bad/empty-rss.xml")
    assert out.candidates == [] and out.entries == 0


@pytest.mark.parametrize(
    "kind, body, reason",
    [
        ("feed", fixture_bytes("bad/html-as-feed.html"), "not_a_feed"),
        ("sitemap", fixture_bytes("bad/html-as-feed.html"), "not_a_sitemap"),
        ("feed", b"", "empty_body"),
        ("sitemap", b"   ", "empty_body"),
        ("feed", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "binary_body"),
        ("sitemap", b"\x00\x01\x02junk" * 100, "binary_body"),
        ("section", b"\x00\x01\x02junk" * 100, "binary_body"),
        ("sitemap", b"<?xml version='1.0'?><nonsense><a>1</a></nonsense>", "not_a_sitemap"),
        ("sitemap", b"<<<< not xml at all", "malformed_xml"),
        ("feed", b"<?xml version='1.0'?><rss><channel><item><title>x</ti", "malformed_feed"),
        ("sitemap", b"\x1f\x8b\x08\x00garbage", "bad_gzip"),
    ],
)
def test_bad_listings_raise_parse_error(kind, body, reason):
    with pytest.raises(ParseError) as ei:
        parse(kind, "", body=body)
    assert ei.value.reason == reason


def test_xxe_is_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    body = (f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file://{secret}">]>'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f'<url><loc>{BASE}/archives/1234567?x=&e;</loc></url></urlset>').encode()
    out = parse("sitemap", "", body=body)
    assert all("TOPSECRET" not in c.url for c in out.candidates)


# An outlet's listing dates written without an offset are its own clock, as on its pages: a Damascus
# outlet's «14:00» is 11:00 UTC, not 14:00 UTC (three hours late, out of the breaking window beside
# the other outlets). A written offset or zone wins; a bare date stays a day.
DAMASCUS = {"timezone": "Asia/Damascus"}


def _rss_with(date: str) -> bytes:
    return (f"<rss version='2.0'><channel><title>t</title><item><title>خبر</title><link>{BASE}/a/1</link>"
            f"<pubDate>{date}</pubDate></item></channel></rss>").encode()


@pytest.mark.parametrize("written, expected", [
    ("2020-09-25 09:06:00", datetime(2020, 9, 25, 6, 6, tzinfo=timezone.utc)),
    ("2020-09-25T09:06:00", datetime(2020, 9, 25, 6, 6, tzinfo=timezone.utc)),
    ("Fri, 25 Sep 2020 09:06:00", datetime(2020, 9, 25, 6, 6, tzinfo=timezone.utc)),  # feedparser reads none
    ("Fri, 25 Sep 2020 09:06:00 +0300", datetime(2020, 9, 25, 6, 6, tzinfo=timezone.utc)),
    ("Fri, 25 Sep 2020 09:06:00 GMT", datetime(2020, 9, 25, 9, 6, tzinfo=timezone.utc)),
    # Arabia Standard Time, not feedparser's Atlantic; «GMT+3» three hours ahead, not its POSIX -3
    ("Fri, 25 Sep 2020 09:06:00 AST", datetime(2020, 9, 25, 6, 6, tzinfo=timezone.utc)),
    ("Fri, 25 Sep 2020 09:06:00 GMT+3", datetime(2020, 9, 25, 6, 6, tzinfo=timezone.utc)),
    ("Fri, 25 Sep 2020 09:06:00 EST", datetime(2020, 9, 25, 14, 6, tzinfo=timezone.utc)),
    ("2020-09-25T09:06:00Z", datetime(2020, 9, 25, 9, 6, tzinfo=timezone.utc)),
    ("2020-09-25", datetime(2020, 9, 25, tzinfo=timezone.utc)),
])
def test_feed_dates_without_offset_are_the_outlets_clock(written, expected):
    source = make_source(**DAMASCUS)
    assert source.local_timezone() == "Asia/Damascus"
    got = parse("feed", None, source, body=_rss_with(written)).candidates[0].listing.published_at
    assert got == expected
    assert got.utcoffset() is not None


def test_feed_dates_without_a_zone_known_stay_utc():
    got = parse("feed", None, make_source(), body=_rss_with("2020-09-25 09:06:00")).candidates[0].listing.published_at
    assert got == datetime(2020, 9, 25, 9, 6, tzinfo=timezone.utc)


def test_recovered_feed_dates_are_the_outlets_clock():
    body = _rss_with("2020-09-25 09:06:00").replace(b"<title>t</title>", b"<title>t &nbsp; &bogus;</title>")
    out = parse("feed", None, make_source(**DAMASCUS), body=body)
    assert out.candidates[0].listing.published_at == datetime(2020, 9, 25, 6, 6, tzinfo=timezone.utc)


def test_sitemap_dates_without_offset_are_the_outlets_clock():
    body = (f"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9' "
            f"xmlns:news='http://www.google.com/schemas/sitemap-news/0.9'>"
            f"<url><loc>{BASE}/a/1</loc><news:news><news:title>خبر</news:title>"
            f"<news:publication_date>2020-09-25T09:06:00</news:publication_date></news:news></url>"
            f"<url><loc>{BASE}/a/2</loc><lastmod>2020-09-25T09:06:00+03:00</lastmod></url></urlset>").encode()
    out = parse("sitemap", None, make_source(**DAMASCUS), body=body)
    when = {c.url: c.listing.published_at for c in out.candidates}
    assert when[BASE + "/a/1"] == datetime(2020, 9, 25, 6, 6, tzinfo=timezone.utc)
    assert when[BASE + "/a/2"] == datetime(2020, 9, 25, 6, 6, tzinfo=timezone.utc)
    plain = parse("sitemap", None, make_source(), body=body).candidates
    assert {c.url: c.listing.published_at for c in plain}[BASE + "/a/1"] == datetime(2020, 9, 25, 9, 6,
                                                                                     tzinfo=timezone.utc)


def test_section_dates_without_offset_are_the_outlets_clock():
    body = (f"<html><body><main><article><h2><a href='{BASE}/news/2020/09/25/strike-on-idlib-town'>"
            f"غارات على ريف إدلب الجنوبي وسقوط ضحايا</a></h2>"
            f"<time datetime='2020-09-25T09:06:00'>25 سبتمبر</time></article></main></body></html>").encode()
    out = parse("section", None, make_source(**DAMASCUS), body=body)
    assert out.candidates, "the card's link was not found"
    assert out.candidates[0].listing.published_at == datetime(2020, 9, 25, 6, 6, tzinfo=timezone.utc)
