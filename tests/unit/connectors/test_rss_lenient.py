"""Malformed feeds are read, not failed (connectors/rss.py): what SANA and similar feeds send."""

from __future__ import annotations

import codecs

import feedparser

from connectors.rss import FeedDiscovery, recover_entries, strip_stray_controls

from .conftest import BASE, make_source


def item(i: int, title: str = "خبر") -> str:
    return (f"<item><title>{title} {i}</title><link>{BASE}/2026/10/0{i}/article-{i}</link>"
            f"<pubDate>Thu, 0{i} Oct 2026 10:00:00 +0300</pubDate></item>")


def parse(body: bytes):
    src = make_source()
    return FeedDiscovery(src, src.feeds[0]).parse(body, BASE + "/feed/", "application/rss+xml")


def test_stray_control_bytes_are_dropped_but_utf16_is_left_alone():
    body, changed = strip_stray_controls(b'<?xml version="1.0"?><rss>\x00a\x0bb\x1bc\tok</rss>')
    assert changed and body == b'<?xml version="1.0"?><rss>abc\tok</rss>'
    utf16 = codecs.BOM_UTF16_LE + '<?xml version="1.0"?><rss/>'.encode("utf-16-le")
    assert strip_stray_controls(utf16) == (utf16, False)


def test_nul_bytes_deep_in_a_feed_no_longer_break_it():
    # a NUL after the first 4 KB passed the binary check and made feedparser raise ValueError
    filler = "".join(item(i % 9 + 1, "ح" * 200) for i in range(12))
    body = ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
            + filler + "</channel></rss>").encode().replace(b"</title><link>", b"</title>\x00<link>")
    assert len(body) > 4096
    out = parse(body)
    assert len(out.candidates) == 9 and out.warnings == ["recovered_malformed_feed"]


def test_when_feedparser_gets_no_link_libxml2_recovers_the_items():
    # an unclosed comment in the first item swallows every link for feedparser
    doc = ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>سانا</title>'
           + item(1).replace("<title>خبر", "<title><!-- خبر") + item(2) + item(3) + "</channel></rss>").encode()
    parsed = feedparser.parse(doc)
    assert not [e for e in parsed.entries if e.get("link")]
    assert len(recover_entries(doc)) == 3  # item by item: the broken one costs only itself
    out = parse(doc)
    # the first item lost its link inside the comment; the others are whole
    assert [c.url.rsplit("/", 1)[1] for c in out.candidates] == ["article-2", "article-3"]
    assert out.warnings == ["recovered_malformed_feed"]
    assert all(c.listing.published_at is not None for c in out.candidates)


def test_junk_before_the_root_and_bad_entities():
    doc = ('<br />\n<b>Warning</b>: headers already sent in <b>/var/www/feed.php</b><br />\n'
           '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" version="2.0"><channel><title>a &nbsp; b</title>'
           + item(1).replace("خبر", "خبر &raquo; &") + item(2) + "</channel></rss>").encode()
    out = parse(doc)
    assert len(out.candidates) == 2 and out.warnings == ["recovered_malformed_feed"]
