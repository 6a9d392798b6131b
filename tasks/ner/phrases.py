"""Names of several words that training tagged, after the CRF.

The CRF reads a word, its neighbours and word pairs, and its lexicon
feature says how training tagged each word alone; nothing tells it that a
run of words was, as a whole, a name of some type in training. So it
splits or mistypes names it has seen whole: الشرق الأوسط as ORG (the
newspaper) where training has the region far more often, الاتحاد
السوفياتي as ORG, المدينة المنورة as two places, توفيق الحكيم or الضفة
الغربية not at all.

At build time (``python -m tasks.ner.train``) every entity span of two
words or more in the training sentences becomes ``phrases.json`` in the
model directory, keyed by its words' gazetteer keys (clitics and ال off each
word: لمجلس الأمن is مجلس الأمن) and kept when one type holds more than half
of the phrase's occurrences in the training text, entity or not (in
train.txt: مجلس الأمن, ORG 53 times in 56, is kept; الشرق الأوسط, LOC 60
times and ORG 11 in 73, is a LOC; الجمعية العامة, ORG twice in 11, and
الكورية الشمالية, a LOC once in 2 (an adjective: الاسلحة الكورية الشمالية),
are dropped). Words of punctuation only keep a phrase out (بي .,
but also كيم جونغ - ايل).

The rule (:func:`known_phrases`): a run of words that is exactly a kept
phrase, left to right and longest first, becomes one span of its type when
every span the tagger put over its words lies within it; a run inside a
longer span (جامعة الدول العربية around الدول العربية) is left alone, and a
known place (:mod:`tasks.ner.places`) is only ever made a LOC.

Measured out of fold (``bench/bench_ner_cv.py``: each block's phrases from
the other four blocks only, as its CRFs are), see ``.notes/entities.md``.
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable, Sequence

from tasks.ner import spans
from tasks.ner.features import gaz_key, lengths_by_first, name_runs
from tasks.ner.places import Places
from tasks.ner.rules import _set_unless_cut, _span_ends

PHRASES_NAME = "phrases.json"
MIN_SHARE = 0.5  # a phrase's type must hold more than this share of its occurrences in the training text


def _wordlike(key: str) -> bool:
    return any(c.isalnum() for c in key)


class KnownPhrases:
    """Word-key tuples of two words or more -> the entity type training gave them."""

    def __init__(self, types: dict[tuple[str, ...], str] | None = None):
        self.types = dict(types or {})
        self.lengths = lengths_by_first(self.types)

    def __bool__(self) -> bool:
        return bool(self.types)

    def __len__(self) -> int:
        return len(self.types)

    @classmethod
    def learn(cls, sents: Iterable[tuple[Sequence[str], Sequence[str]]], min_share: float = MIN_SHARE) -> "KnownPhrases":
        """From (tokens, BIO tags) sentences: each multi-word span's type,
        when it holds more than ``min_share`` of the phrase's occurrences
        in these sentences."""
        sents = list(sents)
        keyed = [[gaz_key(t) for t in toks] for toks, _ in sents]
        typed: dict[tuple[str, ...], Counter] = defaultdict(Counter)
        for ks, (_, tags) in zip(keyed, sents):
            for s, e, typ in spans(tags):
                key = tuple(ks[s:e])
                if e - s > 1 and all(_wordlike(k) for k in key):
                    typed[key][typ] += 1
        lengths = lengths_by_first(typed)
        seen: Counter = Counter()  # occurrences in the text, inside an entity or not
        for ks in keyed:
            for s, e in name_runs(typed, lengths, ks):
                seen[tuple(ks[s:e])] += 1
        kept = {}
        for key, counts in typed.items():
            typ, n = max(counts.items(), key=lambda kv: (kv[1], kv[0]))  # a tie cannot pass the share below
            if n > min_share * max(seen[key], sum(counts.values())):
                kept[key] = typ
        return cls(kept)

    def to_json(self) -> dict[str, list[list[str]]]:
        """Type -> its phrases as lists of word keys (a key may hold a space: ANERcorp has `امن1706 `)."""
        out: dict[str, list[list[str]]] = defaultdict(list)
        for key, typ in self.types.items():
            out[typ].append(list(key))
        return {typ: sorted(names) for typ, names in sorted(out.items())}

    @classmethod
    def from_json(cls, data: dict[str, list[list[str]]]) -> "KnownPhrases":
        return cls({tuple(name): typ for typ, names in data.items() for name in names})

    @classmethod
    def load(cls, model_dir: Path) -> "KnownPhrases":
        """``phrases.json`` of a model directory (none in models built before it)."""
        path = Path(model_dir) / PHRASES_NAME
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {})


def write_phrases(out: Path, sents) -> KnownPhrases:
    """``phrases.json`` learned from the training sentences ``sents``; the CRFs do not depend on it."""
    phrases = KnownPhrases.learn(sents)
    (Path(out) / PHRASES_NAME).write_text(json.dumps(phrases.to_json(), ensure_ascii=False, separators=(",", ":"))
                                          + "\n", encoding="utf-8")
    return phrases


def known_phrases(tokens: Sequence[str], tags: list[str], phrases: KnownPhrases, keys: Sequence[str],
                  places: Places | None = None) -> None:
    """Tag, in place, each run of ``keys`` (the tokens' gazetteer keys) that
    is a known phrase as one span of its type, when the spans over it lie
    within it (the module's rule); a known place (``places``) is only ever
    made a LOC by it."""
    if not phrases:
        return
    starts = _span_ends(tags)  # runs do not overlap, so a run's edit cannot make a later run cut a span
    for s, e in name_runs(phrases.types, phrases.lengths, keys):
        typ = phrases.types[tuple(keys[s:e])]
        if typ != "LOC" and places is not None and places.is_place(tokens[s:e]):
            continue  # بيونج يانج: ANERcorp's one article has the government (ORG); the place rules know the city
        _set_unless_cut(tags, starts, s, e, typ)
