"""Render a labelled corpus article as a realistic Arabic news page of one CMS shape.

Why: the extract/clean quality gate and the benchmarks need pages that carry the
noise real outlets wrap around an article — menus, inline CSS/JS, JSON-LD, cards,
tickers, "اقرأ أيضاً" blocks (with and without telling class names), leaked ad
JavaScript, comment sections, share bars, cookie banners, duplicated title and
subtitle lines, photo captions, bylines and datelines, words broken on purpose —
at real page weight (~100–150 KB), deterministically from a seed.

``render(article, shape, noise=True, seed=0) -> bytes``; ``SHAPES`` lists the shapes.
The gold text of the article is ``article["paragraphs"]`` (display form, repaired);
the page contains it with censor breaks inserted into some words.
"""

from __future__ import annotations

import hashlib
import html
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

# the labelled quality corpus the pages are rendered from (test data, read by path)
LABELLED = Path(__file__).resolve().parents[2] / "tests" / "quality" / "articles"

SHAPES = [
    "wordpress_jannah",
    "wordpress_newspaper",
    "drupal",
    "custom_cms",
    "amp",
    "arc_spa",
    "legacy_1256",
    "generic_divs",
    # written after the stages were tuned on the shapes above, measured once before any fix
    # (see tests/quality/test_cleaning_gate.py for the first-run figures), then kept
    "jnews",
    "next_tailwind",
    "blogger",
    "aspnet_agency",
    "wp_classic",
    "sputnik_like",
    "joomla",
]

SITE_NAMES = {
    "orient-news": "أورينت نت",
    "npa": "نورث برس",
    "aawsat": "الشرق الأوسط",
    "enab-baladi": "عنب بلدي",
    "syria-tv": "تلفزيون سوريا",
    "aljazeera": "الجزيرة نت",
    "bbc-arabic": "بي بي سي عربي",
    "alarabiya": "العربية",
    "skynews-arabia": "سكاي نيوز عربية",
    "rt-arabic": "آر تي عربي",
    "sana": "سانا",
    "alwasila": "الوسيلة",
    "france24": "فرانس 24",
    "independent-arabia": "اندبندنت عربية",
    "alquds": "القدس العربي",
    "zaman-alwasl": "زمان الوصل",
}

MENU = [
    "الرئيسية", "أخبار", "سوريا", "سياسة", "اقتصاد", "رياضة", "منوعات", "تقارير", "تحقيقات", "رأي",
    "مقالات", "فيديو", "صور", "ملفات", "حوارات", "ثقافة", "تكنولوجيا", "صحة", "عرب وعالم", "المشرق العربي",
    "الخليج", "مصر", "لبنان", "العراق", "تركيا", "إيران", "دولي", "بودكاست", "إنفوغراف", "من نحن",
    "اتصل بنا", "أعلن معنا", "سياسة الخصوصية", "شروط الاستخدام", "أرشيف", "كتاب الموقع", "ترجمات",
    "حلب", "إدلب", "دمشق", "درعا", "دير الزور", "الرقة", "الحسكة", "حماة", "حمص", "اللاذقية",
]

HEADLINES = [
    "غارات لطائرات الاحتلال الروسي على بلدة البارة جنوب إدلب وتلال الكبينة شمال اللاذقية",
    "ميليشيا أسد تعرقل المفاوضات وتصر على الحل الأمني في درعا",
    "اجتماع موسع للجان ووجهاء درعا بحضور الفيلق الخامس في بلدة طفس غرب المحافظة",
    "مقتل مجموعة عناصر من ميليشيا أسد بينهم ضباط بكمين محكم شرق درعا",
    "إدانة أممية ودولية للهجمة العسكرية على درعا البلد",
    "العثور على مقبرة جماعية جديدة لست جثث قرب معسكر الطلائع بمدينة الرقة",
    "وزير الدفاع الإسرائيلي يؤكد استعداد بلاده لمواجهة إيران عسكريا",
    "الرئيس الإيراني الجديد يطالب القوات الأجنبية بمغادرة سوريا على وجه السرعة",
    "ارتفاع أسعار الخبز والمحروقات في مناطق سيطرة النظام للمرة الثالثة هذا العام",
    "منتخب سوريا يتعادل مع نظيره اللبناني في تصفيات كأس العالم",
    "الليرة السورية تسجل انخفاضاً جديداً أمام الدولار في أسواق دمشق وحلب",
    "الأمم المتحدة تحذر من نقص التمويل لخطة الاستجابة الإنسانية في سوريا",
    "انطلاق امتحانات الشهادة الثانوية في الشمال السوري وسط إجراءات مشددة",
    "حريق ضخم يلتهم مساحات زراعية واسعة في ريف حماة الغربي",
    "وفد تركي يزور موسكو لبحث ملف الشمال السوري والطرق الدولية",
    "قسد تعلن اعتقال خلية تابعة لتنظيم داعش في ريف دير الزور الشرقي",
    "لبنان يبدأ ترحيل دفعة جديدة من اللاجئين السوريين عبر معبر المصنع",
    "مهرجان ثقافي في إسطنبول يحتفي بالفن التشكيلي السوري في المهجر",
    "تقرير حقوقي يوثق مقتل 120 مدنياً خلال الشهر الماضي في سوريا",
    "الاتحاد الأوروبي يمدد العقوبات المفروضة على النظام السوري لعام إضافي",
    "زلزال بقوة 4.2 درجات يضرب ريف اللاذقية دون أضرار تذكر",
    "مباحثات أردنية سورية حول إعادة فتح معبر نصيب الحدودي أمام الشاحنات",
    "انقطاع الكهرباء لساعات طويلة يفاقم معاناة السكان في حمص مع موجة الحر",
    "كيف يقضي النازحون شهر رمضان في مخيمات أطمة وقاح؟",
    "بالصور.. أمطار غزيرة تغرق خيام النازحين في ريف إدلب الشمالي",
    "محكمة ألمانية تصدر حكماً بالسجن المؤبد على ضابط سابق في المخابرات السورية",
    "ما هي السيناريوهات المتوقعة لمستقبل منطقة شرق الفرات؟",
    "بيدرسون يدعو إلى استئناف اجتماعات اللجنة الدستورية في جنيف",
    "واشنطن تفرض عقوبات على شبكة لتهريب الكبتاغون مرتبطة بالفرقة الرابعة",
    "تعرف على أبرز المواقع الأثرية المتضررة من الحرب في سوريا",
    "أسعار الذهب اليوم في سوريا: الغرام عيار 21 يسجل رقماً قياسياً",
    "الدفاع المدني يخمد حريقاً في مخيم للنازحين قرب سرمدا",
]

EXCERPTS = [
    "قالت مصادر محلية إن الطيران الحربي نفذ عدة غارات على محيط البلدة صباح اليوم، ما أدى إلى أضرار مادية في المنازل.",
    "أعلنت المنظمة في بيان أنها بحاجة إلى مزيد من التمويل لتغطية احتياجات النازحين خلال فصل الشتاء المقبل.",
    "وأوضح التقرير أن الأسعار ارتفعت بنسبة تجاوزت ثلاثين بالمئة مقارنة بالشهر الماضي، وسط غياب الرقابة.",
    "وتشهد المنطقة منذ أسابيع توتراً أمنياً متصاعداً على خلفية اغتيالات طالت عدداً من الوجهاء.",
    "ويعاني السكان من انقطاع المياه منذ أكثر من أسبوع بسبب أعطال في محطة الضخ الرئيسية.",
    "وأكد المسؤول أن الحكومة تعمل على إيجاد حلول سريعة لأزمة المحروقات التي تضرب البلاد.",
    "ونشر ناشطون صوراً تظهر حجم الدمار الذي لحق بالسوق الشعبي في المدينة جراء القصف.",
    "وكانت الأمم المتحدة قد حذرت في وقت سابق من كارثة إنسانية وشيكة في حال استمرار التصعيد.",
    "وتعد هذه الزيارة الأولى من نوعها منذ سنوات، وتأتي في إطار مساعي تطبيع العلاقات بين البلدين.",
    "واعتبر محللون أن الخطوة تحمل رسائل سياسية تتجاوز الإطار الاقتصادي المعلن.",
    "ويقول الأهالي إن المساعدات الغذائية التي تصلهم لا تكفي لأكثر من أسبوعين في الشهر.",
    "وأشار الباحث إلى أن ملف اللاجئين سيبقى ورقة ضغط في المفاوضات الإقليمية خلال الفترة المقبلة.",
]

COMMENTS = [
    "الله يفرج عن أهلنا في الشمال ويرحم الشهداء، الوضع صار لا يحتمل أبداً.",
    "كل هذه التصريحات كذب ولا أحد يصدقها بعد اليوم، الحقيقة واضحة للجميع.",
    "أين المجتمع الدولي مما يحدث؟ لم نر منه سوى بيانات القلق منذ سنوات.",
    "مقال ممتاز وتحليل دقيق للأحداث، شكراً للكاتب على هذا الجهد.",
    "نتمنى أن تتوقف الحرب ويعود الناس إلى بيوتهم وأرزاقهم في أقرب وقت.",
    "الخبر منقول بشكل غير دقيق، المصادر المحلية تقول شيئاً مختلفاً تماماً.",
]

AUTHORS = ["محمد الأحمد", "سارة العلي", "أحمد الخطيب", "ليلى حسن", "عمر الشامي", "رنا يوسف",
           "خالد المصري", "هبة الحلبي", "يوسف إبراهيم", "فراس العمر"]
COMMENTERS = ["أبو محمد", "سوري حر", "Ahmad", "ابن إدلب", "مواطن", "Rami S."]
TAGS = ["إدلب", "روسيا", "سوريا", "النظام السوري", "هيئة تحرير الشام", "الأسلحة الكيماوية", "تركيا",
        "الأمم المتحدة", "حلب", "الدفاع المدني", "مجلس الأمن", "النازحين"]
AGENCY_SIGNS = ["(سانا)", "(الأناضول)", "المصدر: وكالات", "المصدر: مواقع إلكترونية", "ع.ح", "(رويترز)",
                "وكالات", "المصدر: الأناضول + رويترز"]
CAPTION_CREDITS = ["(رويترز)", "(أ ف ب)", "(الأناضول)", "- وسائل التواصل", "(غيتي)", "- أرشيف",
                   "(رويترز - أرشيفية)", "- إنترنت", "(AFP)", "(فيسبوك)"]
CAPTION_SUBJECTS = ["عناصر من الدفاع المدني خلال عملية إنقاذ", "آثار القصف على أحد الأحياء السكنية",
                    "نازحون في مخيم قرب الحدود التركية", "رتل عسكري على الطريق الدولي",
                    "جلسة لمجلس الأمن الدولي", "دورية روسية تركية مشتركة", "صورة تعبيرية"]

AR_MONTHS = ["يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر",
             "نوفمبر", "ديسمبر"]
LEVANT_MONTHS = ["كانون الثاني", "شباط", "آذار", "نيسان", "أيار", "حزيران", "تموز", "آب", "أيلول",
                 "تشرين الأول", "تشرين الثاني", "كانون الأول"]
WEEKDAYS = ["الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد"]
AR_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")

# letters that join to the next letter: a censor tatweel only makes sense after them
_JOINING = set("بتثجحخسشصضطظعغفقكلمنهيئـ")
_ZW = ["\u200c", "\u200b", "\u200d"]

esc = html.escape


# --------------------------------------------------------------------------- helpers


def _rng(article: dict, shape: str, seed: int) -> random.Random:
    key = f"{article.get('id', '')}|{shape}|{seed}".encode()
    return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))


def _published(article: dict) -> datetime:
    v = article.get("published_at")
    if isinstance(v, datetime):
        dt = v
    elif v:
        dt = datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    else:
        dt = datetime(2020, 1, 1, 12, 0)
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _site(article: dict) -> str:
    src = article.get("source") or "news"
    return SITE_NAMES.get(src, "شبكة " + src.replace("-", " ").title())


def break_word(word: str, rng: random.Random) -> str:
    """Insert a censor break (tatweel+dot, tatweel, zero-width) inside an Arabic word."""
    spots = [i for i in range(1, len(word) - 1) if word[i - 1] in _JOINING and "\u0621" <= word[i] <= "\u064a"]
    if not spots:
        spots = [i for i in range(1, len(word) - 1) if "\u0621" <= word[i] <= "\u064a" and "\u0621" <= word[i - 1] <= "\u064a"]
        if not spots:
            return word
        mark = rng.choice(_ZW)
    else:
        mark = rng.choice(["ـ.", "ـ.", "ـ", "ـ" + rng.choice(_ZW), rng.choice(_ZW)])
    i = rng.choice(spots)
    return word[:i] + mark + word[i:]


def censor(text: str, rng: random.Random, rate: float = 0.05) -> str:
    out = []
    for w in text.split(" "):
        core = sum(1 for c in w if "\u0621" <= c <= "\u064a")
        out.append(break_word(w, rng) if core >= 4 and rng.random() < rate else w)
    return " ".join(out)


def _date_forms(dt: datetime, rng: random.Random) -> str:
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


def _css(rng: random.Random, n_rules: int) -> str:
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


def _analytics_js(rng: random.Random, site: str) -> str:
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


def _leaked_ad_js(rng: random.Random) -> str:
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


def _head(article: dict, rng: random.Random, site: str, author: str, dt: datetime, url: str, *,
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
        h.append(f"<style amp-custom>{_css(rng, int(css_rules * 1.7))}</style>")
    else:
        h.append(f'<link rel="stylesheet" href="/wp-content/themes/main/style.css?ver={rng.randint(1, 99)}">')
        h.append(f"<style id='main-inline-css'>{_css(rng, int(css_rules * 1.6))}</style>")
        h.append(f"<script>{_analytics_js(rng, site)}</script>")
        h.append(f"<script id='theme-scripts-js-extra'>{_vendor_js(rng, 90)}</script>")
    return "<head>" + "\n".join(x for x in h if x) + "</head>"


def _menu(rng: random.Random, cls: str = "main-menu") -> str:
    items = []
    for t in rng.sample(MENU, 22):
        sub = "".join(f'<li class="menu-item"><a href="/category/{rng.randint(1, 999)}">{esc(s)}</a></li>'
                      for s in rng.sample(MENU, rng.randint(0, 6)))
        items.append(f'<li class="menu-item menu-item-type-taxonomy"><a href="/category/{rng.randint(1, 999)}">{esc(t)}</a>'
                     + (f'<ul class="sub-menu">{sub}</ul>' if sub else "") + "</li>")
    return (f'<nav class="{cls}" aria-label="القائمة الرئيسية">{_svg_sprite(rng, 25)}<ul class="menu">{"".join(items)}</ul></nav>')


def _ticker(rng: random.Random, cls: str = "breaking-news") -> str:
    lis = "".join(f'<li><a href="/news/{rng.randint(10**5, 10**6)}">{esc(t)}</a></li>' for t in rng.sample(HEADLINES, 8))
    return f'<div class="{cls}"><span class="breaking-title">عاجل</span><ul class="ticker">{lis}</ul></div>'


def _cards(rng: random.Random, n: int, cls: str, title: str, excerpt: bool = True, time_ago: bool = True) -> str:
    cards = []
    for t in rng.sample(HEADLINES, n):
        ago = rng.choice(["منذ 3 ساعات", "منذ ساعتين", "منذ 45 دقيقة", "منذ يومين", "منذ أسبوع"]) if time_ago else ""
        ex = f'<p class="excerpt">{esc(rng.choice(EXCERPTS))}</p>' if excerpt and rng.random() < .6 else ""
        cards.append(f'<div class="card post-item"><a href="/news/{rng.randint(10**5, 10**6)}" class="thumb">'
                     f'<img src="/img/{rng.randint(1, 999)}.jpg" alt="{esc(t)}"></a>'
                     f'<h3 class="card-title"><a href="/news/{rng.randint(10**5, 10**6)}">{esc(t)}</a></h3>'
                     f'<span class="date">{ago}</span>{ex}</div>')
    return f'<section class="{cls}"><h2 class="section-title">{esc(title)}</h2>{"".join(cards)}</section>'


def _comments(rng: random.Random, cls: str = "comments-area") -> str:
    cs = "".join(f'<li class="comment"><div class="comment-author">{esc(rng.choice(COMMENTERS))}</div>'
                 f'<div class="comment-meta">{rng.choice(["منذ 3 ساعات", "منذ يوم", "2 ديسمبر 2019 الساعة 10:22 ص"])}</div>'
                 f'<div class="comment-content"><p>{esc(c)}</p></div><a class="comment-reply-link" href="#">رد</a></li>'
                 for c in rng.sample(COMMENTS, rng.randint(2, 4)))
    return (f'<div id="comments" class="{cls}"><h3 class="comments-title">التعليقات</h3><ol class="comment-list">{cs}</ol>'
            '<div id="respond"><h3>اترك تعليقاً</h3><p>لن يتم نشر عنوان بريدك الإلكتروني. الحقول الإلزامية مشار إليها بـ *</p>'
            '<form><textarea name="comment"></textarea><input type="submit" value="إرسال التعليق"></form></div></div>')


def _share(rng: random.Random, cls: str = "share-buttons") -> str:
    nets = ["فيسبوك", "تويتر", "واتساب", "تلغرام", "لينكدإن", "البريد الإلكتروني", "طباعة"]
    return (f'<div class="{cls}"><span class="share-title">{rng.choice(["شارك", "شارك المقال", "مشاركة"])}</span>'
            + "".join(f'<a href="https://share.example/{i}" class="share-{i}">{esc(n)}</a>' for i, n in enumerate(rng.sample(nets, 5)))
            + "</div>")


def _cookie(rng: random.Random) -> str:
    return ('<div id="cookie-notice" class="cookie-banner"><p>نستخدم ملفات تعريف الارتباط (الكوكيز) لتحسين تجربتك على موقعنا. '
            'باستمرارك في تصفح الموقع فإنك توافق على سياسة الخصوصية.</p><button>موافق</button><a href="/privacy">المزيد</a></div>')


def _footer(rng: random.Random, site: str, year: int) -> str:
    links = "".join(f'<li><a href="/p/{i}">{esc(t)}</a></li>' for i, t in enumerate(rng.sample(MENU, 18)))
    return (f'<footer id="footer" class="site-footer"><div class="footer-widgets"><div class="widget about">'
            f'<p>{esc(site)} موقع إخباري مستقل يغطي الشأن السوري والعربي على مدار الساعة، ويقدم تقارير وتحقيقات معمقة.</p></div>'
            f'<ul class="footer-links">{links}</ul></div><div class="copyright">جميع الحقوق محفوظة © {year} {esc(site)}</div>'
            '<div class="social-follow">تابعونا على: <a href="https://facebook.com/x">فيسبوك</a> <a href="https://twitter.com/x">تويتر</a> '
            '<a href="https://t.me/x">تلغرام</a> <a href="https://youtube.com/x">يوتيوب</a></div></footer>')


def _sidebar(rng: random.Random) -> str:
    most = "".join(f'<li><span class="num">{i + 1}</span><a href="/news/{rng.randint(10**5, 10**6)}">{esc(t)}</a></li>'
                   for i, t in enumerate(rng.sample(HEADLINES, 6)))
    return (f'<aside class="sidebar"><div class="widget most-read"><h4 class="widget-title">الأكثر قراءة</h4><ol>{most}</ol></div>'
            '<div class="widget ad-widget"><div class="adsbygoogle" data-ad-client="ca-pub-1" data-ad-slot="2"></div>'
            '<script>(adsbygoogle = window.adsbygoogle || []).push({});</script></div>'
            '<div class="widget newsletter"><h4>النشرة البريدية</h4><p>اشترك في النشرة البريدية ليصلك أهم الأخبار يومياً.</p>'
            '<form><input type="email" placeholder="بريدك الإلكتروني"><button>اشترك</button></form></div>'
            f'<div class="widget social-counter"><a href="#">فيسبوك <span>{rng.randint(100, 999)} ألف متابع</span></a>'
            f'<a href="#">تويتر <span>{rng.randint(10, 99)} ألف متابع</span></a></div></aside>')


def _caption_text(article: dict, rng: random.Random) -> str:
    if article.get("caption"):
        return article["caption"]
    return _caption_for(article, rng)


def _p_tag(text: str, rng: random.Random, short_heading: str = "h3") -> str:
    """A gold paragraph as the CMS would write it (short unpunctuated ones as subheads)."""
    words = text.split()
    if len(words) <= 6 and text[-1:] not in ".!؟?:\"»”":
        return rng.choice([f"<{short_heading}>{esc(text)}</{short_heading}>", f"<p><strong>{esc(text)}</strong></p>"])
    return f"<p>{esc(text)}</p>"


# Noise lines as outlets write them, per article language (picked at random, deterministically).
NOISE: dict[str, dict[str, list[str]]] = {
    "ar": {
        "read_also": ["اقرأ أيضاً:", "إقرأ أيضاً:", "اقرأ أيضا:", "شاهد أيضاً:", "اقرأ المزيد:", "للمزيد:", "ذات صلة:",
                      "اقرأ أيضًا ..", "طالع أيضاً:", "اقرأ كذلك:", "إقرأ أيضا >>", "مواضيع ذات صلة:", "قد يهمك:"],
        "related_header": ["اقرأ أيضاً", "مواضيع ذات صلة", "قد يهمك أيضاً", "اقرأ المزيد", "للمزيد", "أخبار ذات صلة",
                           "مقالات ذات صلة", "اخترنا لك", "المزيد من الأخبار", "الأكثر قراءة"],
        "promo": ["تابعونا على تلغرام لمتابعة آخر الأخبار", "لمتابعة آخر الأخبار اشترك في قناتنا على تلغرام",
                  "تابعوا صفحتنا على فيسبوك", "اشترك في النشرة البريدية ليصلك كل جديد",
                  "تابعونا على مواقع التواصل الاجتماعي", "حمّل تطبيق الموقع لتصلك الأخبار العاجلة",
                  "انضموا إلى قناتنا على واتساب", "اشترك في نشرتنا الأسبوعية", "لمتابعة أخبار سوريا على تلغرام اضغط هنا"],
        "date_label": ["تاريخ النشر: ", "نشر في: ", "", "آخر تحديث: ", "نُشر بتاريخ ", "تم النشر في "],
        "time_ago": ["منذ 3 ساعات", "منذ ساعتين", "منذ 45 دقيقة", "آخر تحديث: منذ يومين", "منذ يوم"],
        "byline": ["بقلم: ", "كتب: ", "تحرير: ", "إعداد: ", "", "بقلم ", "إعداد وتحرير: "],
        "category": ["سوريا", "أخبار", "سياسة", "تقارير", "عرب وعالم", "المشرق العربي"],
        "reading": ["وقت القراءة: 3 دقائق", "4 دقائق للقراءة", "مدة القراءة: دقيقتان", "دقيقة واحدة للقراءة"],
        "agency": ["(سانا)", "(الأناضول)", "المصدر: وكالات", "المصدر: مواقع إلكترونية", "ع.ح", "(رويترز)", "وكالات",
                   "المصدر: الأناضول + رويترز", "(أ ف ب)", "المصدر: الجزيرة + وكالات", "(ي.ص/ن.ع)"],
        "tags": ["الوسوم: ", "الكلمات المفتاحية: ", "وسوم: ", "الوسوم ", "مواضيع: "],
        "share": ["شارك: فيسبوك تويتر واتساب تلغرام", "شارك هذا المقال فيسبوك تويتر واتساب", "فيسبوك تويتر واتساب تلغرام",
                  "شارك عبر: فيسبوك | تويتر | واتساب | نسخ الرابط", "مشاركة", "شارك", "طباعة | أرسل لصديق | حجم الخط"],
        "copyright": ["جميع الحقوق محفوظة ل{site} {year}", "حقوق النشر محفوظة لـ{site} © {year}", "© {site} {year}",
                      "جميع الحقوق محفوظة © {year}"],
        "comments": ["commentالتعليقات", "التعليقات", "أضف تعليقك", "اترك تعليقاً", "التعليقات (0)", "لا توجد تعليقات"],
        "end_header": ["إقرأ أيضاً", "مقالات ذات صلة", "اقرأ أيضا", "ذات صلة", "قد يعجبك أيضاً"],
        "back_to_top": ["زر الذهاب إلى الأعلى", "العودة إلى الأعلى", "الذهاب إلى الأعلى"],
        "credit_line": ["تصوير: {author}", "الصورة: رويترز", "(الصورة: أ ف ب)", "مصدر الصورة: وسائل التواصل"],
        "loading": ["Loading...", "جار التحميل...", "إعلان", "- إعلان -", "Advertisement"],
        "disclaimer": ["المقال يعبر عن رأي كاتبه ولا يعبر بالضرورة عن رأي الموقع",
                       "الآراء الواردة في المقال تعبر عن وجهة نظر كاتبها"],
        "odd": ["انتهى", "(ع ح ش)", "صورة أرشيفية", "#سوريا #إدلب #عاجل", "📌 تابعونا على تلغرام",
                "عاجل | اجتماع طارئ لمجلس الأمن", "1 / 5", "المتصفح لا يدعم تشغيل الفيديو", "pic.twitter.com/AbC123xyz"],
    },
    "en": {
        "read_also": ["Read more:", "Related:", "Read also:", "See also:", "READ MORE:"],
        "related_header": ["Related", "Read more", "More stories", "Recommended", "You may also like", "Related articles"],
        "promo": ["Follow us on Twitter for the latest updates", "Sign up for our newsletter",
                  "Subscribe to our daily newsletter"],
        "date_label": ["Published on ", "Updated ", "", "Published: "],
        "time_ago": ["3 hours ago", "2 days ago", "45 minutes ago"],
        "byline": ["By ", "Written by ", "By "],
        "category": ["Middle East", "World", "Syria", "News"],
        "reading": ["3 min read", "4 min read"],
        "agency": ["Reporting by Suleiman Al-Khalidi; Editing by Alex Richardson", "(Reuters)",
                   "Additional reporting by Maya Gebeily in Beirut", "Source: Agencies"],
        "tags": ["Tags: ", "Topics: "],
        "share": ["Share this article", "Share on Facebook Share on Twitter Email", "Facebook Twitter WhatsApp Email Print",
                  "Copy link"],
        "copyright": ["© {year} {site}. All rights reserved.", "Copyright {year} {site}", "All rights reserved"],
        "comments": ["Comments", "Leave a comment", "0 Comments"],
        "end_header": ["Read more", "Related", "More stories"],
        "back_to_top": ["Back to top", "Scroll to top"],
        "credit_line": ["Photo: AFP", "Photo: Reuters", "(Photo: Getty Images)"],
        "loading": ["Loading...", "Advertisement"],
        "disclaimer": ["The views expressed in this article are the author's own."],
        "odd": ["Your browser does not support the video tag.", "#Syria #Idlib", "1 / 5", "pic.twitter.com/AbC123xyz"],
    },
}
EN_HEADLINES = [
    "Turkey sends more troops to northwest Syria as tensions rise",
    "UN warns of funding gap for Syria humanitarian response",
    "Syrian pound hits record low against the dollar",
    "Explainer: Who controls what in Syria's north",
    "Lebanon steps up deportations of Syrian refugees",
    "Germany convicts former Syrian intelligence officer",
]
EN_CAPTIONS = ["Civil defence workers search the rubble", "Displaced families at a camp near the Turkish border",
               "A Russian military convoy on the M4 highway"]
EN_CREDITS = ["(Reuters)", "(AFP)", "REUTERS/Khalil Ashawi", "(Getty Images)", "AP Photo"]


def _lang(article: dict) -> str:
    return "en" if article.get("language") == "en" else "ar"


def _noise(article: dict, rng: random.Random, key: str, **fmt) -> str:
    text = rng.choice(NOISE[_lang(article)][key])
    return text.format(**fmt) if fmt else text


def _headline(article: dict, rng: random.Random) -> str:
    return rng.choice(EN_HEADLINES if _lang(article) == "en" else HEADLINES)


def _caption_for(article: dict, rng: random.Random) -> str:
    if _lang(article) == "en":
        return f"{rng.choice(EN_CAPTIONS)} {rng.choice(EN_CREDITS)}"
    return f"{rng.choice(CAPTION_SUBJECTS)} {rng.choice(CAPTION_CREDITS)}"


def _inline_noise(kind: str, rng: random.Random, site: str, article: dict, dt: datetime) -> str:
    h = _headline(article, rng)
    link = f'<a href="/news/{rng.randint(10**5, 10**6)}">{esc(h)}</a>'
    if kind == "read_also":
        label = _noise(article, rng, "read_also")
        return rng.choice([f"<p><strong>{esc(label)}</strong> {link}</p>", f'<p class="read-also-inline">{esc(label)} {link}</p>',
                           f"<p>{esc(label.rstrip(':'))} .. {link}</p>", f"<p><em>{esc(label)} {link}</em></p>",
                           f"<blockquote><p>{esc(label)} {link}</p></blockquote>"])
    if kind == "related_list":
        label = _noise(article, rng, "related_header")
        pool = EN_HEADLINES if _lang(article) == "en" else HEADLINES
        lis = "".join(f'<li><a href="/news/{rng.randint(10**5, 10**6)}">{esc(t)}</a></li>' for t in rng.sample(pool, 3))
        divs = "".join(f'<div><a href="/news/{rng.randint(10**5, 10**6)}">{esc(t)}</a></div>' for t in rng.sample(pool, 3))
        return rng.choice([f"<p><strong>{esc(label)}</strong></p><ul>{lis}</ul>",
                           f'<div class="wp-block-group"><h4>{esc(label)}</h4><ul>{lis}</ul></div>',
                           f"<h3>{esc(label)}</h3>{divs}"])
    if kind == "link_only":
        return f"<p>{link}</p>"
    if kind == "ad_js":
        return f"<p>{esc(_leaked_ad_js(rng))}</p>"
    if kind == "ad_slot":
        return (f'<div class="ad-container"><span class="ad-label">{esc(_noise(article, rng, "loading"))}</span>'
                '<ins class="adsbygoogle" data-ad-client="ca-pub-1"></ins>'
                "<script>(adsbygoogle = window.adsbygoogle || []).push({});</script></div>")
    if kind == "figure":
        cap = _caption_for(article, rng)
        return rng.choice([
            f'<figure class="wp-caption"><img src="/img/{rng.randint(1, 999)}.jpg" alt="{esc(cap)}">'
            f'<figcaption class="wp-caption-text">{esc(cap)}</figcaption></figure>',
            f'<p><img src="/img/{rng.randint(1, 999)}.jpg" alt="{esc(cap)}"><br><em>{esc(cap)}</em></p>',
            f'<div><img src="/img/{rng.randint(1, 999)}.jpg" alt=""><span>{esc(cap)}</span></div>',
        ])
    if kind == "credit_line":
        return f"<p>{esc(_noise(article, rng, 'credit_line', author=rng.choice(AUTHORS)))}</p>"
    if kind == "promo":
        return f"<p>{esc(_noise(article, rng, 'promo'))}</p>"
    if kind == "loading":
        return f"<p>{esc(_noise(article, rng, 'loading'))}</p>"
    if kind == "odd":
        return f"<p>{esc(_noise(article, rng, 'odd'))}</p>"
    raise ValueError(kind)


def _body_html(article: dict, rng: random.Random, noise: bool, site: str, dt: datetime, author: str, *,
               kinds: list[str], top: list[str], tail: list[str], heading: str = "h3") -> str:
    """The article content container's inner HTML: gold paragraphs with noise in between."""
    paras = [censor(p, rng) if noise and _lang(article) == "ar" else p for p in article["paragraphs"]]
    blocks = [_p_tag(p, rng, heading) for p in paras]
    if noise and len(blocks) > 2:
        for kind in kinds:
            if kind in ("tail_link", "tail_js"):
                # glued onto a real paragraph that ends a sentence
                ok = [i for i, b in enumerate(blocks) if b.startswith("<p>") and b[-5:-4] in ".!؟?\"»”)"]
                if ok:
                    i = rng.choice(ok)
                    extra = (f' <strong>{esc(_noise(article, rng, "read_also"))}</strong> '
                             f'<a href="/n/{rng.randint(1, 10**5)}">{esc(_headline(article, rng))}</a>'
                             if kind == "tail_link" else " (adsbygoogle = window.adsbygoogle || []).push({});")
                    blocks[i] = blocks[i][:-4] + extra + "</p>"
                continue
            pos = rng.randint(1, len(blocks) - 1)
            blocks.insert(pos, _inline_noise(kind, rng, site, article, dt))
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
            cap = _caption_text(article, rng)
            head.append(f'<p><img src="/img/main.jpg" alt="{esc(cap)}"></p><p>{esc(cap)}</p>')
        elif t == "date":
            head.append(f"<p>{esc(_noise(article, rng, 'date_label'))}{_date_forms(dt, rng)}</p>")
        elif t == "time_ago":
            head.append(f"<p>{esc(_noise(article, rng, 'time_ago'))}</p>")
        elif t == "byline":
            head.append(f"<p>{esc(_noise(article, rng, 'byline'))}{esc(author)}</p>")
        elif t == "category":
            head.append(f"<p>{esc(_noise(article, rng, 'category'))}</p>")
        elif t == "reading":
            head.append(f"<p>{esc(_noise(article, rng, 'reading'))}</p>")
        elif t == "credit_line":
            head.append(_inline_noise("credit_line", rng, site, article, dt))
    foot = []
    if noise:
        for t in tail:
            if t == "agency":
                foot.append(f"<p>{esc(_noise(article, rng, 'agency'))}</p>")
            elif t == "tags":
                foot.append(f"<p>{esc(_noise(article, rng, 'tags'))}" + "، ".join(
                    f'<a href="/tag/{i}">{esc(t)}</a>' for i, t in enumerate(rng.sample(TAGS, 5))) + "</p>")
            elif t == "share":
                foot.append(f"<p>{esc(_noise(article, rng, 'share'))}</p>")
            elif t == "copyright":
                foot.append(f"<p>{esc(_noise(article, rng, 'copyright', site=site, year=dt.year))}</p>")
            elif t == "promo":
                foot.append(_inline_noise("promo", rng, site, article, dt))
            elif t == "comments_header":
                foot.append(f"<p>{esc(_noise(article, rng, 'comments'))}</p>")
            elif t == "read_also_header":
                foot.append(f"<p>{esc(_noise(article, rng, 'end_header'))}</p>")
            elif t == "ad_js":
                foot.append(_inline_noise("ad_js", rng, site, article, dt))
            elif t == "ticker":
                foot.append("<p>" + esc(".".join(rng.sample(HEADLINES, 8)) + ".https://www.facebook.com/news.page/.https://twitter.com/newspage?lang=en") + "</p>")
            elif t == "back_to_top":
                foot.append(f"<p>{esc(_noise(article, rng, 'back_to_top'))}</p>")
            elif t == "disclaimer":
                foot.append(f"<p><em>{esc(_noise(article, rng, 'disclaimer'))}</em></p>")
    return "\n".join(head + blocks + foot)


def _pick(rng: random.Random, options: list[str], k: tuple[int, int]) -> list[str]:
    return rng.sample(options, rng.randint(*k))


# --------------------------------------------------------------------------- shapes


def _wordpress_jannah(article: dict, rng: random.Random, noise: bool) -> bytes:
    site, dt, author, url = _site(article), _published(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    body = _body_html(article, rng, noise, site, dt, author,
                      kinds=_pick(rng, ["read_also", "related_list", "ad_slot", "figure", "read_also", "promo", "link_only", "tail_link", "odd"], (2, 5)),
                      top=_pick(rng, ["category", "caption", "time_ago"], (0, 2)),
                      tail=_pick(rng, ["agency", "tags", "promo", "read_also_header", "back_to_top", "disclaimer"], (1, 3)))
    lang = article.get("language", "ar")
    page = f"""<!DOCTYPE html><html dir="rtl" lang="{lang}">{_head(article, rng, site, author, dt, url)}
<body id="tie-body" class="post-template-default single single-post wrapper-has-shadow">
<div class="background-overlay"><div id="tie-container" class="site tie-container"><div id="tie-wrapper">
<header id="theme-header" class="theme-header header-layout-3"><div id="top-nav" class="top-nav"><div class="topbar-today-date">{_date_forms(dt, rng)}</div>
{_ticker(rng, "breaking-news-outer breaking")}</div><div class="logo-row"><div id="logo" class="image-logo"><a href="/"><img src="/logo.png" alt="{esc(site)}"><h1 class="h1-off">{esc(site)}</h1></a></div></div>
{_menu(rng, "main-nav")}</header>
<div id="content" class="site-content container"><div class="tie-row main-content-row"><div class="main-content tie-col-md-8" role="main">
<article id="the-post" class="container-wrapper post-content tie-standard">
<header class="entry-header-outer"><nav id="breadcrumb"><a href="/">الرئيسية</a><em class="delimiter">/</em><a href="/category/syria">سوريا</a></nav>
<div class="entry-header"><span class="post-cat-wrap"><a class="post-cat" href="/category/syria">سوريا</a></span>
<h1 class="post-title entry-title">{esc(article['title'])}</h1>{f'<h2 class="entry-sub-title">{esc(article["subtitle"])}</h2>' if article.get('subtitle') else ''}
<div class="post-meta"><span class="meta-author"><a href="/author/x" class="author-name">{esc(author)}</a></span><span class="date meta-item">{_date_forms(dt, rng)}</span>
<div class="meta-item"><span class="tie-icon-fire"></span> {rng.randint(100, 9000)} مشاهدة</div><span class="meta-reading-time">{rng.randint(2, 7)} دقائق</span></div></div></header>
<div class="featured-area"><figure class="single-featured-image"><img src="/img/main.jpg" alt="{esc(_caption_text(article, rng))}"><figcaption class="single-caption-text">{esc(_caption_text(article, rng))}</figcaption></figure></div>
<div class="entry-content entry clearfix">{body}</div>
<div id="post-extra-info"><div class="theiaStickySidebar"></div></div>
<div class="post-bottom-meta post-bottom-tags"><span class="tagcloud">{''.join(f'<a href="/tag/{i}">{esc(t)}</a>' for i, t in enumerate(rng.sample(TAGS, 4)))}</span></div>
<div id="share-buttons-bottom" class="share-buttons share-buttons-bottom">{_share(rng, "share-links")}</div>
</article>
<div class="post-components"><div class="about-author container-wrapper"><h3>{esc(author)}</h3><p>صحفي سوري يكتب في الشأن السياسي والميداني.</p></div>
<div id="related-posts" class="container-wrapper has-extra-post">{_cards(rng, 6, "related-posts-list", "مقالات ذات صلة")}</div>
{_comments(rng, "comments-area")}</div></div>
{_sidebar(rng)}</div></div>
{_footer(rng, site, dt.year)}
<a id="go-to-top" class="go-to-top-button" href="#go-to-tie-body"><span class="tie-icon-angle-up"></span><span class="screen-reader-text">زر الذهاب إلى الأعلى</span></a>
</div></div></div>{_cookie(rng)}
<script>var tie = {{"is_rtl":"1","ajaxurl":"/wp-admin/admin-ajax.php","lazyload":"1"}};</script></body></html>"""
    return page.encode("utf-8")


def _wordpress_newspaper(article: dict, rng: random.Random, noise: bool) -> bytes:
    site, dt, author, url = _site(article), _published(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    body = _body_html(article, rng, noise, site, dt, author,
                      kinds=_pick(rng, ["read_also", "related_list", "ad_slot", "figure", "ad_js", "loading", "credit_line", "tail_js", "odd"], (2, 5)),
                      top=_pick(rng, ["byline", "title", "reading", "time_ago"], (1, 2)),
                      tail=_pick(rng, ["agency", "share", "copyright", "tags", "promo"], (1, 3)), heading="h2")
    blocks = "".join(f'<div class="td_module_flex td_module_flex_1"><h3 class="entry-title td-module-title"><a href="/n/{i}">{esc(t)}</a></h3>'
                     f'<time class="entry-date updated td-module-date">{_date_forms(dt - timedelta(days=i + 1), rng)}</time></div>'
                     for i, t in enumerate(rng.sample(HEADLINES, 10)))
    page = f"""<!doctype html ><!--[if IE 8]><html class="ie8" lang="en"><![endif]--><html dir="rtl" lang="ar">{_head(article, rng, site, author, dt, url, css_rules=300)}
<body class="post-template-default single single-post td-standard-pack global-block-template-1 single_template_2" itemscope="itemscope" itemtype="https://schema.org/WebPage">
<div class="td-scroll-up"><i class="td-icon-menu-up"></i></div><div class="td-menu-background"></div>
<div id="td-mobile-nav"><div class="td-mobile-container">{_menu(rng, "td-mobile-content")}</div></div>
<div id="td-outer-wrap" class="td-theme-wrap"><div class="td-header-wrap td-header-style-1"><div class="td-header-top-menu-full td-container-wrap">
<div class="td-header-row td-header-top-menu"><div class="top-bar-style-1"><div class="td-header-sp-top-menu"><div class="td_data_time">{_date_forms(dt, rng)}</div></div></div></div></div>
<div class="td-banner-wrap-full td-logo-wrap-full"><div class="td-header-sp-logo"><a class="td-main-logo" href="/"><img class="td-retina-data" src="/logo.png" alt="{esc(site)}"><span class="td-visual-hidden">{esc(site)}</span></a></div>
<div class="td-header-sp-recs"><div class="td-header-rec-wrap"><div class="td-a-rec td-a-rec-id-header"><script>{_leaked_ad_js(rng)}</script></div></div></div></div>
<div class="td-header-menu-wrap-full td-container-wrap">{_menu(rng, "td-header-main-menu")}</div>
<div class="td-trending-now-wrapper">{_ticker(rng, "td-trending-now-display-area")}</div></div>
<div class="td-main-content-wrap td-container-wrap"><div class="td-container td-post-template-default"><div class="td-crumb-container"><div class="entry-crumbs"><span><a href="/" class="entry-crumb">الرئيسية</a></span> <i class="td-icon-right td-bread-sep"></i> <span><a href="/c/syria" class="entry-crumb">سوريا</a></span></div></div>
<div class="td-pb-row"><div class="td-pb-span8 td-main-content" role="main"><div class="td-ss-main-content">
<article id="post-{rng.randint(10**4, 10**5)}" class="post type-post status-publish format-standard has-post-thumbnail" itemscope itemtype="https://schema.org/Article">
<div class="td-post-header"><ul class="td-category"><li class="entry-category"><a href="/c/syria">سوريا</a></li></ul>
<header class="td-post-title"><h1 class="entry-title">{esc(article['title'])}</h1>{f'<p class="td-post-sub-title">{esc(article["subtitle"])}</p>' if article.get('subtitle') else ''}
<div class="td-module-meta-info"><div class="td-post-author-name"><div class="td-author-by">بواسطة</div> <a href="/author/x">{esc(author)}</a></div>
<span class="td-post-date"><time class="entry-date updated td-module-date" datetime="{dt.isoformat()}">{_date_forms(dt, rng)}</time></span>
<div class="td-post-views"><i class="td-icon-views"></i><span class="td-nr-views-{rng.randint(1, 9999)}">{rng.randint(100, 9999)}</span></div></div></header></div>
<div class="td-post-sharing-top"><div class="td-post-sharing td-ps-bg td-ps-notext">{_share(rng, "td-social-sharing-buttons")}</div></div>
<div class="td-post-content tagdiv-type"><div class="td-post-featured-image"><figure><img width="696" height="392" class="entry-thumb" src="/img/main.jpg" alt="" title="{esc(article['title'])}"><figcaption class="wp-caption-text">{esc(_caption_text(article, rng))}</figcaption></figure></div>
{body}</div>
<footer><div class="td-post-source-tags"><ul class="td-tags td-post-small-box clearfix"><li><span>الوسوم</span></li>{''.join(f'<li><a href="/tag/{i}">{esc(t)}</a></li>' for i, t in enumerate(rng.sample(TAGS, 4)))}</ul></div>
<div class="td-post-sharing-bottom">{_share(rng, "td-post-sharing td-ps-bg")}</div>
<div class="td-block-row td-post-next-prev"><div class="td-block-span6 td-post-prev-post"><div class="td-post-next-prev-content"><span>المقال السابق</span><a href="/p/1">{esc(rng.choice(HEADLINES))}</a></div></div>
<div class="td-block-span6 td-post-next-post"><div class="td-post-next-prev-content"><span>المقال التالي</span><a href="/p/2">{esc(rng.choice(HEADLINES))}</a></div></div></div>
<div class="author-box-wrap"><a href="/author/x"><img src="/a.jpg" alt="{esc(author)}"></a><div class="desc"><div class="td-author-name vcard author"><span class="fn"><a href="/author/x">{esc(author)}</a></span></div></div></div></footer>
</article><div class="td_block_wrap td_block_related_posts tdi_3 td_with_ajax_pagination td-pb-border-top td_block_template_1"><h4 class="td-related-title"><a href="#" class="td-related-left td-cur-simple-item">مقالات ذات صلة</a><a href="#" class="td-related-right">المزيد من الكاتب</a></h4>
<div class="td_block_inner td-related-row">{blocks}</div></div>
{_comments(rng, "comments")}</div></div>
<div class="td-pb-span4 td-main-sidebar" role="complementary">{_sidebar(rng)}</div></div></div></div>
<div class="td-footer-wrapper td-container-wrap">{_footer(rng, site, dt.year)}</div></div>
<script type="text/javascript">var td_viewport_interval_list=[{{"limitBottom":767,"sidebarWidth":228}}];var tds_general_modal_image="yes";{_leaked_ad_js(rng)}</script></body></html>"""
    return page.encode("utf-8")


def _drupal(article: dict, rng: random.Random, noise: bool) -> bytes:
    site, dt, author, url = _site(article), _published(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    body = _body_html(article, rng, noise, site, dt, author,
                      kinds=_pick(rng, ["read_also", "related_list", "figure", "ad_slot", "tail_link", "odd"], (2, 4)),
                      top=_pick(rng, ["date", "caption", "credit_line"], (1, 2)),
                      tail=_pick(rng, ["agency", "tags", "copyright", "share"], (1, 2)))
    views = "".join(f'<div class="views-row"><div class="views-field views-field-title"><span class="field-content"><a href="/node/{rng.randint(10**4, 10**5)}">{esc(t)}</a></span></div>'
                    f'<div class="views-field views-field-created"><span class="field-content">{_date_forms(dt - timedelta(hours=i + 1), rng)}</span></div></div>'
                    for i, t in enumerate(rng.sample(HEADLINES, 12)))
    page = f"""<!DOCTYPE html>
<html lang="ar" dir="rtl" prefix="content: http://purl.org/rss/1.0/modules/content/ og: http://ogp.me/ns#">{_head(article, rng, site, author, dt, url, css_rules=400)}
<body class="path-node page-node-type-article"><a href="#main-content" class="visually-hidden focusable skip-link">انتقل إلى المحتوى الرئيسي</a>
<div class="dialog-off-canvas-main-canvas" data-off-canvas-main-canvas><div class="layout-container">
<header role="banner"><div class="region region-header"><div id="block-sitebranding" class="block block-system block-system-branding-block"><a href="/" rel="home" class="site-logo"><img src="/logo.svg" alt="الرئيسية"></a><div class="site-name"><a href="/">{esc(site)}</a></div></div></div>
<div class="region region-primary-menu">{_menu(rng, "block block-menu navigation menu--main")}</div>
<div class="region region-breaking"><div class="views-element-container block block-views block-views-blockbreaking-news-block-1">{_ticker(rng, "view view-breaking-news")}</div></div></header>
<div class="region region-breadcrumb"><nav class="breadcrumb" role="navigation"><ol><li><a href="/">الرئيسية</a></li><li><a href="/news">أخبار</a></li></ol></nav></div>
<main role="main"><a id="main-content" tabindex="-1"></a><div class="layout-content"><div class="region region-content">
<div id="block-mainpagecontent" class="block block-system block-system-main-block">
<article role="article" about="/node/{rng.randint(10**4, 10**5)}" class="node node--type-article node--promoted node--view-mode-full">
<h1 class="page-title"><span class="field field--name-title field--type-string field--label-hidden">{esc(article['title'])}</span></h1>
{f'<div class="field field--name-field-subtitle field--type-string">{esc(article["subtitle"])}</div>' if article.get('subtitle') else ''}
<footer class="node__meta"><div class="node__submitted">نشر في <span class="field field--name-created">{_date_forms(dt, rng)}</span> بواسطة <span class="field field--name-uid"><span>{esc(author)}</span></span></div></footer>
<div class="node__content"><div class="field field--name-field-image field--type-image"><img src="/sites/default/files/main.jpg" alt="{esc(_caption_text(article, rng))}" typeof="foaf:Image"></div>
<div class="clearfix text-formatted field field--name-body field--type-text-with-summary field--label-hidden field__item">{body}</div>
<div class="field field--name-field-tags field--type-entity-reference field--label-above"><div class="field__label">الوسوم</div><div class="field__items">{''.join(f'<div class="field__item"><a href="/taxonomy/term/{i}">{esc(t)}</a></div>' for i, t in enumerate(rng.sample(TAGS, 4)))}</div></div>
<div class="addtoany_list">{_share(rng, "a2a_kit")}</div></div></article></div>
<div class="views-element-container block block-views block-views-blockrelated-content-block-1"><h2>محتوى ذو صلة</h2><div class="view view-related-content"><div class="view-content">{views}</div></div></div>
<section class="comment-section">{_comments(rng, "comments-wrapper")}</section></div></div>
<aside class="layout-sidebar-first" role="complementary">{_sidebar(rng)}</aside></main>
{_footer(rng, site, dt.year)}</div></div>{_cookie(rng)}
<script type="application/json" data-drupal-selector="drupal-settings-json">{json.dumps({"path": {"baseUrl": "/", "currentLanguage": "ar"}, "ajaxPageState": {"libraries": ",".join(f"core/lib{i}" for i in range(60))}}, ensure_ascii=False)}</script></body></html>"""
    return page.encode("utf-8")


def _custom_cms(article: dict, rng: random.Random, noise: bool) -> bytes:
    """An in-house news CMS (aawsat/orient-like): no telling class names inside the story."""
    site, dt, author, url = _site(article), _published(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    body = _body_html(article, rng, noise, site, dt, author,
                      kinds=_pick(rng, ["read_also", "related_list", "ad_js", "figure", "tail_js", "odd"], (1, 4)),
                      top=_pick(rng, ["title", "subtitle", "caption", "date", "byline"], (2, 4)),
                      tail=_pick(rng, ["comments_header", "read_also_header", "ad_js", "ticker", "agency"], (2, 4)))
    cards = _cards(rng, 12, "home-cards", "آخر الأخبار")
    page = f"""<!DOCTYPE html><html lang="ar" dir="rtl">{_head(article, rng, site, author, dt, url, css_rules=320)}
<body><div class="wrapper"><div class="top"><div class="logo"><a href="/"><img src="/logo.png" alt="{esc(site)}"></a></div>
<div class="today">{_date_forms(dt, rng)}</div><ul class="social"><li><a href="https://facebook.com/x">f</a></li><li><a href="https://twitter.com/x">t</a></li></ul></div>
{_menu(rng, "navbar")}<div class="urgent"><b>عاجل</b><marquee direction="right">{" • ".join(esc(t) for t in rng.sample(HEADLINES, 6))}</marquee></div>
<div class="container"><div class="row"><div class="col-md-8">
<div class="news-details" id="news-{rng.randint(10**5, 10**6)}"><div class="title-box"><span class="logo-mark">TT</span><h1>{esc(article['title'])}</h1>
{f'<h2 class="sub">{esc(article["subtitle"])}</h2>' if article.get('subtitle') else ''}</div>
<div class="info"><span>{_date_forms(dt, rng)}</span> <span>{esc(author)}</span> <span>{rng.randint(3, 900)} قراءة</span></div>
<div class="photo"><img src="/img/main.jpg" alt="{esc(_caption_text(article, rng))}"><p class="photo-caption">{esc(_caption_text(article, rng))}</p></div>
<div class="details-body">{body}</div>
<div class="tools">{_share(rng, "tools-share")}<a href="javascript:print()">طباعة</a> <a href="#">حجم الخط</a></div></div>
<div class="more-news">{_cards(rng, 6, "more", "إقرأ أيضاً", time_ago=False)}</div>
{_comments(rng, "comments-box")}</div>
<div class="col-md-4">{_sidebar(rng)}</div></div>{cards}</div>
{_footer(rng, site, dt.year)}</div><script>{_leaked_ad_js(rng)}</script></body></html>"""
    return page.encode("utf-8")


def _amp(article: dict, rng: random.Random, noise: bool) -> bytes:
    site, dt, author, url = _site(article), _published(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    body = _body_html(article, rng, noise, site, dt, author,
                      kinds=_pick(rng, ["read_also", "related_list", "figure"], (1, 3)),
                      top=_pick(rng, ["byline", "reading"], (0, 2)),
                      tail=_pick(rng, ["agency", "promo", "share"], (1, 2)))
    body = body.replace("<img ", '<amp-img layout="responsive" width="800" height="450" ').replace(
        '<ins class="adsbygoogle" data-ad-client="ca-pub-1"></ins>', '<amp-ad width="300" height="250" type="adsense"></amp-ad>')
    sidebar_menu = _menu(rng, "amp-menu")
    page = f"""<!doctype html><html ⚡ lang="ar" dir="rtl">{_head(article, rng, site, author, dt, url, css_rules=480, amp=True)}
<body><amp-analytics type="gtag" data-credentials="include"><script type="application/json">{json.dumps({"vars": {"gtag_id": "G-1", "config": {"G-1": {"groups": "default"}}}})}</script></amp-analytics>
<amp-sidebar id="sidebar" layout="nodisplay" side="right">{sidebar_menu}</amp-sidebar>
<header class="amp-header"><button on="tap:sidebar.toggle" class="hamburger">☰</button><a href="/"><amp-img src="/logo.png" width="120" height="40" alt="{esc(site)}"></amp-img></a></header>
<main><article class="amp-article"><div class="amp-category">سوريا</div><h1 class="amp-title">{esc(article['title'])}</h1>
{f'<p class="amp-subtitle">{esc(article["subtitle"])}</p>' if article.get('subtitle') else ''}
<div class="amp-meta"><span class="amp-author">{esc(author)}</span> <time datetime="{dt.isoformat()}">{_date_forms(dt, rng)}</time></div>
<figure class="amp-featured"><amp-img src="/img/main.jpg" width="800" height="450" layout="responsive" alt="{esc(_caption_text(article, rng))}"></amp-img><figcaption>{esc(_caption_text(article, rng))}</figcaption></figure>
<amp-social-share type="facebook"></amp-social-share><amp-social-share type="twitter"></amp-social-share><amp-social-share type="whatsapp"></amp-social-share>
<div class="amp-body">{body}</div>
<amp-ad width="300" height="250" type="doubleclick" data-slot="/21827/amp-bottom"></amp-ad></article>
<section class="amp-related">{_cards(rng, 8, "related", "اقرأ أيضاً")}</section>
{_cards(rng, 8, "latest", "آخر الأخبار")}</main>
{_footer(rng, site, dt.year)}<amp-user-notification layout="nodisplay" id="consent">{_cookie(rng)}</amp-user-notification></body></html>"""
    return page.encode("utf-8")


def _arc_spa(article: dict, rng: random.Random, noise: bool) -> bytes:
    """A React/Arc-style server-rendered page: hashed class names and the story again in a big JSON state."""
    site, dt, author, url = _site(article), _published(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    h = lambda: "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(6))  # noqa: E731
    pc = f"sc-{h()} {h()}"
    paras = [censor(p, rng) if noise else p for p in article["paragraphs"]]
    blocks = [f'<p class="{pc}" data-testid="paragraph">{esc(p)}</p>' for p in paras]
    if noise and len(blocks) > 2:
        for kind in _pick(rng, ["read_also", "related_list", "ad_slot", "promo"], (1, 3)):
            blocks.insert(rng.randint(1, len(blocks) - 1), f'<div class="sc-{h()}">{_inline_noise(kind, rng, site, article, dt)}</div>')
    if article.get("dateline"):
        blocks.insert(0, f'<p class="{pc}">{esc(article["dateline"])}</p>')
    state = {"props": {"pageProps": {"story": {
        "headlines": {"basic": article["title"]}, "subheadlines": {"basic": article.get("subtitle", "")},
        "credits": {"by": [{"name": author}]}, "display_date": dt.isoformat(),
        "content_elements": [{"type": "text", "content": p, "_id": h()} for p in article["paragraphs"]],
        "related": [{"headline": t, "url": f"/news/{i}"} for i, t in enumerate(rng.sample(HEADLINES, 12))],
    }, "nav": [{"name": t, "url": f"/s/{i}"} for i, t in enumerate(MENU)]}}}
    state_json = json.dumps(state, ensure_ascii=False).replace("</", "<\\/")
    page = f"""<!DOCTYPE html><html lang="ar" dir="rtl">{_head(article, rng, site, author, dt, url, css_rules=360)}
<body><div id="__next"><div class="sc-{h()}"><header class="sc-{h()}"><a href="/" aria-label="{esc(site)}"><svg viewBox="0 0 100 20"><path d="M0 0h100v20H0z"/></svg></a>
<div class="sc-{h()}">{_menu(rng, "sc-" + h())}</div></header><div class="sc-{h()}">{_ticker(rng, "sc-" + h())}</div>
<main class="sc-{h()}"><div class="sc-{h()}"><div class="sc-{h()}"><a href="/syria" class="sc-{h()}">سوريا</a></div>
<h1 class="sc-{h()}" data-testid="headline">{esc(article['title'])}</h1>{f'<h2 class="sc-{h()}">{esc(article["subtitle"])}</h2>' if article.get('subtitle') else ''}
<div class="sc-{h()}"><span class="sc-{h()}">{esc(author)}</span><time class="sc-{h()}" datetime="{dt.isoformat()}">{_date_forms(dt, rng)}</time></div>
<figure class="sc-{h()}"><img src="/img/main.jpg" alt="{esc(_caption_text(article, rng))}"><figcaption class="sc-{h()}">{esc(_caption_text(article, rng))}</figcaption></figure>
<div class="sc-{h()}" data-testid="article-body">{''.join(blocks)}</div>
<div class="sc-{h()}">{_share(rng, "sc-" + h())}</div></div>
<div class="sc-{h()}">{_cards(rng, 10, "sc-" + h(), "المزيد من الأخبار")}</div></main>
<footer class="sc-{h()}">{_footer(rng, site, dt.year)}</footer></div></div>
<script id="__NEXT_DATA__" type="application/json">{state_json}</script>
<script>{_analytics_js(rng, site)}</script></body></html>"""
    return page.encode("utf-8")


def _legacy_1256(article: dict, rng: random.Random, noise: bool) -> bytes:
    """A 2000s table layout in windows-1256: <br>-separated paragraphs, marquee, font tags, no metadata."""
    site, dt, author = _site(article), _published(article), rng.choice(AUTHORS)
    paras = [censor(p, rng) if noise else p for p in article["paragraphs"]]
    parts = [esc(p) for p in paras]
    if noise and len(parts) > 2:
        parts.insert(rng.randint(1, len(parts) - 1), f'<b>اقرأ أيضاً:</b> <a href="news.asp?id={rng.randint(1000, 9999)}">{esc(rng.choice(HEADLINES))}</a>')
    top = []
    if article.get("dateline"):
        top.append(esc(article["dateline"]))
    text = "<br><br>\n".join(top + parts)
    links = "".join(f'<tr><td><img src="arrow.gif"> <a href="news.asp?id={rng.randint(1000, 9999)}"><font size="2">{esc(t)}</font></a></td></tr>'
                    for t in rng.sample(HEADLINES, 14))
    menu = " | ".join(f'<a href="section.asp?id={i}">{esc(t)}</a>' for i, t in enumerate(MENU))
    junk_rows = "".join(f'<tr><td class="c{i % 7}"><a href="archive.asp?d={i}">{esc(t)}</a> - <font color="#999999">{_date_forms(dt - timedelta(days=i), rng)}</font></td></tr>'
                        for i, t in enumerate(HEADLINES * 9))
    style = _css(rng, 260)
    page = f"""<html dir="rtl"><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1256">
<title>{esc(site)} - {esc(article['title'])}</title><style>{style}</style>
<script language="javascript">function MM_openBrWindow(theURL,winName,features) {{ window.open(theURL,winName,features); }}
{_leaked_ad_js(rng)}</script></head>
<body bgcolor="#FFFFFF" topmargin="0"><table width="780" border="0" align="center" cellpadding="0" cellspacing="0">
<tr><td><img src="logo.gif" alt="{esc(site)}" width="780" height="90"></td></tr>
<tr><td bgcolor="#003366"><font color="#FFFFFF" size="2">{menu}</font></td></tr>
<tr><td><marquee scrollamount="3" direction="right">{" *** ".join(esc(t) for t in rng.sample(HEADLINES, 8))}</marquee></td></tr>
<tr><td><table width="100%"><tr><td width="200" valign="top"><table>{links}</table></td>
<td valign="top"><font face="Tahoma" size="2" color="#666666">{_date_forms(dt, rng)}</font><br>
<font face="Arial" size="4" color="#990000"><b>{esc(article['title'])}</b></font><br>
{f'<font size="3" color="#333333">{esc(article["subtitle"])}</font><br>' if article.get("subtitle") else ''}
<font face="Arial" size="3">{text}</font><br><br>
<font size="1"><a href="javascript:window.print()">اطبع الخبر</a> | <a href="send.asp">أرسل لصديق</a> | عدد القراءات: {rng.randint(10, 9999)}</font><br>
<b>التعليقات (0)</b></td></tr></table></td></tr>
<tr><td><table width="100%">{junk_rows}</table></td></tr>
<tr><td align="center"><font size="1">جميع الحقوق محفوظة © {esc(site)} {dt.year}</font></td></tr></table></body></html>"""
    return page.encode("cp1256", errors="xmlcharrefreplace")


def _generic_divs(article: dict, rng: random.Random, noise: bool) -> bytes:
    """A hand-made site builder page: no telling class names anywhere, paragraphs as <div>s,
    the story split in two containers around an ad, an author blurb and teasers without classes."""
    site, dt, author, url = _site(article), _published(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    c = lambda: f"c{rng.randint(100, 999)}"  # noqa: E731
    inner = _body_html(article, rng, noise, site, dt, author,
                       kinds=_pick(rng, ["read_also", "related_list", "link_only", "figure", "credit_line", "promo", "odd", "tail_link"], (2, 5)),
                       top=_pick(rng, ["category", "date", "byline", "caption", "time_ago"], (1, 3)),
                       tail=_pick(rng, ["agency", "share", "copyright", "comments_header", "tags", "back_to_top"], (1, 3)))
    # paragraphs as <div>, and the story split in two halves around an ad
    inner = inner.replace("<p>", f'<div class="{c()}">').replace("</p>", "</div>")
    parts = inner.split("\n")
    half = max(1, len(parts) // 2)
    first_half, second_half = "\n".join(parts[:half]), "\n".join(parts[half:])
    ad = (f'<div class="{c()}"><script>(adsbygoogle = window.adsbygoogle || []).push({{}});</script>'
          f'<div class="{c()}">{esc(_noise(article, rng, "loading"))}</div></div>') if noise else ""
    teasers = "".join(
        f'<div class="{c()}"><a href="/n/{rng.randint(10**4, 10**5)}"><img src="/t/{i}.jpg" alt=""></a>'
        f'<div class="{c()}"><a href="/n/{rng.randint(10**4, 10**5)}">{esc(t)}</a></div>'
        f'<div class="{c()}">{esc(rng.choice(EXCERPTS))}</div></div>'
        for i, t in enumerate(rng.sample(HEADLINES, 8)))
    blurb = (f'<div class="{c()}"><div class="{c()}"><img src="/a.jpg" alt="{esc(author)}"></div><div class="{c()}">'
             f'<a href="/author/1">{esc(author)}</a></div><div class="{c()}">صحفي سوري مقيم في غازي عنتاب، يغطي الشأن الميداني في الشمال السوري.</div></div>'
             if _lang(article) == "ar" else
             f'<div class="{c()}"><a href="/author/1">{esc(author)}</a><div class="{c()}">Middle East correspondent based in Beirut.</div></div>')
    page = f"""<!DOCTYPE html><html lang="{article.get('language', 'ar')}" dir="rtl">{_head(article, rng, site, author, dt, url, css_rules=380)}
<body><div class="{c()}"><div class="{c()}"><a href="/"><img src="/brand.png" alt="{esc(site)}"></a></div>
<div class="{c()}">{"".join(f'<a href="/s/{i}">{esc(t)}</a> ' for i, t in enumerate(rng.sample(MENU, 20)))}</div></div>
<div class="{c()}"><div class="{c()}"><div class="{c()}"><h1 class="{c()}">{esc(article['title'])}</h1>
<div class="{c()}">{first_half}</div>{ad}<div class="{c()}">{second_half}</div>
{blurb}<div class="{c()}"><h3>{esc(_noise(article, rng, "related_header"))}</h3>{teasers}</div></div>
<div class="{c()}">{"".join(f'<div class="{c()}"><a href="/n/{i}">{esc(t)}</a></div>' for i, t in enumerate(rng.sample(HEADLINES, 10)))}</div></div></div>
<div class="{c()}">{esc(_noise(article, rng, "copyright", site=site, year=dt.year))} | <a href="/about">من نحن</a> | <a href="/contact">اتصل بنا</a></div>
<script>{_analytics_js(rng, site)}</script></body></html>"""
    return page.encode("utf-8")



# --------------------------------------------------------------------------- held-out shapes
# Written after the extract/clean stages were tuned, to estimate how they do on CMSs they
# were not developed against (the gate reports them separately; see HELDOUT_SHAPES).


def _gold_ps(article: dict, rng: random.Random, noise: bool, tag: str = "p", attrs: str = "") -> list[str]:
    paras = [censor(p, rng) if noise and _lang(article) == "ar" else p for p in article["paragraphs"]]
    return [f"<{tag}{attrs}>{esc(p)}</{tag}>" for p in paras]


def _jnews(article: dict, rng: random.Random, noise: bool) -> bytes:
    """WordPress + JNews theme (jeg_* classes), inline related-post block with thumbnails."""
    site, dt, author, url = _site(article), _published(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    ps = _gold_ps(article, rng, noise)
    if noise and len(ps) > 2:
        rel = "".join(f'<div class="jeg_post jeg_pl_xs_4"><div class="jeg_thumb"><a href="/r{i}"><img src="/r{i}.jpg" alt="{esc(t)}"></a></div>'
                      f'<div class="jeg_postblock_content"><h3 class="jeg_post_title"><a href="/r{i}">{esc(t)}</a></h3></div></div>'
                      for i, t in enumerate(rng.sample(HEADLINES, 3)))
        ps.insert(rng.randint(1, len(ps) - 1),
                  f'<div class="jnews_inline_related_post_wrapper"><div class="jnews_inline_related_post"><div class="jeg_postblock_21 jeg_postblock">'
                  f'<div class="jeg_block_heading"><h3 class="jeg_block_title"><span>إقرأ أيضاً</span></h3></div>{rel}</div></div></div>')
        ps.insert(rng.randint(1, len(ps) - 1), f'<div class="jeg_ad jeg_ad_article jnews_content_inline_ads"><div class="ads-wrapper"><a href="/ad"><img src="/ad.png" alt=""></a><div class="ads-text">إعلان</div></div></div>')
        ps.append("<p><strong>المصدر:</strong> وكالات</p>")
    if article.get("dateline"):
        ps.insert(0, f"<p><strong>{esc(article['dateline'])}</strong></p>")
    page = f"""<!DOCTYPE html><html dir="rtl" lang="ar">{_head(article, rng, site, author, dt, url, css_rules=380)}
<body class="rtl post-template-default single jeg_single_tpl_1 jnews jsc_normal"><div class="jeg_viewport"><div class="jeg_header_wrapper"><div class="jeg_header normal">
<div class="jeg_topbar jeg_container dark"><div class="jeg_nav_item jeg_top_date">{_date_forms(dt, rng)}</div></div>
<div class="jeg_midbar jeg_container normal"><div class="jeg_logo"><a href="/"><img src="/logo.png" alt="{esc(site)}"></a></div></div>
<div class="jeg_bottombar jeg_navbar jeg_container">{_menu(rng, "jeg_main_menu_wrapper")}</div></div></div>
<div class="jeg_main"><div class="jeg_container"><div class="jeg_content jeg_singlepage"><div class="container"><div class="row">
<div class="jeg_main_content col-md-8"><div class="jeg_inner_content"><div class="jeg_breadcrumbs jeg_breadcrumb_container"><div id="breadcrumbs"><span><a href="/">الرئيسية</a></span><i class="fa fa-angle-right"></i><span><a href="/c">أخبار</a></span></div></div>
<div class="entry-header"><h1 class="jeg_post_title">{esc(article['title'])}</h1>{f'<h2 class="jeg_post_subtitle">{esc(article["subtitle"])}</h2>' if article.get('subtitle') else ''}
<div class="jeg_meta_container"><div class="jeg_post_meta jeg_post_meta_1"><div class="jeg_meta_author"><span class="meta_text">بواسطة</span> <a href="/author/x">{esc(author)}</a></div>
<div class="jeg_meta_date"><a href="#">{_date_forms(dt, rng)}</a></div><div class="jeg_meta_comment"><a href="#comments"><i class="fa fa-comment-o"></i> 0</a></div></div></div></div>
<div class="jeg_featured featured_image"><a href="/img/main.jpg"><div class="thumbnail-container"><img src="/img/main.jpg" alt="{esc(_caption_text(article, rng))}"></div><p class="wp-caption-text">{esc(_caption_text(article, rng))}</p></a></div>
<div class="jeg_share_top_container"><div class="jeg_share_button clearfix"><div class="jeg_sharelist"><a href="#" class="jeg_btn-facebook"><span>شارك على فيسبوك</span></a><a href="#" class="jeg_btn-twitter"><span>شارك على تويتر</span></a></div></div></div>
<div class="jeg_ad jeg_article jnews_article_top_ads"><div class="ads-wrapper"></div></div>
<div class="entry-content no-share"><div class="jeg_share_button share-float jeg_sticky_share clearfix share-monocrhome"></div>
<div class="content-inner ">{"".join(ps)}</div></div>
<div class="jeg_share_bottom_container"></div><div class="jeg_ad jeg_article jnews_article_bottom_ads"></div>
<div class="jnews_prev_next_container"><div class="jeg_prevnext_post"><a href="/p" class="post prev-post"><span class="caption">المقال السابق</span><h3 class="post-title">{esc(rng.choice(HEADLINES))}</h3></a></div></div>
<div class="jnews_author_box_container"><div class="jeg_authorbox"><div class="jeg_author_image"><img src="/a.jpg" alt="{esc(author)}"></div><div class="jeg_author_content"><h3 class="jeg_author_name"><a href="/author/x">{esc(author)}</a></h3><p class="jeg_author_desc">صحفي يغطي الشؤون السورية منذ عام 2012.</p></div></div></div>
<div class="jnews_related_post_container"><div class="jeg_postblock_22 jeg_postblock"><div class="jeg_block_heading"><h3 class="jeg_block_title"><span>مقالات ذات صلة</span></h3></div>
{''.join(f'<article class="jeg_post"><div class="jeg_thumb"><a href="/q{i}"><img src="/q{i}.jpg" alt=""></a></div><div class="jeg_postblock_content"><h3 class="jeg_post_title"><a href="/q{i}">{esc(t)}</a></h3><div class="jeg_post_meta"><div class="jeg_meta_date">{_date_forms(dt, rng)}</div></div></div></article>' for i, t in enumerate(rng.sample(HEADLINES, 6)))}</div></div>
<div class="jnews_comment_container"><div id="comments" class="jeg_comments"><h3 class="comments-title">0 تعليقات</h3><div id="respond" class="comment-respond"><h3 id="reply-title" class="comment-reply-title">اترك تعليقاً</h3></div></div></div>
</div></div><div class="jeg_sidebar col-md-4">{_sidebar(rng)}</div></div></div></div></div></div>
<div class="footer-holder" id="footer"><div class="jeg_footer">{_footer(rng, site, dt.year)}</div></div>
<div class="jscroll-to-top"><a href="#back-to-top" class="jscroll-to-top_link"><i class="fa fa-angle-up"></i></a></div></div></body></html>"""
    return page.encode("utf-8")


def _next_tailwind(article: dict, rng: random.Random, noise: bool) -> bytes:
    """A Next.js site styled with Tailwind utility classes: no semantic class names at all."""
    site, dt, author, url = _site(article), _published(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    ps = _gold_ps(article, rng, noise, attrs=' class="mb-6 text-lg leading-9 text-gray-800"')
    if noise and len(ps) > 2:
        cards = "".join(f'<a href="/n/{i}" class="group flex gap-3 rounded-lg p-2 hover:bg-gray-50"><img class="h-16 w-24 rounded object-cover" src="/t{i}.jpg" alt="">'
                        f'<span class="text-sm font-semibold group-hover:text-red-700">{esc(t)}</span></a>' for i, t in enumerate(rng.sample(HEADLINES, 3)))
        ps.insert(rng.randint(1, len(ps) - 1), f'<div class="my-8 rounded-xl border-r-4 border-red-700 bg-gray-50 p-4"><p class="mb-2 font-bold text-red-700">اقرأ أيضاً</p><div class="grid gap-2">{cards}</div></div>')
        ps.insert(rng.randint(1, len(ps) - 1), '<div class="my-6 flex justify-center"><div class="h-[250px] w-[300px] bg-gray-100 text-center text-xs text-gray-400">إعلان</div></div>')
        ps.append('<div class="mt-10 rounded-2xl bg-red-50 p-6"><p class="text-xl font-bold">النشرة البريدية</p><p class="text-sm">احصل على أهم أخبار سوريا في بريدك كل صباح</p>'
                  '<form class="mt-3 flex gap-2"><input type="email" class="flex-1 rounded border px-3" placeholder="بريدك الإلكتروني"><button class="rounded bg-red-700 px-4 text-white">اشتراك</button></form></div>')
    if article.get("dateline"):
        ps.insert(0, f'<p class="mb-4 text-sm font-bold text-red-700">{esc(article["dateline"])}</p>')
    related = "".join(f'<a href="/n/r{i}" class="group block"><img class="aspect-video w-full rounded-lg object-cover" src="/r{i}.jpg" alt="">'
                      f'<h3 class="mt-2 font-bold leading-7 group-hover:underline">{esc(t)}</h3><p class="mt-1 line-clamp-2 text-sm text-gray-600">{esc(rng.choice(EXCERPTS))}</p></a>'
                      for i, t in enumerate(rng.sample(HEADLINES, 6)))
    state = json.dumps({"props": {"pageProps": {"article": {"title": article["title"], "html": "".join(ps)[:4000]}}}}, ensure_ascii=False).replace("</", "<\\/")
    sub = f'<p class="mt-3 text-xl leading-8 text-gray-600">{esc(article["subtitle"])}</p>' if article.get("subtitle") else ""
    page = f"""<!DOCTYPE html><html lang="{article.get('language', 'ar')}" dir="rtl">{_head(article, rng, site, author, dt, url, css_rules=300)}
<body class="bg-white font-sans antialiased"><div id="__next"><div class="flex min-h-screen flex-col">
<div class="sticky top-0 z-50 border-b bg-white"><div class="mx-auto flex max-w-7xl items-center justify-between px-4 py-3"><a href="/" class="text-2xl font-black text-red-700">{esc(site)}</a>
<div class="hidden gap-6 md:flex">{"".join(f'<a href="/s/{i}" class="text-sm font-medium hover:text-red-700">{esc(t)}</a>' for i, t in enumerate(rng.sample(MENU, 12)))}</div>
<button aria-label="فتح القائمة" class="md:hidden">☰</button></div>
<div class="overflow-hidden bg-red-700 text-white"><div class="flex animate-marquee gap-8 whitespace-nowrap py-1 text-sm">{"".join(f'<a href="/b/{i}">{esc(t)}</a>' for i, t in enumerate(rng.sample(HEADLINES, 6)))}</div></div></div>
<div class="mx-auto w-full max-w-3xl px-4 py-8"><ol class="mb-4 flex gap-2 text-xs text-gray-500"><li><a href="/">الرئيسية</a></li><li>/</li><li><a href="/syria">سوريا</a></li></ol>
<h1 class="text-3xl font-extrabold leading-[1.4] md:text-4xl">{esc(article['title'])}</h1>{sub}
<div class="mt-4 flex items-center gap-3 text-sm text-gray-500"><img class="h-10 w-10 rounded-full" src="/a.jpg" alt=""><address class="not-italic"><a rel="author" href="/writers/1" class="font-semibold text-gray-900">{esc(author)}</a></address>
<span>·</span><time datetime="{dt.isoformat()}">{_date_forms(dt, rng)}</time><span>·</span><span>{rng.randint(2, 8)} دقائق قراءة</span></div>
<div class="mt-4 flex gap-2"><a aria-label="مشاركة على فيسبوك" href="#" class="rounded-full border p-2">f</a><a aria-label="مشاركة على إكس" href="#" class="rounded-full border p-2">x</a><a aria-label="مشاركة على واتساب" href="#" class="rounded-full border p-2">w</a></div>
<div class="my-6 overflow-hidden rounded-xl"><img class="w-full" src="/img/main.jpg" alt="{esc(_caption_text(article, rng))}"><div class="bg-gray-50 px-3 py-2 text-xs text-gray-500">{esc(_caption_text(article, rng))}</div></div>
<div class="text-right">{"".join(ps)}</div>
<div class="mt-8 flex flex-wrap gap-2">{"".join(f'<a href="/t/{i}" class="rounded-full bg-gray-100 px-3 py-1 text-sm">{esc(t)}</a>' for i, t in enumerate(rng.sample(TAGS, 5)))}</div></div>
<div class="mx-auto w-full max-w-7xl px-4 py-10"><h2 class="mb-6 text-2xl font-bold">المزيد من {esc(site)}</h2><div class="grid gap-6 md:grid-cols-3">{related}</div></div>
<div class="mt-auto bg-gray-900 py-10 text-gray-300"><div class="mx-auto max-w-7xl px-4 text-sm">© {dt.year} {esc(site)}. جميع الحقوق محفوظة.</div></div></div>
<div class="fixed bottom-0 inset-x-0 bg-gray-900 p-4 text-white text-sm" data-nosnippet="">يستخدم هذا الموقع ملفات تعريف الارتباط لضمان حصولك على أفضل تجربة. <button class="mr-2 rounded bg-white px-3 text-gray-900">موافق</button></div></div>
<script id="__NEXT_DATA__" type="application/json">{state}</script></body></html>"""
    return page.encode("utf-8")


def _blogger(article: dict, rng: random.Random, noise: bool) -> bytes:
    """A Blogspot post: <br>-separated text in styled divs/spans and Blogger's own chrome."""
    site, dt, author, url = _site(article), _published(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    paras = [censor(p, rng) if noise and _lang(article) == "ar" else p for p in article["paragraphs"]]
    chunks = [f'<span style="font-size: large;">{esc(p)}</span>' for p in paras]
    if noise and len(chunks) > 2:
        chunks.insert(rng.randint(1, len(chunks) - 1), f'<b>شاهد أيضا: </b><a href="/2020/01/x.html">{esc(rng.choice(HEADLINES))}</a>')
        chunks.append("<span style='font-size: x-small;'>المصدر: مواقع</span>")
    if article.get("dateline"):
        chunks.insert(0, f"<b>{esc(article['dateline'])}</b>")
    body = '<div dir="rtl" style="text-align: right;">' + "<br /><br />".join(chunks) + "</div>"
    popular = "".join(f'<li><div class="item-thumbnail"><a href="/p{i}.html"><img src="/p{i}.jpg" alt=""></a></div><div class="item-title"><a href="/p{i}.html">{esc(t)}</a></div>'
                      f'<div class="item-snippet">{esc(rng.choice(EXCERPTS))}</div></li>' for i, t in enumerate(rng.sample(HEADLINES, 5)))
    page = f"""<!DOCTYPE html><html class="v2" dir="rtl" lang="ar">{_head(article, rng, site, author, dt, url, css_rules=260)}
<body class="loading"><div class="navbar section" id="navbar"><div class="widget Navbar" id="Navbar1"><iframe src="//www.blogger.com/navbar.g"></iframe></div></div>
<div class="content"><div class="content-outer"><header><div class="header-outer"><div class="Header widget" id="Header1"><div id="header-inner"><div class="titlewrapper"><h1 class="title"><a href="/">{esc(site)}</a></h1></div>
<div class="descriptionwrapper"><p class="description"><span>مدونة إخبارية تهتم بالشأن السوري</span></p></div></div></div></div></header>
<div class="main-outer"><div class="main-inner"><div class="columns"><div class="column-center-outer"><div class="column-center-inner"><div class="main section" id="main"><div class="widget Blog" id="Blog1"><div class="blog-posts hfeed">
<div class="date-outer"><h2 class="date-header"><span>{_date_forms(dt, rng)}</span></h2><div class="date-posts"><div class="post-outer"><div class="post hentry" itemprop="blogPost" itemscope="itemscope">
<h3 class="post-title entry-title" itemprop="name">{esc(article['title'])}</h3><div class="post-header"><div class="post-header-line-1"></div></div>
<div class="post-body entry-content" id="post-body-{rng.randint(10**6, 10**7)}" itemprop="description articleBody"><div class="separator" style="clear: both; text-align: center;"><a href="/img/main.jpg" style="margin-left: 1em; margin-right: 1em;"><img border="0" src="/img/main.jpg" width="640"></a></div>{body}<div style="clear: both;"></div></div>
<div class="post-footer"><div class="post-footer-line post-footer-line-1"><span class="post-author vcard">بقلم <span class="fn">{esc(author)}</span></span> <span class="post-timestamp">في <a class="timestamp-link" href="{esc(url)}"><abbr class="published" title="{dt.isoformat()}">{dt:%I:%M %p}</abbr></a></span>
<span class="post-comment-link"><a class="comment-link" href="#comments">ليست هناك تعليقات:</a></span></div>
<div class="post-share-buttons goog-inline-block"><a class="goog-inline-block share-button sb-email" href="#" title="إرسال بالبريد الإلكتروني"><span class="share-button-link-text">إرسال بالبريد الإلكتروني</span></a><a class="goog-inline-block share-button sb-blog" href="#" title="كتابة مدونة حول هذه المشاركة"><span class="share-button-link-text">كتابة مدونة حول هذه المشاركة</span></a><a class="goog-inline-block share-button sb-twitter" href="#"><span class="share-button-link-text">المشاركة على X</span></a><a class="goog-inline-block share-button sb-facebook" href="#"><span class="share-button-link-text">‏المشاركة في Facebook</span></a></div>
<div class="post-footer-line post-footer-line-2"><span class="post-labels">التصنيفات: {"، ".join(f'<a href="/search/label/{esc(t)}" rel="tag">{esc(t)}</a>' for t in rng.sample(TAGS, 3))}</span></div></div></div>
<div class="comments" id="comments"><a name="comments"></a><h4>ليست هناك تعليقات:</h4><div id="Blog1_comments-block-wrapper"></div><p class="comment-footer"><a href="#">إرسال تعليق</a></p></div></div></div></div></div>
<div class="blog-pager" id="blog-pager"><span id="blog-pager-newer-link"><a class="blog-pager-newer-link" href="/n.html" title="رسالة أحدث">رسالة أحدث</a></span><span id="blog-pager-older-link"><a class="blog-pager-older-link" href="/o.html" title="رسالة أقدم">رسالة أقدم</a></span><a class="home-link" href="/">الصفحة الرئيسية</a></div>
<div class="blog-feeds"><div class="feed-links">الاشتراك في: <a class="feed-link" href="/feeds/posts/default" type="application/atom+xml">تعليقات الرسالة (Atom)</a></div></div></div></div></div></div></div>
<div class="column-right-outer"><div class="column-right-inner"><aside><div class="sidebar section" id="sidebar-right-1"><div class="widget PopularPosts" id="PopularPosts1"><h2>المشاركات الشائعة</h2><div class="widget-content popular-posts"><ul>{popular}</ul></div></div>
<div class="widget BlogArchive" id="BlogArchive1"><h2>أرشيف المدونة</h2><ul class="hierarchy"><li><a href="/2020/">2020</a> (120)</li><li><a href="/2019/">2019</a> (340)</li></ul></div></div></aside></div></div></div></div></div>
<footer><div class="footer-outer"><div class="widget Attribution" id="Attribution1"><div class="widget-content" style="text-align: center;">يتم التشغيل بواسطة <a href="https://www.blogger.com">Blogger</a>.</div></div></div></footer></div></div></body></html>"""
    return page.encode("utf-8")


def _aspnet_agency(article: dict, rng: random.Random, noise: bool) -> bytes:
    """An ASP.NET WebForms news agency page: the whole page inside <form>, text in a <span> with <br />s."""
    site, dt, author, url = _site(article), _published(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    paras = [censor(p, rng) if noise and _lang(article) == "ar" else p for p in article["paragraphs"]]
    lines = ([esc(article["dateline"])] if article.get("dateline") else []) + [esc(p) for p in paras]
    if noise:
        lines.append(rng.choice(["ح.م", "(انتهى)", "م.ع/ س.ج"]))
    news_body = "<br /><br />".join(lines)
    related = "".join(f'<tr><td class="RelatedNewsTD"><a id="ctl00_cph_rptRelated_ctl0{i}_lnk" href="NewsDetails.aspx?id={rng.randint(10**5, 10**6)}">{esc(t)}</a></td>'
                      f'<td class="DateTD">{_date_forms(dt - timedelta(days=i + 1), rng)}</td></tr>' for i, t in enumerate(rng.sample(HEADLINES, 6)))
    viewstate = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(6000))
    page = f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" dir="rtl">{_head(article, rng, site, author, dt, url, css_rules=300)}
<body><form name="aspnetForm" method="post" action="NewsDetails.aspx?id=1" id="aspnetForm"><div><input type="hidden" name="__VIEWSTATE" id="__VIEWSTATE" value="{viewstate}" /></div>
<table id="MainTable" width="100%" cellpadding="0" cellspacing="0"><tr><td class="HeaderTD"><img id="ctl00_imgLogo" src="images/logo.jpg" alt="{esc(site)}" /></td></tr>
<tr><td class="MenuTD">{" | ".join(f'<a href="Section.aspx?id={i}">{esc(t)}</a>' for i, t in enumerate(rng.sample(MENU, 14)))}</td></tr>
<tr><td><table width="100%"><tr><td valign="top" width="75%"><div class="NewsDetailsDiv">
<span id="ctl00_cph_lblDate" class="DateLabel">{_date_forms(dt, rng)}</span><br />
<span id="ctl00_cph_lblTitle" class="NewsTitle">{esc(article['title'])}</span><br />
<img id="ctl00_cph_imgNews" src="Images/News/main.jpg" alt="" /><br />
<span id="ctl00_cph_lblBody" class="NewsBody">{news_body}</span><br /><br />
<a id="ctl00_cph_lnkPrint" href="javascript:window.print();">طباعة</a> &nbsp; <a id="ctl00_cph_lnkSend" href="SendToFriend.aspx">إرسال لصديق</a> &nbsp; <span id="ctl00_cph_lblVisits">عدد الزيارات: {rng.randint(10, 9000)}</span>
</div><div class="RelatedNewsDiv"><span class="RelatedTitle">أخبار ذات صلة</span><table>{related}</table></div></td>
<td valign="top" class="SideTD"><div class="MostRead"><span>الأكثر قراءة</span><ul>{"".join(f'<li><a href="N.aspx?id={i}">{esc(t)}</a></li>' for i, t in enumerate(rng.sample(HEADLINES, 6)))}</ul></div></td></tr></table></td></tr>
<tr><td class="FooterTD">جميع الحقوق محفوظة لـ {esc(site)} © {dt.year} - تصميم وتطوير قسم تقنية المعلومات</td></tr></table>
<script type="text/javascript">//<![CDATA[
var theForm = document.forms['aspnetForm']; function __doPostBack(eventTarget, eventArgument) {{ theForm.submit(); }}
//]]></script></form></body></html>"""
    return page.encode("utf-8")


HELDOUT_SHAPES = ["jnews", "next_tailwind", "blogger", "aspnet_agency"]  # first batch written after tuning


def _wp_classic(article: dict, rng: random.Random, noise: bool) -> bytes:
    """An old WordPress theme: the whole story pasted as one <p> with <br>s, YARPP related posts,
    wpDiscuz comments, a share plugin."""
    site, dt, author, url = _site(article), _published(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    paras = [censor(p, rng) if noise and _lang(article) == "ar" else p for p in article["paragraphs"]]
    parts = [esc(p) for p in paras]
    if noise and len(parts) > 2:
        parts.insert(rng.randint(1, len(parts) - 1), f'<strong>اقرأ أيضا</strong>: <a href="/?p={rng.randint(100, 9999)}">{esc(rng.choice(HEADLINES))}</a>')
        parts.append("<em>تابعنا على تويتر وفيسبوك</em>")
    if article.get("dateline"):
        parts.insert(0, f"<strong>{esc(article['dateline'])}</strong>")
    story = "<p>" + "<br />\n<br />\n".join(parts) + "</p>"
    yarpp = "".join(f'<li><a href="/?p={rng.randint(100, 9999)}" rel="bookmark" title="{esc(t)}">{esc(t)}</a></li>' for t in rng.sample(HEADLINES, 5))
    comments = "".join(f'<div class="wpd-comment wpd_comment_level-1"><div class="wpd-comment-wrap"><div class="wpd-comment-author">{esc(rng.choice(COMMENTERS))}</div>'
                       f'<div class="wpd-comment-text"><p>{esc(c)}</p></div></div></div>' for c in rng.sample(COMMENTS, 3))
    page = f"""<!DOCTYPE html><html dir="rtl" lang="ar">{_head(article, rng, site, author, dt, url, css_rules=320)}
<body class="single single-post"><div id="wrapper"><div id="header"><div id="logo"><a href="/"><img src="/logo.gif" alt="{esc(site)}"></a></div>
<ul id="nav">{"".join(f'<li class="page_item"><a href="/c/{i}">{esc(t)}</a></li>' for i, t in enumerate(rng.sample(MENU, 12)))}</ul></div>
<div id="content"><div class="post" id="post-{rng.randint(100, 9999)}"><h2 class="title"><a href="{esc(url)}" rel="bookmark">{esc(article['title'])}</a></h2>
<div class="postmeta">نشر بواسطة {esc(author)} في {_date_forms(dt, rng)} | <a href="#respond">اترك تعليقاً</a></div>
<div class="post-entry">{story}
<div class="heateor_sss_sharing_container heateor_sss_horizontal_sharing"><div class="heateor_sss_sharing_title">شارك هذا:</div><ul class="heateor_sss_sharing_ul"><li><a>Facebook</a></li><li><a>Twitter</a></li><li><a>WhatsApp</a></li></ul></div>
<div class='yarpp yarpp-related yarpp-template-list'><h3>تدوينات ذات صلة:</h3><ol>{yarpp}</ol></div></div>
<div class="postinfo">التصنيفات: <a href="/c/syria" rel="category tag">سوريا</a> | الوسوم: {", ".join(f'<a href="/t/{i}" rel="tag">{esc(t)}</a>' for i, t in enumerate(rng.sample(TAGS, 3)))}</div></div>
<div id="comments"><div class="wpd-thread-head"><div class="wpd-thread-info">3 تعليقات</div></div><div class="wpd-thread-list">{comments}</div></div></div>
<div id="sidebar"><ul><li class="widget widget_archive"><h2>الأرشيف</h2><ul><li><a href="/2020/09">سبتمبر 2020</a></li><li><a href="/2020/08">أغسطس 2020</a></li></ul></li>
<li class="widget widget_recent_entries"><h2>أحدث المقالات</h2><ul>{"".join(f'<li><a href="/?p={i}">{esc(t)}</a></li>' for i, t in enumerate(rng.sample(HEADLINES, 5)))}</ul></li></ul></div>
<div id="footer"><p>{esc(site)} &copy; {dt.year} | يعمل بواسطة ووردبريس</p></div></div></body></html>"""
    return page.encode("utf-8")


def _sputnik_like(article: dict, rng: random.Random, noise: bool) -> bytes:
    """A Russian-agency CMS (article__block data-type=...): a related-article card *inside* the body."""
    site, dt, author, url = _site(article), _published(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    paras = [censor(p, rng) if noise and _lang(article) == "ar" else p for p in article["paragraphs"]]
    blocks = [f'<div class="article__block" data-type="text"><div class="article__text">{esc(p)}</div></div>' for p in paras]
    if noise and len(blocks) > 2:
        t = rng.choice(HEADLINES)
        blocks.insert(rng.randint(1, len(blocks) - 1),
                      f'<div class="article__block" data-type="article"><div class="article__article m-image"><a href="/20200101/{rng.randint(10**6, 10**7)}.html" class="article__article-image"><img src="/i.jpg" alt="{esc(t)}"></a>'
                      f'<div class="article__article-desc"><a href="/20200101/x.html" class="article__article-title">{esc(t)}</a></div></div></div>')
        blocks.insert(rng.randint(1, len(blocks) - 1),
                      f'<div class="article__block" data-type="banner"><div class="banner m-article-desktop"><div class="banner__content">{esc(_noise(article, rng, "loading"))}</div></div></div>')
    lead = f'<div class="article__announce-text">{esc(article["subtitle"])}</div>' if article.get("subtitle") else ""
    dl = f'<div class="article__block" data-type="text"><div class="article__text"><strong>{esc(article["dateline"])}</strong></div></div>' if article.get("dateline") else ""
    page = f"""<!DOCTYPE html><html lang="ar" dir="rtl">{_head(article, rng, site, author, dt, url, css_rules=340)}
<body class="body m-article"><div class="page"><div class="header"><div class="header__logo"><a href="/"><img src="/logo.svg" alt="{esc(site)}"></a></div>
<div class="header__menu">{_menu(rng, "nav__menu")}</div></div>
<div class="layout-article"><div class="article m-article"><div class="article__meta" itemscope itemtype="https://schema.org/Article"></div>
<div class="article__header"><h1 class="article__title">{esc(article['title'])}</h1>{lead}
<div class="article__info"><div class="article__info-date"><a href="/date">{_date_forms(dt, rng)}</a> <span class="article__info-date-modified">(محدثة {_date_forms(dt + timedelta(hours=1), rng)})</span></div></div>
<div class="article__announce"><div class="photoview__open"><img src="/img/main.jpg" alt="{esc(_caption_text(article, rng))}"><div class="media__copyright"><div class="media__copyright-item m-copyright">© {esc(site)} / {esc(author)}</div></div></div></div></div>
<div class="article__body js-mediator-article">{dl}{"".join(blocks)}</div>
<div class="article__footer"><div class="article__author"><a href="/author_x/" class="article__author-item">{esc(author)}</a></div>
<ul class="tags m-noButton m-mb20">{"".join(f'<li class="tag"><a href="/t/{i}" class="tag__text">{esc(t)}</a></li>' for i, t in enumerate(rng.sample(TAGS, 4)))}</ul>
<div class="article__userbar"><div class="share m-article"><a class="share__item m-facebook" href="#"></a><a class="share__item m-telegram" href="#"></a></div></div>
<div class="article__telegram"><a href="https://t.me/x">اشترك في قناتنا على تليغرام</a></div></div></div>
<div class="l-aside"><div class="list">{"".join(f'<div class="list__item"><a href="/n{i}" class="list__title">{esc(t)}</a><div class="list__info"><div class="list__date">{_date_forms(dt - timedelta(hours=i + 1), rng)}</div></div></div>' for i, t in enumerate(rng.sample(HEADLINES, 10)))}</div></div></div>
<div class="footer"><div class="footer__copyright">© {dt.year} {esc(site)}. جميع الحقوق محفوظة</div></div></div></body></html>"""
    return page.encode("utf-8")


def _joomla(article: dict, rng: random.Random, noise: bool) -> bytes:
    """Joomla 3: itemprop=articleBody, the dl.article-info block, pagenav, 'more articles' module."""
    site, dt, author, url = _site(article), _published(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    ps = _gold_ps(article, rng, noise, attrs=' style="text-align: justify;"')
    if noise and len(ps) > 2:
        ps.insert(rng.randint(1, len(ps) - 1), f'<p style="text-align: justify;"><span style="color: #ff0000;"><strong>إقرأ أيضاً:</strong></span> <a href="/index.php/x/{rng.randint(100, 999)}">{esc(rng.choice(HEADLINES))}</a></p>')
        ps.insert(rng.randint(1, len(ps) - 1), f'<p style="text-align: center;"><img src="/images/2020/a.jpg" alt="" /><br /><span style="font-size: 8pt;">{esc(_caption_for(article, rng))}</span></p>')
    if article.get("dateline"):
        ps.insert(0, f'<p style="text-align: justify;"><strong>{esc(article["dateline"])}</strong></p>')
    more = "".join(f'<li><a href="/index.php/n/{i}">{esc(t)}</a></li>' for i, t in enumerate(rng.sample(HEADLINES, 5)))
    page = f"""<!DOCTYPE html><html lang="ar-aa" dir="rtl">{_head(article, rng, site, author, dt, url, css_rules=300)}
<body class="site com_content view-article no-layout no-task itemid-101"><div class="body"><div class="container"><header class="header" role="banner"><div class="header-inner clearfix"><a class="brand pull-left" href="/"><img src="/images/logo.png" alt="{esc(site)}" /></a></div></header>
<nav class="navigation" role="navigation">{_menu(rng, "nav menu nav-pills mod-list")}</nav>
<div class="row-fluid"><main id="content" role="main" class="span9"><div id="system-message-container"></div>
<div class="item-page" itemscope itemtype="https://schema.org/Article"><meta itemprop="inLanguage" content="ar-AA" />
<div class="page-header"><h2 itemprop="headline">{esc(article['title'])}</h2></div>
<dl class="article-info muted"><dt class="article-info-term">التفاصيل</dt><dd class="createdby" itemprop="author" itemscope itemtype="https://schema.org/Person">كتب بواسطة: <span itemprop="name">{esc(author)}</span></dd>
<dd class="category-name">الفئة: <a href="/index.php/syria" itemprop="genre">سوريا</a></dd><dd class="published"><span class="icon-calendar" aria-hidden="true"></span><time datetime="{dt.isoformat()}" itemprop="datePublished">نشر بتاريخ {_date_forms(dt, rng)}</time></dd>
<dd class="hits"><span class="icon-eye-open" aria-hidden="true"></span><meta itemprop="interactionCount" content="UserPageVisits:{rng.randint(10, 9999)}" />الزيارات: {rng.randint(10, 9999)}</dd></dl>
<div itemprop="articleBody">{"".join(ps)}</div>
<ul class="pager pagenav"><li class="previous"><a class="hasTooltip" title="{esc(rng.choice(HEADLINES))}" href="/p" rel="prev"><span class="icon-chevron-right" aria-hidden="true"></span> <span aria-hidden="true">السابق</span></a></li>
<li class="next"><a class="hasTooltip" title="{esc(rng.choice(HEADLINES))}" href="/n" rel="next"><span aria-hidden="true">التالي</span> <span class="icon-chevron-left" aria-hidden="true"></span></a></li></ul></div>
<div class="moduletable"><h3>مقالات أخرى</h3><ul class="mostread mod-list">{more}</ul></div></main>
<div id="aside" class="span3"><div class="well "><h3 class="page-header">الأكثر قراءة</h3><ul class="mostread mod-list">{more}</ul></div></div></div></div></div>
<footer class="footer" role="contentinfo"><div class="container"><p class="pull-right"><a href="#top" id="back-top">العودة للأعلى</a></p><p>&copy; {dt.year} {esc(site)}</p></div></footer></body></html>"""
    return page.encode("utf-8")


HELDOUT2_SHAPES = ["wp_classic", "sputnik_like", "joomla"]  # second batch, written after fixing the first


_SHAPE_FUNCS: dict[str, Callable[[dict, random.Random, bool], bytes]] = {
    "wordpress_jannah": _wordpress_jannah,
    "wordpress_newspaper": _wordpress_newspaper,
    "drupal": _drupal,
    "custom_cms": _custom_cms,
    "amp": _amp,
    "arc_spa": _arc_spa,
    "legacy_1256": _legacy_1256,
    "generic_divs": _generic_divs,
    "jnews": _jnews,
    "next_tailwind": _next_tailwind,
    "blogger": _blogger,
    "aspnet_agency": _aspnet_agency,
    "wp_classic": _wp_classic,
    "sputnik_like": _sputnik_like,
    "joomla": _joomla,
}


def _pad(page: bytes, rng: random.Random, encoding: str) -> bytes:
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
            chunk = f"<style>{_css(rng, 120)}</style>"
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


def render(article: dict, shape: str, noise: bool = True, seed: int = 0) -> bytes:
    """The article as a page of ``shape`` (bytes in the page's declared charset)."""
    if shape not in _SHAPE_FUNCS:
        raise ValueError(f"unknown shape {shape!r}; known: {SHAPES}")
    rng = _rng(article, shape, seed)
    page = _SHAPE_FUNCS[shape](article, rng, noise)
    return _pad(page, rng, "cp1256" if shape == "legacy_1256" else "utf-8")


def load_articles(directory: str | None = None) -> list[dict]:
    """Every corpus article (tests/quality/articles/*.yaml), sorted by id."""
    from pathlib import Path

    import yaml

    d = Path(directory) if directory else LABELLED
    arts = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(d.glob("*.yaml"))]
    return sorted((a for a in arts if a and a.get("paragraphs")), key=lambda a: a["id"])


if __name__ == "__main__":  # pragma: no cover - manual inspection helper
    import sys

    arts = {a["id"]: a for a in load_articles()}
    art = arts[sys.argv[1]] if len(sys.argv) > 1 else next(iter(arts.values()))
    shape = sys.argv[2] if len(sys.argv) > 2 else SHAPES[0]
    sys.stdout.buffer.write(render(art, shape))
