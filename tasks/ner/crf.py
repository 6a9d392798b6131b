"""Tagging with trained crfsuite models in numpy, a document at a time.

Training stays with python-crfsuite (``tasks.ner.train``); this module reads
the weights of the two trained passes and tags with them. It gives
crfsuite's own Viterbi tags and marginals (``tests/test_ner_crf.py``
checks both against ``pycrfsuite.Tagger``) for less work:

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
    """State weights of one or more crfsuite models over a shared attribute
    index (``W[row, pass, label]``; row 0 is all zeros, for attributes no
    model has) and their transition weights (``T[pass, from, to]``)."""

    def __init__(self, paths: Sequence[Path]):
        infos = []
        for p in paths:
            t = pycrfsuite.Tagger()
            t.open(str(p))
            infos.append(t.info())
            t.close()
        self.labels: list[str] = [lab for lab, _ in sorted(infos[0].labels.items(), key=lambda kv: int(kv[1]))]
        index = {lab: i for i, lab in enumerate(self.labels)}
        for info in infos[1:]:
            if set(info.labels) != set(self.labels):
                raise ValueError(f"CRF passes have different labels: {sorted(info.labels)} vs {self.labels}")
        attr: dict[str, int] = {}
        for info in infos:
            for a, _ in info.state_features:
                if a not in attr:
                    attr[a] = len(attr) + 1
        n_lab = len(self.labels)
        self.W = np.zeros((len(attr) + 1, len(infos), n_lab))
        self.T = np.zeros((len(infos), n_lab, n_lab))
        for k, info in enumerate(infos):
            for (a, lab), w in info.state_features.items():
                self.W[attr[a], k, index[lab]] = w
            for (a, b), w in info.transitions.items():
                self.T[k, index[a], index[b]] = w
        self._one = [np.ascontiguousarray(self.W[:, k]) for k in range(len(infos))]
        self.attr = attr
        self.index = index

    def sums(self, groups: Sequence[Sequence[str]], model: int | None = None) -> np.ndarray:
        """Summed weights of each group of features: (groups, passes, labels),
        or (groups, labels) for one ``model``."""
        sizes = np.fromiter(map(len, groups), dtype=np.intp, count=len(groups))
        feats = list(chain.from_iterable(groups))
        rows = np.zeros(len(feats) + 1, dtype=np.intp)  # a last zero row: reduceat may index one past the end
        rows[:-1] = np.fromiter(map(self.attr.get, feats, repeat(0)), dtype=np.intp, count=len(feats))
        starts = np.cumsum(sizes) - sizes
        W = self.W if model is None else self._one[model]
        if not len(groups):
            return np.zeros((0, *W.shape[1:]))
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
