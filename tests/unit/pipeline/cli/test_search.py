"""``rasid search``: the query body, --since parsing, right-to-left terminal rendering, JSON records."""

from __future__ import annotations

import io
import json

import click
import pytest
from bidi import get_display
from rich.console import Console

from pipeline.cli.search import (
    HL_POST,
    HL_PRE,
    build_query,
    hit_record,
    is_rtl,
    print_hits,
    render_text,
    since_to_range,
    split_highlight,
    wrapped_lines,
)


def test_query_targets_title_boosted_and_body():
    q = build_query("كيميائي خان شيخون")
    mm = q["query"]["bool"]["must"][0]["multi_match"]
    assert mm["query"] == "كيميائي خان شيخون"
    assert mm["fields"] == ["title^2", "body"]
    assert q["sort"][:2] == [{"@timestamp": {"order": "desc", "missing": "_last", "unmapped_type": "date"}},
                             {"published_at": {"order": "desc", "missing": "_last", "unmapped_type": "date"}}]
    assert set(q["highlight"]["fields"]) == {"title", "body"}


def test_filters():
    q = build_query("", topics=("chemical_weapons",), sources=("npa", "aawsat"), places=("إدلب",),
                    since="7d", size=3)
    assert q["query"]["bool"]["must"] == [{"match_all": {}}]
    f = q["query"]["bool"]["filter"]
    assert {"terms": {"topic_ids": ["chemical_weapons"]}} in f
    assert {"terms": {"source": ["npa", "aawsat"]}} in f
    # placed since (publication, else fetch); a document from before @timestamp by its publication
    (since,) = [x for x in f if "bool" in x]
    assert {"range": {"@timestamp": {"gte": "now-7d"}}} in since["bool"]["should"]
    assert {"bool": {"must_not": {"exists": {"field": "@timestamp"}},
                     "filter": {"range": {"published_at": {"gte": "now-7d"}}}}} in since["bool"]["should"]
    assert any(x.get("multi_match", {}).get("query") == "إدلب" for x in f)
    assert q["size"] == 3


@pytest.mark.parametrize("since,expected", [("7d", "now-7d"), ("12h", "now-12h"), (" 2w ", "now-2w"),
                                            ("2024-12-08", "2024-12-08")])
def test_since(since, expected):
    assert since_to_range(since) == expected


def test_since_rejects_nonsense():
    with pytest.raises(click.BadParameter):
        since_to_range("last week")


def test_split_highlight():
    plain, terms = split_highlight(f"اتهامات باستخدام {HL_PRE}الكيماوي{HL_POST} في {HL_PRE}إدلب{HL_POST}")
    assert plain == "اتهامات باستخدام الكيماوي في إدلب"
    assert terms == ["الكيماوي", "إدلب"]


def test_visual_lines_wrap_in_logical_order_then_reorder():
    text = "قال الدفاع المدني السوري إن قصفا استهدف مدينة إدلب صباح اليوم وأوقع ضحايا مدنيين"
    lines = wrapped_lines(text, 30, visual=True)
    assert len(lines) > 1
    # each visual line is the bidi display of one logical line, first logical words on the first line
    assert lines[0] == get_display(lines and __import__("textwrap").wrap(text, 30)[0])
    assert lines[0].endswith("لاق")  # «قال», reversed, ends up at the right edge
    assert "".join(reversed(lines[0])).startswith("قال")


def test_lines_stay_in_logical_order_unless_visual_is_asked():
    text = "قال الدفاع المدني السوري إن قصفا استهدف مدينة إدلب صباح اليوم"
    assert wrapped_lines(text, 30) == __import__("textwrap").wrap(text, 30)
    (line,) = render_text(f"هجوم {HL_PRE}كيماوي{HL_POST} على سوريا", 80)
    assert line.plain == "هجوم كيماوي على سوريا" and line.justify == "left"
    assert [line.plain[s.start:s.end] for s in line.spans] == ["كيماوي"]


def test_visual_order_only_when_asked_and_on_a_terminal():
    import io

    from pipeline.cli.view import visual_order

    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert visual_order("visual", Tty()) and not visual_order("logical", Tty())
    assert not visual_order("visual", io.StringIO())  # piped: always logical


def test_render_rtl_right_aligned_with_highlight():
    (line,) = render_text(f"هجوم {HL_PRE}كيماوي{HL_POST} على دوما", 80, visual=True)
    assert line.justify == "right"
    assert line.plain == get_display("هجوم كيماوي على دوما")
    spans = [line.plain[s.start:s.end] for s in line.spans]
    assert get_display("كيماوي") in spans


def test_mixed_text_highlight_lands_on_the_term():
    (line,) = render_text(f"تقرير OPCW عن {HL_PRE}report{HL_POST} اليوم", 80, visual=True)
    assert [line.plain[s.start:s.end] for s in line.spans] == ["report"]


def test_is_rtl():
    assert is_rtl("قصف على إدلب") and not is_rtl("Idlib shelling") and not is_rtl("2024")


HIT = {
    "_index": "t-articles-2020.09", "_id": "x", "_score": 3.2,
    "_source": {"id": "x", "url": "https://e.org/1", "source": "npa", "title": "هجوم كيماوي على دوما",
                "published_at": "2020-09-25T06:06:00+00:00", "topic_ids": ["chemical_weapons"],
                "places": [{"name": "دوما"}], "organizations": [], "people": [], "story_id": "x"},
    "highlight": {"body": [f"اتهام باستخدام السلاح {HL_PRE}الكيميائي{HL_POST} في دوما"]},
}


def test_json_record_keeps_logical_order():
    rec = hit_record(HIT)
    assert rec["title"] == "هجوم كيماوي على دوما"  # not reordered
    assert rec["highlights"] == ["اتهام باستخدام السلاح <em>الكيميائي</em> في دوما"]
    assert rec["places"] == ["دوما"] and rec["index"] == "t-articles-2020.09"
    json.dumps(rec, ensure_ascii=False)


def _printed(visual: bool) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=100, color_system=None, highlight=False)
    print_hits({"hits": {"total": {"value": 1, "relation": "eq"}, "hits": [HIT]}}, console, 90, visual)
    return buf.getvalue()


def test_terminal_output_is_logical_order_by_default():
    out = _printed(visual=False)
    assert "هجوم كيماوي على دوما" in out  # as written: copy, grep and bidi terminals get it right
    assert get_display("هجوم كيماوي على دوما") not in out
    assert "chemical_weapons" in out and "https://e.org/1" in out and "1 article(s)" in out
    assert "story x" in out  # the story it reports, for `rasid search --story`


def test_visual_order_for_terminals_without_bidi():
    out = _printed(visual=True)
    assert get_display("هجوم كيماوي على دوما") in out
    assert "هجوم كيماوي على دوما" not in out


def test_the_time_shown_is_what_the_page_gave():
    from pipeline.cli.search import shown_time

    assert shown_time({"published_at": "2020-09-25T06:06:00+00:00"}) == "2020-09-25 06:06"
    assert shown_time({"published_at": "2020-09-25T00:00:00+00:00", "@timestamp": "2020-09-25T11:40:00+00:00"}
                      ) == "2020-09-25"  # only its day
    assert shown_time({"published_at": None, "@timestamp": "2020-09-25T11:40:00+00:00"}) == "≈ 2020-09-25 11:40"
    assert shown_time({}) == ""


def test_speaker_and_stance_are_one_nested_claim_query():
    from pipeline.cli.search import build_query

    q = build_query("كيماوي", speaker="وزارة الدفاع الروسية", stance="denies")
    (nested,) = [f["nested"] for f in q["query"]["bool"]["filter"] if "nested" in f]
    assert nested["path"] == "claims" and "inner_hits" in nested
    both = nested["query"]["bool"]["filter"]
    assert {"match_phrase": {"claims.speaker.text": "وزارة الدفاع الروسية"}} in both
    assert {"term": {"claims.stance": "denies"}} in both
    assert not any("nested" in f for f in build_query("x")["query"]["bool"]["filter"])


def test_story_filter_takes_the_id_or_its_first_characters():
    f = build_query("", story=" 4ECE55C37298 ")["query"]["bool"]["filter"]
    assert {"prefix": {"story_id": "4ece55c37298"}} in f
    from pipeline.cli.search import _story_id

    assert _story_id("0a3aee8e9d971fd0f8473b5545ee1f51") == "0a3aee8e9d971fd0f8473b5545ee1f51"
    for bad in ("0a3a", "إدلب", "0a3aee8e 9d97"):
        with pytest.raises(click.BadParameter):
            _story_id(bad)
