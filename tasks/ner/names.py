"""What a word looks like: a character n-gram classifier over word types.

Most person and organisation names in unseen text are words the CRF has
never seen (foreign names, new companies), so their own identity features
say nothing. This model reads the letters of the clitic-free form (2-4
grams with word boundaries) and says which kind of word it resembles: a
person name, a place, an organisation word, a MISC word, or an ordinary word
(``O``). It is trained on word types from ANERcorp (each word's most
frequent tag) plus the ANERgazet names, by multinomial logistic regression;
scoring here is plain Python over a dict of weights.

Training sentences get the marks of a model that did not see the word
(word types split into folds, :func:`fit_jackknifed`), so the CRF learns how
much to trust the guess on a word it has not met.
"""
from __future__ import annotations

import copy
import re
import zlib
from collections import Counter, defaultdict
from typing import Iterable, Mapping, Sequence

_ARABIC = re.compile("[\u0621-\u064a]")
HIGH, LOW = 0.6, 0.3  # probability cut-offs of the H / L marks


def applies(word: str) -> bool:
    """Arabic words of at least two letters (the clitic-free key)."""
    return len(word) > 1 and _ARABIC.search(word) is not None


def ngrams(word: str) -> list[str]:
    w = "<" + word + ">"
    return [w[i:i + n] for n in (2, 3, 4) for i in range(len(w) - n + 1)]


class NameModel:
    """``marks(key)``: e.g. ``["PERSH"]`` (P >= 0.6), ``["PERSL", "LOCL"]``, ``["O"]``.

    Scoring is batched (:meth:`fill`, one numpy pass for the new words of a
    document) and remembered per key (up to ``MEMO_SIZE`` keys)."""

    MEMO_SIZE = 50_000

    def __init__(self, classes: Sequence[str] = (), bias: Sequence[float] = (),
                 weights: Mapping[str, Sequence[float]] | None = None, known: Mapping[str, list[str]] | None = None):
        import numpy as np

        self.classes = list(classes)
        self.bias = np.array(bias, dtype=np.float64)
        grams = list(weights or {})
        self.index = {g: i for i, g in enumerate(grams)}
        # one row per n-gram, plus a zero row that every word gets (no n-gram known)
        self.matrix = np.array([list((weights or {})[g]) for g in grams] + [[0.0] * len(self.classes)],
                               dtype=np.float64).reshape(len(grams) + 1, len(self.classes))
        self.labels = [(c + "H", c + "L") for c in self.classes]
        self.outside = [c == "O" for c in self.classes]
        # marks fixed in advance for some words (the jackknifed ones, in training)
        self.known = dict(known or {})
        self._memo: dict[str, list[str]] = {}  # per clitic-free key (وبوتين, لبوتين -> بوتين)

    def with_known(self, known: Mapping[str, list[str]]) -> "NameModel":
        """The same weights, with marks fixed in advance for ``known`` words."""
        out = copy.copy(self)
        out.known = dict(known)
        out._memo = {}
        return out

    def to_json(self) -> dict:
        grams = sorted(self.index, key=self.index.get)
        return {"classes": self.classes, "bias": [round(float(b), 3) for b in self.bias],
                "weights": {g: [round(float(v), 3) for v in self.matrix[self.index[g]]] for g in grams}}

    @classmethod
    def from_json(cls, data: Mapping) -> "NameModel":
        return cls(data["classes"], data["bias"], data["weights"])

    def probabilities(self, words: Sequence[str]):
        """Class probabilities, one row per word (softmax of summed n-gram weights)."""
        import numpy as np

        zero = len(self.index)
        get = self.index.get
        rows: list[int] = []
        starts: list[int] = []
        for w in words:
            starts.append(len(rows))
            rows.extend([j for j in map(get, ngrams(w)) if j is not None])
            rows.append(zero)
        scores = np.add.reduceat(self.matrix[rows], starts, axis=0) + self.bias
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    def fill(self, words: Iterable[str]) -> None:
        """Score the words not scored yet, in one batch."""
        memo, known = self._memo, self.known
        todo = [w for w in dict.fromkeys(words) if w not in memo and w not in known and applies(w)]
        if not self.classes or not todo:
            return
        if len(memo) + len(todo) > self.MEMO_SIZE:
            memo.clear()
        probs = self.probabilities(todo).tolist()
        for w, ps in zip(todo, probs):
            out = [h if p >= HIGH else lo for p, (h, lo), skip in zip(ps, self.labels, self.outside)
                   if not skip and p >= LOW]
            memo[w] = out or ["O"]

    def marks(self, word: str) -> list[str]:
        hit = self.known.get(word) or self._memo.get(word)
        if hit is not None:
            return hit
        if not self.classes or not applies(word):
            return []
        self.fill([word])
        return self._memo[word]


def word_types(sents: Iterable[tuple[Sequence[str], Sequence[str]]], gazetteers: Mapping[str, Iterable[str]],
               key) -> dict[str, str]:
    """Each key's most frequent tag type in the sentences (``O`` outside
    entities); gazetteer words not in the sentences take the gazetteer's type."""
    from tasks.ner import spans

    counts: dict[str, Counter] = defaultdict(Counter)
    for toks, tags in sents:
        inside = ["O"] * len(toks)
        for s, e, typ in spans(tags):
            inside[s:e] = [typ] * (e - s)
        for t, typ in zip(toks, inside):
            k = key(t)
            if applies(k):
                counts[k][typ] += 1
    gaz: dict[str, Counter] = defaultdict(Counter)
    for typ, names in sorted(gazetteers.items()):
        for name in names:
            for w in name.split():
                k = key(w)
                if applies(k) and k not in counts:
                    gaz[k][typ] += 1
    counts.update(gaz)
    # most frequent, ties by name: deterministic
    return {k: sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] for k, c in sorted(counts.items())}


def fit(types: Mapping[str, str], c: float = 1.0, prune: float = 0.01) -> NameModel:
    import numpy as np
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    words = sorted(types)
    vocab: dict[str, int] = {}
    rows, cols = [], []
    for i, w in enumerate(words):
        for g in set(ngrams(w)):
            rows.append(i)
            cols.append(vocab.setdefault(g, len(vocab)))
    x = csr_matrix(([1.0] * len(rows), (rows, cols)), shape=(len(words), len(vocab)))
    clf = LogisticRegression(C=c, max_iter=300)
    clf.fit(x, [types[w] for w in words])
    classes = [str(k) for k in clf.classes_]
    coef, bias = clf.coef_.T, clf.intercept_  # n-gram x class
    if len(classes) == 2:  # binary: one score, for the second class (softmax of [0, z] = sigmoid(z))
        coef = np.hstack([np.zeros_like(coef), coef])
        bias = np.array([0.0, bias[0]])
    weights = {}
    for g, j in vocab.items():
        row = [round(float(v), 3) for v in coef[j]]
        if max(abs(v) for v in row) >= prune:
            weights[g] = row
    return NameModel(classes, [round(float(b), 3) for b in bias], dict(sorted(weights.items())))


def fit_jackknifed(types: Mapping[str, str], folds: int = 4, c: float = 1.0) -> tuple[NameModel, dict[str, list[str]]]:
    """The model on all word types, and each word's marks from a model
    trained without its fold of word types (folds by a hash of the word)."""
    jack: dict[str, list[str]] = {}
    for f in range(folds):
        held = {w for w in types if zlib.crc32(w.encode("utf-8")) % folds == f}
        model = fit({w: t for w, t in types.items() if w not in held}, c)
        model.fill(sorted(held))
        for w in sorted(held):
            jack[w] = model.marks(w)
    return fit(types, c), jack
