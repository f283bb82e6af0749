"""Writes saved_objects.ndjson (Kibana 8.14 saved-objects export format).

The NDJSON file is what ships and what Kibana imports; this script is how it is
kept consistent (ids, references, panel wiring) when it changes:

    .venv/bin/python config/kibana/build_saved_objects.py

Every id starts with ``rasid-`` and the data views' titles are ``rasid-articles``, ``rasid-stories``
and ``rasid-alerts``; ``rasid kibana import --namespace NS`` rewrites them for another namespace.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "saved_objects.ndjson"

DATA_VIEW = "rasid-articles"
STORIES_VIEW = "rasid-stories"  # one document per story (pipeline/stages/monitor.py)
ALERTS_VIEW = "rasid-alerts"  # alerts as fired (config/alerts.yaml)
CORE = "8.8.0"

# Ids are a public contract (docs/ARCHITECTURE.md); labels are what analysts read.
TOPICS = {
    "chemical_weapons": "الأسلحة الكيميائية — Chemical weapons",
    "military_escalation": "التصعيد العسكري — Military escalation",
    "russian_role": "الدور الروسي — Russian role",
    "jihadist_factions": "الفصائل الجهادية — Jihadist factions",
    "white_helmets": "الخوذ البيضاء — White Helmets",
    "turkish_role": "الدور التركي — Turkish role",
    "displacement_humanitarian": "النزوح والوضع الإنساني — Displacement & humanitarian",
    "international_diplomacy": "الدبلوماسية الدولية — International diplomacy",
    "regime_change": "سقوط النظام والمرحلة الانتقالية — Regime change",
}

# Fields (see config/elasticsearch/template.json): keyword fields aggregate.
F_TIME = "@timestamp"  # publication, else fetch: every article is in the time-filtered views (pipeline/stream/index.py)
F_TOPICS = "topic_ids"
F_SOURCE = "source"
F_PLACE = "places.name"
F_ORG = "organizations"
F_PEOPLE = "people"
F_GEO = "location"
COLUMNS = ["title", "source", "topic_ids", "places.name", "url"]
STORY_COLUMNS = ["title", "source_count", "article_count", "sources", "topic_ids", "places", "breaking_at",
                 "growth", "last_seen", "follows"]
ALERT_COLUMNS = ["kind", "rule", "title", "sources", "story_id", "url"]
BREAKING_NOW = 'breaking_at >= "now-6h"'  # a story that met the breaking rule in the last six hours
GROWING = "articles_last_hour >= 2"  # a story with two articles or more in its last hour (as of its latest)


def dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def data_view() -> dict:
    return {
        "id": DATA_VIEW,
        "type": "index-pattern",
        "coreMigrationVersion": CORE,
        "typeMigrationVersion": "8.0.0",
        "attributes": {
            "title": DATA_VIEW,
            "name": "Rasid articles (راصد)",
            "timeFieldName": F_TIME,
            "fields": "[]",
            "runtimeFieldMap": "{}",
            "typeMeta": "{}",
            "fieldAttrs": dumps({
                "title": {"customLabel": "العنوان"},
                "@timestamp": {"customLabel": "الوقت"},
                "source": {"customLabel": "المصدر"},
                "topic_ids": {"customLabel": "المواضيع"},
                "places.name": {"customLabel": "الأماكن"},
                "url": {"customLabel": "الرابط"},
            }),
            # The url field renders as a link to the article (opens in a new tab).
            "fieldFormatMap": dumps({
                "url": {"id": "url", "params": {"type": "a", "urlTemplate": "{{rawValue}}",
                                                "labelTemplate": "{{value}}", "openLinkInCurrentTab": False}},
            }),
            "sourceFilters": "[]",
            "allowNoIndex": True,
        },
        "references": [],
    }


def side_view(vid: str, name: str, time_field: str, labels: dict[str, str]) -> dict:
    """A data view on the story documents or the alerts (their url renders as a link too)."""
    dv = data_view()
    dv["id"] = vid
    dv["attributes"].update(title=vid, name=name, timeFieldName=time_field, fieldAttrs=dumps(
        {k: {"customLabel": v} for k, v in labels.items()}))
    return dv


def search_source(query: str) -> dict:
    return {"kibanaSavedObjectMeta": {"searchSourceJSON": dumps({
        "query": {"query": query, "language": "kuery"},
        "filter": [],
        "highlightAll": True,
        "version": True,
        "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index",
    })}}


def saved_search(sid: str, title: str, query: str, description: str, *, view: str = DATA_VIEW,
                 columns: list[str] = COLUMNS, sort: list[list[str]] | None = None) -> dict:
    return {
        "id": sid,
        "type": "search",
        "coreMigrationVersion": CORE,
        "typeMigrationVersion": "8.0.0",
        "attributes": {
            "title": title,
            "description": description,
            "columns": columns,
            "sort": sort or [[F_TIME, "desc"]],
            "hits": 0,
            "grid": {},
            "hideChart": False,
            **search_source(query),
        },
        "references": [{"id": view, "name": "kibanaSavedObjectMeta.searchSourceJSON.index",
                        "type": "index-pattern"}],
    }


def _count(cid: str, label: str = "Articles") -> dict:
    return {"label": label, "customLabel": True, "dataType": "number", "operationType": "count",
            "sourceField": "___records___", "isBucketed": False, "scale": "ratio", "params": {"emptyAsNull": True}}


def _terms(field: str, size: int, order_by: str, label: str) -> dict:
    return {"label": label, "customLabel": True, "dataType": "string", "operationType": "terms",
            "sourceField": field, "isBucketed": True, "scale": "ordinal",
            "params": {"size": size, "orderBy": {"type": "column", "columnId": order_by},
                       "orderDirection": "desc", "otherBucket": False, "missingBucket": False,
                       "parentFormat": {"id": "terms"}}}


def _date(label: str = "Published") -> dict:
    return {"label": label, "customLabel": True, "dataType": "date", "operationType": "date_histogram",
            "sourceField": F_TIME, "isBucketed": True, "scale": "interval",
            "params": {"interval": "auto", "includeEmptyRows": True, "dropPartials": False}}


def lens(lid: str, title: str, layer: str, columns: dict, order: list[str], visualization: dict,
         description: str = "") -> dict:
    return {
        "id": lid,
        "type": "lens",
        "coreMigrationVersion": CORE,
        "typeMigrationVersion": "8.9.0",
        "attributes": {
            "title": title,
            "description": description,
            "visualizationType": "lnsXY",
            "state": {
                "datasourceStates": {"formBased": {"layers": {layer: {
                    "columns": columns, "columnOrder": order, "incompleteColumns": {}}}}},
                "visualization": visualization,
                "query": {"query": "", "language": "kuery"},
                "filters": [],
                "internalReferences": [],
                "adHocDataViews": {},
            },
        },
        "references": [{"type": "index-pattern", "id": DATA_VIEW,
                        "name": f"indexpattern-datasource-layer-{layer}"}],
    }


def xy(layer: str, series: str, x: str, y: str, split: str | None = None) -> dict:
    lay = {"layerId": layer, "layerType": "data", "seriesType": series, "xAccessor": x, "accessors": [y]}
    if split:
        lay["splitAccessor"] = split
    return {
        "legend": {"isVisible": split is not None, "position": "right", "legendSize": "auto"},
        "valueLabels": "hide" if split else "show",
        "fittingFunction": "None",
        "preferredSeriesType": series,
        "axisTitlesVisibilitySettings": {"x": False, "yLeft": True, "yRight": True},
        "layers": [lay],
    }


def top_terms_lens(lid: str, title: str, field: str, size: int, label: str) -> dict:
    layer = f"{lid}-layer"
    cols = {"terms": _terms(field, size, "count", label), "count": _count("count")}
    return lens(lid, title, layer, cols, ["terms", "count"], xy(layer, "bar_horizontal", "terms", "count"))


def claims_table() -> dict:
    """Who said what: one row per speaker and stance (``claim_stances`` = "speaker|stance"), with the
    number of articles and the latest one's date."""
    lid = "rasid-lens-claims"
    layer = f"{lid}-layer"
    cols = {
        "who": _terms("claim_stances", 50, "count", "Speaker | stance — المتحدث | الموقف"),
        "count": _count("count"),
        "latest": {"label": "Latest — الأحدث", "customLabel": True, "dataType": "date", "operationType": "max",
                   "sourceField": F_TIME, "isBucketed": False, "scale": "ratio", "params": {"emptyAsNull": True}},
    }
    obj = lens(lid, "Claims: who states, denies, accuses — من قال ماذا", layer, cols, ["who", "count", "latest"],
               {"layerId": layer, "layerType": "data",
                "columns": [{"columnId": "who"}, {"columnId": "count"}, {"columnId": "latest"}]},
               "Attributed statements (pipeline/stages/claims.py); nested detail: rasid search --speaker --stance")
    obj["attributes"]["visualizationType"] = "lnsDatatable"
    return obj


def topics_over_time() -> dict:
    lid = "rasid-lens-topics-over-time"
    layer = f"{lid}-layer"
    cols = {"topic": _terms(F_TOPICS, 9, "count", "Topic"), "date": _date(), "count": _count("count")}
    return lens(lid, "Articles over time by topic — المقالات حسب الموضوع", layer, cols,
                ["topic", "date", "count"], xy(layer, "bar_stacked", "date", "count", split="topic"))


def places_map() -> dict:
    layers = [
        {"id": "basemap", "type": "EMS_VECTOR_TILE", "label": None, "minZoom": 0, "maxZoom": 24,
         "alpha": 1, "visible": True, "style": {"type": "EMS_VECTOR_TILE", "color": ""},
         "includeInFitToBounds": True, "sourceDescriptor": {"type": "EMS_TMS", "isAutoSelect": True,
                                                              "lightModeDefault": "road_map_desaturated"}},
        {"id": "rasid-places", "type": "GEOJSON_VECTOR", "label": "Places in articles — الأماكن",
         "minZoom": 0, "maxZoom": 24, "alpha": 0.8, "visible": True, "includeInFitToBounds": True,
         "joins": [],
         "sourceDescriptor": {
             "id": "rasid-places-source", "type": "ES_SEARCH", "geoField": F_GEO,
             "scalingType": "LIMIT", "limit": 10000, "filterByMapBounds": True,
             "tooltipProperties": ["title", "source", "places.name", "published_at"],
             "sortField": F_TIME, "sortOrder": "desc", "topHitsSplitField": "", "topHitsSize": 1,
             "applyGlobalQuery": True, "applyGlobalTime": True, "applyForceRefresh": True,
             "indexPatternRefName": "layer_1_source_index_pattern"},
         "style": {"type": "VECTOR", "isTimeAware": True, "properties": {
             "icon": {"type": "STATIC", "options": {"value": "marker"}},
             "fillColor": {"type": "STATIC", "options": {"color": "#D36086"}},
             "lineColor": {"type": "STATIC", "options": {"color": "#FFFFFF"}},
             "lineWidth": {"type": "STATIC", "options": {"size": 1}},
             "iconSize": {"type": "STATIC", "options": {"size": 6}},
             "iconOrientation": {"type": "STATIC", "options": {"orientation": 0}},
             "labelText": {"type": "STATIC", "options": {"value": ""}},
             "symbolizeAs": {"options": {"value": "circle"}}}}},
    ]
    state = {"zoom": 5.6, "center": {"lat": 35.0, "lon": 38.5},
             "timeFilters": {"from": "now-30d", "to": "now"},
             "refreshConfig": {"isPaused": True, "interval": 0},
             "query": {"query": "", "language": "kuery"}, "filters": [],
             "settings": {"autoFitToDataBounds": False, "initialLocation": "LAST_SAVED_LOCATION",
                          "fixedLocation": {"lat": 35.0, "lon": 38.5, "zoom": 5.6},
                          "browserLocation": {"zoom": 2}, "maxZoom": 24, "minZoom": 0,
                          "showScaleControl": False, "showSpatialFilters": True,
                          "showTimesliderToggleButton": True, "spatialFiltersAlpa": 0.3,
                          "spatialFiltersFillColor": "#DA8B45", "spatialFiltersLineColor": "#DA8B45"}}
    return {
        "id": "rasid-map-places",
        "type": "map",
        "coreMigrationVersion": CORE,
        "typeMigrationVersion": "8.4.0",
        "attributes": {
            "title": "Map of places — خريطة الأماكن",
            "description": "Places named in the articles (geo_point `location`)",
            "mapStateJSON": dumps(state),
            "layerListJSON": dumps(layers),
            "uiStateJSON": dumps({"isLayerTOCOpen": True, "openTOCDetails": []}),
        },
        "references": [{"name": "layer_1_source_index_pattern", "type": "index-pattern", "id": DATA_VIEW}],
    }


def dashboard(panels: list[tuple[str, str, dict]]) -> dict:
    """``panels``: (saved object type, id, gridData) in display order."""
    pj, refs = [], []
    for n, (ptype, pid, grid) in enumerate(panels, start=1):
        idx = f"p{n}"
        cfg: dict = {"enhancements": {}}
        if ptype == "map":
            cfg.update({"mapCenter": {"lat": 35.0, "lon": 38.5, "zoom": 5.6}, "isLayerTOCOpen": False,
                        "hiddenLayers": [], "openTOCDetails": []})
        pj.append({"version": "8.14.1", "type": ptype, "gridData": {**grid, "i": idx}, "panelIndex": idx,
                   "embeddableConfig": cfg, "panelRefName": f"panel_{idx}"})
        refs.append({"name": f"{idx}:panel_{idx}", "type": ptype, "id": pid})
    return {
        "id": "rasid-dashboard",
        "type": "dashboard",
        "coreMigrationVersion": CORE,
        "typeMigrationVersion": "8.9.0",
        "attributes": {
            "title": "Rasid — Syria news monitor (راصد)",
            "description": "Breaking now, topics over time, outlets, top places/organisations/people, map, "
                           "alerts, growing stories, stories and latest articles",
            "panelsJSON": dumps(pj),
            "optionsJSON": dumps({"useMargins": True, "syncColors": False, "syncCursor": True,
                                  "syncTooltips": False, "hidePanelTitles": False}),
            "timeRestore": True,
            "timeFrom": "now-30d",
            "timeTo": "now",
            "refreshInterval": {"pause": False, "value": 60000},
            "version": 1,
            "kibanaSavedObjectMeta": {"searchSourceJSON": dumps({"query": {"query": "", "language": "kuery"},
                                                                 "filter": []})},
        },
        "references": refs,
    }


def story_views() -> list[dict]:
    """Data views, saved searches and panels of the story documents and the alerts."""
    stories = side_view(STORIES_VIEW, "Rasid stories (راصد — القصص)", "last_seen", {
        "title": "العنوان", "source_count": "عدد المصادر", "article_count": "عدد المقالات", "sources": "المصادر",
        "topic_ids": "المواضيع", "places": "الأماكن", "breaking_at": "عاجل منذ", "growth": "النمو",
        "articles_last_hour": "مقالات آخر ساعة",
        "follows": "قصة سابقة ذات صلة"})
    alerts = side_view(ALERTS_VIEW, "Rasid alerts (راصد — التنبيهات)", "fired_at", {
        "kind": "النوع", "rule": "القاعدة", "title": "العنوان", "sources": "المصادر"})
    by_breaking = [["breaking_at", "desc"], ["last_seen", "desc"]]
    return [
        stories, alerts,
        saved_search("rasid-search-stories", "Stories, newest breaking first — القصص", "",
                     "One row per story (several outlets, one event): breaking stories first, newest first",
                     view=STORIES_VIEW, columns=STORY_COLUMNS, sort=by_breaking),
        saved_search("rasid-search-breaking-now", "Breaking now — عاجل الآن", BREAKING_NOW,
                     "Stories that met the breaking rule in the last six hours", view=STORIES_VIEW,
                     columns=STORY_COLUMNS, sort=by_breaking),
        saved_search("rasid-search-growing-stories", "Growing stories — القصص الأسرع نمواً", GROWING,
                     "Stories that grow: most articles in their last hour first (as of each story's latest article), "
                     "then most outlets; the time picker filters by the latest article",
                     view=STORIES_VIEW, columns=["title", "articles_last_hour"] + STORY_COLUMNS[1:],
                     sort=[["articles_last_hour", "desc"], ["source_count", "desc"], ["last_seen", "desc"]]),
        saved_search("rasid-search-story-threads", "Story threads — قصص متصلة", "follows:*",
                     "Stories that follow an earlier one (its next day, or the next event in that place or around "
                     "those actors): follows and followed_by name the stories of the thread; newest first",
                     view=STORIES_VIEW, columns=STORY_COLUMNS + ["followed_by"], sort=[["first_seen", "desc"]]),
        saved_search("rasid-search-alerts", "Alerts — التنبيهات", "",
                     "Every alert fired (match, breaking, spike), newest first", view=ALERTS_VIEW,
                     columns=ALERT_COLUMNS, sort=[["fired_at", "desc"]]),
    ]


def build() -> list[dict]:
    objs: list[dict] = [data_view()]
    latest = saved_search("rasid-search-latest", "Latest articles — آخر المقالات", "",
                          "Every article, newest first; the url column links to the article")
    objs.append(latest)
    for tid, label in TOPICS.items():
        objs.append(saved_search(f"rasid-search-{tid}", f"Topic: {label}", f'{F_TOPICS} : "{tid}"',
                                 f"Articles classified {tid}, newest first"))
    over_time = topics_over_time()
    outlets = top_terms_lens("rasid-lens-by-outlet", "Articles by outlet — حسب المصدر", F_SOURCE, 20, "Outlet")
    places = top_terms_lens("rasid-lens-top-places", "Top places — أبرز الأماكن", F_PLACE, 15, "Place")
    orgs = top_terms_lens("rasid-lens-top-organizations", "Top organisations — أبرز الجهات", F_ORG, 15,
                          "Organisation")
    people = top_terms_lens("rasid-lens-top-people", "Top people — أبرز الأشخاص", F_PEOPLE, 15, "Person")
    mp = places_map()
    claims = claims_table()
    objs += [over_time, outlets, places, orgs, people, mp, claims]
    objs.append(saved_search("rasid-search-claims", "Articles with claims — التصريحات", "claim_speakers : *",
                             "Articles with attributed statements; claim_stances lists speaker|stance",
                             columns=["title", "source", "claim_stances", "url"]))
    objs += story_views()
    objs.append(dashboard([
        ("search", "rasid-search-breaking-now", {"x": 0, "y": 0, "w": 48, "h": 10}),
        ("lens", over_time["id"], {"x": 0, "y": 10, "w": 32, "h": 14}),
        ("lens", outlets["id"], {"x": 32, "y": 10, "w": 16, "h": 14}),
        ("map", mp["id"], {"x": 0, "y": 24, "w": 24, "h": 18}),
        ("lens", places["id"], {"x": 24, "y": 24, "w": 24, "h": 18}),
        ("lens", orgs["id"], {"x": 0, "y": 42, "w": 24, "h": 14}),
        ("lens", people["id"], {"x": 24, "y": 42, "w": 24, "h": 14}),
        ("lens", claims["id"], {"x": 0, "y": 120, "w": 48, "h": 16}),
        ("search", "rasid-search-alerts", {"x": 0, "y": 56, "w": 48, "h": 14}),
        ("search", "rasid-search-growing-stories", {"x": 0, "y": 70, "w": 48, "h": 12}),
        ("search", "rasid-search-stories", {"x": 0, "y": 82, "w": 48, "h": 18}),
        ("search", latest["id"], {"x": 0, "y": 100, "w": 48, "h": 20}),
    ]))
    return objs


def main() -> None:
    objs = build()
    OUT.write_text("".join(dumps(o) + "\n" for o in objs), encoding="utf-8")
    print(f"wrote {len(objs)} objects to {OUT}")


if __name__ == "__main__":
    main()
