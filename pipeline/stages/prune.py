"""Page chrome removed before extraction: menus, tickers, related-link blocks, cards, share bars,
comment and author boxes, found by tag, role, class/id words and link density; plus the captions
and subtitle kept aside for the clean stage."""

from __future__ import annotations

import re
from functools import lru_cache
from pipeline.core.arabic import normalize
from pipeline.core.arabic import squash_ws


# --------------------------------------------------------------------------- pruning

_DROP_TAGS = {
    "script", "style", "noscript", "template", "svg", "iframe", "object", "embed", "canvas", "button", "input",
    "select", "textarea", "label", "nav", "aside", "footer", "header", "marquee", "dialog", "menu", "link", "meta",
    "figure", "figcaption", "amp-sidebar", "amp-ad", "amp-analytics", "amp-social-share", "amp-user-notification",
    "video", "audio", "source", "map", "form",
}
_NOISE_PARTS = {
    "related", "share", "shares", "sharing", "sharer", "social", "follow", "newsletter", "subscribe",
    "subscription", "cookie", "cookies", "consent", "gdpr", "comment", "comments", "respond", "reply",
    "breadcrumb", "breadcrumbs", "crumbs", "crumb", "ticker", "breaking", "marquee", "urgent", "trending",
    "popular", "mostread", "sidebar", "widget", "widgets", "menu", "nav", "navbar", "navigation", "header",
    "footer", "ad", "ads", "advert", "adverts", "advertisement", "advertising", "sponsor", "sponsored", "promo",
    "banner", "dfp", "gpt", "taboola", "outbrain", "mgid", "tags", "tagcloud", "keywords", "author", "authors",
    "byline", "bio", "pagination", "pager", "print", "toolbar", "tools", "modal", "popup", "overlay", "caption",
    "credit", "credits", "meta", "date", "time", "views", "counter", "rating", "fontsize", "zoom",
    "login", "search", "logo", "skip", "rss", "signup", "register", "notice", "whatsapp",
    "telegram", "facebook", "twitter", "instagram", "youtube", "slider", "carousel", "swiper", "category",
    "categories", "cat", "recommended", "recommendations", "readmore", "also", "latest", "offscreen", "most",
    "feed", "feeds", "archive", "attribution", "popular", "labels",
}
_NOISE_TOKEN_RE = re.compile(
    r"relatedposts|jp-relatedposts|yarpp|crp_related|rp4wp|sharedaddy|addtoany|a2a|heateor|ssba|shareaholic"
    r"|adsbygoogle|googlead|go-?to-?top|back-?to-?top|scroll-?top|top-?bar|top-?nav|read-?more|more-?news"
    r"|more-?stories|more-?articles|also-?read|read-?also|post-?tags|entry-?meta|post-?meta|sr-only"
    r"|screen-reader|visually-hidden|td-a-rec|td-post-sharing|jeg_share|post-?share|entry-?share|tie-?share"
    r"|comment-?list|comment-?respond|wp-?caption|photo-?caption|image-?caption|img-?caption|post-?views"
    r"|^(?:hidden|d-none|is-hidden|invisible)$|font-?size|next-?prev|prev-?next|nav-?(?:next|previous)|(?:next|prev)-?post",
    re.I,
)
_CONTENT_TOKEN_RE = re.compile(
    r"^(?:[a-z]{1,4}[-_])?(?:entry|post|article|story|news|single|node|main|details?|text|body|content|field--name-body"
    r"|article__body|amp|td-post|itemprop|page)[-_]{0,2}(?:content|body|text|details|inner|main)(?:[-_][a-z0-9]+)?$"
    r"|^(?:articlebody|article-?body|story-?body|entry-?content|post-?content|post-?body|news-?body|news-?text|details-?body"
    r"|article-?text|article-?content|td-post-content|field--name-body|text-formatted|node__content|the-content)$",
    re.I,
)
_BUILDER_PREFIXES = ("elementor-", "et_pb_", "wpb_", "vc_")
_BUILDER_NOISE_RE = re.compile(
    r"(share|social|posts|nav|menu|sidebar|comment|navigation|author-box|post-info|breadcrumb|location-(header|footer)"
    r"|icon-list|related|tags|newsletter|subscribe|search|logo|form)", re.I)
_SPLIT_PARTS_RE = re.compile(r"[-_]+|(?<=[a-z])(?=[A-Z])")
_ROLE_NOISE = {"navigation", "banner", "contentinfo", "complementary", "search", "dialog", "alert", "menu", "menubar"}


# "content-with-sidebar", "has-sidebar", "no-comments": the class describes a layout that has (or lacks)
# such a region, it is not that region; such a wrapper often holds the story itself
_LAYOUT_QUALIFIERS = {"with", "has", "no", "without", "one", "two", "three"}


def _noise_in(parts: list[str], noise: set[str]) -> bool:
    """Whether a class token (split into lowercase parts) names a chrome region itself."""
    for k, p in enumerate(parts):
        if p in noise and not (k and parts[k - 1] in _LAYOUT_QUALIFIERS):
            return True
    return False


def _tokens_of(el) -> list[str]:
    c = el.get("class")
    i = el.get("id")
    toks = c.split() if c else []
    if i:
        toks.append(i)
    return toks


@lru_cache(maxsize=20_000)
def _attr_kind(attrs: str) -> int:
    """0 neutral, 1 noise, 2 content marker — for a class + id string (cached: pages repeat them)."""
    content = noise = False
    for t in attrs.split():
        if t.startswith(_BUILDER_PREFIXES):
            # page builders wrap every block (the story's text included) in "widget"/"column" classes
            noise = noise or bool(_BUILDER_NOISE_RE.search(t))
            continue
        parts = [p.lower() for p in _SPLIT_PARTS_RE.split(t) if p]
        noisy = bool(_NOISE_TOKEN_RE.search(t)) or _noise_in(parts, _NOISE_PARTS)
        if _CONTENT_TOKEN_RE.match(t) and not _noise_in(parts, _NOISE_PARTS):
            content = True
        noise = noise or noisy
    return 2 if content else (1 if noise else 0)


def _attrs(el) -> str:
    c = el.get("class")
    i = el.get("id")
    return f"{c} {i}" if c and i else (c or i or "")


def _marked_body(el) -> bool:
    """``itemprop=articleBody`` / ``data-testid=article-body``: a story container whatever its classes."""
    ip = el.get("itemprop")
    return (ip is not None and "articleBody" in ip.split()) or el.get("data-testid") in ("article-body", "articleBody")


def _is_content_marker(el) -> bool:
    if _marked_body(el):
        return True
    a = _attrs(el)
    return bool(a) and _attr_kind(a) == 2


def _text_len(el) -> int:
    return len((el.text_content() or "").strip())


_INLINE = {"span", "b", "strong", "font", "a", "em", "i", "u", "small", "big", "sup", "sub", "abbr", "mark", "q",
           "cite", "bdi", "bdo", "br"}
_BLOCKS = {"p", "div", "ul", "ol", "table", "section", "article", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6",
           "figure", "header", "footer", "aside", "nav", "form", "dl", "pre"}


def _inline_len(el) -> int:
    """Length of the text an element shows inline: its own text, inline children, tails.

    An inline child that holds ``<br>``-separated text itself is scored on its own, not here."""
    n = len((el.text or "").strip())
    for c in el:
        if c.tag in _INLINE and (c.tag == "br" or c.find(".//br") is None):
            n += len(c.text_content().strip())
        n += len((c.tail or "").strip())
    return n


def densest_block(tree):
    """The element holding the most paragraph text directly: ``<p>`` children, ``<br>``-separated
    inline text (legacy and Blogger pages), or one ``<div>`` per paragraph."""
    score: dict = {}
    for p in tree.iter("p"):
        parent = p.getparent()
        if parent is not None:
            score[parent] = score.get(parent, 0) + _text_len(p)
    for parent in {br.getparent() for br in tree.iter("br")}:
        if parent is not None:
            n = _inline_len(parent)
            if n > 100:
                score[parent] = score.get(parent, 0) + n
    for div in tree.iter("div"):  # sites that write one <div> per paragraph
        if (div.text and len(div.text.strip()) > 80) or (len(div) and not any(c.tag in _BLOCKS for c in div)):
            n = _inline_len(div)
            parent = div.getparent()
            if n > 80 and parent is not None:
                score[parent] = score.get(parent, 0) + n
    if not score:
        return None, 0
    # the most text, unless it sits in a comments/related/sidebar region (long reader comments
    # can outweigh a short story)
    for best in sorted(score, key=score.get, reverse=True)[:8]:
        if not _in_chrome_region(best):
            return best, score[best]
    best = max(score, key=score.get)
    return best, score[best]


_REGION_NOISE_PARTS = {"comment", "comments", "respond", "reply", "related", "sidebar", "widget", "footer", "popular",
                       "mostread", "newsletter", "recommended", "disqus", "discussion"}
_REGION_TAGS = {"aside", "footer", "nav", "header"}


def _in_chrome_region(el) -> bool:
    """Whether ``el`` sits in a comments/related/sidebar region. A classed wrapper that also holds
    the page's headline (``<h1>``) is the story's own layout ("sidebar-layout" around the headline,
    the story and a sidebar), never such a region: no class word may take the story along."""
    node = el
    while node is not None and node.tag not in ("body", "html"):
        if node.tag in _REGION_TAGS:
            return True
        a = _attrs(node)
        if a and not _is_content_marker(node) and _region_classes(a) and node.find(".//h1") is None:
            return True
        node = node.getparent()
    return False


def _region_classes(attrs: str) -> bool:
    for t in attrs.split():
        if t.startswith(_BUILDER_PREFIXES):
            if _BUILDER_NOISE_RE.search(t):
                return True
        elif _noise_in([p.lower() for p in _SPLIT_PARTS_RE.split(t) if p], _REGION_NOISE_PARTS):
            return True
    return False


def anchor_texts(tree) -> list[str]:
    """Anchor texts of headline length: a body line equal to one is a related-story link,
    even where the extractor lost the link itself."""
    out = set()
    for a in tree.iter("a"):
        # a childless anchor's text is its .text: no XPath string() evaluation needed
        t = a.text_content() if len(a) else (a.text or "")
        if 15 <= len(t) <= 300:
            t = squash_ws(t)
            if 3 <= t.count(" ") + 1 <= 30:
                out.add(t)
    return sorted(out)


def classed_elements(elements) -> list[tuple]:
    """(element, class attribute) of the elements that have one, in document order: read once
    per page for the class-based walks, instead of once per walk and element."""
    out = []
    for el in elements:
        if isinstance(el.tag, str):
            cls = el.get("class")
            if cls is not None:
                out.append((el, cls))
    return out


def with_class(classed, *needles: str) -> list:
    """Elements (document order) whose class attribute contains one of ``needles`` — the
    XPath ``//*[contains(@class, ...)]`` over the :func:`classed_elements` pairs the caller already
    holds, which costs a fraction of an XPath walk of the page."""
    out = []
    for el, cls in classed:
        if cls:
            for n in needles:  # (a plain loop: a generator per element costs more than the tests)
                if n in cls:
                    out.append(el)
                    break
    return out


def collect_captions(tree, classed=None) -> tuple[list[str], list[str]]:
    caps, alts = [], []
    for el in tree.iter("figcaption"):
        t = squash_ws(el.text_content())
        if t:
            caps.append(t)
    if classed is None:
        classed = classed_elements(tree.iter())
    for el in with_class(classed, "caption", "Caption", "credit"):
        t = squash_ws(el.text_content())
        if t and len(t) < 400:
            caps.append(t)
    for el in tree.iter("img", "amp-img"):
        a = squash_ws(el.get("alt") or el.get("title"))
        if a and len(a.split()) >= 2:
            alts.append(a)
    return list(dict.fromkeys(caps)), list(dict.fromkeys(alts))


_SUBTITLE_RE = re.compile(r"(^|[-_])(sub-?title|subtitle|sub-?headline|subheadline|standfirst|strapline|dek|sub|lead|excerpt|summary|intro)($|[-_])", re.I)


def find_subtitle(tree, title: str | None, classed=None) -> str | None:
    tkey = normalize(title or "")
    for h1 in tree.iter("h1"):
        if tkey and normalize(h1.text_content()) != tkey:
            continue
        sib = h1.getnext()
        steps = 0
        while sib is not None and steps < 3:
            if isinstance(sib.tag, str):
                cls = " ".join(_tokens_of(sib))
                if sib.tag == "h2" or _SUBTITLE_RE.search(cls):
                    t = squash_ws(sib.text_content())
                    if t and len(t.split()) <= 60:
                        return t
            sib = sib.getnext()
            steps += 1
        break
    # the first 3000 class-bearing elements, of which only "...title..." classes can qualify
    if classed is None:
        classed = classed_elements(tree.iter())
    n = 0
    for el, cls in classed:
        if el.tag in ("body", "html"):
            continue
        n += 1
        if n > 3000:
            break
        if "itle" in cls and _SUBTITLE_RE.search(cls):
            t = squash_ws(el.text_content())
            if t and 2 <= len(t.split()) <= 60 and normalize(t) != tkey:
                return t
    return None


_CONTAINERS = ("div", "li", "ul", "ol", "td", "tr", "table", "section", "article", "dl", "center")
_HEADINGS = ("h2", "h3", "h4", "h5", "h6")


def _is_link_block(el) -> bool:
    """A menu, link list or teaser card: short text mostly made of links, or a linked headline with an excerpt."""
    text = el.text_content()
    n = len(text.strip())
    if n == 0:
        return el.find(".//a") is not None or el.find(".//p") is None and el.tag in ("li", "td", "tr")
    if n > 1200:
        return False
    links = [a.text_content().strip() for a in el.iter("a")]
    link_chars = sum(len(t) for t in links)
    if link_chars >= 0.5 * n and (len(links) >= 2 or n < 200):
        # ... unless it holds a real paragraph (a link-free block of sentence length)
        for child in el.iter("p", "div"):
            if child is not el and child.find(".//a") is None and len(child.text_content().strip()) >= 150:
                return False
        return True
    if n <= 500 and link_chars >= 0.2 * n:
        for h in el.iter(*_HEADINGS):
            a = h.find(".//a")
            if a is not None and len(a.text_content().split()) >= 3:
                return True  # teaser card: linked headline (+ excerpt)
    return False


def _card_like(el) -> bool:
    if el.find(".//img") is None:
        return False
    text = el.text_content().strip()
    if not text or len(text) > 400:
        return False
    best = max((a.text_content().strip() for a in el.iter("a")), key=len, default="")
    return len(best.split()) >= 2 and len(best) >= 0.15 * len(text)


def _ancestors_of(elements) -> set:
    out: set = set()
    for el in elements:
        node = el.getparent()
        while node is not None and node not in out:
            out.add(node)
            node = node.getparent()
    return out


def _teasers(containers, with_img: set) -> list:
    """Cards (thumbnail + linked headline + excerpt) that come with at least two similar siblings."""
    cards = {el for el in containers if el in with_img and _card_like(el)}
    out = []
    for el in cards:
        parent = el.getparent()
        if parent is not None and sum(1 for sib in parent if sib is not el and sib.tag == el.tag and sib in cards) >= 2:
            out.append(el)
    return out


_AUTHOR_HREF_RE = re.compile(r"/(author|authors|writer|writers|columnist|kuttab|kottab|profile)s?/|/كتاب/|\?author=", re.I)


def _author_boxes(tree, author_keys: set[str], protected: set) -> list:
    """Author blurbs: a small container around a link to the author's page (or the author's
    name/photo) with a line of bio — the largest such container up to three levels up."""
    anchors = []
    for a in tree.iter("a"):
        if _AUTHOR_HREF_RE.search(a.get("href") or "") or (author_keys and normalize(a.text_content()) in author_keys):
            anchors.append(a)
    if author_keys:
        anchors += [img for img in tree.iter("img") if normalize(img.get("alt") or "") in author_keys]
    out = []
    for a in anchors:
        best = None
        node = a.getparent()
        for _ in range(3):
            if node is None or node in protected:
                break
            if node.tag in _CONTAINERS:
                text = node.text_content().strip()
                if len(text) > 400:
                    break
                if any(c is not node and c.find(".//a") is None and len(c.text_content().strip()) >= 200
                       for c in node.iter("p", "div")):
                    break
                best = node
            node = node.getparent()
        if best is not None:
            out.append(best)
    return out


def _outer_quotes(el) -> list:
    """The blockquotes under ``el`` that are not inside another blockquote under it."""
    out = []
    for q in el.iter("blockquote"):
        node = q.getparent()
        while node is not None and node is not el and node.tag != "blockquote":
            node = node.getparent()
        if node is el:
            out.append(q)
    return out


def _wraps_embedded_post(el, keep) -> bool:
    """A "widget"/"embed" wrapper inside the story block whose text is a quoted post (a tweet's
    blockquote): the outlet quotes it as part of the story, so its wrapper's class is no verdict."""
    if keep is None or el.find(".//blockquote") is None:
        return False
    if not any(a is keep for a in el.iterancestors()):
        return False
    quoted = sum(_text_len(q) for q in _outer_quotes(el))
    return quoted >= 0.8 * max(1, _text_len(el))


def _unwrap_embeds(wrappers) -> None:
    """Put each kept embed's blockquote where its wrapper was and remove the wrapper: the wrapper's
    "widget"/"tweet" class would still make trafilatura discard the quote."""
    for el in wrappers:
        parent = el.getparent()
        if parent is None or any(a in wrappers for a in el.iterancestors()):
            continue  # gone, or handled with an outer wrapper
        for q in _outer_quotes(el):
            q.tail = None
            el.addprevious(q)
        tail = el.tail
        prev = el.getprevious()
        parent.remove(el)
        if tail:
            if prev is not None:
                prev.tail = (prev.tail or "") + tail
            else:
                parent.text = (parent.text or "") + tail


def prune(tree, keep, author: str | None = None, elements=None) -> int:
    """Remove chrome (by tag/role/class/id), teaser cards, author boxes and link blocks,
    except ``keep`` and its ancestors. Returns the number of elements left."""
    protected = set()
    # One walk classifies every element (content marker / noise candidate); the list also keeps
    # the element proxies alive, so the later walks below do not rebuild them (lxml.html's
    # Python class lookup runs for every proxy it creates).
    if elements is None:
        elements = list(tree.iter())
    count = len(elements)
    # the densest block, and any story container the CMS marks as such (entry-content,
    # itemprop=articleBody...), keep their ancestors: a "date-outer" wrapper must not take the story along
    keeps = [keep]
    noisy = []
    get_kind = _attr_kind
    body_ids = ("article-body", "articleBody")
    for el in elements:
        tag = el.tag
        if not isinstance(tag, str):
            continue
        # _attrs and _marked_body, inlined, reading only the attributes the element has: this
        # loop runs for every element of the page, most of which have none or one
        names = el.keys()
        if not names:
            if tag in _DROP_TAGS:
                noisy.append(el)
            continue
        get = el.get
        c = get("class") if "class" in names else None
        i = get("id") if "id" in names else None
        a = f"{c} {i}" if c and i else (c or i or "")
        kind = get_kind(a) if a else 0
        if kind == 2:
            marker = True
        else:
            ip = get("itemprop") if "itemprop" in names else None
            marker = (ip is not None and "articleBody" in ip.split()) or (
                "data-testid" in names and get("data-testid") in body_ids)
        if marker:
            if _text_len(el) >= 300:
                keeps.append(el)
            continue  # a content marker is never noise
        if tag in _DROP_TAGS or (kind == 1 and tag != "blockquote"):
            # an embedded tweet or post (blockquote.twitter-tweet, .instagram-media) is quoted in the
            # story: its class names the platform, not page chrome
            noisy.append(el)
            continue
        role = get("role") if "role" in names else None
        if (role and role.lower() in _ROLE_NOISE) or "hidden" in names or (
                "aria-hidden" in names and get("aria-hidden") == "true"):
            noisy.append(el)
    for node in keeps:
        while node is not None and node not in protected:
            protected.add(node)
            node = node.getparent()
    doomed, embeds = [], []
    for el in noisy:
        if el in protected:
            continue
        if el.tag == "figure" and el.find(".//table") is not None:
            continue  # WordPress wraps tables in <figure>
        if el.tag not in _DROP_TAGS and _wraps_embedded_post(el, keep):
            embeds.append(el)
            continue
        doomed.append(el)
    _drop(doomed)
    _unwrap_embeds(embeds)
    containers = [el for el in tree.iter(*_CONTAINERS) if el not in protected]
    author_keys = {normalize(a) for a in re.split(r"[،,]", author or "") if len(normalize(a).split()) >= 2}
    with_links = _ancestors_of(tree.iter("a"))  # only these can be link blocks or cards
    # teaser cards and author boxes first (their links would otherwise go one by one)
    _drop(_teasers([el for el in containers if el in with_links], _ancestors_of(tree.iter("img")))
          + _author_boxes(tree, author_keys, protected))
    # link blocks bottom-up (descendants first), so a container is judged after its menus are gone
    for el in reversed(containers):
        if el in with_links and el.getparent() is not None and _is_link_block(el):
            _drop([el])
    _drop(_hover_cards(tree))
    return count - len(doomed)


def _hover_cards(tree) -> list:
    """Pop-up cards inside a sentence: a name's link followed, in the same paragraph, by an inline
    element holding a photo and a list of links (the person's latest stories), shown on hover.
    The smallest such element goes; the name and the sentence around it stay."""
    out = []
    for img in tree.iter("img"):
        node, card = img.getparent(), None
        while node is not None and node.tag in _INLINE:
            anchors = list(node.iter("a"))
            text = _text_len(node)
            if len(anchors) >= 2 and text and sum(len(a.text_content().strip()) for a in anchors) >= 0.6 * text:
                card = node
                break
            node = node.getparent()
        if card is not None and any(a.tag == "p" for a in card.iterancestors()):
            out.append(card)
    return out


def _drop(elements) -> None:
    for el in elements:
        parent = el.getparent()
        if parent is None:
            continue
        try:
            el.drop_tree()
        except (AssertionError, ValueError):
            parent.remove(el)
