"""`rasid process` (the JSON contract, order, stdin, charsets, bad files), the stream's pool task
(`process_raw`) and the process pool's crash/timeout handling. No network."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import time
from copy import deepcopy
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.core.ids import article_id, content_hash
from pipeline.stream.pool import StagePool
from pipeline.cli.process import process_cmd
from pipeline.core.settings import load_settings
from pipeline.stages.process import ChainConfig, process_page, process_raw
from pipeline.stream.batch import OUTPUT_FIELDS, run_files

SETTINGS = load_settings()
CONFIG = ChainConfig.from_settings(SETTINGS)
from pipeline.core.schema import Article, RawPage, compress_html

from devstack.pages import load_articles, render  # noqa: E402

ARTICLES = {a["id"]: a for a in load_articles()}
WIRE = ARTICLES["seed-alwasila-aleppo-buildup"]
OTHER = ARTICLES["seed-npa-turkish-weapons-idlib"]


def wire_copy(article: dict, url: str) -> dict:
    """Another outlet's copy: new headline, last paragraph dropped, one sentence reworded."""
    a = deepcopy(article)
    a["id"] = article["id"] + "-copy"
    a["url"] = url
    a["source"] = "syria-tv"
    a["title"] = "موسكو تتهم الخوذ البيضاء بالتحضير لاستفزاز كيميائي في إدلب"
    a["paragraphs"] = a["paragraphs"][:-1]
    a["paragraphs"][0] = a["paragraphs"][0].replace("قالت روسيا", "زعمت روسيا")
    return a


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pages")
    out = {}
    specs = {
        "wire": (WIRE, "wordpress_jannah"),
        "copy": (wire_copy(WIRE, "https://www.syria.tv/news/moscow-white-helmets"), "drupal"),
        "other": (OTHER, "custom_cms"),
        "legacy": (OTHER, "legacy_1256"),
        "amp": (ARTICLES["seed-orient-hts-black-days"], "amp"),
    }
    for name, (art, shape) in specs.items():
        p = d / f"{name}.html"
        p.write_bytes(render(art, shape))
        out[name] = p
    (d / "empty.html").write_bytes(b"")
    (d / "binary.bin").write_bytes(bytes(range(256)) * 40)
    out["empty"], out["binary"] = d / "empty.html", d / "binary.bin"
    return out


def run(names: list, **kw) -> tuple[list[dict], int]:
    buf = io.StringIO()
    failures = run_files([str(n) for n in names], out=buf, **{"settings": SETTINGS, **kw})
    return [json.loads(line) for line in buf.getvalue().splitlines()], failures


def test_json_contract_fields_in_order(pages) -> None:
    [rec], failures = run([pages["wire"]])
    assert failures == 0
    assert tuple(rec) == OUTPUT_FIELDS
    assert rec["url"] == WIRE["url"]
    assert rec["id"] == article_id(WIRE["url"])  # the page's canonical URL
    assert rec["title"] == WIRE["title"]
    assert rec["language"] == "ar"
    assert rec["published_at"].startswith("2019-12-12")
    assert WIRE["paragraphs"][2][:40] in rec["body"]
    assert "اقرأ أيضاً" not in rec["body"] and "أسلـ.حتها" not in rec["body"]
    assert rec["duplicate_of"] is None
    ids = [t["id"] for t in rec["topics"]]
    assert "chemical_weapons" in ids
    for t in rec["topics"]:
        assert set(t) == {"id", "score", "evidence"} and t["evidence"]
    names = [p["name"] for p in rec["places"]]
    assert "حلب" in names and "إدلب" in names
    aleppo = next(p for p in rec["places"] if p["name"] == "حلب")
    assert set(aleppo) == {"name", "name_en", "location"} and set(aleppo["location"]) == {"lat", "lon"}
    assert isinstance(rec["organizations"], list) and isinstance(rec["people"], list)
    # the record is a valid Article (what the stream produces, minus stream metadata)
    Article.model_validate(rec)


def test_order_and_near_duplicates_within_a_run(pages) -> None:
    names = [pages["wire"], pages["other"], pages["copy"], pages["amp"]]
    recs, failures = run(names)
    assert failures == 0
    assert [r["url"] for r in recs][0] == WIRE["url"]
    wire, other, copy, amp = recs
    assert copy["duplicate_of"] == wire["id"]  # the wire copy from another outlet
    assert other["duplicate_of"] is None and amp["duplicate_of"] is None and wire["duplicate_of"] is None
    # the same files in a process pool: same lines, same order
    pooled, _ = run(names * 2, jobs=2)
    assert [r["id"] for r in pooled[:4]] == [r["id"] for r in recs]
    assert [r["duplicate_of"] for r in pooled[:4]] == [r["duplicate_of"] for r in recs]
    # second round: the same pages again (same ids) get the verdicts of the first time
    assert [(r["id"], r["duplicate_of"]) for r in pooled[4:]] == [(r["id"], r["duplicate_of"]) for r in recs]


def test_windows_1256_page_without_canonical_url(pages) -> None:
    [rec], _ = run([pages["legacy"]])
    raw = pages["legacy"].read_bytes()
    raw.decode("cp1256")  # really a windows-1256 file
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert rec["title"] == OTHER["title"]
    assert OTHER["paragraphs"][0][:30] in rec["body"]
    assert rec["url"] is None and rec["id"] == content_hash(raw)


def test_url_and_source_options_and_stdin(pages) -> None:
    data = pages["other"].read_bytes()
    res = CliRunner().invoke(
        process_cmd,
        ["--url", "https://NPASYRIA.com/ar/news/123?utm_source=x", "--source", "npa", "-"],
        input=data,
    )
    assert res.exit_code == 0, res.output
    [line] = res.output.strip().splitlines()
    rec = json.loads(line)
    assert rec["url"] == "https://npasyria.com/ar/news/123"
    assert rec["id"] == article_id("https://npasyria.com/ar/news/123")
    assert rec["source"] == "npa"
    res = CliRunner().invoke(process_cmd, ["--url", "https://x.example/a", str(pages["wire"]), str(pages["other"])])
    assert res.exit_code == 2


def saraqib_page(dateline: str) -> str:
    """A short article page whose only date is ``dateline``, written as the page shows it."""
    body = "".join(f"<p>فقرة رقم {i} من الخبر عن قصف مدفعي على مدينة سراقب في ريف إدلب الشرقي وسقوط جرحى"
                   f" بين المدنيين.</p>" for i in range(6))
    return (f"<html><head><title>قصف على سراقب</title></head><body><article><h1>قصف على سراقب</h1>{dateline}{body}"
            "</article></body></html>")


def test_process_reads_page_times_on_the_outlets_clock(tmp_path) -> None:
    """As the stream does: --timezone, else the --source's zone in the registry (SANA: Damascus), else UTC."""
    page = tmp_path / "p.html"
    page.write_text(saraqib_page("<p>24 آذار 2024 - 06:20 م</p>"), encoding="utf-8")

    def published(*args: str) -> tuple[str, float]:
        """(the local wall time, its UTC offset in hours) of the page's publication."""
        from datetime import datetime

        res = CliRunner().invoke(process_cmd, [*args, str(page)])
        assert res.exit_code == 0, res.output
        when = datetime.fromisoformat(json.loads(res.output)["published_at"].replace("Z", "+00:00"))
        return when.strftime("%Y-%m-%d %H:%M"), when.utcoffset().total_seconds() / 3600

    assert published() == ("2024-03-24 18:20", 0)  # no source, no zone: UTC
    assert published("--source", "sana") == ("2024-03-24 18:20", 3)
    assert published("--source", "sana", "--timezone", "Asia/Dubai") == ("2024-03-24 18:20", 4)
    assert published("--source", "not-in-the-registry") == ("2024-03-24 18:20", 0)
    res = CliRunner().invoke(process_cmd, ["--timezone", "Asia/Nowhere", str(page)])
    assert res.exit_code == 2 and "unknown time zone" in res.output


def test_bad_files_keep_one_line_each_and_fail_the_exit_status(pages, tmp_path) -> None:
    missing = tmp_path / "missing.html"
    res = CliRunner().invoke(
        process_cmd, [str(pages["empty"]), str(pages["wire"]), str(pages["binary"]), str(missing)]
    )
    assert res.exit_code == 1
    lines = [json.loads(x) for x in res.output.strip().splitlines()]
    assert len(lines) == 4
    assert lines[0]["error"] == "empty" and lines[0]["file"] == str(pages["empty"])
    assert lines[1]["title"] == WIRE["title"]
    assert lines[2]["error"] == "not_html"
    assert lines[3]["error"] == "unreadable"


def test_process_page_is_the_stage_chain(pages) -> None:
    art = process_page(pages["wire"].read_bytes(), url="https://example.org/x", source="alwasila", config=CONFIG)
    assert art.id == article_id("https://example.org/x") and art.source == "alwasila"
    assert art.duplicate_of is None and art.story_id is None and art.processed_at is not None


# --------------------------------------------------------------------------- the stream's pool task

def raw_record(html: bytes, **kw) -> bytes:
    url = kw.pop("url", WIRE["url"])
    return RawPage(id=article_id(url), url=url, source="alwasila", html_z=compress_html(html), **kw).to_json()


def test_a_raw_record_carries_its_outlets_zone_to_the_page_time() -> None:
    """The connector stamps the source's zone on the raw record; a page time without an offset is read
    in it (a record without one, or with an unknown name, reads it as UTC, as before)."""
    from datetime import datetime, timezone

    html = saraqib_page("<p>24 آذار 2024 - 06:20 م</p>").encode("utf-8")

    def published(**kw) -> datetime:
        res = process_raw(raw_record(html, url="https://example.org/a/7", **kw), CONFIG)
        assert res["ok"], res
        return datetime.fromisoformat(json.loads(res["envelope"])["article"]["published_at"].replace("Z", "+00:00"))

    utc = timezone.utc
    assert published(timezone="Asia/Damascus") == datetime(2024, 3, 24, 15, 20, tzinfo=utc)
    assert published() == datetime(2024, 3, 24, 18, 20, tzinfo=utc)
    assert published(timezone="Nowhere/Atlantis") == datetime(2024, 3, 24, 18, 20, tzinfo=utc)


def test_process_raw_good_record(pages) -> None:
    res = process_raw(raw_record(pages["wire"].read_bytes(), charset="utf-8"), CONFIG)
    assert res["ok"] and res["id"] == article_id(WIRE["url"])
    env = json.loads(res["envelope"])
    assert env["article"]["id"] == res["id"] and env["article"]["title"] == WIRE["title"]
    assert env["sketch"] and env["when"].startswith("2019-12-12")


@pytest.mark.parametrize(
    "value,stage,reason",
    [
        (b"", "extract", "empty"),
        (bytes(range(256)), "extract", "bad_json"),
        (b'{"id": "x", "url": "https://a.example/1"', "extract", "bad_json"),
        (b"[1, 2]", "extract", "bad_json"),
        (b'{"id": "x", "url": "https://a.example/1", "source": "s"}', "extract", "missing_fields"),
        (b'{"id": "x", "url": "https://a.example/1", "source": "s", "html_z": "AAAA"}', "extract", "bad_html_z"),
    ],
)
def test_process_raw_poison(value, stage, reason) -> None:
    res = process_raw(value, CONFIG)
    assert not res["ok"] and (res["stage"], res["reason"]) == (stage, reason)


def test_process_raw_pages_that_are_not_articles() -> None:
    huge = b"<html><body>" + b"<p>x</p>" * 2_000_000 + b"</body></html>"
    res = process_raw(raw_record(huge), dataclasses.replace(CONFIG, max_html_bytes=1_000_000))
    assert (res["ok"], res["reason"], res["url"]) == (False, "too_large", WIRE["url"])
    res = process_raw(raw_record(b""), CONFIG)
    assert (res["ok"], res["stage"], res["reason"]) == (False, "extract", "empty")
    res = process_raw(raw_record(b"%PDF-1.7\n" + os.urandom(2000)), CONFIG)
    assert (res["ok"], res["reason"]) == (False, "not_html")
    res = process_raw(raw_record(b"<html><body><nav><a href='/'>home</a></nav></body></html>"), CONFIG)
    assert not res["ok"] and res["reason"] == "no_article"


def test_process_raw_truncated_and_non_arabic_pages(pages) -> None:
    page = pages["wire"].read_bytes()
    # cut inside the last paragraphs (no closing tags at all): what is there is kept
    res = process_raw(raw_record(page[: len(page) * 97 // 100]), CONFIG)
    assert res["ok"], res
    body = json.loads(res["envelope"])["article"]["body"]
    assert WIRE["paragraphs"][1][:40] in body
    # cut before the article: dead-lettered with a reason, not crashed
    res = process_raw(raw_record(page[: len(page) // 3]), CONFIG)
    assert (res["ok"], res["reason"]) == (False, "no_article")
    english = (b"<html lang='en'><head><title>UN envoy briefs council</title></head><body><article><h1>UN envoy briefs "
               b"council</h1>" + b"<p>The UN special envoy told the Security Council on Tuesday that talks would resume "
               b"in Geneva next month, urging all parties to respect the ceasefire.</p>" * 6 + b"</article></body></html>")
    res = process_raw(raw_record(english, url="https://news.example/en/1"), CONFIG)
    assert res["ok"]
    assert json.loads(res["envelope"])["article"]["language"] == "en"


# --------------------------------------------------------------------------- the pool

def _work(x: int) -> int:
    if x == -1:
        os._exit(3)  # a parser segfault, an OOM kill
    if x == -2:
        time.sleep(60)  # a pathological page
    return x * 2


async def test_pool_replaces_crashed_and_stuck_processes() -> None:
    pool = StagePool(2, timeout_s=1.5, context="fork")
    try:
        out = await pool.map(_work, [1, 2, -1, 3, 4])
        assert [o.value for o in out if o.ok] == [2, 4, 6, 8]
        assert (out[2].ok, out[2].reason) == (False, "worker_crashed")
        t0 = time.monotonic()
        out = await pool.map(_work, [5, -2, 6])
        assert [o.ok for o in out] == [True, False, True] and out[1].reason == "timeout"
        assert time.monotonic() - t0 < 10
        assert pool.restarts >= 2
        assert [o.value for o in await pool.map(_work, [7, 8])] == [14, 16]  # the pool works afterwards
    finally:
        pool.shutdown()


def test_pool_processes_exit_when_their_owner_is_killed(tmp_path) -> None:
    import signal
    import subprocess
    import sys

    script = (
        "import asyncio, os, sys, time\n"
        "from pipeline.stream.pool import StagePool\n"
        "pool = StagePool(1, context='forkserver')\n"
        "asyncio.run(pool.map(abs, [-1]))\n"
        "print(' '.join(map(str, pool.pids())), flush=True)\n"
        "time.sleep(60)\n"
    )
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parents[4])
    try:
        pids = [int(p) for p in owner.stdout.readline().split()]
        assert pids and all(_alive(p) for p in pids)
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(p) for p in pids)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purpose (its parent, the forkserver, reaps it when it exits too)
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def test_a_date_only_publication_is_placed_at_its_same_day_fetch_else_in_its_morning() -> None:
    """A page that gives only its date: the stream's fetch that day is closer to the truth than
    midnight (which sits next to the day before's events); a late fetch or none: the day's morning."""
    from datetime import datetime, timedelta, timezone

    from pipeline.core.dates import DATE_ONLY_AT
    from pipeline.stages.process import dedupe_time

    def art(pub, fetched):
        return Article(id="a" * 32, url="https://example.org/1", source="npa", title="t", body="b",
                       language="ar", published_at=pub, fetched_at=fetched)

    utc = timezone.utc
    day = datetime(2018, 3, 24, tzinfo=utc)
    timed = datetime(2018, 3, 24, 18, 20, tzinfo=timezone(timedelta(hours=2)))
    assert dedupe_time(art(timed, day + timedelta(hours=20))) == timed  # a real time is kept
    assert dedupe_time(art(day, day + timedelta(hours=16, minutes=25))) == day + timedelta(hours=16, minutes=25)
    assert dedupe_time(art(day, day + timedelta(days=3))) == day + DATE_ONLY_AT  # a backfill: the date is all
    assert dedupe_time(art(day, None)) == day + DATE_ONLY_AT  # a saved page
    assert dedupe_time(art(day, day - timedelta(hours=2))) == day - timedelta(hours=2)  # 01:00 in Damascus
    assert dedupe_time(art(day, day - timedelta(hours=6))) == day + DATE_ONLY_AT  # the day before: a wrong clock
    assert timedelta(0) < DATE_ONLY_AT < timedelta(hours=12)
    assert dedupe_time(art(None, day + timedelta(hours=5))) == day + timedelta(hours=5)


def test_a_page_that_shows_only_its_day_takes_the_time_its_feed_gave() -> None:
    """The feed or sitemap that listed the page knows the minute; the page only the day."""
    from datetime import datetime, timedelta, timezone

    from pipeline.core.schema import Listing
    from pipeline.stages.process import process_page_full

    html = saraqib_page("<p>24/03/2018</p>")
    plain = process_page_full(html, "https://example.org/a/1", "npa", config=CONFIG).article
    assert plain.published_at == datetime(2018, 3, 24, tzinfo=timezone.utc)
    fed = datetime(2018, 3, 24, 18, 20, tzinfo=timezone(timedelta(hours=2)))
    listed = process_page_full(html, "https://example.org/a/1", "npa", listing=Listing(published_at=fed),
                               config=CONFIG).article
    assert listed.published_at == fed
    other_day = Listing(published_at=fed + timedelta(days=3))  # a listing's date for another day: the page's stands
    assert process_page_full(html, "https://example.org/a/1", "npa", listing=other_day,
                             config=CONFIG).article.published_at == plain.published_at


def test_a_page_clock_that_is_utc_is_read_so_when_its_feed_says_so() -> None:
    """A CMS that writes UTC without an offset: read on the outlet's clock the time is hours early; the
    sitemap's explicit time, equal to the page's clock read as UTC, settles it."""
    from datetime import datetime, timedelta, timezone

    from pipeline.core.dates import zone
    from pipeline.core.schema import Listing
    from pipeline.stages.process import process_page_full

    html = saraqib_page("").replace(
        "<title>", "<meta property='article:published_time' content='2024-03-05T09:00:00'><title>")
    damascus = zone("Asia/Damascus")

    def published(listed):
        listing = Listing(published_at=listed) if listed else None
        return process_page_full(html, "https://example.org/a/2", "npa", listing=listing, config=CONFIG,
                                 local_tz=damascus).article.published_at.astimezone(timezone.utc)

    utc = timezone.utc
    assert published(None) == datetime(2024, 3, 5, 6, 0, tzinfo=utc)  # the outlet's clock
    assert published(datetime(2024, 3, 5, 9, 0, 30, tzinfo=utc)) == datetime(2024, 3, 5, 9, 0, tzinfo=utc)
    in_damascus = datetime(2024, 3, 5, 9, 0, tzinfo=timezone(timedelta(hours=3)))
    assert published(in_damascus) == datetime(2024, 3, 5, 6, 0, tzinfo=utc)


def test_a_raw_record_with_a_utc_page_clock_is_placed_by_its_listing() -> None:
    """The stream's path: the record's zone, listing and fetch time all reach the clock check."""
    from datetime import datetime, timezone

    from pipeline.core.schema import Listing

    html = saraqib_page("<p>24 آذار 2024 - 06:20 م</p>").encode("utf-8")  # 18:20 on the CMS's clock, UTC
    utc = timezone.utc

    told = []

    def published(**kw) -> datetime:
        res = process_raw(raw_record(html, url="https://example.org/a/8", timezone="Asia/Damascus", **kw), CONFIG)
        assert res["ok"], res
        told.append(res.get("utc_clock", False))  # for the agent's rasid_page_clock_utc_total
        return datetime.fromisoformat(json.loads(res["envelope"])["article"]["published_at"].replace("Z", "+00:00"))

    listed = Listing(published_at=datetime(2024, 3, 24, 18, 21, tzinfo=utc))
    assert published(listing=listed, fetched_at=datetime(2024, 3, 24, 18, 25, tzinfo=utc)) == \
        datetime(2024, 3, 24, 18, 20, tzinfo=utc)
    # fetched at 15:30 UTC: 18:20 UTC is still to come, so the listing's «+0000» was Damascus time
    assert published(listing=listed, fetched_at=datetime(2024, 3, 24, 15, 30, tzinfo=utc)) == \
        datetime(2024, 3, 24, 15, 20, tzinfo=utc)
    assert told == [True, False]
