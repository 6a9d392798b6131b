"""Tokenisation with offsets, Arabic normalisation and CRF features.

Shared by training (``tasks.ner.train``) and tagging (``tasks.entities``) so
the two can never drift apart. Everything here is offline: only
``camel_tools.utils`` (no data downloads).

Features are computed per distinct token string once and cached, then a
sentence's feature lists are assembled from the cache, which keeps tagging
well above 20k tokens/s on one core.
"""
from __future__ import annotations

import re
import sys
from collections import Counter, OrderedDict, defaultdict
from pathlib import Path
from typing import Container, Iterable, Iterator, Mapping, Sequence

from typing import TYPE_CHECKING

from camel_tools.utils.dediac import dediac_ar
from camel_tools.utils.normalize import (
    normalize_alef_ar,
    normalize_alef_maksura_ar,
    normalize_teh_marbuta_ar,
)

from tasks.ner.morph import morph_class

if TYPE_CHECKING:
    from tasks.ner.names import NameModel
    from tasks.ner.persons import PersonNames

# Bump when the features change: a model is only valid with its feature set.
FEATURE_VERSION = "8"

# Persian/Urdu letter forms that show up in Arabic news (تسنیم), invisible marks.
_EXTRA = str.maketrans({
    "\u06cc": "\u064a", "\u06d2": "\u064a", "\u06a9": "\u0643", "\u0640": None,
    "\u200c": None, "\u200d": None, "\u200e": None, "\u200f": None, "\u061c": None,
    "\ufeff": None, "\u00ad": None,
})
_ARABIC_LETTER = re.compile("[\u0621-\u064a\u0671-\u06d3\u06fa-\u06ff]")
_LATIN = re.compile("[A-Za-z]")
_DIGIT = re.compile(r"[0-9\u0660-\u0669\u06f0-\u06f9]")


def normalise(word: str) -> str:
    """Orthographic normal form: no diacritics/tatweel/invisible marks,
    unified alef, alef maksura -> yaa, teh marbuta -> heh (camel-tools)."""
    word = dediac_ar(word).translate(_EXTRA)
    return normalize_teh_marbuta_ar(normalize_alef_maksura_ar(normalize_alef_ar(word)))


# ---------------------------------------------------------------- tokenising
# A token is a run of non-space characters; punctuation at its edges is split
# off one character at a time (ANERcorp has punctuation as separate tokens),
# internal punctuation (1.5, ق.م., 30%) stays. Invisible marks (RLM) count as
# part of the word, as ANERcorp keeps them attached.
_CHUNK = re.compile(r"\S+")
_EDGE_PUNCT = set("\"'«»“”‘’()[]{}<>،,;؛:!?؟.…-–—/\\|*•·=+_~`^#@&")
_ABBREV = re.compile(r"^(?:\w\.)+$")


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """Tokens with character offsets: ``text[start:end] == token``."""
    out: list[tuple[str, int, int]] = []
    for m in _CHUNK.finditer(text):
        s, e = m.start(), m.end()
        chunk = m.group()
        if not (chunk[0] in _EDGE_PUNCT or chunk[-1] in _EDGE_PUNCT) or _ABBREV.match(chunk):
            out.append((chunk, s, e))
            continue
        i, j = s, e
        while i < j and text[i] in _EDGE_PUNCT:
            out.append((text[i], i, i + 1))
            i += 1
        tail = []
        while j > i and text[j - 1] in _EDGE_PUNCT:
            tail.append((text[j - 1], j - 1, j))
            j -= 1
        if i < j:
            out.append((text[i:j], i, j))
        out.extend(reversed(tail))
    return out


_SENT_END = {".", "!", "?", "؟", "…"}


def sentences(tokens: Sequence[tuple[str, int, int]], text: str, max_len: int = 2000) -> list[list[tuple[str, int, int]]]:
    """Split tokens into sentences at end punctuation and line breaks, and
    after ``max_len`` tokens without either. ANERcorp, which the CRF learned
    from, has lines of up to 1,894 tokens, each one sentence; cutting them
    every 120 tokens split names and contexts (dev through the step 0.7613
    -> 0.7628 with 2,000)."""
    out: list[list[tuple[str, int, int]]] = []
    cur: list[tuple[str, int, int]] = []
    prev_end = 0
    for tok in tokens:
        if cur and "\n" in text[prev_end:tok[1]]:
            out.append(cur)
            cur = []
        cur.append(tok)
        prev_end = tok[2]
        if tok[0] in _SENT_END or len(cur) >= max_len:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


# ---------------------------------------------------------------- clitics
_CONJ = ("و", "ف")
_PREP = ("ب", "ل", "ك")


def split_clitics(norm: str) -> tuple[str, str]:
    """(proclitics, stem) of a normalised word: و/ف, then ب/ل/ك, then ال.

    Greedy and lexicon-free, so it over-strips names that start with these
    letters (وليد): the CRF sees both the word and the stem and learns which
    to trust; canonical forms use :func:`tasks.ner.canonical` which checks.
    Stems keep at least 2 letters."""
    pre = ""
    w = norm
    if len(w) > 3 and w[0] in _CONJ:
        pre += w[0]
        w = w[1:]
    if len(w) > 3 and w[0] in _PREP:
        if w[0] == "ل" and w.startswith("لل") and len(w) > 4:  # لل = ل + ال
            return pre + "لل", "ال" + w[2:]
        pre += w[0]
        w = w[1:]
    return pre, w


def strip_al(stem: str) -> str:
    if len(stem) > 4 and stem.startswith("ال"):
        return stem[2:]
    return stem


def shape(token: str) -> str:
    if _ARABIC_LETTER.search(token):
        return "ar"
    if _DIGIT.search(token):
        return "num"
    if _LATIN.search(token):
        return "Aa" if token[:1].isupper() else "lat"
    return "punct"


# ---------------------------------------------------------------- gazetteers
def lengths_by_first(keys: Iterable[tuple[str, ...]]) -> dict[str, tuple[int, ...]]:
    """For names given as word tuples: first word -> the lengths of the
    names it starts, longest first (where a match at a token can end)."""
    lengths: dict[str, set[int]] = {}
    for k in keys:
        lengths.setdefault(k[0], set()).add(len(k))
    return {w: tuple(sorted(ls, reverse=True)) for w, ls in lengths.items()}


def longest_name(names: Container[tuple[str, ...]], lengths: Mapping[str, tuple[int, ...]], keys: Sequence[str],
                 i: int, limit: int) -> int:
    """How many words the longest of ``names`` that starts at ``keys[i]`` has,
    at most ``limit`` (the words left, or fewer); 0 if none starts there.
    ``lengths``: :func:`lengths_by_first` of ``names``."""
    for ln in lengths.get(keys[i], ()):
        if ln <= limit and tuple(keys[i:i + ln]) in names:
            return ln
    return 0


def name_runs(names: Container[tuple[str, ...]], lengths: Mapping[str, tuple[int, ...]],
              keys: Sequence[str]) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each run of ``keys`` that is one of ``names``, left
    to right, the longest at a start first, runs not overlapping (a match is
    stepped over whether or not the caller uses it). ``lengths``:
    :func:`lengths_by_first` of ``names``."""
    n = len(keys)
    i = 0
    while i < n:
        ln = longest_name(names, lengths, keys, i, n - i) if keys[i] in lengths else 0  # most words start none
        if ln:
            yield i, i + ln
        i += ln or 1


class Gazetteer:
    """Multi-word name lists keyed by the normalised, clitic-free first word."""

    def __init__(self, entries: dict[str, Iterable[str]]):
        # tuple of keys -> types. Tens of thousands of names (Wikidata's persons) share their words and
        # their few type combinations: words are interned and type tuples shared, which keeps the loaded
        # gazetteer small
        phrases: dict[tuple[str, ...], set[str]] = {}
        for typ, names in entries.items():
            for name in names:
                key = tuple(sys.intern(gaz_key(w)) for w in name.split())
                if not key or not all(key):
                    continue
                phrases.setdefault(key, set()).add(typ)
        shared: dict[frozenset, tuple[str, ...]] = {}

        def types_of(types: set[str]) -> tuple[str, ...]:
            return shared.setdefault(frozenset(types), tuple(sorted(types)))

        words: dict[str, set[str]] = {}
        for key, types in phrases.items():
            for w in key:
                words.setdefault(w, set()).update(types)
        self.words: dict[str, tuple[str, ...]] = {w: types_of(t) for w, t in words.items()}
        self.lengths = lengths_by_first(phrases)
        self.marks = {key: types_of(types) for key, types in phrases.items()}

    @classmethod
    def load(cls, directory: Path) -> "Gazetteer":
        return cls(read_gazetteers(directory))

    def match(self, keys: Sequence[str]) -> list[list[str]]:
        """Per token, ``B-TYPE``/``I-TYPE`` marks of the longest phrase matches."""
        marks: list[list[str]] = [[] for _ in keys]
        for s, e in name_runs(self.marks, self.lengths, keys):
            for t in self.marks[tuple(keys[s:e])]:
                marks[s].append("B-" + t)
                for k in range(s + 1, e):
                    marks[k].append("I-" + t)
        return marks


def read_gazetteers(directory: Path) -> dict[str, list[str]]:
    """ANERcorp ``gazetteer-{loc,org,pers}.txt`` (section lines ``====``/``****`` skipped)."""
    entries: dict[str, list[str]] = {}
    for typ in ("LOC", "ORG", "PERS"):
        path = Path(directory) / f"gazetteer-{typ.lower()}.txt"
        if path.exists():
            names = {ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()}
            entries[typ] = sorted(n for n in names if n and not n.startswith(("==", "**")))
    return entries


def gaz_key(word: str) -> str:
    """The form gazetteer entries and tokens are compared in."""
    return strip_al(split_clitics(normalise(word))[1])


# ---------------------------------------------------------------- learned lists
class Lexicon:
    """What the training data says about words, as features.

    * ``words``: clitic-free key -> the entity types it was seen inside in
      training (``PERSH`` when that type is at least half of its
      occurrences, ``PERSL`` when less; ``O`` when only outside entities);
      a word not in it gets ``lx=unk``, which is what an unseen name looks
      like. Training sentences get these from a lexicon of the *other*
      folds (jackknifed, see :func:`tasks.ner.train.train`), so the model
      learns how far membership can be trusted on text it has not seen.
    * ``before``/``after``: trigger words, keys that often stand right
      before (السيد, الرئيس, شركة) or after an entity of a type.
    """

    def __init__(self, words: dict[str, list[str]] | None = None, before: dict[str, list[str]] | None = None,
                 after: dict[str, list[str]] | None = None):
        self.words = words or {}
        self.before = before or {}
        self.after = after or {}

    def to_json(self) -> dict:
        return {"words": self.words, "before": self.before, "after": self.after}

    @classmethod
    def from_json(cls, data: dict) -> "Lexicon":
        return cls(data.get("words"), data.get("before"), data.get("after"))

    @classmethod
    def learn(cls, sents, triggers_from=None, min_trigger: int = 3, trigger_ratio: float = 0.25) -> "Lexicon":
        """From (tokens, BIO tags) sentences; triggers from ``triggers_from``
        (default: the same sentences)."""
        from tasks.ner import spans  # here: tasks.ner imports nothing from this module

        seen: dict[str, Counter] = defaultdict(Counter)
        for toks, tags in sents:
            ks = [gaz_key(t) for t in toks]
            inside = [None] * len(toks)
            for s, e, typ in spans(tags):
                for i in range(s, e):
                    inside[i] = typ
            for k, typ in zip(ks, inside):
                seen[k][typ or "O"] += 1
        words = {}
        for k, c in sorted(seen.items()):
            total = sum(c.values())
            marks = [t + ("H" if 2 * n >= total else "L") for t, n in sorted(c.items()) if t != "O"]
            words[k] = marks or ["O"]
        before: dict[str, Counter] = defaultdict(Counter)
        after: dict[str, Counter] = defaultdict(Counter)
        freq: Counter = Counter()
        for toks, tags in (sents if triggers_from is None else triggers_from):
            ks = [gaz_key(t) for t in toks]
            freq.update(ks)
            for s, e, typ in spans(tags):
                if s > 0 and tags[s - 1] == "O":
                    before[ks[s - 1]][typ] += 1
                if e < len(toks) and tags[e] == "O":
                    after[ks[e]][typ] += 1

        def pick(counts):
            out = {}
            for k, c in sorted(counts.items()):
                types = [t for t, n in sorted(c.items()) if n >= min_trigger and n >= trigger_ratio * freq[k]]
                if types and len(k) > 1:
                    out[k] = types
            return out

        return cls(words, pick(before), pick(after))


# ---------------------------------------------------------------- features
class FeatureExtractor:
    """Token features for the CRF, cached per token string (least recently
    used entries go first past ``CACHE_SIZE``: a token's entry is a few KB)."""

    WINDOW = (-2, -1, 1, 2)
    CACHE_SIZE = 50_000

    def __init__(self, gazetteer: Gazetteer | None = None, lexicon: Lexicon | None = None,
                 known: set[str] | None = None, names: "NameModel | None" = None,
                 persons: "PersonNames | None" = None):
        self.gaz = gazetteer or Gazetteer({})
        self.persons = persons
        self.lex = lexicon or Lexicon()
        self.names = names
        # features the model has weights for: others are dropped up front (faster tagging)
        self.known = known
        self._cache: OrderedDict[str, tuple[list[str], dict[int, list[str]], str]] = OrderedDict()

    def _token(self, tok: str) -> tuple[list[str], dict[int, list[str]], str]:
        cache = self._cache
        hit = cache.get(tok)
        if hit is not None:
            cache.move_to_end(tok)
            return hit
        hit = self.build(tok)
        cache[tok] = hit
        if len(cache) > self.CACHE_SIZE:
            cache.popitem(last=False)
        return hit

    def build(self, tok: str, filtered: bool = True) -> tuple[list[str], dict[int, list[str]], str]:
        """A token's own features, the context features it lends each
        neighbour (by offset), and its clitic-free key; uncached. Without
        ``filtered`` it keeps features the model has no weight for."""
        n = normalise(tok)
        pre, stem = split_clitics(n)
        bare = strip_al(stem)
        shp = shape(tok)
        f = ["b", "w=" + n, "s=" + stem, "r=" + bare, "sh=" + shp, "pre=" + pre,
             "al=" + str(stem != bare)]
        ln = len(bare)
        f.append("len=" + (str(ln) if ln < 8 else "8+"))
        for k in (1, 2, 3, 4):
            if len(n) > k:
                f.append(f"p{k}=" + n[:k])
                f.append(f"x{k}=" + n[-k:])
            if len(bare) > k + 1:
                f.append(f"bp{k}=" + bare[:k])
                f.append(f"bx{k}=" + bare[-k:])
        for t in sorted(self.gaz.words.get(bare, ())):
            f.append("gw=" + t)
        lex = self.lex
        f.extend("lx=" + m for m in lex.words.get(bare, ("unk",)))
        if self.names is not None:
            f.extend("nc=" + m for m in self.names.marks(bare))
        if self.persons is not None:
            f.extend("pn=" + m for m in self.persons.marks(bare))
        bm = morph_class(tok)  # what parts of speech the Buckwalter lexicon allows the word (tasks.ner.morph)
        f.append("bm=" + bm)
        ctx_base = ["w=" + n, "s=" + stem, "sh=" + shp, "bm=" + bm]
        if len(bare) > 2:
            ctx_base.append("x2=" + bare[-2:])
        ctx = {o: [f"{o}{c}" for c in ctx_base] for o in self.WINDOW}
        for o, trig in ((-1, lex.before), (-2, lex.before), (1, lex.after), (2, lex.after)):
            ctx[o].extend(f"{o}tg=" + t for t in trig.get(bare, ()))
        if filtered and self.known is not None:
            known = self.known
            f = [x for x in f if x in known]
            ctx = {o: [x for x in c if x in known] for o, c in ctx.items()}
        return f, ctx, bare

    def prefetch(self, sentences: Sequence[Sequence[str]]) -> None:
        """Score the name model on a document's new words in one batch."""
        if self.names is not None:
            cache = self._cache
            self.names.fill(gaz_key(t) for toks in sentences for t in toks if t not in cache)

    def keys(self, tokens: Sequence[str]) -> list[str]:
        """The clitic-free normalised form of each token (documents' memory key)."""
        return [self._token(t)[2] for t in tokens]

    def sentence(self, tokens: Sequence[str], extra: Sequence[Sequence[str]] | None = None) -> list[list[str]]:
        """CRF features for one sentence; ``extra`` adds features per token
        (the second pass adds :func:`doc_features`): see :func:`with_extra`."""
        base = self._sentence(tokens)
        return base if extra is None else with_extra(base, extra)

    _PAD = {o: [f"{o}pad"] for o in WINDOW}

    def _sentence(self, tokens: Sequence[str]) -> list[list[str]]:
        # Hot loop: per token, its own features and its neighbours' context
        # features (padding past the edges), joined by one list display each.
        info = [self._token(t) for t in tokens]
        n = len(info)
        keys = [i[2] for i in info]
        ctx = [i[1] for i in info]
        pad = self._PAD
        m2 = [pad[-2], pad[-2]][:n] + [c[-2] for c in ctx[:-2]]
        m1 = [pad[-1]] + [c[-1] for c in ctx[:-1]]
        p1 = [c[1] for c in ctx[1:]] + [pad[1]]
        p2 = [c[2] for c in ctx[2:]] + [pad[2], pad[2]][:n]
        out = [[*i[0], *a, *b, *c, *d] for i, a, b, c, d in zip(info, m2, m1, p1, p2)]
        self.add_pair_features(keys, out)
        return out

    def add_pair_features(self, keys: Sequence[str], out: Sequence[list[str]]) -> None:
        """Append, in place, the features that depend on more than one token
        of a sentence (its clitic-free ``keys``): gazetteer phrase matches
        (on the token and its neighbours) and word pairs."""
        n = len(keys)
        for i, marks in enumerate(self.gaz.match(keys)):
            if marks:
                out[i].extend("gz=" + g for g in marks)
                if i > 0:
                    out[i - 1].extend("1gz=" + g for g in marks)
                if i + 1 < n:
                    out[i + 1].extend("-1gz=" + g for g in marks)
        for i in range(1, n):
            pair = keys[i - 1] + "|" + keys[i]
            out[i].append("bg-1=" + pair)
            out[i - 1].append("bg+1=" + pair)


def with_extra(base: Sequence[list[str]], extra: Sequence[Sequence[str]]) -> list[list[str]]:
    """Per-token features ``base`` plus ``extra`` (new lists; base unchanged)."""
    return [f + list(x) for f, x in zip(base, extra)]


# ---------------------------------------------------------------- second pass
DOC_WINDOW = 15  # sentences either side that count as "the document"


def doc_features(keys: Sequence[Sequence[str]], tags: Sequence[Sequence[str]],
                 window: int = DOC_WINDOW) -> list[list[list[str]]]:
    """Second-pass features from first-pass tags: the token's own first-pass
    tag and those of its neighbours, and how the *other* occurrences of the
    same word (same clitic-free key) within ``window`` sentences were tagged.
    Names repeat within an article: this spreads a confident reading of a
    name to its less clear mentions."""
    per_sent: list[Counter] = []
    for ks, ts in zip(keys, tags):
        c: Counter = Counter()
        for k, t in zip(ks, ts):
            if len(k) > 1:
                c[(k, t[2:] if t != "O" else "O")] += 1
        per_sent.append(c)
    n = len(keys)
    win: Counter = Counter()
    for j in range(min(window + 1, n)):
        win.update(per_sent[j])
    out: list[list[list[str]]] = []
    for i, (ks, ts) in enumerate(zip(keys, tags)):
        if i - window - 1 >= 0:
            win.subtract(per_sent[i - window - 1])
        if i + window < n and i > 0:
            win.update(per_sent[i + window])
        feats: list[list[str]] = []
        m = len(ks)
        for j, (k, t) in enumerate(zip(ks, ts)):
            f = ["p1=" + t, "p1-1=" + (ts[j - 1] if j else "^"), "p1+1=" + (ts[j + 1] if j + 1 < m else "$")]
            if len(k) > 1:
                own = t[2:] if t != "O" else "O"
                for typ in _DOC_TYPES:
                    cnt = win.get((k, typ), 0) - (typ == own)
                    if cnt > 0:
                        f.append("d=" + typ)
                        if cnt > 1:
                            f.append("d2=" + typ)
            feats.append(f)
        out.append(feats)
    return out


_DOC_TYPES = ("PERS", "LOC", "ORG", "MISC", "O")
