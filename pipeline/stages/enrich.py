"""Enrich stage: places (with coordinates), organisations and people from config/gazetteer.yaml.

Aliases are matched like topic terms (pipeline.stages.classify.TermMatcher: proclitic
readings, ``word*`` prefixes, ``=word`` exact forms), so ``بإدلب``, ``وإدلب`` and
``لإدلب`` all find إدلب. A name written with its article must carry it in the
text (الرقة، بالرقة، للرقة — not فرقة read as ف + رقة). Names that are also
common words are guarded in the gazetteer rather than in code:

- ``cue``: the alias counts only after a cue word (``مدينة الباب``, ``في الباب``;
  ``الباب`` alone is a door), or before a ``cue_after`` word (``تدمر الأثرية``);
- ``exclude``: phrases that veto an overlapping occurrence (``حماة الديار``,
  ``=الدوما`` the Russian parliament, ``مجلس الأمن القومي``);
- ``context: syria``: the entry counts only in an article that otherwise names
  Syria or a Syrian place/actor (``الدفاع المدني`` is also Lebanon's; أريحا is
  also Jericho).

A guarded place in a list of places needs no cue of its own (``طفس وجاسم``).
Within one kind the longest match wins (``ريف دمشق`` hides ``دمشق``, ``حافظ الأسد``
hides ``الأسد``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pipeline.stages.terms import (
    Doc,
    make_doc,
)
from pipeline.core.schema import Place
from pipeline.stages.gazetteer import GEntry, Gazetteer


@dataclass
class Entities:
    places: list[Place] = field(default_factory=list)
    organizations: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    incident: list[Place] = field(default_factory=list)  # where the headline says it happened (Gazetteer.incident_places)
    near: list[Place] = field(default_factory=list)  # ... and the places it says it happened near


def _match_dateline(g: Gazetteer, dateline_place: str) -> GEntry | None:
    d = make_doc(None, dateline_place)
    for m in g.mentions(d):
        if m.entry.kind == "place":
            return m.entry
    # a dateline is a place by position: accept cue-guarded names there too («الباب – خاص»)
    for owner, occs in g.matcher.scan(d).items():
        if owner[0] == "ga" and occs and g.entries[owner[1]].kind == "place":
            return g.entries[owner[1]]
    return None


def enrich(
    title: str | None,
    body: str,
    dateline_place: str | None = None,
    *,
    gazetteer: Gazetteer,
    doc: Doc | None = None,
) -> Entities:
    """Places, organisations and people named in the article (each once, in order of first mention)."""
    g = gazetteer
    doc = doc if doc is not None else make_doc(title, body)
    out = Entities()
    seen: set[tuple[str, str]] = set()
    if dateline_place:
        e = _match_dateline(g, dateline_place)
        if e is not None:
            seen.add((e.kind, e.name))
            out.places.append(e.place())
    for m in g.mentions(doc):
        key = (m.entry.kind, m.entry.name)
        if key in seen:
            continue
        seen.add(key)
        if m.entry.kind == "place":
            out.places.append(m.entry.place())
        elif m.entry.kind == "organization":
            out.organizations.append(m.entry.name)
        else:
            out.people.append(m.entry.name)
    at, near = g.incident_places(doc)
    out.incident, out.near = [e.place() for e in at], [e.place() for e in near]
    return out
