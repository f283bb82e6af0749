"""The parts of a page every CMS shape is built from: head payloads (CSS, vendor and ad JavaScript,
JSON-LD), menus, tickers, cards, comments, share bars, footers, the story body with its inline
noise, captions and broken words, and the padding to real page weight."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import datetime, timedelta, timezone
from typing import Any
from devstack.pages.words import AR_DIGITS, AR_MONTHS, AUTHORS, CAPTION_CREDITS, CAPTION_SUBJECTS, COMMENTERS, COMMENTS, EN_CAPTIONS, EN_CREDITS, EN_HEADLINES, EXCERPTS, HEADLINES, LEVANT_MONTHS, MENU, NOISE, SITE_NAMES, TAGS, WEEKDAYS, JOINING, ZW, esc


# --------------------------------------------------------------------------- helpers


def rng_for(article: dict, shape: str, seed: int) -> random.Random:
    key = f"{article.get('id', '')}|{shape}|{seed}".encode()
    return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))


def published_of(article: dict) -> datetime:
    v = article.get("published_at")
    if isinstance(v, datetime):
        dt = v
    elif v:
        dt = datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    else:
        dt = datetime(2020, 1, 1, 12, 0)
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def site_of(article: dict) -> str:
    src = article.get("source") or "news"
    return SITE_NAMES.get(src, "شبكة " + src.replace("-", " ").title())


def break_word(word: str, rng: random.Random) -> str:
    """Insert a censor break (tatweel+dot, tatweel, zero-width) inside an Arabic word."""
    spots = [i for i in range(1, len(word) - 1) if word[i - 1] in JOINING and "\u0621" <= word[i] <= "\u064a"]
    if not spots:
        spots = [i for i in range(1, len(word) - 1) if "\u0621" <= word[i] <= "\u064a" and "\u0621" <= word[i - 1] <= "\u064a"]
        if not spots:
            return word
        mark = rng.choice(ZW)
    else:
        mark = rng.choice(["ـ.", "ـ.", "ـ", "ـ" + rng.choice(ZW), rng.choice(ZW)])
    i = rng.choice(spots)
    return word[:i] + mark + word[i:]


def censor(text: str, rng: random.Random, rate: float = 0.05) -> str:
    out = []
    for w in text.split(" "):
        core = sum(1 for c in w if "\u0621" <= c <= "\u064a")
        out.append(break_word(w, rng) if core >= 4 and rng.random() < rate else w)
    return " ".join(out)


def date_forms(dt: datetime, rng: random.Random) -> str:
    m = dt.month - 1
    forms = [
        f"{dt.day} {AR_MONTHS[m]} {dt.year}",
        f"{WEEKDAYS[dt.weekday()]} {dt.day} {LEVANT_MONTHS[m]} {dt.year}",
        f"{dt:%Y-%m-%d %H:%M}",
        f"{WEEKDAYS[dt.weekday()]}، {dt.day} {AR_MONTHS[m]} {dt.year} - {dt:%H:%M}",
        f"{dt.day} {AR_MONTHS[m]} {dt.year}".translate(AR_DIGITS),
        f"{dt:%d/%m/%Y}",
    ]
    return rng.choice(forms)


def css_text(rng: random.Random, n_rules: int) -> str:
    parts = ["header", "menu", "post", "entry", "widget", "block", "tie", "td", "jeg", "card", "grid", "col",
             "row", "btn", "icon", "nav", "slider", "thumb", "meta", "title", "excerpt", "footer", "sidebar"]
    props = ["margin:0 auto", "padding:10px 15px", "display:flex", "color:#333", "background:#f7f7f7",
             "font-size:14px", "line-height:1.7", "border-bottom:1px solid #eee", "position:relative",
             "font-family:'Noto Kufi Arabic',Tahoma,sans-serif", "text-align:right", "direction:rtl",
             "transition:all .3s ease", "box-shadow:0 2px 6px rgba(0,0,0,.08)", "width:100%", "overflow:hidden"]
    out = []
    for _ in range(n_rules):
        sel = "." + "-".join(rng.sample(parts, 2)) + (f" .{rng.choice(parts)}-{rng.randint(1, 9)}" if rng.random() < .5 else "")
        if rng.random() < .15:
            sel = f"@media (max-width:{rng.choice([480, 768, 992])}px){{{sel}"
            out.append(sel + "{" + ";".join(rng.sample(props, 3)) + "}}")
        else:
            out.append(sel + "{" + ";".join(rng.sample(props, rng.randint(2, 5))) + "}")
    return "\n".join(out)


def _vendor_js(rng: random.Random, n: int) -> str:
    """Minified-looking library code, as themes inline it (lazy loaders, sliders, polyfills)."""
    names = ["init", "render", "update", "bind", "lazy", "slider", "sticky", "menu", "modal", "ajax", "scroll", "resize"]
    out = []
    for i in range(n):
        a, b = rng.sample(names, 2)
        out.append(f"var _{a}{i}=function(e,t){{var n=e||{{}},r=t||[];for(var o=0;o<r.length;o++){{if(r[o]&&r[o].{b})"
                   f"{{n[r[o].id]=r[o].{b}(n,{rng.randint(0, 999)})}}}}return n.{a}?n.{a}(r):n}};")
    return "\n".join(out)


def _svg_sprite(rng: random.Random, n: int) -> str:
    icons = []
    for i in range(n):
        d = " ".join(f"{rng.choice('MLCQ')}{rng.randint(0, 512)} {rng.randint(0, 512)}" for _ in range(rng.randint(8, 24)))
        icons.append(f'<symbol id="icon-{i}" viewBox="0 0 512 512"><path d="{d}z"></path></symbol>')
    return f'<svg xmlns="http://www.w3.org/2000/svg" style="display:none">{"".join(icons)}</svg>'


def analytics_js(rng: random.Random, site: str) -> str:
    cfg = {
        "siteName": site, "lang": "ar", "ajaxurl": "/wp-admin/admin-ajax.php",
        "features": {k: rng.random() < .5 for k in ["lazy", "sticky", "darkMode", "infinite", "pwa", "push"]},
        "i18n": {"readMore": "اقرأ المزيد", "loading": "جار التحميل...", "noMore": "لا يوجد المزيد", "share": "شارك"},
        "ads": [{"slot": f"/2182{rng.randint(1000, 9999)}/{s}", "sizes": [[300, 250], [728, 90]]} for s in ["top", "mid", "side", "bottom", "sticky"]],
        "menuCache": [{"t": t, "u": f"/category/{i}"} for i, t in enumerate(rng.sample(MENU, 30))],
    }
    return (
        "window.dataLayer = window.dataLayer || [];\nfunction gtag(){dataLayer.push(arguments);}\n"
        f"gtag('js', new Date());\ngtag('config', 'G-{rng.randint(10**9, 10**10)}');\n"
        "var googletag = googletag || {}; googletag.cmd = googletag.cmd || [];\n"
        "googletag.cmd.push(function(){googletag.defineSlot('/21827/top',[728,90],'div-gpt-ad-1').addService(googletag.pubads());"
        "googletag.pubads().enableSingleRequest();googletag.enableServices();});\n"
        f"var siteConfig = {json.dumps(cfg, ensure_ascii=False)};\n"
        "!function(f,b,e,v,n,t,s){if(f.fbq)return;n=f.fbq=function(){n.callMethod?n.callMethod.apply(n,arguments):n.queue.push(arguments)};"
        "if(!f._fbq)f._fbq=n;n.push=n;n.loaded=!0;n.version='2.0';n.queue=[];t=b.createElement(e);t.async=!0;t.src=v;"
        "s=b.getElementsByTagName(e)[0];s.parentNode.insertBefore(t,s)}(window,document,'script','https://connect.facebook.net/en_US/fbevents.js');\n"
    )


def leaked_ad_js(rng: random.Random) -> str:
    pub = rng.randint(10**15, 10**16)
    return rng.choice([
        "if($('.nav-wrapper').width()<900){ google_ad_client = \"ca-pub-%d\"; google_ad_slot = \"%d\"; google_ad_width = 300; google_ad_height = 250; } else { google_ad_client = \"ca-pub-%d\"; google_ad_slot = \"%d\"; google_ad_width = 728; google_ad_height = 90; }" % (pub, rng.randint(10**9, 10**10), pub, rng.randint(10**9, 10**10)),
        "(adsbygoogle = window.adsbygoogle || []).push({});",
        "googletag.cmd.push(function() { googletag.display('div-gpt-ad-%d-0'); });" % rng.randint(10**12, 10**13),
        "window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);} gtag('js', new Date());",
    ])


def _json_ld(article: dict, site: str, author: str, dt: datetime, url: str, with_body: bool) -> str:
    d: dict[str, Any] = {
        "@context": "https://schema.org", "@type": "NewsArticle",
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "headline": article["title"], "datePublished": dt.isoformat(), "dateModified": (dt + timedelta(hours=2)).isoformat(),
        "author": {"@type": "Person", "name": author},
        "publisher": {"@type": "Organization", "name": site, "logo": {"@type": "ImageObject", "url": "https://cdn.example/logo.png"}},
        "image": ["https://cdn.example/img/main.jpg"], "inLanguage": article.get("language", "ar"),
    }
    if article.get("subtitle"):
        d["description"] = article["subtitle"]
    if with_body:
        d["articleBody"] = "\n".join(article["paragraphs"])
    graph = {"@context": "https://schema.org", "@graph": [
        {"@type": "WebSite", "name": site, "url": "https://example.com/"},
        {"@type": "BreadcrumbList", "itemListElement": [{"@type": "ListItem", "position": 1, "name": "الرئيسية"}]},
        {k: v for k, v in d.items() if k != "@context"},
    ]}
    payload = graph if with_body else d
    return '<script type="application/ld+json">' + json.dumps(payload, ensure_ascii=False).replace("</", "<\\/") + "</script>"


def head_html(article: dict, rng: random.Random, site: str, author: str, dt: datetime, url: str, *,
          charset: str = "utf-8", css_rules: int = 420, with_body_ld: bool = False, amp: bool = False) -> str:
    title = article["title"]
    sep = rng.choice([" | ", " - ", " – ", " :: "])
    desc = article.get("subtitle") or article["paragraphs"][0][:160]
    h = [f'<meta charset="{charset}">' if charset == "utf-8" else
         f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">',
         '<meta name="viewport" content="width=device-width, initial-scale=1">',
         f"<title>{esc(title)}{sep}{esc(site)}</title>",
         f'<meta name="description" content="{esc(desc)}">',
         f'<link rel="canonical" href="{esc(url)}">',
         f'<meta property="og:site_name" content="{esc(site)}">',
         f'<meta property="og:title" content="{esc(title + (sep + site if rng.random() < .4 else ""))}">',
         f'<meta property="og:description" content="{esc(desc)}">',
         f'<meta property="og:url" content="{esc(url)}">',
         '<meta property="og:type" content="article"><meta property="og:locale" content="ar_AR">',
         f'<meta property="article:published_time" content="{dt.isoformat()}">' if rng.random() < .7 else "",
         f'<meta name="twitter:card" content="summary_large_image"><meta name="twitter:title" content="{esc(title)}">',
         _json_ld(article, site, author, dt, url, with_body_ld) if rng.random() < .85 or with_body_ld else ""]
    if amp:
        h.append('<script async src="https://cdn.ampproject.org/v0.js"></script>'
                 '<style amp-boilerplate>body{-webkit-animation:-amp-start 8s steps(1,end) 0s 1 normal both}</style>')
        h.append(f"<style amp-custom>{css_text(rng, int(css_rules * 1.7))}</style>")
    else:
        h.append(f'<link rel="stylesheet" href="/wp-content/themes/main/style.css?ver={rng.randint(1, 99)}">')
        h.append(f"<style id='main-inline-css'>{css_text(rng, int(css_rules * 1.6))}</style>")
        h.append(f"<script>{analytics_js(rng, site)}</script>")
        h.append(f"<script id='theme-scripts-js-extra'>{_vendor_js(rng, 90)}</script>")
    return "<head>" + "\n".join(x for x in h if x) + "</head>"


def menu_html(rng: random.Random, cls: str = "main-menu") -> str:
    items = []
    for t in rng.sample(MENU, 22):
        sub = "".join(f'<li class="menu-item"><a href="/category/{rng.randint(1, 999)}">{esc(s)}</a></li>'
                      for s in rng.sample(MENU, rng.randint(0, 6)))
        items.append(f'<li class="menu-item menu-item-type-taxonomy"><a href="/category/{rng.randint(1, 999)}">{esc(t)}</a>'
                     + (f'<ul class="sub-menu">{sub}</ul>' if sub else "") + "</li>")
    return (f'<nav class="{cls}" aria-label="القائمة الرئيسية">{_svg_sprite(rng, 25)}<ul class="menu">{"".join(items)}</ul></nav>')


def ticker_html(rng: random.Random, cls: str = "breaking-news") -> str:
    lis = "".join(f'<li><a href="/news/{rng.randint(10**5, 10**6)}">{esc(t)}</a></li>' for t in rng.sample(HEADLINES, 8))
    return f'<div class="{cls}"><span class="breaking-title">عاجل</span><ul class="ticker">{lis}</ul></div>'


def cards_html(rng: random.Random, n: int, cls: str, title: str, excerpt: bool = True, time_ago: bool = True) -> str:
    cards = []
    for t in rng.sample(HEADLINES, n):
        ago = rng.choice(["منذ 3 ساعات", "منذ ساعتين", "منذ 45 دقيقة", "منذ يومين", "منذ أسبوع"]) if time_ago else ""
        ex = f'<p class="excerpt">{esc(rng.choice(EXCERPTS))}</p>' if excerpt and rng.random() < .6 else ""
        cards.append(f'<div class="card post-item"><a href="/news/{rng.randint(10**5, 10**6)}" class="thumb">'
                     f'<img src="/img/{rng.randint(1, 999)}.jpg" alt="{esc(t)}"></a>'
                     f'<h3 class="card-title"><a href="/news/{rng.randint(10**5, 10**6)}">{esc(t)}</a></h3>'
                     f'<span class="date">{ago}</span>{ex}</div>')
    return f'<section class="{cls}"><h2 class="section-title">{esc(title)}</h2>{"".join(cards)}</section>'


def comments_html(rng: random.Random, cls: str = "comments-area") -> str:
    cs = "".join(f'<li class="comment"><div class="comment-author">{esc(rng.choice(COMMENTERS))}</div>'
                 f'<div class="comment-meta">{rng.choice(["منذ 3 ساعات", "منذ يوم", "2 ديسمبر 2019 الساعة 10:22 ص"])}</div>'
                 f'<div class="comment-content"><p>{esc(c)}</p></div><a class="comment-reply-link" href="#">رد</a></li>'
                 for c in rng.sample(COMMENTS, rng.randint(2, 4)))
    return (f'<div id="comments" class="{cls}"><h3 class="comments-title">التعليقات</h3><ol class="comment-list">{cs}</ol>'
            '<div id="respond"><h3>اترك تعليقاً</h3><p>لن يتم نشر عنوان بريدك الإلكتروني. الحقول الإلزامية مشار إليها بـ *</p>'
            '<form><textarea name="comment"></textarea><input type="submit" value="إرسال التعليق"></form></div></div>')


def share_html(rng: random.Random, cls: str = "share-buttons") -> str:
    nets = ["فيسبوك", "تويتر", "واتساب", "تلغرام", "لينكدإن", "البريد الإلكتروني", "طباعة"]
    return (f'<div class="{cls}"><span class="share-title">{rng.choice(["شارك", "شارك المقال", "مشاركة"])}</span>'
            + "".join(f'<a href="https://share.example/{i}" class="share-{i}">{esc(n)}</a>' for i, n in enumerate(rng.sample(nets, 5)))
            + "</div>")


def cookie_html(rng: random.Random) -> str:
    return ('<div id="cookie-notice" class="cookie-banner"><p>نستخدم ملفات تعريف الارتباط (الكوكيز) لتحسين تجربتك على موقعنا. '
            'باستمرارك في تصفح الموقع فإنك توافق على سياسة الخصوصية.</p><button>موافق</button><a href="/privacy">المزيد</a></div>')


def footer_html(rng: random.Random, site: str, year: int) -> str:
    links = "".join(f'<li><a href="/p/{i}">{esc(t)}</a></li>' for i, t in enumerate(rng.sample(MENU, 18)))
    return (f'<footer id="footer" class="site-footer"><div class="footer-widgets"><div class="widget about">'
            f'<p>{esc(site)} موقع إخباري مستقل يغطي الشأن السوري والعربي على مدار الساعة، ويقدم تقارير وتحقيقات معمقة.</p></div>'
            f'<ul class="footer-links">{links}</ul></div><div class="copyright">جميع الحقوق محفوظة © {year} {esc(site)}</div>'
            '<div class="social-follow">تابعونا على: <a href="https://facebook.com/x">فيسبوك</a> <a href="https://twitter.com/x">تويتر</a> '
            '<a href="https://t.me/x">تلغرام</a> <a href="https://youtube.com/x">يوتيوب</a></div></footer>')


def sidebar_html(rng: random.Random) -> str:
    most = "".join(f'<li><span class="num">{i + 1}</span><a href="/news/{rng.randint(10**5, 10**6)}">{esc(t)}</a></li>'
                   for i, t in enumerate(rng.sample(HEADLINES, 6)))
    return (f'<aside class="sidebar"><div class="widget most-read"><h4 class="widget-title">الأكثر قراءة</h4><ol>{most}</ol></div>'
            '<div class="widget ad-widget"><div class="adsbygoogle" data-ad-client="ca-pub-1" data-ad-slot="2"></div>'
            '<script>(adsbygoogle = window.adsbygoogle || []).push({});</script></div>'
            '<div class="widget newsletter"><h4>النشرة البريدية</h4><p>اشترك في النشرة البريدية ليصلك أهم الأخبار يومياً.</p>'
            '<form><input type="email" placeholder="بريدك الإلكتروني"><button>اشترك</button></form></div>'
            f'<div class="widget social-counter"><a href="#">فيسبوك <span>{rng.randint(100, 999)} ألف متابع</span></a>'
            f'<a href="#">تويتر <span>{rng.randint(10, 99)} ألف متابع</span></a></div></aside>')


def caption_text(article: dict, rng: random.Random) -> str:
    if article.get("caption"):
        return article["caption"]
    return caption_for(article, rng)


def _p_tag(text: str, rng: random.Random, short_heading: str = "h3") -> str:
    """A gold paragraph as the CMS would write it (short unpunctuated ones as subheads)."""
    words = text.split()
    if len(words) <= 6 and text[-1:] not in ".!؟?:\"»”":
        return rng.choice([f"<{short_heading}>{esc(text)}</{short_heading}>", f"<p><strong>{esc(text)}</strong></p>"])
    return f"<p>{esc(text)}</p>"


def lang_of(article: dict) -> str:
    return "en" if article.get("language") == "en" else "ar"


def noise_line(article: dict, rng: random.Random, key: str, **fmt) -> str:
    text = rng.choice(NOISE[lang_of(article)][key])
    return text.format(**fmt) if fmt else text


def _headline(article: dict, rng: random.Random) -> str:
    return rng.choice(EN_HEADLINES if lang_of(article) == "en" else HEADLINES)


def caption_for(article: dict, rng: random.Random) -> str:
    if lang_of(article) == "en":
        return f"{rng.choice(EN_CAPTIONS)} {rng.choice(EN_CREDITS)}"
    return f"{rng.choice(CAPTION_SUBJECTS)} {rng.choice(CAPTION_CREDITS)}"


def inline_noise(kind: str, rng: random.Random, site: str, article: dict, dt: datetime) -> str:
    h = _headline(article, rng)
    link = f'<a href="/news/{rng.randint(10**5, 10**6)}">{esc(h)}</a>'
    if kind == "read_also":
        label = noise_line(article, rng, "read_also")
        return rng.choice([f"<p><strong>{esc(label)}</strong> {link}</p>", f'<p class="read-also-inline">{esc(label)} {link}</p>',
                           f"<p>{esc(label.rstrip(':'))} .. {link}</p>", f"<p><em>{esc(label)} {link}</em></p>",
                           f"<blockquote><p>{esc(label)} {link}</p></blockquote>"])
    if kind == "related_list":
        label = noise_line(article, rng, "related_header")
        pool = EN_HEADLINES if lang_of(article) == "en" else HEADLINES
        lis = "".join(f'<li><a href="/news/{rng.randint(10**5, 10**6)}">{esc(t)}</a></li>' for t in rng.sample(pool, 3))
        divs = "".join(f'<div><a href="/news/{rng.randint(10**5, 10**6)}">{esc(t)}</a></div>' for t in rng.sample(pool, 3))
        return rng.choice([f"<p><strong>{esc(label)}</strong></p><ul>{lis}</ul>",
                           f'<div class="wp-block-group"><h4>{esc(label)}</h4><ul>{lis}</ul></div>',
                           f"<h3>{esc(label)}</h3>{divs}"])
    if kind == "link_only":
        return f"<p>{link}</p>"
    if kind == "ad_js":
        return f"<p>{esc(leaked_ad_js(rng))}</p>"
    if kind == "ad_slot":
        return (f'<div class="ad-container"><span class="ad-label">{esc(noise_line(article, rng, "loading"))}</span>'
                '<ins class="adsbygoogle" data-ad-client="ca-pub-1"></ins>'
                "<script>(adsbygoogle = window.adsbygoogle || []).push({});</script></div>")
    if kind == "figure":
        cap = caption_for(article, rng)
        return rng.choice([
            f'<figure class="wp-caption"><img src="/img/{rng.randint(1, 999)}.jpg" alt="{esc(cap)}">'
            f'<figcaption class="wp-caption-text">{esc(cap)}</figcaption></figure>',
            f'<p><img src="/img/{rng.randint(1, 999)}.jpg" alt="{esc(cap)}"><br><em>{esc(cap)}</em></p>',
            f'<div><img src="/img/{rng.randint(1, 999)}.jpg" alt=""><span>{esc(cap)}</span></div>',
        ])
    if kind == "credit_line":
        return f"<p>{esc(noise_line(article, rng, 'credit_line', author=rng.choice(AUTHORS)))}</p>"
    if kind == "promo":
        return f"<p>{esc(noise_line(article, rng, 'promo'))}</p>"
    if kind == "loading":
        return f"<p>{esc(noise_line(article, rng, 'loading'))}</p>"
    if kind == "odd":
        return f"<p>{esc(noise_line(article, rng, 'odd'))}</p>"
    raise ValueError(kind)


# block kinds that are one noise line in a <p> of their own, and the noise list each draws from
PLAIN_LINES = {"time_ago": "time_ago", "category": "category", "reading": "reading", "agency": "agency",
               "share": "share", "comments_header": "comments", "read_also_header": "end_header",
               "back_to_top": "back_to_top"}


def body_html(article: dict, rng: random.Random, noise: bool, site: str, dt: datetime, author: str, *,
               kinds: list[str], top: list[str], tail: list[str], heading: str = "h3") -> str:
    """The article content container's inner HTML: gold paragraphs with noise in between."""
    paras = [censor(p, rng) if noise and lang_of(article) == "ar" else p for p in article["paragraphs"]]
    blocks = [_p_tag(p, rng, heading) for p in paras]
    if noise and len(blocks) > 2:
        for kind in kinds:
            if kind in ("tail_link", "tail_js"):
                # glued onto a real paragraph that ends a sentence
                ok = [i for i, b in enumerate(blocks) if b.startswith("<p>") and b[-5:-4] in ".!؟?\"»”)"]
                if ok:
                    i = rng.choice(ok)
                    extra = (f' <strong>{esc(noise_line(article, rng, "read_also"))}</strong> '
                             f'<a href="/n/{rng.randint(1, 10**5)}">{esc(_headline(article, rng))}</a>'
                             if kind == "tail_link" else " (adsbygoogle = window.adsbygoogle || []).push({});")
                    blocks[i] = blocks[i][:-4] + extra + "</p>"
                continue
            pos = rng.randint(1, len(blocks) - 1)
            blocks.insert(pos, inline_noise(kind, rng, site, article, dt))
    head = []
    top = list(top) if noise else []
    if article.get("dateline"):
        # the dateline is part of the story as published: always shown, somewhere at the top
        top.insert(rng.randint(0, len(top)), "dateline")
    for t in top:
        if t == "dateline":
            head.append(rng.choice([f"<p><strong>{esc(article['dateline'])}</strong></p>", f"<p>{esc(article['dateline'])}</p>",
                                    f"<div><b>{esc(article['dateline'])}</b></div>"]))
        elif t == "title":
            head.append(f"<h1>{esc(article['title'])}</h1>" if rng.random() < .5 else f"<p>{esc(article['title'])}</p>")
        elif t == "subtitle" and article.get("subtitle"):
            head.append(f"<h2>{esc(article['subtitle'])}</h2>")
        elif t == "caption":
            cap = caption_text(article, rng)
            head.append(f'<p><img src="/img/main.jpg" alt="{esc(cap)}"></p><p>{esc(cap)}</p>')
        elif t == "date":
            head.append(f"<p>{esc(noise_line(article, rng, 'date_label'))}{date_forms(dt, rng)}</p>")
        elif t in PLAIN_LINES:
            head.append(f"<p>{esc(noise_line(article, rng, PLAIN_LINES[t]))}</p>")
        elif t == "byline":
            head.append(f"<p>{esc(noise_line(article, rng, 'byline'))}{esc(author)}</p>")
        elif t == "credit_line":
            head.append(inline_noise("credit_line", rng, site, article, dt))
    foot = []
    if noise:
        for t in tail:
            if t in PLAIN_LINES:
                foot.append(f"<p>{esc(noise_line(article, rng, PLAIN_LINES[t]))}</p>")
            elif t == "tags":
                foot.append(f"<p>{esc(noise_line(article, rng, 'tags'))}" + "، ".join(
                    f'<a href="/tag/{i}">{esc(t)}</a>' for i, t in enumerate(rng.sample(TAGS, 5))) + "</p>")
            elif t == "copyright":
                foot.append(f"<p>{esc(noise_line(article, rng, 'copyright', site=site, year=dt.year))}</p>")
            elif t == "promo":
                foot.append(inline_noise("promo", rng, site, article, dt))
            elif t == "ad_js":
                foot.append(inline_noise("ad_js", rng, site, article, dt))
            elif t == "ticker":
                foot.append("<p>" + esc(".".join(rng.sample(HEADLINES, 8)) + ".https://www.facebook.com/news.page/.https://twitter.com/newspage?lang=en") + "</p>")
            elif t == "disclaimer":
                foot.append(f"<p><em>{esc(noise_line(article, rng, 'disclaimer'))}</em></p>")
    return "\n".join(head + blocks + foot)


def pick(rng: random.Random, options: list[str], k: tuple[int, int]) -> list[str]:
    return rng.sample(options, rng.randint(*k))



# --------------------------------------------------------------------------- held-out shapes
# Written after the extract/clean stages were tuned, to estimate how they do on CMSs they
# were not developed against (the gate reports them separately; see HELDOUT_SHAPES).


def gold_ps(article: dict, rng: random.Random, noise: bool, tag: str = "p", attrs: str = "") -> list[str]:
    paras = [censor(p, rng) if noise and lang_of(article) == "ar" else p for p in article["paragraphs"]]
    return [f"<{tag}{attrs}>{esc(p)}</{tag}>" for p in paras]


def pad(page: bytes, rng: random.Random, encoding: str) -> bytes:
    """Bring a page to real-world weight (110–145 KB) with the head payloads themes inline:
    theme CSS, a UI-strings/menu JSON blob, a minified library."""
    target = rng.randint(110_000, 145_000)
    if len(page) >= target:
        return page
    text = page.decode(encoding)
    extra, size = [], len(page)
    while size < target:
        kind = rng.random()
        if kind < 0.4:
            chunk = f"<style>{css_text(rng, 120)}</style>"
        elif kind < 0.7:
            blob = {"strings": {f"s{i}": rng.choice(MENU + AR_MONTHS + WEEKDAYS) for i in range(150)},
                    "menu": [{"t": t, "u": f"/c/{i}", "c": [{"t": rng.choice(MENU), "u": f"/c/{i}/{j}"} for j in range(4)]}
                             for i, t in enumerate(rng.sample(MENU, 20))]}
            chunk = f'<script type="application/json" data-theme="i18n">{json.dumps(blob, ensure_ascii=False)}</script>'
        else:
            chunk = f"<script>{_vendor_js(rng, 60)}</script>"
        b = len(chunk.encode(encoding, errors="xmlcharrefreplace"))
        extra.append(chunk)
        size += b
    i = text.lower().find("</head>")
    text = text[:i] + "\n".join(extra) + text[i:] if i >= 0 else "\n".join(extra) + text
    return text.encode(encoding, errors="xmlcharrefreplace")
