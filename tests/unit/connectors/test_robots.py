from connectors.robots import parse_robots, rules_for_status

from .conftest import fixture_bytes

UA = "RasidBot/0.1 (+https://example.org/rasid)"


def test_fixture_robots_rules():
    rules = parse_robots(fixture_bytes("robots.txt").decode(), UA, ttl=60)
    assert rules.allowed("https://outlet.example/archives/351234", UA)
    assert not rules.allowed("https://outlet.example/private/report-2019-internal", UA)
    assert not rules.allowed("https://outlet.example/admin/x", UA)
    assert rules.sitemaps == ["https://outlet.example/sitemap-index.xml"]


def test_agent_specific_group_and_crawl_delay():
    text = "User-agent: RasidBot\nDisallow: /no-rasid/\nCrawl-delay: 7\n\nUser-agent: *\nDisallow: /\n"
    rules = parse_robots(text, UA, ttl=60)
    assert rules.allowed("https://o.example/news/1", UA)
    assert not rules.allowed("https://o.example/no-rasid/1", UA)
    assert rules.crawl_delay == 7
    # another agent gets the catch-all
    assert not parse_robots(text, "OtherBot/1.0", ttl=60).allowed("https://o.example/news/1", "OtherBot/1.0")


def test_absurd_crawl_delay_is_capped():
    rules = parse_robots("User-agent: *\nCrawl-delay: 86400\n", UA, ttl=60)
    assert rules.crawl_delay == 60


def test_failure_semantics_rfc9309():
    assert rules_for_status(404, ttl=3600).allowed("https://o.example/a", UA)  # no robots.txt: allow all
    r5 = rules_for_status(503, ttl=3600)
    assert not r5.allowed("https://o.example/a", UA)  # server error: assume disallowed...
    assert r5.ttl <= 300  # ...but only briefly
    assert not rules_for_status(None, ttl=3600).allowed("https://o.example/a", UA)


def test_ttl_expiry():
    rules = parse_robots("", UA, ttl=10)
    assert not rules.expired(rules.fetched_at + 5)
    assert rules.expired(rules.fetched_at + 11)
