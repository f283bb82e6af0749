"""Page bytes → text, for pages that lie about their encoding. One decoder for connectors and stages.

Arabic outlets still serve windows-1256 and often mislabel it: the HTTP header says
iso-8859-1 (a server default) or utf-8 while the bytes are cp1256, or a <meta> tag
disagrees with the header. Order of trust:

1. a BOM;
2. UTF-8 when the bytes are UTF-8: strictly valid, or mostly valid with a few stray bad
   bytes (each becomes U+FFFD). Legacy Arabic bytes fail on nearly every letter, so a
   page whose multi-byte sequences are mostly valid is UTF-8 whatever it declares;
3. the declared charsets (HTTP header, then ``<meta charset>``/http-equiv or the XML
   declaration; a Western header default yields to a non-Western meta) when they decode
   strictly and don't produce mojibake;
4. sniffing: cp1256 or charset-normalizer's guess, whichever reads as the most Arabic;
5. windows-1256 with replacement characters: only a page that is mostly not UTF-8 ends here.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes

from pipeline.core.arabic import arabic_ratio

_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]{0,100}?encoding\s*=\s*["']([A-Za-z0-9_.:-]{2,40})["']""", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{2,40})""", re.I)
_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
_LETTER = re.compile(r"[^\W\d_]")
# Latin-1 supplement letters and the cp1252 extras: what Arabic bytes look like decoded as Latin.
_LATIN_MOJIBAKE = re.compile(r"[\u00C0-\u00FF\u0152\u0153\u0160\u0161\u0178\u017D\u017E\u0192\u02C6\u02DC]")
# UTF-8 Arabic decoded as cp1256 gives pairs like "ط§" "ظ„": a ط/ظ followed by another Arabic-block char.
_CP1256_OF_UTF8 = re.compile(r"[\u0637\u0638][\u0600-\u06FF\u00A0-\u00FF\u2000-\u206F\u0152\u0153\u0178]")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_LATIN_SINGLE_BYTE = {"latin-1", "iso8859-1", "cp1252", "ascii", "iso8859-15"}
# "mostly UTF-8": at least this many valid multi-byte characters per invalid byte
UTF8_VALID_PER_BAD = 4
# Untrusted HTML nested deeper than this is refused before anything walks it (connectors' lexbor
# parsing and the page stage's lxml tree): parsers and tree walks cost time in proportion to depth,
# 100,000 nested elements took 45 s. libxml2's own limit without XML_PARSE_HUGE is 256.
MAX_HTML_DEPTH = 250


@dataclass(frozen=True)
class Decoded:
    text: str
    charset: str  # a Python codec name, e.g. "utf-8", "cp1256"
    declared: str | None  # what the header/meta said, if anything
    method: str  # "bom" | "utf8" | "utf8-lenient" | "header" | "meta" | "sniff" | "fallback" | "text"


def normalise_charset(name: str | None) -> str | None:
    """Python codec name for a declared charset, or None when unknown."""
    if not name:
        return None
    name = name.strip().strip("\"'").lower()
    if name in ("x-user-defined", "unicode", "none", ""):
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def header_charset(content_type: str | None) -> str | None:
    """The charset of a Content-Type value; a bare charset name is taken as it is."""
    if not content_type:
        return None
    m = re.search(r"charset\s*=\s*[\"']?([^;\"'\s]+)", content_type, re.I)
    if m:
        return m.group(1)
    return content_type.strip() if "/" not in content_type and ";" not in content_type else None


def meta_charset(body: bytes) -> str | None:
    """Charset from <meta charset>/http-equiv, or from an XML declaration."""
    m = _META_CHARSET.search(body[:8192]) or _XML_DECL.match(body[:512])
    return m.group(1).decode("ascii", "ignore") if m else None


def trim_incomplete_utf8(body: bytes) -> bytes:
    """Drop a multi-byte UTF-8 sequence cut off at the very end (a truncated response)."""
    tail = body[-4:]
    for i in range(len(tail) - 1, -1, -1):
        b = tail[i]
        if b < 0x80:
            return body
        if b >= 0xC0:  # lead byte: is its sequence complete?
            need = 2 if b < 0xE0 else 3 if b < 0xF0 else 4
            have = len(tail) - i
            return body if have >= need else body[: len(body) - have]
    return body


def to_utf8_xml(body: bytes, content_type: str | None = None) -> tuple[bytes, Decoded]:
    """Re-encode an XML document as UTF-8 (declaration fixed) after our own charset detection,
    so XML parsers never fall back to a Latin guess on a mislabelled or truncated Arabic feed."""
    d = decode_html(body, content_type)
    text = re.sub(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])[A-Za-z0-9_.:-]+(["'])""", r"\g<1>utf-8\g<2>",
                  d.text.lstrip("\ufeff"), count=1, flags=re.I)
    return text.encode("utf-8"), d


# Mojibake covers a mislabelled page throughout, so a sample decides as well as the whole text and
# keeps the check cheap on large pages (whole-page regex scans were most of the decode time).
MOJIBAKE_SAMPLE = 4_096


def _sample(text: str, size: int = MOJIBAKE_SAMPLE) -> str:
    if len(text) <= 3 * size:
        return text
    mid = len(text) // 2
    return text[:size] + text[mid - size // 2: mid + size // 2] + text[-size:]


def looks_like_mojibake(text: str) -> bool:
    """True when the text is what a mislabelled Arabic page turns into."""
    text = _sample(text)
    letters = len(_LETTER.findall(text))
    if letters < 20:
        return False
    latin = len(_LATIN_MOJIBAKE.findall(text))
    if latin / letters > 0.15:
        return True
    arabic = len(_ARABIC.findall(text))
    pairs = len(_CP1256_OF_UTF8.findall(text))
    return arabic > 0 and pairs / max(arabic, 1) > 0.25


def _strict(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _has_multibyte(body: bytes) -> bool:
    return any(b >= 0x80 for b in body[:65536])


def _as_utf8(body: bytes, valid_per_bad: int) -> tuple[str, str] | None:
    """(text, method) when the bytes are UTF-8: valid, or with at least ``valid_per_bad`` valid
    multi-byte characters per invalid byte (each invalid byte becomes U+FFFD)."""
    text = _strict(body, "utf-8")
    if text is not None:
        return text, "utf8"
    text = body.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    valid = len(text) - len(text.encode("ascii", "ignore")) - bad  # non-ASCII characters that decoded
    return (text, "utf8-lenient") if valid >= valid_per_bad * bad else None


def _sniff(body: bytes) -> tuple[str, str] | None:
    """The most Arabic of cp1256 and charset-normalizer's guess (short pages sniff poorly alone)."""
    candidates: list[tuple[str, str]] = []
    t = _strict(body, "cp1256")
    if t is not None:
        candidates.append((t, "cp1256"))
    best = from_bytes(body[:200_000]).best()
    if best is not None:
        name = normalise_charset(best.encoding)
        if name and name != "cp1256":
            t2 = _strict(body, name)
            if t2 is not None:
                candidates.append((t2, name))
    if not candidates:
        return None
    return max(candidates, key=lambda c: (arabic_ratio(c[0]) - (1.0 if looks_like_mojibake(c[0]) else 0.0)))


def _declared_order(header: str | None, meta: str | None) -> list[tuple[str, str, str]]:
    """(codec, as written, method) to try: the header, then meta; a Western header default
    (the usual mislabelling of a windows-1256 site) yields to a non-Western meta."""
    h, m = normalise_charset(header), normalise_charset(meta)
    order = [(c, raw, how) for c, raw, how in ((h, header, "header"), (m, meta, "meta")) if c and raw]
    if h in _LATIN_SINGLE_BYTE and m and m not in _LATIN_SINGLE_BYTE:
        order.reverse()
    return order


def decode_html(body: bytes | str, declared: str | None = None) -> Decoded:
    """Decode page bytes, trusting declarations only when they hold up.

    ``declared`` is a Content-Type value (``text/html; charset=...``) or a bare charset name."""
    if isinstance(body, str):
        return Decoded(body, "utf-8", None, "text")
    body = trim_incomplete_utf8(body)
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return Decoded(body.decode(codec, errors="replace"), "utf-8" if codec == "utf-8-sig" else codec, codec,
                           "bom")
    header = header_charset(declared)
    meta = meta_charset(body)
    order = _declared_order(header, meta)
    said = header or meta
    # UTF-8 bytes are UTF-8 whatever the label; a non-UTF-8 label asks for more evidence
    utf8_said = not order or order[0][0] == "utf-8"
    utf8 = _as_utf8(body, UTF8_VALID_PER_BAD if utf8_said else 5 * UTF8_VALID_PER_BAD)
    if utf8 is not None and (utf8[1] == "utf8" or _has_multibyte(body)):
        return Decoded(utf8[0], "utf-8", said, utf8[1])
    for codec, raw, how in order:
        if codec == "utf-8":
            continue  # not UTF-8 (above)
        text = _strict(body, codec)
        if text is not None and not looks_like_mojibake(text):
            return Decoded(text, codec, raw, how)
    sniffed = _sniff(body)
    if sniffed is not None:
        return Decoded(sniffed[0], sniffed[1], said, "sniff")
    return Decoded(body.decode("cp1256", errors="replace"), "cp1256", said, "fallback")


def looks_binary(body: bytes) -> bool:
    """True for bodies that are not text at all (images, archives, random junk)."""
    head = body[:4096]
    if not head:
        return False
    if b"\x00" in head and not (head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE)):
        return True
    for magic in (b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"%PDF", b"\x7fELF", b"RIFF", b"OggS"):
        if head.startswith(magic):
            return True
    ctrl = sum(1 for b in head if b < 9 or 13 < b < 32)
    return ctrl / len(head) > 0.05
