"""``rasid stories``: the query on the story documents and the lines a terminal shows."""

from __future__ import annotations

import io

from rich.console import Console

from pipeline.cli.stories import SORTS, build_stories_query, print_stories, story_lines


def test_default_is_the_stories_active_in_the_last_day_latest_first():
    q = build_stories_query()
    assert q["query"]["bool"] == {"must": [{"match_all": {}}],
                                  "filter": [{"range": {"last_seen": {"gte": "now-24h"}}}]}
    assert q["sort"][0] == {"last_seen": {"order": "desc"}}
    assert q["sort"][-1] == {"story_id": {"order": "asc"}}  # ties in a stable order


def test_filters_and_sorts():
    q = build_stories_query("قصف  سراقب", since=None, breaking=True, topics=("chemical_weapons",),
                            places=("إدلب",), sources=("sana",), min_sources=3, sort="top", size=5)
    b = q["query"]["bool"]
    assert b["must"] == [{"match": {"title": {"query": "قصف  سراقب", "operator": "and"}}}]
    assert {"exists": {"field": "breaking_at"}} in b["filter"]
    assert {"terms": {"topic_ids": ["chemical_weapons"]}} in b["filter"]
    assert {"terms": {"sources": ["sana"]}} in b["filter"]
    assert {"match_phrase": {"places.text": "إدلب"}} in b["filter"]
    assert {"range": {"source_count": {"gte": 3}}} in b["filter"]
    assert not any("last_seen" in str(f) for f in b["filter"])
    assert q["sort"][0] == {"articles_last_hour": {"order": "desc"}} and q["size"] == 5
    assert SORTS["breaking"][0] == {"breaking_at": {"order": "desc", "missing": "_last"}}
    assert build_stories_query(min_sources=1)["query"]["bool"]["filter"] == [
        {"range": {"last_seen": {"gte": "now-24h"}}}]


STORY = {"story_id": "ab" * 16, "title": "قصف على سراقب", "first_seen": "2026-12-07T10:05:00+00:00",
         "last_seen": "2026-12-07T11:40:00+00:00", "article_count": 4, "source_count": 3,
         "sources": ["aljazeera", "enab", "sana"], "topic_ids": ["military_escalation"], "places": ["سراقب"],
         "articles_last_hour": 3, "articles_prev_hour": 1, "breaking_at": "2026-12-07T11:10:00+00:00",
         "follows": "cd" * 16, "followed_by": []}


def test_story_lines():
    figures, ids = story_lines(STORY)
    assert figures == ("2026-12-07 10:05 → 11:40 · 4 articles · 3 outlets (aljazeera, enab, sana) · "
                       "3 in its last hour, 1 the hour before · military_escalation")
    assert ids == f"story {'ab' * 16} · follows {'cd' * 16}"
    one, _ = story_lines({**STORY, "article_count": 1, "source_count": 1, "sources": ["sana"],
                          "first_seen": STORY["last_seen"], "topic_ids": []})
    assert one == "2026-12-07 11:40 · 1 article · 1 outlet (sana)"
    days, _ = story_lines({**STORY, "first_seen": "2026-12-06T23:00:00+00:00"})
    assert days.startswith("2026-12-06 23:00 → 2026-12-07 11:40 ·")


def test_printed_story_is_marked_breaking_in_logical_order():
    buf = io.StringIO()
    print_stories({"hits": {"total": {"value": 1}, "hits": [{"_source": STORY}]}}, Console(file=buf, width=120),
                  118)
    out = buf.getvalue()
    assert out.startswith("1 story, showing 1")
    assert "BREAKING 2026-12-07 11:10" in out and "قصف على سراقب" in out and "rasid search --story" in out
