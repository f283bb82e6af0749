from connectors.cadence import ALPHA, Cadence
from pipeline.core.metrics import SOURCE_ARTICLE_GAP, SOURCE_LAST_ARTICLE


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


def gauge(g, source):
    return g.labels(source)._value.get()


def test_gap_is_a_moving_average_of_new_article_gaps():
    clock = Clock()
    c = Cadence(clock)
    c.new_article("cad-a")
    assert gauge(SOURCE_LAST_ARTICLE, "cad-a") == clock.t
    assert "cad-a" not in c.gap  # one article says nothing about a cadence
    clock.t += 600
    c.new_article("cad-a")
    assert gauge(SOURCE_ARTICLE_GAP, "cad-a") == 600
    clock.t += 1200
    c.new_article("cad-a")
    assert gauge(SOURCE_ARTICLE_GAP, "cad-a") == round((1 - ALPHA) * 600 + ALPHA * 1200, 1)
    assert gauge(SOURCE_LAST_ARTICLE, "cad-a") == clock.t


def test_a_burst_from_one_poll_is_not_a_cadence():
    clock = Clock()
    c = Cadence(clock)
    c.new_article("cad-b")
    clock.t += 900
    for _ in range(5):  # five articles found in one poll
        c.new_article("cad-b")
        clock.t += 0.2
    assert c.gap["cad-b"] == 900
    assert c.last["cad-b"] == 1_000_900.0


def test_sources_are_kept_apart():
    clock = Clock()
    c = Cadence(clock)
    c.new_article("cad-c")
    clock.t += 100
    c.new_article("cad-d")
    clock.t += 100
    c.new_article("cad-c")
    assert c.gap == {"cad-c": 200}
