"""Charset detection for pages that lie about their encoding.

Arabic outlets still serve windows-1256, and often mislabel it: the HTTP header
says iso-8859-1 (a server default) or utf-8 while the bytes are cp1256, or a
<meta> tag disagrees with the header. Order of trust: BOM, then the declared
charsets (HTTP header, then <meta charset>/http-equiv) *if* they decode the bytes
strictly and don't produce mojibake, then byte sniffing (charset-normalizer,
with a direct cp1256 try because short pages sniff poorly).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes

_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9_.:-]+)["']""", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
_LETTER = re.compile(r"[^\W\d_]")
# Latin-1 supplement letters and the cp1252 extras: what Arabic bytes look like decoded as Latin.
_LATIN_MOJIBAKE = re.compile(r"[\u00C0-\u00FF\u0152\u0153\u0160\u0161\u0178\u017D\u017E\u0192\u02C6\u02DC]")
# UTF-8 Arabic decoded as cp1256 gives pairs like "ط§" "ظ„": a ط/ظ followed by another Arabic-block char.
_CP1256_OF_UTF8 = re.compile(r"[\u0637\u0638][\u0600-\u06FF\u00A0-\u00FF\u2000-\u206F\u0152\u0153\u0178]")

_LATIN_SINGLE_BYTE = {"latin-1", "iso8859-1", "cp1252", "ascii", "iso8859-15"}


@dataclass(frozen=True)
class Decoded:
    text: str
    charset: str  # a Python codec name, e.g. "utf-8", "cp1256"
    declared: str | None  # what the header/meta said, if anything
    method: str  # "bom" | "header" | "meta" | "sniff" | "utf8-valid" | "fallback"


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
    if not content_type:
        return None
    m = re.search(r"charset\s*=\s*[\"']?([^;\"'\s]+)", content_type, re.I)
    return m.group(1) if m else None


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


def arabic_ratio(text: str) -> float:
    letters = len(_LETTER.findall(text))
    return len(_ARABIC.findall(text)) / letters if letters else 0.0


def looks_like_mojibake(text: str) -> bool:
    """True when the text is what a mislabelled Arabic page turns into."""
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


def _has_multibyte_utf8(body: bytes) -> bool:
    return any(b >= 0x80 for b in body[:65536])


def _sniff(body: bytes) -> tuple[str, str] | None:
    """Best guess from the bytes: valid multi-byte UTF-8, else the most Arabic of cp1256 / charset-normalizer."""
    text = _strict(body, "utf-8")
    if text is not None:
        return text, "utf-8"
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
    # Arabic outlets: prefer the decoding that yields the most Arabic and the least mojibake.
    return max(candidates, key=lambda c: (arabic_ratio(c[0]) - (1.0 if looks_like_mojibake(c[0]) else 0.0)))


def decode_html(body: bytes, content_type: str | None = None) -> Decoded:
    """Decode page bytes, trusting declarations only when they hold up."""
    body = trim_incomplete_utf8(body)
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if body.startswith(bom):
            t = _strict(body, codec)
            if t is not None:
                return Decoded(t, "utf-8" if codec == "utf-8-sig" else codec, codec, "bom")
    declared_header = header_charset(content_type)
    declared_meta = meta_charset(body)
    declared = declared_header or declared_meta
    for raw, method in ((declared_header, "header"), (declared_meta, "meta")):
        codec = normalise_charset(raw)
        if codec is None:
            continue
        if codec in _LATIN_SINGLE_BYTE and _has_multibyte_utf8(body):
            # Latin labels are server defaults far more often than the truth on an Arabic site.
            if _strict(body, "utf-8") is not None:
                return Decoded(body.decode("utf-8"), "utf-8", raw, "utf8-valid")
        text = _strict(body, codec)
        if text is None or looks_like_mojibake(text):
            continue
        if codec != "utf-8" and _has_multibyte_utf8(body):
            # A single-byte label on bytes that are valid UTF-8 with non-ASCII: the label is wrong.
            u = _strict(body, "utf-8")
            if u is not None and arabic_ratio(u) >= arabic_ratio(text):
                return Decoded(u, "utf-8", raw, "utf8-valid")
        return Decoded(text, codec, raw, method)
    sniffed = _sniff(body)
    if sniffed is not None:
        return Decoded(sniffed[0], sniffed[1], declared, "sniff")
    return Decoded(body.decode("utf-8", errors="replace"), "utf-8", declared, "fallback")


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
