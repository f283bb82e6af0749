import pytest

from pipeline.core.urls import (
    UnsafeURL,
    canonicalize,
    check_url_syntax,
    is_global_address,
    redact,
    looks_like_article,
    resolve,
)
from pipeline.core.ids import article_id


@pytest.mark.parametrize(
    "a, b",
    [
        ("HTTP://WWW.Outlet.EXAMPLE:80/a?b=2&a=1", "http://www.outlet.example/a?a=1&b=2"),
        ("https://outlet.example:443/x#comments", "https://outlet.example/x"),
        ("https://outlet.example/x?utm_source=rss&utm_medium=feed&id=7&fbclid=abc&gclid=z", "https://outlet.example/x?id=7"),
        ("https://outlet.example", "https://outlet.example/"),
        ("https://outlet.example/a/./b/../c", "https://outlet.example/a/c"),
        ("https://outlet.example/%7euser", "https://outlet.example/~user"),
        ("https://outlet.example:8443/x", "https://outlet.example:8443/x"),
    ],
)
def test_canonicalize(a, b):
    assert canonicalize(a) == b


def test_arabic_slug_spellings_share_one_id():
    raw = "https://outlet.example/ar/news_show/185466/تحرير-الشام"
    encoded = "https://outlet.example/ar/news_show/185466/%D8%AA%D8%AD%D8%B1%D9%8A%D8%B1-%D8%A7%D9%84%D8%B4%D8%A7%D9%85"
    lower = encoded.lower().replace("https://outlet.example/ar/news_show", "https://OUTLET.example/ar/news_show")
    ids = {article_id(canonicalize(u)) for u in (raw, encoded, lower, raw + "?utm_campaign=x#top")}
    assert len(ids) == 1


@pytest.mark.parametrize(
    "url, reason",
    [
        ("file:///etc/passwd", "scheme_file"),
        ("ftp://outlet.example/a", "scheme_ftp"),
        ("https://user:pw@outlet.example/a", "credentials_in_url"),
        ("https://@outlet.example/a", "credentials_in_url"),
        ("http:///nohost", "no_host"),
        ("https://outlet.example/a\nb", "control_chars"),
        ("https://outlet.example:99999/", "malformed_url"),
    ],
)
def test_unsafe_urls_refused(url, reason):
    with pytest.raises(UnsafeURL) as ei:
        check_url_syntax(url)
    assert ei.value.reason == reason


@pytest.mark.parametrize("href", ["javascript:alert(1)", " JavaScript:void(0)", "data:text/html,<b>x</b>",
                                  "file:///etc/passwd", "mailto:a@b.c", "vbscript:x"])
def test_hostile_links_refused(href):
    with pytest.raises(UnsafeURL):
        resolve(href, "https://outlet.example/section/")


def test_relative_links_resolve_against_page():
    assert resolve("../2020/01/02/slug-here", "https://outlet.example/news/section/") == \
        "https://outlet.example/news/2020/01/02/slug-here"
    assert resolve("//cdn.outlet.example/a", "https://outlet.example/") == "https://cdn.outlet.example/a"


def test_non_global_addresses():
    for a in ("127.0.0.1", "10.1.2.3", "[::1]", "169.254.169.254", "100.100.100.200", "0.0.0.0", "::ffff:127.0.0.1"):
        assert not is_global_address(a), a
    assert is_global_address("8.8.8.8")


@pytest.mark.parametrize("text", [
    "RASID_ES_URL=https://user:pass@es.example:9200",
    "got 'https://elastic:p/a:s@s@es.example:9200/x'",
    "ConnectionError(https://user:pass@10.0.0.5:9200) and http://u:p@h",
    "user:pass@es.example:9200",
])
def test_redact_removes_every_credential(text):
    out = redact(text)
    assert "pass" not in out and "p/a" not in out and "***@" in out


def test_redact_leaves_urls_without_credentials():
    for text in ("http://127.0.0.1:9200", "https://es.example/_bulk?x=1", "mail a@b.c", "at 10:00 @ home"):
        assert redact(text) == text


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://outlet.example/archives/351234", True),
        ("https://outlet.example/2019/05/21/turkish-weapons-russians-idlib", True),
        ("https://outlet.example/news/some-very-long-article-slug-here", True),
        ("https://outlet.example/node/1837641/%D8%B3%D8%AC", True),
        ("https://outlet.example/article.php?id=12345", True),
        ("https://outlet.example/tag/%D8%A5%D8%AF%D9%84%D8%A8/", False),
        ("https://outlet.example/category/syria/", False),
        ("https://outlet.example/author/some-long-author-name-here", False),
        ("https://outlet.example/page/2", False),
        ("https://outlet.example/2024/05/12/", False),
        ("https://outlet.example/about-us", False),
        ("https://outlet.example/images/photo-of-the-long-day-here.jpg", False),
        ("https://other.example/2019/12/18/some-long-article-slug", False),  # another site
        ("https://www.outlet.example/archives/351234", True),  # www. variant is the same site
    ],
)
def test_article_link_heuristic(url, expected):
    assert looks_like_article(url, "https://outlet.example/") is expected
