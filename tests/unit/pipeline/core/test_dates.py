"""Zones written beside a time, as Arabic outlets write them (pipeline.core.dates)."""

from datetime import datetime, timedelta, timezone

import pytest

from pipeline.core.dates import find_first_date, parse_date, written_zone, zone

DAMASCUS = zone("Asia/Damascus")


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=timezone.utc)


@pytest.mark.parametrize("written, expected", [
    # «AST» is Arabia Standard Time on Arabic outlets (the RFC 822 parser's Atlantic is 7 hours off)
    ("Mon, 02 Dec 2024 10:30:00 AST", utc(2024, 12, 2, 7, 30)),
    ("2024-12-02 10:30 AST", utc(2024, 12, 2, 7, 30)),
    ("2 ديسمبر 2024 10:30 AST", utc(2024, 12, 2, 7, 30)),
    ("02 Dec 2024 10:30 GST", utc(2024, 12, 2, 6, 30)),
    ("Tue, 21 May 2019 10:30:00 EET", utc(2019, 5, 21, 8, 30)),
    # a city named as the clock: its zone, summer time included (Damascus kept +03:00 from late 2022)
    ("آخر تحديث: 2/12/2024 10:30 ص (مكة المكرمة)", utc(2024, 12, 2, 7, 30)),
    ("2 ديسمبر 2019 - 10:30 م بتوقيت دمشق", utc(2019, 12, 2, 20, 30)),
    ("2 يوليو 2019 - 10:30 م بتوقيت دمشق", utc(2019, 7, 2, 19, 30)),
    ("2 ديسمبر 2024 - 10:30 م بتوقيت دمشق", utc(2024, 12, 2, 19, 30)),
    ("25 سبتمبر 2020 09:06 بتوقيت غرينتش", utc(2020, 9, 25, 9, 6)),
    # «GMT+3» as its writer means it: three hours ahead (dateutil's POSIX reading made it -03:00)
    ("2020-09-25 09:06 GMT+3", utc(2020, 9, 25, 6, 6)),
    ("Sep 25, 2020 09:06 GMT+0300", utc(2020, 9, 25, 6, 6)),
    ("25 سبتمبر 2020 - 09:06 (GMT+3)", utc(2020, 9, 25, 6, 6)),
    # unchanged: numeric offsets, GMT, no zone at all
    ("Fri, 25 Sep 2020 09:06:00 +0300", utc(2020, 9, 25, 6, 6)),
    ("Fri, 25 Sep 2020 09:06:00 GMT", utc(2020, 9, 25, 9, 6)),
    ("2020-09-25T09:06:00Z", utc(2020, 9, 25, 9, 6)),
])
def test_a_written_zone_is_read_as_arabic_outlets_mean_it(written, expected):
    for local in (None, DAMASCUS):  # a written zone beats the outlet's own clock
        got = parse_date(written, local)
        assert got == expected, (written, local, got)
        assert got.utcoffset() is not None


def test_day_month_year_dates_keep_their_time():
    assert parse_date("2/12/2024 10:30 م") == utc(2024, 12, 2, 22, 30)
    assert parse_date("2/12/2024 10:30 م", DAMASCUS) == utc(2024, 12, 2, 19, 30)
    assert parse_date("25/09/2020") == utc(2020, 9, 25)  # a bare date stays a day


def test_without_a_zone_the_outlets_clock_or_utc():
    assert parse_date("2020-09-25 09:06") == utc(2020, 9, 25, 9, 6)
    assert parse_date("2020-09-25 09:06", DAMASCUS) == utc(2020, 9, 25, 6, 6)
    assert parse_date("الخميس 2/12/2024 بتوقيت دمشق", DAMASCUS) == utc(2024, 12, 2)  # a day, not an instant


def test_zone_names_inside_words_or_before_an_offset_are_not_zones():
    assert written_zone("ASTRA 2020") is None
    assert written_zone("BLAST 2020") is None
    assert written_zone("توقيت مكةالمكرمة") is None
    offset = written_zone("10:30 GMT+3")
    assert offset is not None and offset[0].utcoffset(None) == timedelta(hours=3)
    assert written_zone("10:30 KSA")[0].utcoffset(None) == timedelta(hours=3)


def test_a_page_line_with_a_zone_after_the_date():
    line = "نشر في 2 ديسمبر 2024 - 10:30 م بتوقيت مكة المكرمة، وتابعوا التغطية"
    assert find_first_date(line, DAMASCUS) == utc(2024, 12, 2, 19, 30)


def test_a_page_clock_read_as_utc_when_its_listing_says_so():
    from pipeline.core.dates import utc_clock_checked

    page = parse_date("2024-03-05T09:00:00", DAMASCUS)  # no offset: read in Damascus, 06:00 UTC
    assert page == utc(2024, 3, 5, 6, 0) and page.tzinfo is DAMASCUS
    # the sitemap gave 09:01 UTC: the CMS wrote UTC
    assert utc_clock_checked(page, utc(2024, 3, 5, 9, 1), DAMASCUS) == utc(2024, 3, 5, 9, 0)
    assert utc_clock_checked(page, datetime(2024, 3, 5, 9, 1), DAMASCUS) == utc(2024, 3, 5, 9, 0)  # a naive listing
    # the feed agrees with Damascus, or names another time altogether, or there is none: the page's reading stands
    for listed in (utc(2024, 3, 5, 6, 0), utc(2024, 3, 5, 7, 30), utc(2024, 3, 5, 9, 5), None):
        assert utc_clock_checked(page, listed, DAMASCUS) is page
    # a time the page wrote with its offset, or read without an outlet zone, is what it says
    explicit = parse_date("2024-03-05T09:00:00+03:00", DAMASCUS)
    assert utc_clock_checked(explicit, utc(2024, 3, 5, 9, 0), DAMASCUS) is explicit
    bare = parse_date("2024-03-05T09:00:00")
    assert utc_clock_checked(bare, utc(2024, 3, 5, 12, 0), None) is bare
    # fetched at 06:10 UTC, the page cannot have been published at 09:00 UTC: the feed stamped Damascus time
    # «+0000» (fetched at 09:05, both readings are possible and the explicit listing is trusted)
    assert utc_clock_checked(page, utc(2024, 3, 5, 9, 0), DAMASCUS, fetched=utc(2024, 3, 5, 6, 10)) is page
    assert utc_clock_checked(page, utc(2024, 3, 5, 9, 0), DAMASCUS, fetched=utc(2024, 3, 5, 9, 5)) == utc(2024, 3, 5, 9)
    # a page that gives only its day is left to the same-day rule
    day = parse_date("2024-03-05", DAMASCUS)
    assert utc_clock_checked(day, utc(2024, 3, 5, 0, 0), DAMASCUS) is day


def test_a_zone_name_dateutil_cannot_place_is_read_on_the_outlets_clock_without_a_warning() -> None:
    """news.am's date line «November 20, 2019 - 11:28 AMT»: dateutil warns on the name (and says a later version
    will raise, failing the page's extraction); the time is read as one written without a zone, while offsets and
    the names it knows are kept."""
    import warnings

    yerevan = timezone(timedelta(hours=4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse_date("November 20, 2019 - 11:28 AMT", yerevan) == datetime(2019, 11, 20, 11, 28, tzinfo=yerevan)
        assert parse_date("November 20, 2019 - 11:28 AMT") == datetime(2019, 11, 20, 11, 28, tzinfo=timezone.utc)
        assert parse_date("November 20, 2019 11:28 +0300", yerevan).utcoffset() == timedelta(hours=3)
        assert parse_date("November 20, 2019 11:28 GMT", yerevan).utcoffset() == timedelta(0)
