"""Tagging with trained crfsuite models in numpy, a document at a time.

Training stays with python-crfsuite (``tasks.ner.train``); this module reads
the weights of the two trained passes and tags with them. It gives
crfsuite's own Viterbi tags and marginals
(``tests/test_entities.py::test_numpy_tagging_matches_crfsuite`` checks both
against ``pycrfsuite.Tagger``) for less work:

* crfsuite takes every token's ~60 feature strings, per sentence and per
  pass, converts them to C++ strings and looks each one up in the model's
  dictionary. Here a token's features are built and looked up once, when the
  token is first seen: its own features, and the features it lends each of
  its four neighbours (``-2w=…``, ``1s=…``), are summed into score vectors
  for both passes at once and cached per token string.
* A document's state scores are then those cached vectors gathered and
  shifted in numpy, plus the few features that depend on the pair or the
  phrase (bigrams, gazetteer matches) and, in pass 2, the document features.
* Viterbi and forward-backward run over all sentences of the document
  together (padded to the longest), one numpy step per position.

A linear-chain CRF's score of a label sequence is the sum of the weights of
the (attribute, label) pairs of each position plus the (label, label)
transition weights; crfsuite has no start or end weights. Ties go to the
lower label index, as in crfsuite.
"""
from __future__ import annotations

from itertools import chain, repeat
from pathlib import Path
from typing import Sequence

import numpy as np
import pycrfsuite


class CRFWeights:
    """State weights of one or more CRF passes over a shared attribute index
    (``W[row, pass, label]``; row 0 is all zeros, for attributes no pass
    has) and their transition weights (``T[pass, from, to]``)."""

    def __init__(self, labels: Sequence[str], attrs: Sequence[str], W: np.ndarray, T: np.ndarray):
        if W.shape != (len(attrs) + 1, T.shape[0], len(labels)) or T.shape[1:] != (len(labels), len(labels)):
            raise ValueError(f"weights of shape {W.shape} and {T.shape} do not fit {len(attrs)} attributes "
                             f"and {len(labels)} labels")
        self.labels = list(labels)
        self.index = {lab: i for i, lab in enumerate(self.labels)}
        self.attr = {a: i + 1 for i, a in enumerate(attrs)}
        self.W = W
        self.T = T
        self._one = [np.ascontiguousarray(W[:, k]) for k in range(W.shape[1])]

    @classmethod
    def from_crfsuite(cls, paths: Sequence[Path]) -> "CRFWeights":
        """The passes of trained crfsuite model files, in order."""
        infos = []
        for p in paths:
            t = pycrfsuite.Tagger()
            t.open(str(p))
            infos.append(t.info())
            t.close()
        labels = [lab for lab, _ in sorted(infos[0].labels.items(), key=lambda kv: int(kv[1]))]
        for info in infos[1:]:
            if set(info.labels) != set(labels):
                raise ValueError(f"CRF passes have different labels: {sorted(info.labels)} vs {labels}")
        index = {lab: i for i, lab in enumerate(labels)}
        attr: dict[str, int] = {}
        for info in infos:
            for a, _ in info.state_features:
                attr.setdefault(a, len(attr) + 1)
        W = np.zeros((len(attr) + 1, len(infos), len(labels)))
        T = np.zeros((len(infos), len(labels), len(labels)))
        for k, info in enumerate(infos):
            for (a, lab), w in info.state_features.items():
                W[attr[a], k, index[lab]] = w
            for (a, b), w in info.transitions.items():
                T[k, index[a], index[b]] = w
        return cls(labels, list(attr), W, T)

    def sums(self, groups: Sequence[Sequence[str]], model: int | None = None) -> np.ndarray:
        """Summed weights of each group of features: (groups, passes, labels),
        or (groups, labels) for one ``model``."""
        W = self.W if model is None else self._one[model]
        if not len(groups):
            return np.zeros((0, *W.shape[1:]))
        sizes = np.fromiter(map(len, groups), dtype=np.intp, count=len(groups))
        feats = list(chain.from_iterable(groups))
        rows = np.zeros(len(feats) + 1, dtype=np.intp)  # a last zero row: reduceat may index one past the end
        rows[:-1] = np.fromiter(map(self.attr.get, feats, repeat(0)), dtype=np.intp, count=len(feats))
        starts = np.cumsum(sizes) - sizes
        out = np.add.reduceat(W[rows], starts, axis=0)
        out[sizes == 0] = 0.0  # reduceat gives an empty group the row at its start
        return out


def viterbi(S: np.ndarray, lengths: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Best label index per position for each sentence; S (B, M, L) state
    scores, T (L, L) transitions. Positions past a sentence's end are
    garbage."""
    B, M, L = S.shape
    if M == 0:
        return np.zeros((B, 0), dtype=np.intp)
    score = S[:, 0].copy()
    back = np.zeros((B, M, L), dtype=np.intp)
    for t in range(1, M):
        m = score[:, :, None] + T  # (B, from, to)
        back[:, t] = m.argmax(1)
        live = (t < lengths)[:, None]
        score = np.where(live, m.max(1) + S[:, t], score)
    best = np.empty((B, M), dtype=np.intp)
    last = score.argmax(1)
    rows = np.arange(B)
    cur = last
    for t in range(M - 1, -1, -1):
        if t < M - 1:
            cur = np.where(t < lengths - 1, back[rows, t + 1, cur], last)
        best[:, t] = cur
    return best


def marginals(S: np.ndarray, lengths: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(label at position | sentence) for each sentence (B, M, L), by
    scaled forward-backward."""
    B, M, L = S.shape
    if M == 0:
        return np.zeros((B, 0, L))
    eS = np.exp(S - S.max(2, keepdims=True))
    eT = np.exp(T)
    alpha = np.empty((B, M, L))
    beta = np.empty((B, M, L))
    a = eS[:, 0]
    alpha[:, 0] = a / a.sum(1, keepdims=True)
    for t in range(1, M):
        a = (alpha[:, t - 1] @ eT) * eS[:, t]
        alpha[:, t] = a / a.sum(1, keepdims=True)
    beta[:, M - 1] = 1.0
    for t in range(M - 2, -1, -1):
        b = (eS[:, t + 1] * beta[:, t + 1]) @ eT.T
        b = b / b.sum(1, keepdims=True)
        beta[:, t] = np.where((t < lengths - 1)[:, None], b, 1.0)
    p = alpha * beta
    return p / p.sum(2, keepdims=True)
