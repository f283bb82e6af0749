"""The gazetteer: places (with coordinates), organisations and people of config/gazetteer.yaml,
compiled into one term matcher with the guards for names that are also common words
(cues, exclusions, a Syrian-context requirement). Used by enrich, and by classify for the
Syrian-context gate."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from pipeline.stages.terms import (
    Doc,
    Occ,
    TermError,
    TermMatcher,
    TokSpec,
    parse_token,
    compile_term,
)
from pipeline.core.yamlfile import ConfigError, line_of, load_file, load_yaml_lines
from pipeline.core.arabic import fold, repair
from pipeline.core.schema import Place


KINDS = ("place", "organization", "person")
_OR = frozenset({"او", "or"})  # «عمّان أو دمشق»: a list of places joined by «أو»
# the places an incident can happen *in*: a headline's «في الدانا», not «شمالي إدلب» or «في ريف حماة»
INCIDENT_SCOPES = frozenset({"town", "city", "camp", "base", "crossing"})
MAX_INCIDENT_PLACES = 2


class GazetteerError(ConfigError):
    """An invalid gazetteer; the message names the file, the entry and the line."""


@dataclass(slots=True)
class GEntry:
    kind: str
    name: str
    name_en: str | None
    country: str | None
    syrian: bool  # a mention of it establishes a Syrian context
    lat: float | None = None
    lon: float | None = None
    anchor: bool = True  # may anchor a proximity rule («Russia … in Syria»); false for reporting sources
    scope: str | None = None  # a place's kind in the file: town, city, camp, region, governorate…
    seat: bool = False  # a city named like its governorate (إدلب): the city only after «مدينة»

    def place(self) -> Place:
        loc = {"lat": self.lat, "lon": self.lon} if self.lat is not None and self.lon is not None else None
        return Place(name=self.name, name_en=self.name_en, location=loc)


@dataclass(frozen=True, slots=True)
class AliasOpts:
    """Guards of one alias (or of all aliases of an entry)."""

    cue: TokSpec | None = None
    cue_after: TokSpec | None = None
    needs_context: bool = False


@dataclass(slots=True)
class Mention:
    entry: GEntry
    start: int
    end: int
    surface: str
    conditional: bool = False  # accepted only because of the article's Syrian context


class Gazetteer:
    """Compiled gazetteer: one matcher over every alias, exclusion and context term."""

    def __init__(
        self,
        entries: list[GEntry],
        matcher: TermMatcher,
        alias_opts: dict[tuple[int, int], AliasOpts],
        source: str,
        context_min: int = 1,
        cues: dict[str, TokSpec] | None = None,
    ) -> None:
        self.entries = entries
        self.alias_opts = alias_opts
        self.matcher = matcher
        self.source = source
        self.context_min = context_min
        cues = cues or {}
        self.beside_cue = cues.get("beside")  # «شمالي إدلب», «ريف حماة», «قرب حارم»: the place is a landmark
        self.city_cue = cues.get("city_of")  # «مدينة إدلب»: the seat is the city, not the governorate
        self.by_name: dict[tuple[str, str], GEntry] = {(e.kind, e.name): e for e in entries}

    def __len__(self) -> int:
        return len(self.entries)

    def places(self) -> list[GEntry]:
        return [e for e in self.entries if e.kind == "place"]

    def mentions(self, doc: Doc) -> list[Mention]:
        """Accepted mentions in text order (cues, exclusions, context and overlaps applied)."""
        key = ("gazetteer", id(self))
        cached = doc.cache.get(key)
        if cached is not None:
            return cached
        out = self._mentions(doc)
        doc.cache[key] = out
        return out

    def incident_places(self, doc: Doc) -> tuple[list[GEntry], list[GEntry]]:
        """(the Syrian towns, cities, camps, bases or crossings the headline says the event happened
        in, the ones it says it happened near).

        Why: two reports of the same kind of event on the same day in two towns are two events,
        and the headline is where an outlet puts the place of *this* one. A place right after a
        ``beside`` cue («قرب حارم», «بريف جسر الشغور», «شمالي سراقب») is a landmark: the event was
        near it; a governorate seat («إدلب») is the city only after a ``city_of`` cue («مدينة
        إدلب») or by a longer alias of its own («درعا البلد»), and never a landmark («شمالي إدلب» is
        half a governorate); regions, governorates and
        foreign places (a capital that speaks, a summit's venue) never count. At most
        ``MAX_INCIDENT_PLACES`` in all, in headline order."""
        at: list[GEntry] = []
        near: list[GEntry] = []
        for m in self.mentions(doc):
            e = m.entry
            if m.start >= doc.n_title or len(at) + len(near) >= MAX_INCIDENT_PLACES:
                break
            if e.kind != "place" or e.country != "SY" or e.scope not in INCIDENT_SCOPES or e in at or e in near:
                continue
            k = m.start - 1
            before = doc.cands[k] if k >= 0 and doc.pos[m.start] - doc.pos[k] == 1 else None
            beside = before is not None and self.beside_cue is not None and self.beside_cue.match(before)
            # ... a longer alias than the seat's own name names the city itself («درعا البلد» of درعا)
            own_city = m.end - m.start > len(e.name.split())
            if e.seat and not own_city and (
                    beside or before is None or self.city_cue is None or not self.city_cue.match(before)):
                continue
            (near if beside else at).append(e)
        return at, near

    def _mentions(self, doc: Doc) -> list[Mention]:
        found = self.matcher.scan(doc)
        excl: dict[int, list[Occ]] = {}
        ctx_terms = found.get(("gctx",), [])
        raw: list[tuple[int, Occ, AliasOpts]] = []
        for owner, occs in found.items():
            if owner[0] == "ga":
                opts = self.alias_opts[owner[1:]]
                raw.extend((owner[1], o, opts) for o in occs)
            elif owner[0] == "gx":
                excl[owner[1]] = occs
        accepted: list[tuple[int, Occ, AliasOpts]] = []
        uncued: list[tuple[int, Occ, AliasOpts]] = []
        excl_cover = {idx: {i for x in occs for i in range(x.start, x.end)} for idx, occs in excl.items()}
        for idx, o, opts in raw:
            ex = excl_cover.get(idx)
            if ex and any(i in ex for i in range(o.start, o.end)):
                continue
            if (opts.cue is not None or opts.cue_after is not None) and not self._cued(doc, o, opts):
                uncued.append((idx, o, opts))
                continue
            accepted.append((idx, o, opts))
        # a guarded place in a list of places is cued by the list, on either side of the «و»:
        # «طفس وجاسم», «أعزاز والباب», «بين الميادين وتدمر» (repeated until nothing changes)
        place_ends = {o.end for idx, o, _ in accepted if self.entries[idx].kind == "place"}
        place_starts = {o.start for idx, o, _ in accepted if self.entries[idx].kind == "place"}
        pending = sorted((r for r in uncued if self.entries[r[0]].kind == "place"), key=lambda r: r[1].start)
        changed = True
        while pending and changed:
            changed = False
            rest = []
            for idx, o, opts in pending:
                after = (
                    o.start in place_ends
                    and doc.toks[o.start].startswith("و")
                    and doc.pos[o.start] - doc.pos[o.start - 1] == 1
                )
                before = (
                    o.end in place_starts
                    and doc.toks[o.end].startswith("و")
                    and doc.pos[o.end] - doc.pos[o.end - 1] == 1
                )
                # «من عمّان أو دمشق»: «أو» between two places lists them as well
                after = after or (
                    o.start - 1 in place_ends
                    and doc.toks[o.start - 1] in _OR
                    and doc.pos[o.start] - doc.pos[o.start - 2] == 2
                )
                before = before or (
                    o.end + 1 in place_starts
                    and doc.toks[o.end] in _OR
                    and doc.pos[o.end + 1] - doc.pos[o.end - 1] == 2
                )
                if after or before:
                    accepted.append((idx, o, opts))
                    place_ends.add(o.end)
                    place_starts.add(o.start)
                    changed = True
                else:
                    rest.append((idx, o, opts))
            pending = rest
        # within a kind the longest match wins (then the leftmost)
        accepted.sort(key=lambda r: (-(r[1].end - r[1].start), r[1].start))
        covered: dict[str, set[int]] = {k: set() for k in KINDS}
        kept: list[tuple[int, Occ, AliasOpts]] = []
        for idx, o, opts in accepted:
            cov = covered[self.entries[idx].kind]
            span = range(o.start, o.end)
            if any(i in cov for i in span):
                continue
            cov.update(span)
            kept.append((idx, o, opts))
        kept.sort(key=lambda r: r[1].start)
        # context-dependent names need independent Syrian mentions
        syr = {o.start for idx, o, opts in kept if self.entries[idx].syrian and not opts.needs_context}
        syr |= {o.start for o in ctx_terms}
        has_ctx = len(syr) >= self.context_min
        return [
            Mention(self.entries[idx], o.start, o.end, doc.surface(o.start, o.end), opts.needs_context)
            for idx, o, opts in kept
            if has_ctx or not opts.needs_context
        ]

    @staticmethod
    def _cued(doc: Doc, o: Occ, e: "AliasOpts") -> bool:
        if e.cue is not None:
            k = o.start - 1  # the word right before, in the same paragraph
            if k >= 0 and doc.pos[o.start] - doc.pos[k] == 1 and e.cue.match(doc.cands[k]):
                return True
        if e.cue_after is not None and o.end < len(doc) and doc.pos[o.end] - doc.pos[o.end - 1] == 1:
            if e.cue_after.match(doc.cands[o.end]):
                return True
        return False


def _cue_spec(words: Any, cues: dict[str, TokSpec], src: str, where: int | None, name: str) -> TokSpec | None:
    if words is None:
        return None
    if isinstance(words, str) and words in cues:
        return cues[words]
    if isinstance(words, str):
        words = [words]
    if not isinstance(words, list):
        raise GazetteerError(f"{src}:{where}: entry {name!r}: cue must be a cue-list name or a list of words")
    alts = []
    for w in words:
        if isinstance(w, str) and w in cues:
            s = cues[w]
            alts.extend(("w", f) for f in s.forms)
            alts.extend(("p", p) for p in s.prefixes)
            continue
        try:
            alts.extend(parse_token(str(w)))
        except TermError as err:
            raise GazetteerError(f"{src}:{line_of(w, where)}: entry {name!r}: cue {w!r}: {err}") from None
    return TokSpec(frozenset(f for k, f in alts if k != "p"), tuple(sorted({f for k, f in alts if k == "p"}, key=len)))


def _article_exact(alias: str) -> str:
    """Name words written with the article must be matched with it («=الرقة»).

    A name like الرقة always carries its article in running text (الرقة، بالرقة،
    للرقة); matching it bare would read «فرقة» (a team) as ف + رقة.
    """
    out = []
    for w in alias.split():
        if not w.startswith(("=", "$")) and fold(repair(w)).startswith("ال") and len(w) > 4:
            w = "=" + w
        out.append(w)
    return " ".join(out)


def build_gazetteer(data: Any, src: str = "<gazetteer>") -> Gazetteer:
    if not isinstance(data, dict):
        raise GazetteerError(f"{src}: expected a mapping with places/organizations/people")
    cues: dict[str, TokSpec] = {}
    for cname, words in (data.get("cues") or {}).items():
        cues[str(cname)] = _cue_spec(list(words), {}, src, line_of(words), f"cues.{cname}")  # type: ignore[assignment]
    matcher = TermMatcher()
    alias_opts: dict[tuple[int, int], AliasOpts] = {}
    entries: list[GEntry] = []
    seen: set[tuple[str, str]] = set()
    sections = {"places": "place", "organizations": "organization", "people": "person"}
    for section, kind in sections.items():
        items = data.get(section) or []
        if not isinstance(items, list):
            raise GazetteerError(f"{src}:{line_of(items)}: '{section}' must be a list")
        for it in items:
            ln = line_of(it)
            if not isinstance(it, dict) or not it.get("name"):
                raise GazetteerError(f"{src}:{ln}: {section} entry needs a 'name'")
            name = str(it["name"]).strip()
            if (kind, name) in seen:
                raise GazetteerError(f"{src}:{ln}: duplicate {kind} {name!r}")
            seen.add((kind, name))
            country = it.get("country")
            lat = lon = None
            if kind == "place":
                try:
                    lat, lon = float(it["lat"]), float(it["lon"])
                except (KeyError, TypeError, ValueError):
                    raise GazetteerError(f"{src}:{ln}: place {name!r} needs numeric lat and lon") from None
                if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                    raise GazetteerError(f"{src}:{ln}: place {name!r}: lat/lon out of range")
            syrian = bool(it.get("syrian", country == "SY"))
            if not isinstance(it.get("seat", False), bool):
                raise GazetteerError(f"{src}:{ln}: {name!r}: seat must be true or false")
            e = GEntry(
                kind=kind, name=name, name_en=it.get("name_en"), country=country, syrian=syrian, lat=lat, lon=lon,
                anchor=bool(it.get("anchor", True)), scope=str(it["kind"]) if it.get("kind") else None,
                seat=bool(it.get("seat", False)),
            )
            idx = len(entries)
            entries.append(e)
            base = AliasOpts(
                cue=_cue_spec(it.get("cue"), cues, src, ln, name),
                cue_after=_cue_spec(it.get("cue_after"), cues, src, ln, name),
                needs_context=it.get("context") == "syria",
            )
            plain = [name] + [a for a in (it.get("aliases") or []) if isinstance(a, str)]
            if it.get("name_en") and it.get("match_en", True):
                plain.append(str(it["name_en"]))
            groups: list[tuple[list[str], AliasOpts]] = [(plain, base)]
            for a in it.get("aliases") or []:
                if isinstance(a, dict):
                    term = a.get("alias")
                    if not term:
                        raise GazetteerError(f"{src}:{line_of(a, ln)}: entry {name!r}: alias mapping needs 'alias'")
                    opts = AliasOpts(
                        cue=_cue_spec(a.get("cue"), cues, src, line_of(a, ln), name) if "cue" in a else base.cue,
                        cue_after=(
                            _cue_spec(a.get("cue_after"), cues, src, line_of(a, ln), name)
                            if "cue_after" in a
                            else base.cue_after
                        ),
                        needs_context=(a.get("context") == "syria") if "context" in a else base.needs_context,
                    )
                    groups.append(([str(term)], opts))
                elif not isinstance(a, str):
                    raise GazetteerError(f"{src}:{line_of(a, ln)}: entry {name!r}: bad alias {a!r}")
            try:
                for k, (terms, opts) in enumerate(groups):
                    pats = [p for t in terms for p in compile_term(_article_exact(str(t)))]
                    matcher.add(("ga", idx, k), pats)
                    alias_opts[(idx, k)] = opts
                if it.get("exclude"):
                    matcher.add(("gx", idx), [p for x in it["exclude"] for p in compile_term(str(x))])
            except TermError as err:
                raise GazetteerError(f"{src}:{line_of(it)}: entry {name!r}: {err}") from None
    ctx = data.get("context_terms") or []
    if ctx:
        try:
            matcher.add(("gctx",), [p for t in ctx for p in compile_term(str(t))])
        except TermError as err:
            raise GazetteerError(f"{src}:{line_of(ctx)}: context_terms: {err}") from None
    return Gazetteer(entries, matcher, alias_opts, src, int(data.get("context_min", 1)), cues)


def parse_gazetteer(path: Path) -> Gazetteer:
    """Read, validate and compile a gazetteer file; errors name the file, the entry and the line."""
    return build_gazetteer(load_yaml_lines(path, GazetteerError), str(path))


def load_gazetteer(path: str | os.PathLike[str], *, fresh: bool = True) -> Gazetteer:
    """The gazetteer of ``path`` in force (:func:`pipeline.core.yamlfile.load_file`)."""
    return load_file(path, parse_gazetteer, fresh=fresh, what="gazetteer", stage="enrich")
