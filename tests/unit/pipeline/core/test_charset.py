"""Charset handling on the seed article served as windows-1256 (the way Arabic outlets still do)."""

import pytest

from pipeline.core.charset import decode_html, looks_binary, looks_like_mojibake, trim_incomplete_utf8

from tests.unit.connectors.conftest import fixture_bytes

TITLE = "خسائر للنظام غرب حلب"


@pytest.fixture
def cp1256_page() -> bytes:
    body = fixture_bytes("articles/a5.html")
    body.decode("cp1256")  # really cp1256
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    return body


@pytest.mark.parametrize("ctype", ["text/html; charset=windows-1256", "text/html; charset=cp1256"])
def test_correct_header(cp1256_page, ctype):
    d = decode_html(cp1256_page, ctype)
    assert d.charset == "cp1256" and d.method == "header"
    assert TITLE in d.text


@pytest.mark.parametrize("ctype", ["text/html; charset=iso-8859-1", "text/html; charset=utf-8", "text/html", None])
def test_wrong_or_missing_header_uses_meta(cp1256_page, ctype):
    d = decode_html(cp1256_page, ctype)
    assert d.charset == "cp1256"
    assert TITLE in d.text


@pytest.mark.parametrize("ctype", ["text/html; charset=iso-8859-1", "text/html; charset=utf-8", None])
def test_no_declaration_anywhere_is_sniffed(cp1256_page, ctype):
    body = cp1256_page.replace(b'<meta charset="windows-1256">', b"")
    d = decode_html(body, ctype)
    assert d.method == "sniff" and d.charset == "cp1256"
    assert TITLE in d.text
    assert not looks_like_mojibake(d.text)


def test_latin1_decoding_of_arabic_is_detected_as_mojibake(cp1256_page):
    assert looks_like_mojibake(cp1256_page.decode("latin-1"))
    assert not looks_like_mojibake(cp1256_page.decode("cp1256"))


def test_utf8_page_labelled_single_byte_is_read_as_utf8():
    body = fixture_bytes("articles/a1.html")
    for ctype in ("text/html; charset=iso-8859-1", "text/html; charset=windows-1256"):
        d = decode_html(body.replace(b'<meta charset="utf-8">', b""), ctype)
        assert d.charset == "utf-8", ctype
        assert "تحرير الشام" in d.text


def test_truncated_utf8_is_not_mistaken_for_another_charset():
    body = fixture_bytes("articles/a1.html")
    cut = body[:1001]
    assert trim_incomplete_utf8(cut) != cut or cut.decode("utf-8", "strict")
    d = decode_html(cut, "text/html")
    assert d.charset == "utf-8"


def test_bom_wins():
    d = decode_html("\ufeff<p>سوريا</p>".encode("utf-8"), "text/html; charset=iso-8859-1")
    assert d.method == "bom" and "سوريا" in d.text


def test_binary_sniffing():
    assert looks_binary(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    assert looks_binary(bytes(range(0, 32)) * 10)
    assert not looks_binary(fixture_bytes("articles/a5.html"))
    assert not looks_binary(fixture_bytes("articles/a1.html"))


@pytest.mark.parametrize("ctype", ["text/html; charset=utf-8", "text/html", None])
def test_utf8_with_a_few_bad_bytes_stays_utf8(ctype):
    """A handful of invalid bytes (a CMS that cut a character, a stray Latin-1 byte) must not turn
    the whole page into windows-1256 mojibake: they become U+FFFD and the rest reads as written."""
    body = fixture_bytes("articles/a1.html")
    broken = body[:3000] + b"\xff\xfe" + body[3000:6000] + b"\xe9" + body[6000:]
    d = decode_html(broken, ctype)
    assert d.charset == "utf-8" and d.method == "utf8-lenient"
    assert "تحرير الشام" in d.text and d.text.count("\ufffd") <= 6  # (an inserted byte may also cut a letter)
    assert not looks_like_mojibake(d.text)


def test_mostly_not_utf8_still_falls_back_to_windows_1256():
    body = fixture_bytes("articles/a5.html").replace(b'<meta charset="windows-1256">', b"")
    d = decode_html(body + "سوريا".encode("utf-8"), "text/html; charset=utf-8")
    assert d.charset == "cp1256" and TITLE in d.text


@pytest.mark.parametrize("ctype", ["text/html; charset=windows-1256", "text/html; charset=iso-8859-1"])
def test_utf8_with_a_few_bad_bytes_under_a_wrong_label_stays_utf8(ctype):
    """The label asks for more evidence, but a page whose multi-byte sequences are nearly all valid
    UTF-8 is UTF-8 whatever its header says."""
    body = fixture_bytes("articles/a1.html")
    broken = body[:3000] + b"\xff" + body[3000:6000] + b"\xe9" + body[6000:]
    d = decode_html(broken, ctype)
    assert d.charset == "utf-8" and "تحرير الشام" in d.text and not looks_like_mojibake(d.text)


def test_a_real_windows_1256_page_labelled_utf8_is_read_as_windows_1256():
    body = fixture_bytes("articles/a5.html")
    d = decode_html(body, "text/html; charset=utf-8")
    assert d.charset == "cp1256" and TITLE in d.text and "\ufffd" not in d.text
