import pytest

from connectors.fetcher import build_raw_page, encode_within_limit, prepare
from connectors.http import Response
from pipeline.core.errors import BadRecord
from pipeline.core.ids import article_id
from pipeline.core.schema import Listing, RawPage

from .conftest import BASE, fixture_bytes

A1_CANON = BASE + "/ar/news_show/185466/" + (
    "%D8%AA%D8%AD%D8%B1%D9%8A%D8%B1-%D8%A7%D9%84%D8%B4%D8%A7%D9%85-%D8%AA%D8%AA%D9%88%D8%B9%D8%AF-"
    "%D8%A7%D9%84%D8%A7%D8%AD%D8%AA%D9%84%D8%A7%D9%84-%D8%A7%D9%84%D8%B1%D9%88%D8%B3%D9%8A")


def resp(body: bytes, url: str, ctype: str = "text/html; charset=utf-8", **headers) -> Response:
    h = {"content-type": ctype, **headers}
    return Response(url=url, final_url=url, status=200, headers=h, body=body, elapsed=0.01)


def test_rel_canonical_same_site_is_used_and_cleaned():
    r = resp(fixture_bytes("articles/a1.html"), BASE + "/ar/news_show/185466?from=rss")
    p = prepare(r)
    assert p.canonical_url == A1_CANON  # utm_* from the canonical link dropped, slug percent-encoded
    assert p.id == article_id(A1_CANON)
    assert p.decoded.charset == "utf-8"


def test_rel_canonical_to_another_site_is_ignored():
    body = fixture_bytes("articles/a1.html", base="https://aggregator.example")
    r = resp(body, BASE + "/ar/news_show/185466?utm_source=x#c")
    assert prepare(r).canonical_url == BASE + "/ar/news_show/185466"


def test_www_variant_counts_as_same_site():
    body = fixture_bytes("articles/a1.html", base="https://www.outlet.example")
    assert prepare(resp(body, BASE + "/x")).canonical_url.startswith("https://www.outlet.example/ar/news_show/")


def test_cp1256_page_with_misleading_header():
    r = resp(fixture_bytes("articles/a5.html"), BASE + "/news/syria/losses-regime-west-aleppo-chemical-attack",
             "text/html; charset=iso-8859-1", etag='"abc"', **{"last-modified": "Wed, 01 Jan 2020 00:00:00 GMT"})
    p = prepare(r)
    assert p.decoded.charset == "cp1256"
    page = build_raw_page(r, p, source="syria-tv", listing=Listing(title="خسائر"))
    assert page.charset == "cp1256" and page.headers["etag"] == '"abc"'
    assert page.html_bytes() == r.body  # the bytes as fetched, losslessly
    back = RawPage.model_validate_json(encode_within_limit(page, 1_000_000))
    assert back.id == p.id and back.listing.title == "خسائر" and back.source == "syria-tv"
    assert back.timezone is None
    zoned = build_raw_page(r, p, source="syria-tv", listing=Listing(), timezone="Europe/Istanbul")
    assert RawPage.model_validate_json(encode_within_limit(zoned, 1_000_000)).timezone == "Europe/Istanbul"
    assert back.html_bytes().decode(back.charset).count("خسائر للنظام غرب حلب") >= 1


def test_content_hash_ignores_scripts_but_not_text():
    body = fixture_bytes("articles/a2.html")
    h1 = prepare(resp(body, BASE + "/archives/351234")).content_hash
    h2 = prepare(resp(body.replace(b"googletag.cmd || []", b"googletag.cmd || [1,2,3]"),
                      BASE + "/archives/351234")).content_hash
    h3 = prepare(resp(body.replace("حلب".encode(), "دمشق".encode()), BASE + "/archives/351234")).content_hash
    assert h1 == h2 != h3


@pytest.mark.parametrize(
    "body, ctype, reason",
    [
        (b"", "text/html", "empty_body"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10, "text/html", "binary_body"),
        (b"%PDF-1.4 ...", "application/pdf", "not_html"),
        (b"\xff\xd8\xff\xe0" + bytes(200), "image/jpeg", "not_html"),
    ],
)
def test_not_a_page(body, ctype, reason):
    with pytest.raises(BadRecord) as ei:
        prepare(resp(body, BASE + "/x", ctype))
    assert ei.value.reason == reason


def test_kafka_size_limit():
    import os

    noise = os.urandom(1_000_000).hex().encode()  # incompressible-ish
    body = b"<html><body><p>" + noise + b"</p></body></html>"
    r = resp(body, BASE + "/big-page-slug-here")
    page = build_raw_page(r, prepare(r), source="t", listing=Listing())
    with pytest.raises(BadRecord) as ei:
        encode_within_limit(page, 1_000_000)
    assert ei.value.reason == "too_large"
    assert len(encode_within_limit(page, 5_000_000)) > 1_000_000
