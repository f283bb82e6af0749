"""The CMS shapes a page is rendered in: WordPress themes, Drupal, AMP, a JavaScript SPA, a legacy
windows-1256 table layout, Blogger, ASP.NET agency pages and more, each with its own markup habits."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Callable
from devstack.pages.parts import analytics_js, body_html, caption_for, caption_text, cards_html, comments_html, cookie_html, css_text, date_forms, footer_html, gold_ps, head_html, inline_noise, lang_of, leaked_ad_js, menu_html, noise_line, pick, published_of, share_html, sidebar_html, site_of, ticker_html, censor
from devstack.pages.words import AUTHORS, COMMENTERS, COMMENTS, EXCERPTS, HEADLINES, MENU, TAGS, esc


# --------------------------------------------------------------------------- shapes


def _wordpress_jannah(article: dict, rng: random.Random, noise: bool) -> bytes:
    site, dt, author, url = site_of(article), published_of(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    body = body_html(article, rng, noise, site, dt, author,
                      kinds=pick(rng, ["read_also", "related_list", "ad_slot", "figure", "read_also", "promo", "link_only", "tail_link", "odd"], (2, 5)),
                      top=pick(rng, ["category", "caption", "time_ago"], (0, 2)),
                      tail=pick(rng, ["agency", "tags", "promo", "read_also_header", "back_to_top", "disclaimer"], (1, 3)))
    lang = article.get("language", "ar")
    page = f"""<!DOCTYPE html><html dir="rtl" lang="{lang}">{head_html(article, rng, site, author, dt, url)}
<body id="tie-body" class="post-template-default single single-post wrapper-has-shadow">
<div class="background-overlay"><div id="tie-container" class="site tie-container"><div id="tie-wrapper">
<header id="theme-header" class="theme-header header-layout-3"><div id="top-nav" class="top-nav"><div class="topbar-today-date">{date_forms(dt, rng)}</div>
{ticker_html(rng, "breaking-news-outer breaking")}</div><div class="logo-row"><div id="logo" class="image-logo"><a href="/"><img src="/logo.png" alt="{esc(site)}"><h1 class="h1-off">{esc(site)}</h1></a></div></div>
{menu_html(rng, "main-nav")}</header>
<div id="content" class="site-content container"><div class="tie-row main-content-row"><div class="main-content tie-col-md-8" role="main">
<article id="the-post" class="container-wrapper post-content tie-standard">
<header class="entry-header-outer"><nav id="breadcrumb"><a href="/">الرئيسية</a><em class="delimiter">/</em><a href="/category/syria">سوريا</a></nav>
<div class="entry-header"><span class="post-cat-wrap"><a class="post-cat" href="/category/syria">سوريا</a></span>
<h1 class="post-title entry-title">{esc(article['title'])}</h1>{f'<h2 class="entry-sub-title">{esc(article["subtitle"])}</h2>' if article.get('subtitle') else ''}
<div class="post-meta"><span class="meta-author"><a href="/author/x" class="author-name">{esc(author)}</a></span><span class="date meta-item">{date_forms(dt, rng)}</span>
<div class="meta-item"><span class="tie-icon-fire"></span> {rng.randint(100, 9000)} مشاهدة</div><span class="meta-reading-time">{rng.randint(2, 7)} دقائق</span></div></div></header>
<div class="featured-area"><figure class="single-featured-image"><img src="/img/main.jpg" alt="{esc(caption_text(article, rng))}"><figcaption class="single-caption-text">{esc(caption_text(article, rng))}</figcaption></figure></div>
<div class="entry-content entry clearfix">{body}</div>
<div id="post-extra-info"><div class="theiaStickySidebar"></div></div>
<div class="post-bottom-meta post-bottom-tags"><span class="tagcloud">{''.join(f'<a href="/tag/{i}">{esc(t)}</a>' for i, t in enumerate(rng.sample(TAGS, 4)))}</span></div>
<div id="share-buttons-bottom" class="share-buttons share-buttons-bottom">{share_html(rng, "share-links")}</div>
</article>
<div class="post-components"><div class="about-author container-wrapper"><h3>{esc(author)}</h3><p>صحفي سوري يكتب في الشأن السياسي والميداني.</p></div>
<div id="related-posts" class="container-wrapper has-extra-post">{cards_html(rng, 6, "related-posts-list", "مقالات ذات صلة")}</div>
{comments_html(rng, "comments-area")}</div></div>
{sidebar_html(rng)}</div></div>
{footer_html(rng, site, dt.year)}
<a id="go-to-top" class="go-to-top-button" href="#go-to-tie-body"><span class="tie-icon-angle-up"></span><span class="screen-reader-text">زر الذهاب إلى الأعلى</span></a>
</div></div></div>{cookie_html(rng)}
<script>var tie = {{"is_rtl":"1","ajaxurl":"/wp-admin/admin-ajax.php","lazyload":"1"}};</script></body></html>"""
    return page.encode("utf-8")


def _wordpress_newspaper(article: dict, rng: random.Random, noise: bool) -> bytes:
    site, dt, author, url = site_of(article), published_of(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    body = body_html(article, rng, noise, site, dt, author,
                      kinds=pick(rng, ["read_also", "related_list", "ad_slot", "figure", "ad_js", "loading", "credit_line", "tail_js", "odd"], (2, 5)),
                      top=pick(rng, ["byline", "title", "reading", "time_ago"], (1, 2)),
                      tail=pick(rng, ["agency", "share", "copyright", "tags", "promo"], (1, 3)), heading="h2")
    blocks = "".join(f'<div class="td_module_flex td_module_flex_1"><h3 class="entry-title td-module-title"><a href="/n/{i}">{esc(t)}</a></h3>'
                     f'<time class="entry-date updated td-module-date">{date_forms(dt - timedelta(days=i + 1), rng)}</time></div>'
                     for i, t in enumerate(rng.sample(HEADLINES, 10)))
    page = f"""<!doctype html ><!--[if IE 8]><html class="ie8" lang="en"><![endif]--><html dir="rtl" lang="ar">{head_html(article, rng, site, author, dt, url, css_rules=300)}
<body class="post-template-default single single-post td-standard-pack global-block-template-1 single_template_2" itemscope="itemscope" itemtype="https://schema.org/WebPage">
<div class="td-scroll-up"><i class="td-icon-menu-up"></i></div><div class="td-menu-background"></div>
<div id="td-mobile-nav"><div class="td-mobile-container">{menu_html(rng, "td-mobile-content")}</div></div>
<div id="td-outer-wrap" class="td-theme-wrap"><div class="td-header-wrap td-header-style-1"><div class="td-header-top-menu-full td-container-wrap">
<div class="td-header-row td-header-top-menu"><div class="top-bar-style-1"><div class="td-header-sp-top-menu"><div class="td_data_time">{date_forms(dt, rng)}</div></div></div></div></div>
<div class="td-banner-wrap-full td-logo-wrap-full"><div class="td-header-sp-logo"><a class="td-main-logo" href="/"><img class="td-retina-data" src="/logo.png" alt="{esc(site)}"><span class="td-visual-hidden">{esc(site)}</span></a></div>
<div class="td-header-sp-recs"><div class="td-header-rec-wrap"><div class="td-a-rec td-a-rec-id-header"><script>{leaked_ad_js(rng)}</script></div></div></div></div>
<div class="td-header-menu-wrap-full td-container-wrap">{menu_html(rng, "td-header-main-menu")}</div>
<div class="td-trending-now-wrapper">{ticker_html(rng, "td-trending-now-display-area")}</div></div>
<div class="td-main-content-wrap td-container-wrap"><div class="td-container td-post-template-default"><div class="td-crumb-container"><div class="entry-crumbs"><span><a href="/" class="entry-crumb">الرئيسية</a></span> <i class="td-icon-right td-bread-sep"></i> <span><a href="/c/syria" class="entry-crumb">سوريا</a></span></div></div>
<div class="td-pb-row"><div class="td-pb-span8 td-main-content" role="main"><div class="td-ss-main-content">
<article id="post-{rng.randint(10**4, 10**5)}" class="post type-post status-publish format-standard has-post-thumbnail" itemscope itemtype="https://schema.org/Article">
<div class="td-post-header"><ul class="td-category"><li class="entry-category"><a href="/c/syria">سوريا</a></li></ul>
<header class="td-post-title"><h1 class="entry-title">{esc(article['title'])}</h1>{f'<p class="td-post-sub-title">{esc(article["subtitle"])}</p>' if article.get('subtitle') else ''}
<div class="td-module-meta-info"><div class="td-post-author-name"><div class="td-author-by">بواسطة</div> <a href="/author/x">{esc(author)}</a></div>
<span class="td-post-date"><time class="entry-date updated td-module-date" datetime="{dt.isoformat()}">{date_forms(dt, rng)}</time></span>
<div class="td-post-views"><i class="td-icon-views"></i><span class="td-nr-views-{rng.randint(1, 9999)}">{rng.randint(100, 9999)}</span></div></div></header></div>
<div class="td-post-sharing-top"><div class="td-post-sharing td-ps-bg td-ps-notext">{share_html(rng, "td-social-sharing-buttons")}</div></div>
<div class="td-post-content tagdiv-type"><div class="td-post-featured-image"><figure><img width="696" height="392" class="entry-thumb" src="/img/main.jpg" alt="" title="{esc(article['title'])}"><figcaption class="wp-caption-text">{esc(caption_text(article, rng))}</figcaption></figure></div>
{body}</div>
<footer><div class="td-post-source-tags"><ul class="td-tags td-post-small-box clearfix"><li><span>الوسوم</span></li>{''.join(f'<li><a href="/tag/{i}">{esc(t)}</a></li>' for i, t in enumerate(rng.sample(TAGS, 4)))}</ul></div>
<div class="td-post-sharing-bottom">{share_html(rng, "td-post-sharing td-ps-bg")}</div>
<div class="td-block-row td-post-next-prev"><div class="td-block-span6 td-post-prev-post"><div class="td-post-next-prev-content"><span>المقال السابق</span><a href="/p/1">{esc(rng.choice(HEADLINES))}</a></div></div>
<div class="td-block-span6 td-post-next-post"><div class="td-post-next-prev-content"><span>المقال التالي</span><a href="/p/2">{esc(rng.choice(HEADLINES))}</a></div></div></div>
<div class="author-box-wrap"><a href="/author/x"><img src="/a.jpg" alt="{esc(author)}"></a><div class="desc"><div class="td-author-name vcard author"><span class="fn"><a href="/author/x">{esc(author)}</a></span></div></div></div></footer>
</article><div class="td_block_wrap td_block_related_posts tdi_3 td_with_ajax_pagination td-pb-border-top td_block_template_1"><h4 class="td-related-title"><a href="#" class="td-related-left td-cur-simple-item">مقالات ذات صلة</a><a href="#" class="td-related-right">المزيد من الكاتب</a></h4>
<div class="td_block_inner td-related-row">{blocks}</div></div>
{comments_html(rng, "comments")}</div></div>
<div class="td-pb-span4 td-main-sidebar" role="complementary">{sidebar_html(rng)}</div></div></div></div>
<div class="td-footer-wrapper td-container-wrap">{footer_html(rng, site, dt.year)}</div></div>
<script type="text/javascript">var td_viewport_interval_list=[{{"limitBottom":767,"sidebarWidth":228}}];var tds_general_modal_image="yes";{leaked_ad_js(rng)}</script></body></html>"""
    return page.encode("utf-8")


def _drupal(article: dict, rng: random.Random, noise: bool) -> bytes:
    site, dt, author, url = site_of(article), published_of(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    body = body_html(article, rng, noise, site, dt, author,
                      kinds=pick(rng, ["read_also", "related_list", "figure", "ad_slot", "tail_link", "odd"], (2, 4)),
                      top=pick(rng, ["date", "caption", "credit_line"], (1, 2)),
                      tail=pick(rng, ["agency", "tags", "copyright", "share"], (1, 2)))
    views = "".join(f'<div class="views-row"><div class="views-field views-field-title"><span class="field-content"><a href="/node/{rng.randint(10**4, 10**5)}">{esc(t)}</a></span></div>'
                    f'<div class="views-field views-field-created"><span class="field-content">{date_forms(dt - timedelta(hours=i + 1), rng)}</span></div></div>'
                    for i, t in enumerate(rng.sample(HEADLINES, 12)))
    page = f"""<!DOCTYPE html>
<html lang="ar" dir="rtl" prefix="content: http://purl.org/rss/1.0/modules/content/ og: http://ogp.me/ns#">{head_html(article, rng, site, author, dt, url, css_rules=400)}
<body class="path-node page-node-type-article"><a href="#main-content" class="visually-hidden focusable skip-link">انتقل إلى المحتوى الرئيسي</a>
<div class="dialog-off-canvas-main-canvas" data-off-canvas-main-canvas><div class="layout-container">
<header role="banner"><div class="region region-header"><div id="block-sitebranding" class="block block-system block-system-branding-block"><a href="/" rel="home" class="site-logo"><img src="/logo.svg" alt="الرئيسية"></a><div class="site-name"><a href="/">{esc(site)}</a></div></div></div>
<div class="region region-primary-menu">{menu_html(rng, "block block-menu navigation menu--main")}</div>
<div class="region region-breaking"><div class="views-element-container block block-views block-views-blockbreaking-news-block-1">{ticker_html(rng, "view view-breaking-news")}</div></div></header>
<div class="region region-breadcrumb"><nav class="breadcrumb" role="navigation"><ol><li><a href="/">الرئيسية</a></li><li><a href="/news">أخبار</a></li></ol></nav></div>
<main role="main"><a id="main-content" tabindex="-1"></a><div class="layout-content"><div class="region region-content">
<div id="block-mainpagecontent" class="block block-system block-system-main-block">
<article role="article" about="/node/{rng.randint(10**4, 10**5)}" class="node node--type-article node--promoted node--view-mode-full">
<h1 class="page-title"><span class="field field--name-title field--type-string field--label-hidden">{esc(article['title'])}</span></h1>
{f'<div class="field field--name-field-subtitle field--type-string">{esc(article["subtitle"])}</div>' if article.get('subtitle') else ''}
<footer class="node__meta"><div class="node__submitted">نشر في <span class="field field--name-created">{date_forms(dt, rng)}</span> بواسطة <span class="field field--name-uid"><span>{esc(author)}</span></span></div></footer>
<div class="node__content"><div class="field field--name-field-image field--type-image"><img src="/sites/default/files/main.jpg" alt="{esc(caption_text(article, rng))}" typeof="foaf:Image"></div>
<div class="clearfix text-formatted field field--name-body field--type-text-with-summary field--label-hidden field__item">{body}</div>
<div class="field field--name-field-tags field--type-entity-reference field--label-above"><div class="field__label">الوسوم</div><div class="field__items">{''.join(f'<div class="field__item"><a href="/taxonomy/term/{i}">{esc(t)}</a></div>' for i, t in enumerate(rng.sample(TAGS, 4)))}</div></div>
<div class="addtoany_list">{share_html(rng, "a2a_kit")}</div></div></article></div>
<div class="views-element-container block block-views block-views-blockrelated-content-block-1"><h2>محتوى ذو صلة</h2><div class="view view-related-content"><div class="view-content">{views}</div></div></div>
<section class="comment-section">{comments_html(rng, "comments-wrapper")}</section></div></div>
<aside class="layout-sidebar-first" role="complementary">{sidebar_html(rng)}</aside></main>
{footer_html(rng, site, dt.year)}</div></div>{cookie_html(rng)}
<script type="application/json" data-drupal-selector="drupal-settings-json">{json.dumps({"path": {"baseUrl": "/", "currentLanguage": "ar"}, "ajaxPageState": {"libraries": ",".join(f"core/lib{i}" for i in range(60))}}, ensure_ascii=False)}</script></body></html>"""
    return page.encode("utf-8")


def _custom_cms(article: dict, rng: random.Random, noise: bool) -> bytes:
    """An in-house news CMS (aawsat/orient-like): no telling class names inside the story."""
    site, dt, author, url = site_of(article), published_of(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    body = body_html(article, rng, noise, site, dt, author,
                      kinds=pick(rng, ["read_also", "related_list", "ad_js", "figure", "tail_js", "odd"], (1, 4)),
                      top=pick(rng, ["title", "subtitle", "caption", "date", "byline"], (2, 4)),
                      tail=pick(rng, ["comments_header", "read_also_header", "ad_js", "ticker", "agency"], (2, 4)))
    cards = cards_html(rng, 12, "home-cards", "آخر الأخبار")
    page = f"""<!DOCTYPE html><html lang="ar" dir="rtl">{head_html(article, rng, site, author, dt, url, css_rules=320)}
<body><div class="wrapper"><div class="top"><div class="logo"><a href="/"><img src="/logo.png" alt="{esc(site)}"></a></div>
<div class="today">{date_forms(dt, rng)}</div><ul class="social"><li><a href="https://facebook.com/x">f</a></li><li><a href="https://twitter.com/x">t</a></li></ul></div>
{menu_html(rng, "navbar")}<div class="urgent"><b>عاجل</b><marquee direction="right">{" • ".join(esc(t) for t in rng.sample(HEADLINES, 6))}</marquee></div>
<div class="container"><div class="row"><div class="col-md-8">
<div class="news-details" id="news-{rng.randint(10**5, 10**6)}"><div class="title-box"><span class="logo-mark">TT</span><h1>{esc(article['title'])}</h1>
{f'<h2 class="sub">{esc(article["subtitle"])}</h2>' if article.get('subtitle') else ''}</div>
<div class="info"><span>{date_forms(dt, rng)}</span> <span>{esc(author)}</span> <span>{rng.randint(3, 900)} قراءة</span></div>
<div class="photo"><img src="/img/main.jpg" alt="{esc(caption_text(article, rng))}"><p class="photo-caption">{esc(caption_text(article, rng))}</p></div>
<div class="details-body">{body}</div>
<div class="tools">{share_html(rng, "tools-share")}<a href="javascript:print()">طباعة</a> <a href="#">حجم الخط</a></div></div>
<div class="more-news">{cards_html(rng, 6, "more", "إقرأ أيضاً", time_ago=False)}</div>
{comments_html(rng, "comments-box")}</div>
<div class="col-md-4">{sidebar_html(rng)}</div></div>{cards}</div>
{footer_html(rng, site, dt.year)}</div><script>{leaked_ad_js(rng)}</script></body></html>"""
    return page.encode("utf-8")


def _amp(article: dict, rng: random.Random, noise: bool) -> bytes:
    site, dt, author, url = site_of(article), published_of(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    body = body_html(article, rng, noise, site, dt, author,
                      kinds=pick(rng, ["read_also", "related_list", "figure"], (1, 3)),
                      top=pick(rng, ["byline", "reading"], (0, 2)),
                      tail=pick(rng, ["agency", "promo", "share"], (1, 2)))
    body = body.replace("<img ", '<amp-img layout="responsive" width="800" height="450" ').replace(
        '<ins class="adsbygoogle" data-ad-client="ca-pub-1"></ins>', '<amp-ad width="300" height="250" type="adsense"></amp-ad>')
    sidebar_menu = menu_html(rng, "amp-menu")
    page = f"""<!doctype html><html ⚡ lang="ar" dir="rtl">{head_html(article, rng, site, author, dt, url, css_rules=480, amp=True)}
<body><amp-analytics type="gtag" data-credentials="include"><script type="application/json">{json.dumps({"vars": {"gtag_id": "G-1", "config": {"G-1": {"groups": "default"}}}})}</script></amp-analytics>
<amp-sidebar id="sidebar" layout="nodisplay" side="right">{sidebar_menu}</amp-sidebar>
<header class="amp-header"><button on="tap:sidebar.toggle" class="hamburger">☰</button><a href="/"><amp-img src="/logo.png" width="120" height="40" alt="{esc(site)}"></amp-img></a></header>
<main><article class="amp-article"><div class="amp-category">سوريا</div><h1 class="amp-title">{esc(article['title'])}</h1>
{f'<p class="amp-subtitle">{esc(article["subtitle"])}</p>' if article.get('subtitle') else ''}
<div class="amp-meta"><span class="amp-author">{esc(author)}</span> <time datetime="{dt.isoformat()}">{date_forms(dt, rng)}</time></div>
<figure class="amp-featured"><amp-img src="/img/main.jpg" width="800" height="450" layout="responsive" alt="{esc(caption_text(article, rng))}"></amp-img><figcaption>{esc(caption_text(article, rng))}</figcaption></figure>
<amp-social-share type="facebook"></amp-social-share><amp-social-share type="twitter"></amp-social-share><amp-social-share type="whatsapp"></amp-social-share>
<div class="amp-body">{body}</div>
<amp-ad width="300" height="250" type="doubleclick" data-slot="/21827/amp-bottom"></amp-ad></article>
<section class="amp-related">{cards_html(rng, 8, "related", "اقرأ أيضاً")}</section>
{cards_html(rng, 8, "latest", "آخر الأخبار")}</main>
{footer_html(rng, site, dt.year)}<amp-user-notification layout="nodisplay" id="consent">{cookie_html(rng)}</amp-user-notification></body></html>"""
    return page.encode("utf-8")


def _arc_spa(article: dict, rng: random.Random, noise: bool) -> bytes:
    """A React/Arc-style server-rendered page: hashed class names and the story again in a big JSON state."""
    site, dt, author, url = site_of(article), published_of(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    h = lambda: "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(6))  # noqa: E731
    pc = f"sc-{h()} {h()}"
    paras = [censor(p, rng) if noise else p for p in article["paragraphs"]]
    blocks = [f'<p class="{pc}" data-testid="paragraph">{esc(p)}</p>' for p in paras]
    if noise and len(blocks) > 2:
        for kind in pick(rng, ["read_also", "related_list", "ad_slot", "promo"], (1, 3)):
            blocks.insert(rng.randint(1, len(blocks) - 1), f'<div class="sc-{h()}">{inline_noise(kind, rng, site, article, dt)}</div>')
    if article.get("dateline"):
        blocks.insert(0, f'<p class="{pc}">{esc(article["dateline"])}</p>')
    state = {"props": {"pageProps": {"story": {
        "headlines": {"basic": article["title"]}, "subheadlines": {"basic": article.get("subtitle", "")},
        "credits": {"by": [{"name": author}]}, "display_date": dt.isoformat(),
        "content_elements": [{"type": "text", "content": p, "_id": h()} for p in article["paragraphs"]],
        "related": [{"headline": t, "url": f"/news/{i}"} for i, t in enumerate(rng.sample(HEADLINES, 12))],
    }, "nav": [{"name": t, "url": f"/s/{i}"} for i, t in enumerate(MENU)]}}}
    state_json = json.dumps(state, ensure_ascii=False).replace("</", "<\\/")
    page = f"""<!DOCTYPE html><html lang="ar" dir="rtl">{head_html(article, rng, site, author, dt, url, css_rules=360)}
<body><div id="__next"><div class="sc-{h()}"><header class="sc-{h()}"><a href="/" aria-label="{esc(site)}"><svg viewBox="0 0 100 20"><path d="M0 0h100v20H0z"/></svg></a>
<div class="sc-{h()}">{menu_html(rng, "sc-" + h())}</div></header><div class="sc-{h()}">{ticker_html(rng, "sc-" + h())}</div>
<main class="sc-{h()}"><div class="sc-{h()}"><div class="sc-{h()}"><a href="/syria" class="sc-{h()}">سوريا</a></div>
<h1 class="sc-{h()}" data-testid="headline">{esc(article['title'])}</h1>{f'<h2 class="sc-{h()}">{esc(article["subtitle"])}</h2>' if article.get('subtitle') else ''}
<div class="sc-{h()}"><span class="sc-{h()}">{esc(author)}</span><time class="sc-{h()}" datetime="{dt.isoformat()}">{date_forms(dt, rng)}</time></div>
<figure class="sc-{h()}"><img src="/img/main.jpg" alt="{esc(caption_text(article, rng))}"><figcaption class="sc-{h()}">{esc(caption_text(article, rng))}</figcaption></figure>
<div class="sc-{h()}" data-testid="article-body">{''.join(blocks)}</div>
<div class="sc-{h()}">{share_html(rng, "sc-" + h())}</div></div>
<div class="sc-{h()}">{cards_html(rng, 10, "sc-" + h(), "المزيد من الأخبار")}</div></main>
<footer class="sc-{h()}">{footer_html(rng, site, dt.year)}</footer></div></div>
<script id="__NEXT_DATA__" type="application/json">{state_json}</script>
<script>{analytics_js(rng, site)}</script></body></html>"""
    return page.encode("utf-8")


def _legacy_1256(article: dict, rng: random.Random, noise: bool) -> bytes:
    """A 2000s table layout in windows-1256: <br>-separated paragraphs, marquee, font tags, no metadata."""
    site, dt, author = site_of(article), published_of(article), rng.choice(AUTHORS)
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
    junk_rows = "".join(f'<tr><td class="c{i % 7}"><a href="archive.asp?d={i}">{esc(t)}</a> - <font color="#999999">{date_forms(dt - timedelta(days=i), rng)}</font></td></tr>'
                        for i, t in enumerate(HEADLINES * 9))
    style = css_text(rng, 260)
    page = f"""<html dir="rtl"><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1256">
<title>{esc(site)} - {esc(article['title'])}</title><style>{style}</style>
<script language="javascript">function MM_openBrWindow(theURL,winName,features) {{ window.open(theURL,winName,features); }}
{leaked_ad_js(rng)}</script></head>
<body bgcolor="#FFFFFF" topmargin="0"><table width="780" border="0" align="center" cellpadding="0" cellspacing="0">
<tr><td><img src="logo.gif" alt="{esc(site)}" width="780" height="90"></td></tr>
<tr><td bgcolor="#003366"><font color="#FFFFFF" size="2">{menu}</font></td></tr>
<tr><td><marquee scrollamount="3" direction="right">{" *** ".join(esc(t) for t in rng.sample(HEADLINES, 8))}</marquee></td></tr>
<tr><td><table width="100%"><tr><td width="200" valign="top"><table>{links}</table></td>
<td valign="top"><font face="Tahoma" size="2" color="#666666">{date_forms(dt, rng)}</font><br>
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
    site, dt, author, url = site_of(article), published_of(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    c = lambda: f"c{rng.randint(100, 999)}"  # noqa: E731
    inner = body_html(article, rng, noise, site, dt, author,
                       kinds=pick(rng, ["read_also", "related_list", "link_only", "figure", "credit_line", "promo", "odd", "tail_link"], (2, 5)),
                       top=pick(rng, ["category", "date", "byline", "caption", "time_ago"], (1, 3)),
                       tail=pick(rng, ["agency", "share", "copyright", "comments_header", "tags", "back_to_top"], (1, 3)))
    # paragraphs as <div>, and the story split in two halves around an ad
    inner = inner.replace("<p>", f'<div class="{c()}">').replace("</p>", "</div>")
    parts = inner.split("\n")
    half = max(1, len(parts) // 2)
    first_half, second_half = "\n".join(parts[:half]), "\n".join(parts[half:])
    ad = (f'<div class="{c()}"><script>(adsbygoogle = window.adsbygoogle || []).push({{}});</script>'
          f'<div class="{c()}">{esc(noise_line(article, rng, "loading"))}</div></div>') if noise else ""
    teasers = "".join(
        f'<div class="{c()}"><a href="/n/{rng.randint(10**4, 10**5)}"><img src="/t/{i}.jpg" alt=""></a>'
        f'<div class="{c()}"><a href="/n/{rng.randint(10**4, 10**5)}">{esc(t)}</a></div>'
        f'<div class="{c()}">{esc(rng.choice(EXCERPTS))}</div></div>'
        for i, t in enumerate(rng.sample(HEADLINES, 8)))
    blurb = (f'<div class="{c()}"><div class="{c()}"><img src="/a.jpg" alt="{esc(author)}"></div><div class="{c()}">'
             f'<a href="/author/1">{esc(author)}</a></div><div class="{c()}">صحفي سوري مقيم في غازي عنتاب، يغطي الشأن الميداني في الشمال السوري.</div></div>'
             if lang_of(article) == "ar" else
             f'<div class="{c()}"><a href="/author/1">{esc(author)}</a><div class="{c()}">Middle East correspondent based in Beirut.</div></div>')
    page = f"""<!DOCTYPE html><html lang="{article.get('language', 'ar')}" dir="rtl">{head_html(article, rng, site, author, dt, url, css_rules=380)}
<body><div class="{c()}"><div class="{c()}"><a href="/"><img src="/brand.png" alt="{esc(site)}"></a></div>
<div class="{c()}">{"".join(f'<a href="/s/{i}">{esc(t)}</a> ' for i, t in enumerate(rng.sample(MENU, 20)))}</div></div>
<div class="{c()}"><div class="{c()}"><div class="{c()}"><h1 class="{c()}">{esc(article['title'])}</h1>
<div class="{c()}">{first_half}</div>{ad}<div class="{c()}">{second_half}</div>
{blurb}<div class="{c()}"><h3>{esc(noise_line(article, rng, "related_header"))}</h3>{teasers}</div></div>
<div class="{c()}">{"".join(f'<div class="{c()}"><a href="/n/{i}">{esc(t)}</a></div>' for i, t in enumerate(rng.sample(HEADLINES, 10)))}</div></div></div>
<div class="{c()}">{esc(noise_line(article, rng, "copyright", site=site, year=dt.year))} | <a href="/about">من نحن</a> | <a href="/contact">اتصل بنا</a></div>
<script>{analytics_js(rng, site)}</script></body></html>"""
    return page.encode("utf-8")


def _jnews(article: dict, rng: random.Random, noise: bool) -> bytes:
    """WordPress + JNews theme (jeg_* classes), inline related-post block with thumbnails."""
    site, dt, author, url = site_of(article), published_of(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    ps = gold_ps(article, rng, noise)
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
    page = f"""<!DOCTYPE html><html dir="rtl" lang="ar">{head_html(article, rng, site, author, dt, url, css_rules=380)}
<body class="rtl post-template-default single jeg_single_tpl_1 jnews jsc_normal"><div class="jeg_viewport"><div class="jeg_header_wrapper"><div class="jeg_header normal">
<div class="jeg_topbar jeg_container dark"><div class="jeg_nav_item jeg_top_date">{date_forms(dt, rng)}</div></div>
<div class="jeg_midbar jeg_container normal"><div class="jeg_logo"><a href="/"><img src="/logo.png" alt="{esc(site)}"></a></div></div>
<div class="jeg_bottombar jeg_navbar jeg_container">{menu_html(rng, "jeg_main_menu_wrapper")}</div></div></div>
<div class="jeg_main"><div class="jeg_container"><div class="jeg_content jeg_singlepage"><div class="container"><div class="row">
<div class="jeg_main_content col-md-8"><div class="jeg_inner_content"><div class="jeg_breadcrumbs jeg_breadcrumb_container"><div id="breadcrumbs"><span><a href="/">الرئيسية</a></span><i class="fa fa-angle-right"></i><span><a href="/c">أخبار</a></span></div></div>
<div class="entry-header"><h1 class="jeg_post_title">{esc(article['title'])}</h1>{f'<h2 class="jeg_post_subtitle">{esc(article["subtitle"])}</h2>' if article.get('subtitle') else ''}
<div class="jeg_meta_container"><div class="jeg_post_meta jeg_post_meta_1"><div class="jeg_meta_author"><span class="meta_text">بواسطة</span> <a href="/author/x">{esc(author)}</a></div>
<div class="jeg_meta_date"><a href="#">{date_forms(dt, rng)}</a></div><div class="jeg_meta_comment"><a href="#comments"><i class="fa fa-comment-o"></i> 0</a></div></div></div></div>
<div class="jeg_featured featured_image"><a href="/img/main.jpg"><div class="thumbnail-container"><img src="/img/main.jpg" alt="{esc(caption_text(article, rng))}"></div><p class="wp-caption-text">{esc(caption_text(article, rng))}</p></a></div>
<div class="jeg_share_top_container"><div class="jeg_share_button clearfix"><div class="jeg_sharelist"><a href="#" class="jeg_btn-facebook"><span>شارك على فيسبوك</span></a><a href="#" class="jeg_btn-twitter"><span>شارك على تويتر</span></a></div></div></div>
<div class="jeg_ad jeg_article jnews_article_top_ads"><div class="ads-wrapper"></div></div>
<div class="entry-content no-share"><div class="jeg_share_button share-float jeg_sticky_share clearfix share-monocrhome"></div>
<div class="content-inner ">{"".join(ps)}</div></div>
<div class="jeg_share_bottom_container"></div><div class="jeg_ad jeg_article jnews_article_bottom_ads"></div>
<div class="jnews_prev_next_container"><div class="jeg_prevnext_post"><a href="/p" class="post prev-post"><span class="caption">المقال السابق</span><h3 class="post-title">{esc(rng.choice(HEADLINES))}</h3></a></div></div>
<div class="jnews_author_box_container"><div class="jeg_authorbox"><div class="jeg_author_image"><img src="/a.jpg" alt="{esc(author)}"></div><div class="jeg_author_content"><h3 class="jeg_author_name"><a href="/author/x">{esc(author)}</a></h3><p class="jeg_author_desc">صحفي يغطي الشؤون السورية منذ عام 2012.</p></div></div></div>
<div class="jnews_related_post_container"><div class="jeg_postblock_22 jeg_postblock"><div class="jeg_block_heading"><h3 class="jeg_block_title"><span>مقالات ذات صلة</span></h3></div>
{''.join(f'<article class="jeg_post"><div class="jeg_thumb"><a href="/q{i}"><img src="/q{i}.jpg" alt=""></a></div><div class="jeg_postblock_content"><h3 class="jeg_post_title"><a href="/q{i}">{esc(t)}</a></h3><div class="jeg_post_meta"><div class="jeg_meta_date">{date_forms(dt, rng)}</div></div></div></article>' for i, t in enumerate(rng.sample(HEADLINES, 6)))}</div></div>
<div class="jnews_comment_container"><div id="comments" class="jeg_comments"><h3 class="comments-title">0 تعليقات</h3><div id="respond" class="comment-respond"><h3 id="reply-title" class="comment-reply-title">اترك تعليقاً</h3></div></div></div>
</div></div><div class="jeg_sidebar col-md-4">{sidebar_html(rng)}</div></div></div></div></div></div>
<div class="footer-holder" id="footer"><div class="jeg_footer">{footer_html(rng, site, dt.year)}</div></div>
<div class="jscroll-to-top"><a href="#back-to-top" class="jscroll-to-top_link"><i class="fa fa-angle-up"></i></a></div></div></body></html>"""
    return page.encode("utf-8")


def _next_tailwind(article: dict, rng: random.Random, noise: bool) -> bytes:
    """A Next.js site styled with Tailwind utility classes: no semantic class names at all."""
    site, dt, author, url = site_of(article), published_of(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    ps = gold_ps(article, rng, noise, attrs=' class="mb-6 text-lg leading-9 text-gray-800"')
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
    page = f"""<!DOCTYPE html><html lang="{article.get('language', 'ar')}" dir="rtl">{head_html(article, rng, site, author, dt, url, css_rules=300)}
<body class="bg-white font-sans antialiased"><div id="__next"><div class="flex min-h-screen flex-col">
<div class="sticky top-0 z-50 border-b bg-white"><div class="mx-auto flex max-w-7xl items-center justify-between px-4 py-3"><a href="/" class="text-2xl font-black text-red-700">{esc(site)}</a>
<div class="hidden gap-6 md:flex">{"".join(f'<a href="/s/{i}" class="text-sm font-medium hover:text-red-700">{esc(t)}</a>' for i, t in enumerate(rng.sample(MENU, 12)))}</div>
<button aria-label="فتح القائمة" class="md:hidden">☰</button></div>
<div class="overflow-hidden bg-red-700 text-white"><div class="flex animate-marquee gap-8 whitespace-nowrap py-1 text-sm">{"".join(f'<a href="/b/{i}">{esc(t)}</a>' for i, t in enumerate(rng.sample(HEADLINES, 6)))}</div></div></div>
<div class="mx-auto w-full max-w-3xl px-4 py-8"><ol class="mb-4 flex gap-2 text-xs text-gray-500"><li><a href="/">الرئيسية</a></li><li>/</li><li><a href="/syria">سوريا</a></li></ol>
<h1 class="text-3xl font-extrabold leading-[1.4] md:text-4xl">{esc(article['title'])}</h1>{sub}
<div class="mt-4 flex items-center gap-3 text-sm text-gray-500"><img class="h-10 w-10 rounded-full" src="/a.jpg" alt=""><address class="not-italic"><a rel="author" href="/writers/1" class="font-semibold text-gray-900">{esc(author)}</a></address>
<span>·</span><time datetime="{dt.isoformat()}">{date_forms(dt, rng)}</time><span>·</span><span>{rng.randint(2, 8)} دقائق قراءة</span></div>
<div class="mt-4 flex gap-2"><a aria-label="مشاركة على فيسبوك" href="#" class="rounded-full border p-2">f</a><a aria-label="مشاركة على إكس" href="#" class="rounded-full border p-2">x</a><a aria-label="مشاركة على واتساب" href="#" class="rounded-full border p-2">w</a></div>
<div class="my-6 overflow-hidden rounded-xl"><img class="w-full" src="/img/main.jpg" alt="{esc(caption_text(article, rng))}"><div class="bg-gray-50 px-3 py-2 text-xs text-gray-500">{esc(caption_text(article, rng))}</div></div>
<div class="text-right">{"".join(ps)}</div>
<div class="mt-8 flex flex-wrap gap-2">{"".join(f'<a href="/t/{i}" class="rounded-full bg-gray-100 px-3 py-1 text-sm">{esc(t)}</a>' for i, t in enumerate(rng.sample(TAGS, 5)))}</div></div>
<div class="mx-auto w-full max-w-7xl px-4 py-10"><h2 class="mb-6 text-2xl font-bold">المزيد من {esc(site)}</h2><div class="grid gap-6 md:grid-cols-3">{related}</div></div>
<div class="mt-auto bg-gray-900 py-10 text-gray-300"><div class="mx-auto max-w-7xl px-4 text-sm">© {dt.year} {esc(site)}. جميع الحقوق محفوظة.</div></div></div>
<div class="fixed bottom-0 inset-x-0 bg-gray-900 p-4 text-white text-sm" data-nosnippet="">يستخدم هذا الموقع ملفات تعريف الارتباط لضمان حصولك على أفضل تجربة. <button class="mr-2 rounded bg-white px-3 text-gray-900">موافق</button></div></div>
<script id="__NEXT_DATA__" type="application/json">{state}</script></body></html>"""
    return page.encode("utf-8")


def _blogger(article: dict, rng: random.Random, noise: bool) -> bytes:
    """A Blogspot post: <br>-separated text in styled divs/spans and Blogger's own chrome."""
    site, dt, author, url = site_of(article), published_of(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    paras = [censor(p, rng) if noise and lang_of(article) == "ar" else p for p in article["paragraphs"]]
    chunks = [f'<span style="font-size: large;">{esc(p)}</span>' for p in paras]
    if noise and len(chunks) > 2:
        chunks.insert(rng.randint(1, len(chunks) - 1), f'<b>شاهد أيضا: </b><a href="/2020/01/x.html">{esc(rng.choice(HEADLINES))}</a>')
        chunks.append("<span style='font-size: x-small;'>المصدر: مواقع</span>")
    if article.get("dateline"):
        chunks.insert(0, f"<b>{esc(article['dateline'])}</b>")
    body = '<div dir="rtl" style="text-align: right;">' + "<br /><br />".join(chunks) + "</div>"
    popular = "".join(f'<li><div class="item-thumbnail"><a href="/p{i}.html"><img src="/p{i}.jpg" alt=""></a></div><div class="item-title"><a href="/p{i}.html">{esc(t)}</a></div>'
                      f'<div class="item-snippet">{esc(rng.choice(EXCERPTS))}</div></li>' for i, t in enumerate(rng.sample(HEADLINES, 5)))
    page = f"""<!DOCTYPE html><html class="v2" dir="rtl" lang="ar">{head_html(article, rng, site, author, dt, url, css_rules=260)}
<body class="loading"><div class="navbar section" id="navbar"><div class="widget Navbar" id="Navbar1"><iframe src="//www.blogger.com/navbar.g"></iframe></div></div>
<div class="content"><div class="content-outer"><header><div class="header-outer"><div class="Header widget" id="Header1"><div id="header-inner"><div class="titlewrapper"><h1 class="title"><a href="/">{esc(site)}</a></h1></div>
<div class="descriptionwrapper"><p class="description"><span>مدونة إخبارية تهتم بالشأن السوري</span></p></div></div></div></div></header>
<div class="main-outer"><div class="main-inner"><div class="columns"><div class="column-center-outer"><div class="column-center-inner"><div class="main section" id="main"><div class="widget Blog" id="Blog1"><div class="blog-posts hfeed">
<div class="date-outer"><h2 class="date-header"><span>{date_forms(dt, rng)}</span></h2><div class="date-posts"><div class="post-outer"><div class="post hentry" itemprop="blogPost" itemscope="itemscope">
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
    site, dt, author, url = site_of(article), published_of(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    paras = [censor(p, rng) if noise and lang_of(article) == "ar" else p for p in article["paragraphs"]]
    lines = ([esc(article["dateline"])] if article.get("dateline") else []) + [esc(p) for p in paras]
    if noise:
        lines.append(rng.choice(["ح.م", "(انتهى)", "م.ع/ س.ج"]))
    news_body = "<br /><br />".join(lines)
    related = "".join(f'<tr><td class="RelatedNewsTD"><a id="ctl00_cph_rptRelated_ctl0{i}_lnk" href="NewsDetails.aspx?id={rng.randint(10**5, 10**6)}">{esc(t)}</a></td>'
                      f'<td class="DateTD">{date_forms(dt - timedelta(days=i + 1), rng)}</td></tr>' for i, t in enumerate(rng.sample(HEADLINES, 6)))
    viewstate = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(6000))
    page = f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" dir="rtl">{head_html(article, rng, site, author, dt, url, css_rules=300)}
<body><form name="aspnetForm" method="post" action="NewsDetails.aspx?id=1" id="aspnetForm"><div><input type="hidden" name="__VIEWSTATE" id="__VIEWSTATE" value="{viewstate}" /></div>
<table id="MainTable" width="100%" cellpadding="0" cellspacing="0"><tr><td class="HeaderTD"><img id="ctl00_imgLogo" src="images/logo.jpg" alt="{esc(site)}" /></td></tr>
<tr><td class="MenuTD">{" | ".join(f'<a href="Section.aspx?id={i}">{esc(t)}</a>' for i, t in enumerate(rng.sample(MENU, 14)))}</td></tr>
<tr><td><table width="100%"><tr><td valign="top" width="75%"><div class="NewsDetailsDiv">
<span id="ctl00_cph_lblDate" class="DateLabel">{date_forms(dt, rng)}</span><br />
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
    site, dt, author, url = site_of(article), published_of(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    paras = [censor(p, rng) if noise and lang_of(article) == "ar" else p for p in article["paragraphs"]]
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
    page = f"""<!DOCTYPE html><html dir="rtl" lang="ar">{head_html(article, rng, site, author, dt, url, css_rules=320)}
<body class="single single-post"><div id="wrapper"><div id="header"><div id="logo"><a href="/"><img src="/logo.gif" alt="{esc(site)}"></a></div>
<ul id="nav">{"".join(f'<li class="page_item"><a href="/c/{i}">{esc(t)}</a></li>' for i, t in enumerate(rng.sample(MENU, 12)))}</ul></div>
<div id="content"><div class="post" id="post-{rng.randint(100, 9999)}"><h2 class="title"><a href="{esc(url)}" rel="bookmark">{esc(article['title'])}</a></h2>
<div class="postmeta">نشر بواسطة {esc(author)} في {date_forms(dt, rng)} | <a href="#respond">اترك تعليقاً</a></div>
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
    site, dt, author, url = site_of(article), published_of(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    paras = [censor(p, rng) if noise and lang_of(article) == "ar" else p for p in article["paragraphs"]]
    blocks = [f'<div class="article__block" data-type="text"><div class="article__text">{esc(p)}</div></div>' for p in paras]
    if noise and len(blocks) > 2:
        t = rng.choice(HEADLINES)
        blocks.insert(rng.randint(1, len(blocks) - 1),
                      f'<div class="article__block" data-type="article"><div class="article__article m-image"><a href="/20200101/{rng.randint(10**6, 10**7)}.html" class="article__article-image"><img src="/i.jpg" alt="{esc(t)}"></a>'
                      f'<div class="article__article-desc"><a href="/20200101/x.html" class="article__article-title">{esc(t)}</a></div></div></div>')
        blocks.insert(rng.randint(1, len(blocks) - 1),
                      f'<div class="article__block" data-type="banner"><div class="banner m-article-desktop"><div class="banner__content">{esc(noise_line(article, rng, "loading"))}</div></div></div>')
    lead = f'<div class="article__announce-text">{esc(article["subtitle"])}</div>' if article.get("subtitle") else ""
    dl = f'<div class="article__block" data-type="text"><div class="article__text"><strong>{esc(article["dateline"])}</strong></div></div>' if article.get("dateline") else ""
    page = f"""<!DOCTYPE html><html lang="ar" dir="rtl">{head_html(article, rng, site, author, dt, url, css_rules=340)}
<body class="body m-article"><div class="page"><div class="header"><div class="header__logo"><a href="/"><img src="/logo.svg" alt="{esc(site)}"></a></div>
<div class="header__menu">{menu_html(rng, "nav__menu")}</div></div>
<div class="layout-article"><div class="article m-article"><div class="article__meta" itemscope itemtype="https://schema.org/Article"></div>
<div class="article__header"><h1 class="article__title">{esc(article['title'])}</h1>{lead}
<div class="article__info"><div class="article__info-date"><a href="/date">{date_forms(dt, rng)}</a> <span class="article__info-date-modified">(محدثة {date_forms(dt + timedelta(hours=1), rng)})</span></div></div>
<div class="article__announce"><div class="photoview__open"><img src="/img/main.jpg" alt="{esc(caption_text(article, rng))}"><div class="media__copyright"><div class="media__copyright-item m-copyright">© {esc(site)} / {esc(author)}</div></div></div></div></div>
<div class="article__body js-mediator-article">{dl}{"".join(blocks)}</div>
<div class="article__footer"><div class="article__author"><a href="/author_x/" class="article__author-item">{esc(author)}</a></div>
<ul class="tags m-noButton m-mb20">{"".join(f'<li class="tag"><a href="/t/{i}" class="tag__text">{esc(t)}</a></li>' for i, t in enumerate(rng.sample(TAGS, 4)))}</ul>
<div class="article__userbar"><div class="share m-article"><a class="share__item m-facebook" href="#"></a><a class="share__item m-telegram" href="#"></a></div></div>
<div class="article__telegram"><a href="https://t.me/x">اشترك في قناتنا على تليغرام</a></div></div></div>
<div class="l-aside"><div class="list">{"".join(f'<div class="list__item"><a href="/n{i}" class="list__title">{esc(t)}</a><div class="list__info"><div class="list__date">{date_forms(dt - timedelta(hours=i + 1), rng)}</div></div></div>' for i, t in enumerate(rng.sample(HEADLINES, 10)))}</div></div></div>
<div class="footer"><div class="footer__copyright">© {dt.year} {esc(site)}. جميع الحقوق محفوظة</div></div></div></body></html>"""
    return page.encode("utf-8")


def _joomla(article: dict, rng: random.Random, noise: bool) -> bytes:
    """Joomla 3: itemprop=articleBody, the dl.article-info block, pagenav, 'more articles' module."""
    site, dt, author, url = site_of(article), published_of(article), rng.choice(AUTHORS), article.get("url", "https://example.com/a")
    ps = gold_ps(article, rng, noise, attrs=' style="text-align: justify;"')
    if noise and len(ps) > 2:
        ps.insert(rng.randint(1, len(ps) - 1), f'<p style="text-align: justify;"><span style="color: #ff0000;"><strong>إقرأ أيضاً:</strong></span> <a href="/index.php/x/{rng.randint(100, 999)}">{esc(rng.choice(HEADLINES))}</a></p>')
        ps.insert(rng.randint(1, len(ps) - 1), f'<p style="text-align: center;"><img src="/images/2020/a.jpg" alt="" /><br /><span style="font-size: 8pt;">{esc(caption_for(article, rng))}</span></p>')
    if article.get("dateline"):
        ps.insert(0, f'<p style="text-align: justify;"><strong>{esc(article["dateline"])}</strong></p>')
    more = "".join(f'<li><a href="/index.php/n/{i}">{esc(t)}</a></li>' for i, t in enumerate(rng.sample(HEADLINES, 5)))
    page = f"""<!DOCTYPE html><html lang="ar-aa" dir="rtl">{head_html(article, rng, site, author, dt, url, css_rules=300)}
<body class="site com_content view-article no-layout no-task itemid-101"><div class="body"><div class="container"><header class="header" role="banner"><div class="header-inner clearfix"><a class="brand pull-left" href="/"><img src="/images/logo.png" alt="{esc(site)}" /></a></div></header>
<nav class="navigation" role="navigation">{menu_html(rng, "nav menu nav-pills mod-list")}</nav>
<div class="row-fluid"><main id="content" role="main" class="span9"><div id="system-message-container"></div>
<div class="item-page" itemscope itemtype="https://schema.org/Article"><meta itemprop="inLanguage" content="ar-AA" />
<div class="page-header"><h2 itemprop="headline">{esc(article['title'])}</h2></div>
<dl class="article-info muted"><dt class="article-info-term">التفاصيل</dt><dd class="createdby" itemprop="author" itemscope itemtype="https://schema.org/Person">كتب بواسطة: <span itemprop="name">{esc(author)}</span></dd>
<dd class="category-name">الفئة: <a href="/index.php/syria" itemprop="genre">سوريا</a></dd><dd class="published"><span class="icon-calendar" aria-hidden="true"></span><time datetime="{dt.isoformat()}" itemprop="datePublished">نشر بتاريخ {date_forms(dt, rng)}</time></dd>
<dd class="hits"><span class="icon-eye-open" aria-hidden="true"></span><meta itemprop="interactionCount" content="UserPageVisits:{rng.randint(10, 9999)}" />الزيارات: {rng.randint(10, 9999)}</dd></dl>
<div itemprop="articleBody">{"".join(ps)}</div>
<ul class="pager pagenav"><li class="previous"><a class="hasTooltip" title="{esc(rng.choice(HEADLINES))}" href="/p" rel="prev"><span class="icon-chevron-right" aria-hidden="true"></span> <span aria-hidden="true">السابق</span></a></li>
<li class="next"><a class="hasTooltip" title="{esc(rng.choice(HEADLINES))}" href="/n" rel="next"><span aria-hidden="true">التالي</span> <span class="icon-chevron-left" aria-hidden="true"></span></a></li></ul></div>
<div class="moduletable"><h3>مقالات أخرى</h3><ul class="mostread mod-list">{more}</ul></div></main>
<div id="aside" class="span3"><div class="well "><h3 class="page-header">الأكثر قراءة</h3><ul class="mostread mod-list">{more}</ul></div></div></div></div></div>
<footer class="footer" role="contentinfo"><div class="container"><p class="pull-right"><a href="#top" id="back-top">العودة للأعلى</a></p><p>&copy; {dt.year} {esc(site)}</p></div></footer></body></html>"""
    return page.encode("utf-8")


HELDOUT2_SHAPES = ["wp_classic", "sputnik_like", "joomla"]  # second batch, written after fixing the first


SHAPE_FUNCS: dict[str, Callable[[dict, random.Random, bool], bytes]] = {
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
