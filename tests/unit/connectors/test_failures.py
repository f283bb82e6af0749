import logging

from connectors.failures import FailureDigest


class Clock:
    t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


def warnings(caplog):
    return [r for r in caplog.records if r.levelno >= logging.WARNING and r.name == "rasid.connectors"]


def test_a_failing_source_is_told_once_then_summarised_once_per_interval(caplog):
    caplog.set_level(logging.DEBUG, logger="rasid.connectors")
    clock = Clock()
    d = FailureDigest(summary_s=300, clock=clock)
    for poll in range(10):  # two endpoints, ten polls each
        d.failed("npa", "https://npa.example/rss", "connect_error", 60)
        d.failed("npa", "https://npa.example/sitemap.xml", "http_503", 60)
        clock.t += 30
    told = warnings(caplog)
    assert len(told) == 1 and "source failing" in told[0].getMessage() and told[0].source == "npa"
    assert d.summarise() == 1
    line = warnings(caplog)[-1]
    assert "19 more failure(s) on 2 endpoint(s)" in line.getMessage()
    assert "next retry" in line.getMessage()
    assert d.summarise() == 0  # nothing new: nothing said


def test_healthy_again_only_when_every_failing_endpoint_answers(caplog):
    caplog.set_level(logging.INFO, logger="rasid.connectors")
    d = FailureDigest(clock=Clock())
    d.failed("sana", "https://sana.example/feed", "http_404", 60)
    d.failed("sana", "https://sana.example/sitemap.xml", "http_404", 60)
    d.succeeded("sana", "https://sana.example/feed")
    assert "sana" in d.failing
    d.succeeded("sana", "https://sana.example/sitemap.xml")
    assert "sana" not in d.failing
    assert any(r.getMessage() == "source healthy again" for r in caplog.records)
    d.succeeded("other", "https://other.example/feed")  # never failed: nothing to say
    assert sum(r.getMessage() == "source healthy again" for r in caplog.records) == 1


def test_blocked_sources_say_so(caplog):
    caplog.set_level(logging.INFO, logger="rasid.connectors")
    d = FailureDigest(clock=Clock())
    d.failed("alwatan", "https://alwatan.example/rss", "http_403", 10_800, blocked=True)
    d.failed("alwatan", "https://alwatan.example/rss", "http_403", 21_600, blocked=True)
    assert "blocked" in warnings(caplog)[0].getMessage()
    d.summarise()
    assert "still blocked" in warnings(caplog)[-1].getMessage()


def test_many_sources_one_line_each(caplog):
    caplog.set_level(logging.INFO, logger="rasid.connectors")
    clock = Clock()
    d = FailureDigest(clock=clock)
    for round_ in range(5):
        for i in range(40):
            d.failed(f"s{i}", f"https://s{i}.example/rss", "connect_error", 30)
        clock.t += 30
    assert len(warnings(caplog)) == 40
    assert d.summarise() == 40
