"""``stories/mixed.py`` builds the mixed streams the story guard was measured on: check that it moves split B's
stories beside split A's as it says (nothing lost, B's stories kept whole and apart, each beginning within the
hours of one of A's stories on the same weekday), so its figures mean what the notes say they mean."""

from __future__ import annotations

import sys
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE / "stories") not in sys.path:
    sys.path.insert(0, str(HERE / "stories"))

import load  # noqa: E402
import mixed  # noqa: E402


def test_mixed_stream_moves_each_story_of_b_beside_a_story_of_a() -> None:
    a_arts, b_arts = load.load_split("heldout15"), load.load_split("heldout16")
    arts = mixed.mixed("heldout15", "heldout16", 1.0, seed=0)
    assert len(arts) == len(a_arts) + len(b_arts) and len({a["id"] for a in arts}) == len(arts)
    times = [load.published(a) for a in arts]
    assert times == sorted(times)  # publication order, as rasid process sees a feed
    a_starts, b_stories = defaultdict(list), defaultdict(list)
    for a in arts:
        (b_stories[a["story"]] if a["story"].startswith("B:") else a_starts[a["story"]]).append(load.published(a))
    assert len(b_stories) == len({b["story"] for b in b_arts}) and not set(a_starts) & set(b_stories)
    firsts = [min(v) for v in a_starts.values()]
    for story, when in b_stories.items():
        orig = sorted(load.published(b) for b in b_arts if "B:" + b["story"] == story)
        moved = sorted(when)
        assert [m - moved[0] for m in moved] == [o - orig[0] for o in orig], story  # kept whole
        near = [f for f in firsts if abs(f - moved[0]) <= timedelta(hours=1)]
        assert near, story  # begins within the hour of one of A's stories
        assert any(f.weekday() == orig[0].weekday() for f in near), story  # ... one begun on its weekday
