"""Event-level story assignment: an article joins the story of the event it reports, across outlets.

Near-copies are linked by :mod:`pipeline.stages.dedupe` (MinHash); two outlets that report one
event in their own words share few 4-word shingles but the same *rare* words, numbers, places
and names. So each article is reduced to its most telling keys (:func:`event_features`) and
compared with the articles of the time window that share the rarest of them:

- Keys: light-stemmed content words of the match form (title words and the lead weigh more,
  function words dropped), numbers (counts, convoy sizes: the key facts of a report), and the
  enrich stage's places, organisations and people. At most ``MAX_KEYS`` per article, stored as
  32-bit hashes with a small weight (``encode_features``): ~330 bytes on the changelog.
- Retrieval: an inverted index key → the newest ``common_df`` article serials holding it. Keys
  held by more live articles than that are too common to tell events apart and are skipped, so a
  lookup reads at most ``query_keys × common_df`` postings whatever the number of live articles;
  then only the ``max_candidates`` best are scored.
- Score: cosine of TF-IDF vectors (document frequencies over the live articles) times a time
  factor (publication times more than ``window`` apart never join; the score decays within it), a
  penalty when both articles state counts and share none (the same ministry's daily formula
  statement with other figures), and the best member decides a story. The article joins the best
  story at or above ``threshold`` (chosen on ``tests/quality/stories/tune``), else starts one.
  Ties go to the smaller story id: the same input order gives the same ids.
- The index is a cache: the state lives in the dedupe store entries (``"w"`` = encoded features,
  ``"s"`` = story), so a restart rebuilds it from the changelog and answers as before.
"""

from __future__ import annotations

import base64
import math
import zlib
from collections import Counter
from typing import Iterable, Sequence

import numpy as np

from pipeline.core import arabic

MAX_KEYS = 48
LEAD_TOKENS = 60
W_TITLE = 3
W_LEAD = 1
W_ENTITY = 4
TF_CAP = 4
MAX_WEIGHT = 127
NUMBER_FLAG = 0x80  # high bit of a stored weight: the key is a count ("#12")
ENTITY_PREFIX = ("p:", "o:", "e:")  # places, organisations, people

# Function words and newsroom verbs (match form, after :func:`stem`): they say nothing of the event.
_STOP_RAW = """
في من على الى إلى عن مع ان أن إن او أو ثم قد لقد كان كانت يكون تكون كانوا هذا هذه ذلك تلك هؤلاء التي الذي
الذين هو هي هم هما نحن انه انها أنه أنها له لها لهم منه منها عليه عليها فيه فيها به بها ما لا لم لن ليس
غير بين بعد قبل خلال حتى عند منذ حول ضد دون كل بعض اي أي اذا إذا كما لكن بل اما أما حيث وقد وكان ذات
قال قالت يقول تقول اضاف أضاف اضافت أضافت اكد أكد اكدت أكدت اوضح أوضح اشار أشار اشارت أشارت وفق وفقا بحسب حسب
ذكر ذكرت افاد أفاد افادت أفادت اعلن أعلن اعلنت أعلنت نقل نقلت مصدر مصادر مراسل اليوم امس أمس الان الآن يوم
الاحد الأحد الاثنين الإثنين الثلاثاء الاربعاء الأربعاء الخميس الجمعة السبت صباح مساء ساعات الساعات
عام العام اخرى أخرى آخر اخر آخرين اخرين جديد جديدة جديده ايضا أيضا كذلك فقط نحو حوالي اكثر أكثر اقل أقل
عدد عدة واحد اثنين ثلاث تم يتم جاء جاءت وذلك الذى بشأن لدى لدي اطار إطار ضمن عبر تجاه اثر إثر مما فيما
سوريا سورية السورية السوري سوري
"""
_SUFFIXES = ("يين", "ات", "ين", "ون", "يه", "ها", "هم", "ه", "ي")
_PREFIXES = ("وبال", "فبال", "وكال", "ولل", "فلل", "وال", "فال", "بال", "كال", "لل", "ال")


def stem(tok: str) -> str:
    """A crude, consistent stem of a match-form token: one article/conjunction prefix and one
    common suffix off (so «السوريين», «سوريه» and «سوري» meet). Consistency matters, not linguistics."""
    for p in _PREFIXES:
        if tok.startswith(p) and len(tok) - len(p) >= 3:
            tok = tok[len(p):]
            break
    else:
        if tok[:1] in ("و", "ف") and len(tok) >= 4:
            tok = tok[1:]
    for s in _SUFFIXES:
        if tok.endswith(s) and len(tok) - len(s) >= 3:
            return tok[: -len(s)]
    return tok


STOP = frozenset(stem(t) for w in _STOP_RAW.split() for t in arabic.tokens(w))


def _is_year(tok: str) -> bool:
    return len(tok) == 4 and tok[:2] in ("19", "20")


def _word_keys(tokens: Iterable[str]) -> Iterable[str]:
    for tok in tokens:
        if tok.isdigit():
            if len(tok) >= 2 and not _is_year(tok) and len(tok) <= 7:
                yield "#" + tok.lstrip("0")
            continue
        if len(tok) < 3 or not tok.isalpha():
            continue
        s = stem(tok)
        if len(s) >= 3 and s not in STOP:
            yield s


def _entity_key(prefix: str, name: str) -> str:
    return prefix + "_".join(arabic.tokens(name))


def event_features(title: str | None, match_text: str, places: Sequence = (), organizations: Sequence = (),
                   people: Sequence = (), *, max_keys: int | None = None) -> dict[str, int]:
    """The article's event keys → integer weight (title and lead count more; entities a fixed weight).

    ``match_text`` is the match form of title + body (``Cleaned.match_text``); ``places`` items may be
    dicts with ``name`` (the Article's form) or names."""
    body = match_text.split()
    weights: Counter = Counter()
    tf: Counter = Counter(_word_keys(body))
    for k, n in tf.items():
        weights[k] = min(n, TF_CAP)
    for k in set(_word_keys(body[:LEAD_TOKENS])):
        weights[k] += W_LEAD
    for k in set(_word_keys(arabic.tokens(title or ""))):
        weights[k] += W_TITLE
    for prefix, names in zip(ENTITY_PREFIX, (places, organizations, people)):
        for n in names or ():
            name = n.get("name") if isinstance(n, dict) else getattr(n, "name", n)
            if name:
                key = _entity_key(prefix, str(name))
                if len(key) > 2:
                    weights[key] = W_ENTITY
    top = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:max_keys or MAX_KEYS]
    return {k: min(w, MAX_WEIGHT) for k, w in top}


def article_features(art: dict, match_text: str | None = None) -> dict[str, int]:
    """:func:`event_features` of an Article dict (``match_text`` recomputed when not given)."""
    title = art.get("title") or ""
    if match_text is None:
        match_text = arabic.normalize(f"{title}\n{art.get('body') or ''}")
    return event_features(title, match_text, art.get("places") or (), art.get("organizations") or (),
                          art.get("people") or ())


def encoded_article_features(art: dict, match_text: str | None = None) -> str | None:
    """What the dedupe envelope carries (``"event"``): the encoded features, None without keys."""
    feats = article_features(art, match_text)
    return encode_features(feats) if feats else None


def key_hash(key: str) -> int:
    return zlib.crc32(key.encode("utf-8"))


def encode_features(feats: dict[str, int]) -> str:
    """``"<b64 uint32 key hashes>.<b64 uint8 weights>"``, keys in hash order (compact, stable)."""
    pairs = sorted((key_hash(k), min(MAX_WEIGHT, max(1, int(w))) | (NUMBER_FLAG if k.startswith("#") else 0))
                   for k, w in feats.items())
    keys = np.array([p[0] for p in pairs], dtype="<u4").tobytes()
    ws = bytes(p[1] for p in pairs)
    return base64.b64encode(keys).decode("ascii") + "." + base64.b64encode(ws).decode("ascii")


def decode_features(text: str) -> tuple[bytes, bytes]:
    """(little-endian uint32 key hashes, uint8 weights) of :func:`encode_features`."""
    k, _, w = text.partition(".")
    keys, ws = base64.b64decode(k), base64.b64decode(w)
    if len(keys) != 4 * len(ws):
        raise ValueError("bad features")
    return keys, ws


def _hashes(keys: bytes) -> memoryview:
    return memoryview(keys).cast("I") if np.little_endian else memoryview(
        np.frombuffer(keys, "<u4").astype("=u4").tobytes()).cast("I")


class _Doc:
    __slots__ = ("aid", "story", "t", "keys", "ws", "serial")

    def __init__(self, aid: str, story: str, t: float, keys: bytes, ws: bytes, serial: int) -> None:
        self.aid, self.story, self.t, self.keys, self.ws, self.serial = aid, story, t, keys, ws, serial


class EventIndex:
    """The live articles' event keys: candidate retrieval and scoring (see the module doc).

    Pure memory: the caller (:class:`pipeline.stages.dedupe.DedupeIndex`) stores the features in its
    entries and adds/drops articles here as they enter/leave its live window, oldest first."""

    def __init__(self, *, threshold: float = 0.3, window_s: float = 48 * 3600.0, common_df: int = 200,
                 query_keys: int = 24, max_candidates: int = 64, number_penalty: float = 0.75,
                 full_until_s: float = 12 * 3600.0, decay_at_window: float = 0.75) -> None:
        self.threshold = threshold
        self.window_s = window_s
        self.common_df = common_df
        self.query_keys = query_keys
        self.max_candidates = max_candidates
        self.number_penalty = number_penalty
        self.full_until_s = full_until_s
        self.decay_at_window = decay_at_window
        self._docs: dict[str, _Doc] = {}
        self._post: dict[int, list[int]] = {}  # key hash -> newest serials (ascending), at most common_df + 1
        self._by_serial: dict[int, _Doc] = {}
        self._df: dict[int, int] = {}
        self._serial = 0
        self.last_candidates = 0  # how many articles the last lookup scored (for tests and metrics)

    def __len__(self) -> int:
        return len(self._docs)

    # -- membership ------------------------------------------------------------------------
    def add(self, aid: str, story: str, t: float, features: str | tuple[bytes, bytes]) -> None:
        keys, ws = decode_features(features) if isinstance(features, str) else features
        if aid in self._docs or not ws:
            return
        self._serial += 1
        s = self._serial
        doc = _Doc(aid, story, t, keys, ws, s)
        self._docs[aid] = doc
        self._by_serial[s] = doc
        cap = self.common_df + 1
        for h in _hashes(keys):
            self._df[h] = self._df.get(h, 0) + 1
            post = self._post.get(h)
            if post is None:
                self._post[h] = [s]
            else:
                post.append(s)
                if len(post) > cap:
                    del post[0]

    def drop(self, aid: str) -> None:
        doc = self._docs.pop(aid, None)
        if doc is None:
            return
        del self._by_serial[doc.serial]
        for h in _hashes(doc.keys):
            n = self._df.get(h, 0) - 1
            if n <= 0:
                self._df.pop(h, None)
                self._post.pop(h, None)
            else:
                self._df[h] = n
                post = self._post.get(h)
                if post and post[0] == doc.serial:
                    del post[0]

    # -- scoring -----------------------------------------------------------------------------
    def _idf(self, h: int, n: int) -> float:
        return math.log(1.0 + (n + 1) / (self._df.get(h, 0) + 1))

    def _vector(self, keys: bytes, ws: bytes, n: int) -> tuple[dict[int, float], set[int]]:
        q = {h: (1.0 + math.log(w & MAX_WEIGHT)) * self._idf(h, n) for h, w in zip(_hashes(keys), ws)}
        return q, {h for h, w in zip(_hashes(keys), ws) if w & NUMBER_FLAG}

    def time_factor(self, dt_s: float) -> float:
        """1 within ``full_until_s``, then down linearly to ``decay_at_window`` at the window's edge."""
        dt_s = abs(dt_s)
        if dt_s > self.window_s:
            return 0.0
        if dt_s <= self.full_until_s:
            return 1.0
        span = max(1.0, self.window_s - self.full_until_s)
        return 1.0 - (1.0 - self.decay_at_window) * (dt_s - self.full_until_s) / span

    def candidates(self, features: str | tuple[bytes, bytes], t: float
                   ) -> tuple[dict[int, float], set[int], list[_Doc]]:
        """(query vector, its count keys, the best-sharing live articles within the window, at most
        ``max_candidates``)."""
        keys, ws = decode_features(features) if isinstance(features, str) else features
        n = len(self._docs)
        q, q_nums = self._vector(keys, ws, n)
        usable = [(w, h) for h, w in q.items() if 0 < self._df.get(h, 0) <= self.common_df]
        usable.sort(key=lambda x: (-x[0], x[1]))
        acc: dict[int, float] = {}
        for w, h in usable[: self.query_keys]:
            idf = self._idf(h, n)
            for s in self._post.get(h, ()):
                acc[s] = acc.get(s, 0.0) + w * idf
        best = sorted(acc.items(), key=lambda x: (-x[1], x[0]))
        out = []
        for s, _ in best:
            doc = self._by_serial.get(s)
            if doc is not None and abs(doc.t - t) <= self.window_s:
                out.append(doc)
                if len(out) >= self.max_candidates:
                    break
        return q, q_nums, out

    def score(self, q: dict[int, float], q_nums: set[int], doc: _Doc, t: float, n: int,
              qn: float | None = None) -> float:
        """Cosine of the TF-IDF vectors × time factor × the count penalty."""
        dot = 0.0
        norm = 0.0
        c_nums = set()
        for h, w in zip(_hashes(doc.keys), doc.ws):
            v = (1.0 + math.log(w & MAX_WEIGHT)) * self._idf(h, n)
            norm += v * v
            qv = q.get(h)
            if qv is not None:
                dot += qv * v
            if w & NUMBER_FLAG:
                c_nums.add(h)
        if qn is None:
            qn = math.sqrt(sum(v * v for v in q.values()))
        if not dot or not norm or not qn:
            return 0.0
        s = dot / (qn * math.sqrt(norm)) * self.time_factor(doc.t - t)
        if q_nums and c_nums and not (q_nums & c_nums):
            s *= self.number_penalty
        return s

    def best_story(self, features: str | tuple[bytes, bytes], t: float,
                   cands: tuple[dict[int, float], set[int], list[_Doc]] | None = None
                   ) -> tuple[str, str, float] | None:
        """(story id, best member id, score) of the best story at or above the threshold, else None."""
        q, q_nums, docs = cands if cands is not None else self.candidates(features, t)
        self.last_candidates = len(docs)
        n = len(self._docs)
        qn = math.sqrt(sum(v * v for v in q.values()))
        best: tuple[float, str, str] | None = None
        for doc in docs:
            sc = self.score(q, q_nums, doc, t, n, qn)
            if sc >= self.threshold and (best is None or sc > best[0] or (sc == best[0] and doc.story < best[1])):
                best = (sc, doc.story, doc.aid)
        return (best[1], best[2], best[0]) if best else None
