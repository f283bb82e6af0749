from pipeline.core.statefile import read_entries, write_entries


def test_missing_or_corrupt_reads_empty(tmp_path):
    p = tmp_path / "state.json"
    assert read_entries(p) == {}
    p.write_text("{not json", encoding="utf-8")
    assert read_entries(p) == {}
    p.write_text('{"sources": ["a list"]}', encoding="utf-8")
    assert read_entries(p, "sources") == {}


def test_writes_merge_with_what_another_process_wrote(tmp_path):
    p = tmp_path / "sub" / "discovered.json"
    write_entries(p, {"a": {"n": 1}}, "sources")
    write_entries(p, {"b": {"n": 2}}, "sources")  # another instance, other source
    assert read_entries(p, "sources") == {"a": {"n": 1}, "b": {"n": 2}}
    assert write_entries(p, {"a": {"n": 3}}, "sources", merge=False) == {"a": {"n": 3}}
    assert read_entries(p, "sources") == {"a": {"n": 3}}
    assert not [f for f in p.parent.iterdir() if f.name.startswith(".")]  # no temp file left
