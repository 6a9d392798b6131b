"""Canonical forms for entity mentions.

``canonical`` must be stable across documents (the landing code keys entities
by ``(type, canonical)``), so it is a deterministic function of the mention's
spelling plus, within one document, of the other mentions it merges with:

1. spelling: :func:`tasks.ner.features.normalise` (diacritics, tatweel, alef,
   alef maksura, teh marbuta, Persian letter forms) per word;
2. proclitics (و ف ب ل ك, لل -> ال) are stripped from the first word only
   when there is evidence the rest is the name: it occurs as a mention word
   elsewhere in the document or is at least 3 times as frequent as a name
   word in ANERcorp as the whole word (so وبوتين -> بوتين but فلاديمير and كوريا stay);
   a listed name (``known``: the model's sports clubs) is its own evidence;
3. transliteration folding: a final نج/نغ becomes نج (جونغ/جونج, يانغ/يانج),
   and in person names غ -> ج everywhere (سيرغي/سيرجي, شويغو/شويجو);
4. within a document mentions of one type are clustered: words that are
   equal after dropping long vowels (تشو/تشوي, هي/هوي) or one edit apart when
   long enough (بيلوسوف/بيلوفسوف) match, and a person mention that is a part of
   a longer person mention (بوتين, كيم) joins it. A cluster's canonical is the
   key of its longest, then most frequent, then smallest mention;
5. an ORG mention that is one of the names of a body in the known-organisation
   list (:func:`tasks.ner.rules.organisations`) takes the key of the body's
   first name, across documents (الناتو, حلف الأطلسي -> حلف شمال الاطلسي).

:func:`canonical_key` gives the context-free key (steps 1, 3 and 5), which is
what a search for a name should be normalised with.
"""
from __future__ import annotations

import operator
from collections import Counter, defaultdict
from functools import lru_cache
from typing import Container, Mapping, Sequence

from tasks.ner.features import normalise

_LONG_VOWELS = str.maketrans("", "", "اوي")


def fold_word(word: str, typ: str) -> str:
    if typ == "PERS":
        word = word.replace("غ", "ج")
    if len(word) > 2 and word.endswith("نغ"):
        word = word[:-1] + "ج"
    return word


def canonical_key(text: str, typ: str) -> str:
    """Spelling-normalised, transliteration-folded form of a name, without
    any proclitic stripping (that needs document context); a known
    organisation's other names give its first name's."""
    head = _org_head(text, typ)
    return " ".join(head or (fold_word(normalise(w), typ) for w in text.split()))


def _org_head(text: str, typ: str) -> tuple[str, ...] | None:
    """The canonical words of the body ``text`` names, if it is one of the
    known organisations' names (any proclitics, spelling folded)."""
    if typ != "ORG":
        return None
    from tasks.ner import rules  # here: rules imports this module

    orgs = rules.organisations()
    head = orgs.head.get(rules.org_key(text))
    return None if head is None else tuple(fold_word(normalise(w), typ) for w in head.split())


def proclitic_options(word: str) -> list[str]:
    """Possible names left after stripping proclitics, longest strip first."""
    out = []
    rest = word
    if len(rest) > 3 and rest[0] in "وف":
        rest = rest[1:]
        out.append(rest)
    if len(rest) > 3 and rest[0] in "بلك":
        if rest.startswith("لل") and len(rest) > 4:
            out.append("ال" + rest[2:])
        out.append(rest[1:])
    return out[::-1]


def strip_proclitics(word: str, doc_words: Counter, vocab: Mapping[str, int]) -> str:
    """``word`` (normalised) without its proclitics, when there is evidence."""
    for rest in proclitic_options(word):
        if len(rest) < 3:
            continue
        if doc_words.get(rest, 0) > 0 or vocab.get(rest, 0) >= 3 * max(1, vocab.get(word, 0)):
            return rest
    return word


def _skeleton(word: str) -> str:
    return word[:1] + word[1:].translate(_LONG_VOWELS)


def _one_edit(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1 or a == b:
        return a == b
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1:] == b[i + 1:]
    return a[i:] == b[i + 1:]


def words_match(a: str, b: str, min_skeleton: int = 2) -> bool:
    if a == b:
        return True
    if _skeleton(a) == _skeleton(b) and len(_skeleton(a)) >= min_skeleton:
        return True
    return min(len(a), len(b)) >= 5 and _one_edit(a, b)


@lru_cache(maxsize=65_536)
def _neighbourhood(word: str) -> frozenset[str]:
    """Keys that any word :func:`words_match` with ``word`` shares with it: its skeleton, the word
    itself and the word less any one letter (one edit away, two words lose the same letter, or the
    longer one loses a letter and becomes the shorter). Cached: a name's words are looked up for
    each of its mentions and added again when it becomes a representative."""
    out = {"s" + _skeleton(word), "d" + word}
    out.update("d" + word[:i] + word[i + 1:] for i in range(len(word)))
    return frozenset(out)


class _Reps:
    """A type's representative names in the order they were chosen, indexed by the
    :func:`_neighbourhood` keys of their words, so that a mention is compared with the few names
    that could match it, not with all of them (a long document has thousands)."""

    def __init__(self) -> None:
        self.reps: list[tuple[str, ...]] = []
        self._first: dict[tuple[int, str], list[int]] = defaultdict(list)
        self._words: dict[str, set[int]] = defaultdict(set)

    def add(self, rep: tuple[str, ...]) -> None:
        i = len(self.reps)
        self.reps.append(rep)
        if rep:
            for n in _neighbourhood(rep[0]):
                self._first[(len(rep), n)].append(i)
        for w in set(rep):
            for n in _neighbourhood(w):
                self._words[n].add(i)

    def same_length(self, key: tuple[str, ...]) -> list[tuple[str, ...]]:
        """Names as long as ``key`` whose first word may match its first word, in order."""
        if not key:
            return [r for r in self.reps if not r]
        found = {i for n in _neighbourhood(key[0]) for i in self._first.get((len(key), n), ())}
        return [self.reps[i] for i in sorted(found)]

    def holding(self, word: str) -> list[tuple[str, ...]]:
        """Names with a word that may match ``word``, in order."""
        found = {i for n in _neighbourhood(word) for i in self._words.get(n, ())}
        return [self.reps[i] for i in sorted(found)]


def _contains(full: Sequence[str], part: Sequence[str], same=words_match) -> bool:
    n = len(part)
    return any(all(same(x, y) for x, y in zip(full[i:i + n], part))
               for i in range(len(full) - n + 1))


def canonicalise(mentions: Sequence[tuple[str, str]], vocab: Mapping[str, int] | None = None,
                 known: Container[tuple[str, ...]] = frozenset()) -> list[str]:
    """Canonical strings for a document's ``(text, type)`` mentions, in order.
    ``known``: listed names as normalised words (the model's sports clubs), which
    are their own evidence: a mention that is one keeps its first word whole
    (بوروسيا دورتموند is not ب + وروسيا), one that is a proclitic + one loses it."""
    vocab = vocab or {}
    normed = [[normalise(w) for w in text.split()] for text, _ in mentions]
    # words other mentions start with, to justify stripping a proclitic
    doc_words: Counter = Counter(w for ws in normed for w in ws)
    keys: list[tuple[str, ...]] = []
    for ws, (text, typ) in zip(normed, mentions):
        head = _org_head(text, typ)
        if head:
            keys.append(head)
            continue
        if ws and tuple(ws) not in known:
            first = next((r for r in proclitic_options(ws[0]) if (r, *ws[1:]) in known), None)
            if first is None:
                others = doc_words.copy()
                others[ws[0]] -= 1
                first = strip_proclitics(ws[0], others, vocab)
            ws = [first] + ws[1:]
        keys.append(tuple(fold_word(w, typ) for w in ws))

    out: dict[tuple[str, str], str] = {}
    freq = Counter((typ, k) for k, (_, typ) in zip(keys, mentions))
    by_type: dict[str, list[tuple[str, ...]]] = {}
    for typ, k in freq:
        by_type.setdefault(typ, []).append(k)
    for typ, ks in by_type.items():
        # representatives first: longest, most frequent, then smallest
        ks.sort(key=lambda k: (-len(k), -freq[(typ, k)], k))
        reps = _Reps()
        for k in ks:
            rep = _find_rep(k, reps, typ, freq)
            if rep is None:
                reps.add(k)
                rep = k
            out[(typ, k)] = " ".join(rep)
    return [out[(typ, k)] for k, (_, typ) in zip(keys, mentions)]


def _find_rep(key: tuple[str, ...], reps: _Reps, typ: str, freq: Counter):
    # in a multi-word name the other words back up a one-letter skeleton (هي/هوي)
    short = 1 if len(key) > 1 else 2
    same = [r for r in reps.same_length(key) if all(words_match(a, b, short) for a, b in zip(r, key))]
    if same:
        return same[0]
    if typ == "PERS" and key:
        part_of = [r for r in reps.holding(key[0]) if len(r) > len(key) and _contains(r, key)]
        if part_of:
            # a name that has the part word for word beats one that has it only up to an edit
            # (شويجو: سيرجي شويجو before كيم وشويجو), then the more frequent
            return max(part_of, key=lambda r: (_contains(r, key, operator.eq), freq[(typ, r)], r))
    return None
