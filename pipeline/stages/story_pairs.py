"""The story stage's pair score: how likely an article and a live candidate report one event.

A logistic regression over the evidence the stage computes for a pair (:data:`NAMES`): how much of their
weighted keys they share (cosine, and how much of it words rather than names), how many headline keys,
counts, hours apart, whether both headlines give a place. Fitted by ``tests/quality/stories/pairs.py`` on the
seventeen story splits read pair by pair (:data:`WEIGHTS`), it replaces a hand-set product of factors (cosine ×
headline factor × count penalty × time factor) that every threshold traded along one curve: on the 34 splits
it was not fitted on, 0.826 / 0.924 pairwise precision / recall with the hand product (and a whole-story
comparison) against 0.888 / 0.919. The hand product stays the gate: its vetoes (another town, day, kind of act,
party or means; the same formula on another day) still set a pair apart whatever the probability, and near in
time it must pass its own threshold where the headlines share fewer than two keys
(:meth:`pipeline.stages.stories.EventIndex.scores`).

Pure functions of numpy arrays; the weights are data (refit with ``pairs.py``, then paste its figures here).
"""

from __future__ import annotations

import numpy as np

NAMES = ("log cosine", "cosine", "content share", "headline keys shared (<=4)", "no headline key shared",
         "one headline key shared", "log keys shared", "names' share of shared keys", "counts shared (<=3)",
         "counts disagree", "hours apart / 24", "over 12 hours apart", "hours past 12 / 12", "log best key's share",
         "headline keys shared / fewer headline keys", "both headlines give a place")
HEADLINE_KEYS = NAMES.index("headline keys shared (<=4)")  # columns the stage reads back
HOURS = NAMES.index("hours apart / 24")

# fitted by pairs.py on the 17 read splits (2397 pairs the hand product lets through, 1570 of one event), L2 1.0
WEIGHTS = np.array([
    +2.1317, +1.1887, +0.6002, -0.1218, -0.1392, -0.0117, +0.7495, +0.5803, +1.0149, +0.1825, -1.6370, +0.6529,
    -2.5208, -0.1376, +2.6010, +0.4532,
    +1.9040,  # bias
])
assert len(WEIGHTS) == len(NAMES) + 1


def pair_features(cos: np.ndarray, content: np.ndarray, shared: np.ndarray, prod: np.ndarray, norms_qn: np.ndarray,
                  n_t: np.ndarray, q_titles: int, c_titles: np.ndarray, names: np.ndarray, counts: np.ndarray,
                  q_counts: bool, hours: np.ndarray, places: np.ndarray) -> np.ndarray:
    """One row of :data:`NAMES` per candidate. Per candidate (rows) and key (columns): ``shared`` the query
    holds the key, ``prod`` the product of the two TF-IDF weights, ``names``/``counts`` the key is a name/a
    count. Per candidate: ``cos``, ``content`` (the words' share of the dot product), ``norms_qn`` (the norms'
    product), ``n_t`` headline keys shared, ``c_titles`` its headline keys, ``hours`` apart, ``places`` both
    headlines give a place. ``q_titles``: the query's headline keys; ``q_counts``: it states counts."""
    n_sh = shared.sum(axis=1)
    n_counts = (shared & counts).sum(axis=1)
    conflict = q_counts & counts.any(axis=1) & (n_counts == 0)
    best = np.where(shared, prod, 0).max(axis=1) / np.maximum(norms_qn, 1e-9)
    return np.column_stack([
        np.log(cos + 1e-3), cos, np.minimum(content, 1), np.minimum(n_t, 4), n_t == 0, n_t == 1, np.log1p(n_sh),
        (shared & names).sum(axis=1) / np.maximum(n_sh, 1), np.minimum(n_counts, 3), conflict, hours / 24,
        hours > 12, np.maximum(hours - 12, 0) / 12, np.log(best + 1e-3),
        n_t / np.maximum(np.minimum(q_titles, c_titles), 1), places]).astype(float)


def join_probability(x: np.ndarray, weights: np.ndarray = WEIGHTS) -> np.ndarray:
    """The probability that each row's pair reports one event."""
    return 1 / (1 + np.exp(-(x @ weights[:-1] + weights[-1])))
