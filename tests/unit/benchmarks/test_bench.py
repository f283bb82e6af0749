"""The benchmark's corpus generator and its offline part (``rasid bench --quick --offline-only``).

No timing assertions: the figures exist, are coherent, and the corpus looks like real pages.
"""

from __future__ import annotations

import json

from click.testing import CliRunner

from benchmarks.bench import bench_cmd
from benchmarks.corpus import build_corpus, load_render, source_articles


def test_corpus_is_realistic_and_deterministic():
    shapes = load_render().SHAPES
    a = build_corpus(len(shapes) + 3, seed=3)
    b = build_corpus(len(shapes) + 3, seed=3)
    assert [p.html for p in a.pages] == [p.html for p in b.pages]
    assert {p.shape for p in a.pages} == set(shapes)
    assert len({p.url for p in a.pages}) == len(a.pages)  # one article id per page
    info = a.describe()
    assert info["pages"] == len(shapes) + 3
    assert info["bytes_mean"] > 60_000  # real page weight, not a bare <p> list
    html = a.pages[0].html.decode("utf-8", "replace")
    assert "<script" in html and "<style" in html


def test_corpus_beyond_the_articles_remixes_and_copies():
    c = build_corpus(len(source_articles()) + 15, seed=1)
    kinds = c.describe()["kinds"]
    assert kinds.get("remix", 0) > 0 and kinds.get("wire_copy", 0) > 0
    assert len({p.html for p in c.pages}) == len(c.pages)


def test_quick_offline_bench_writes_the_figures(tmp_path):
    out = tmp_path / "bench.json"
    res = CliRunner().invoke(bench_cmd, ["--quick", "--offline-only", "--pages", "4", "--out", str(out)])
    assert res.exit_code == 0, res.output + repr(res.exception)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["corpus"]["pages"] == 4
    off = data["offline"]
    assert off["pages"] == 4 and off["ok"] + sum(off["failed"].values()) == 4
    for key in ("trafilatura", "process_1core", "process_pool"):
        assert off[key]["pages_per_s"] > 0, key
        assert off[key]["pages_per_cpu_s"] > 0, key
    assert off["process_pool"]["output_lines"] == 4
    assert off["ratio_to_trafilatura"]["wall"] > 0 and off["ratio_to_trafilatura"]["cpu"] > 0
    stages = off["stages"]
    for name in ("decode", "extract", "clean", "classify", "enrich", "dedupe", "other"):
        assert name in stages, name
    assert abs(sum(v["share"] for v in stages.values()) - 1.0) < 0.02  # exclusive times add up
    assert "streaming" not in data
    assert data["targets"]["offline_ratio"]["value"] == off["ratio_to_trafilatura"]["wall"]
    assert "ratio rasid/trafilatura" in res.output
