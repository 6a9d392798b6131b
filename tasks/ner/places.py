"""Known place names, after the CRF: four rules, each measured on ANERcorp.

The CRF types unseen names from their letters and context; transliterated
Korean or Chinese place names look like the person names it saw in training
(بيونغ يانغ next to كيم جونغ أون), and it calls them persons, clubs, or
nothing. Two lists, built at training time into ``places.json``:

* ``places``: every Arabic country, territory and city name of Unicode CLDR
  (via Babel, at build time only) and ANERgazet's locations, minus anything
  ANERgazet lists as a person;
* ``cldr``: the CLDR names alone (ANERgazet's locations include club towns
  and common words, which cost F1 in the two rules that use this list).

The rules, on spans that are exactly a known name (the first word may carry
proclitics, لبيونغ يانغ):

1. PERS and in ``places`` -> LOC (غ folded into ج, as in rules 2 and 3).
2. ORG and in ``cldr`` -> LOC. ANERcorp tags a place standing for its club
   or government ORG (كوبنهاغن), and the CRF learned that, so this is
   limited to CLDR names (with ANERgazet's as well, pooled F1 fell from
   0.7543 to 0.7520).
3. Untagged and in ``cldr`` -> LOC, unless training saw one of its words,
   but never inside a LOC (ترك "left", مالي "financial", مسقط "birthplace").
4. LOC spans and untagged words that together are exactly a ``cldr`` name
   -> one LOC (جنوب + أفريقيا, البوسنة + والهرسك; +0.0005 pooled).

Matching folds غ into ج (بيونج يانج is CLDR's بيونغ يانغ), as the canonical
forms do. Rule 1 once compared unfolded names, and ANERcorp's هونج كونج
(CLDR: هونغ كونغ), 47 times in one block, stayed PERS: folding there took the
pooled F1 (below, all rules) from 0.7632 to 0.7699, that block from 0.693 to
0.731. Measured by ``bench/bench_ner_cv.py`` (every sentence of
train.txt tagged by a model trained on the other four of five blocks),
PERS/LOC/ORG F1 pooled: rule 1 alone 0.7543, with rules 2 and 3 0.7555; per
block 0.7804/0.7477/0.6662/0.8123/0.7452 -> 0.7836/0.7482/0.6667/0.8138/0.7450.
On the README's dev slice (inside the last block) they cost 0.2 points: it
holds an article where سول and بيونج يانج stand for their governments,
which ANERcorp tags ORG (and لبيونج يانج twice PERS). The seed labels call
those places LOC, and the rules find 4 more seed entities (كييف twice, سول,
بيونج يانج).
"""
from __future__ import annotations

from typing import Iterable, Sequence

from tasks.ner import spans
from tasks.ner.canonical import proclitic_options
from tasks.ner.features import _EXTRA, Lexicon, gaz_key, lengths_by_first, normalise

# CLDR territory codes that are not places one can be in (UN, EU, euro area, pseudo-locales, unknown)
_NOT_PLACES = {"UN", "EU", "EZ", "QO", "XA", "XB", "ZZ"}


def cldr_places(locale: str = "ar") -> list[str]:
    """Country, territory and city names in CLDR's Arabic locale."""
    from babel import Locale  # build time only

    loc = Locale.parse(locale)
    names = {v for k, v in loc.territories.items() if not k.isdigit() and k not in _NOT_PLACES}
    names |= {tz["city"] for tz in loc.time_zones.values() if tz.get("city")}
    # "بيولا، داكوتا الشمالية" -> "بيولا"; "(...)" qualifiers dropped
    return sorted({n.split("،")[0].split("(")[0].strip() for n in names} - {""})


def place_names(gaz_entries: dict[str, list[str]], extra: Iterable[str] = ()) -> list[str]:
    """ANERgazet LOC plus ``extra`` (CLDR), minus what ANERgazet has as a
    person and the gazetteer's letterless lines (``*``, ``-``)."""
    persons = {_key(n) for n in gaz_entries.get("PERS", ())}
    return sorted(n for n in {*gaz_entries.get("LOC", ()), *extra}
                  if any(c.isalpha() for c in n) and _key(n) not in persons)


def place_lists(gaz_entries: dict[str, list[str]]) -> dict[str, list[str]]:
    """What ``places.json`` holds (build time: needs Babel)."""
    cldr = cldr_places()
    return {"places": place_names(gaz_entries, cldr), "cldr": cldr}


def _key(name: str) -> tuple[str, ...]:
    return tuple(normalise(w) for w in name.split())


def _char_table() -> dict[int, str | None]:
    """``normalise`` then غ -> ج as one ``str.translate`` table: every step of
    ``normalise`` maps or drops single characters, so this is exact on the
    characters it covers (the Arabic blocks and normalise's extras); tested
    against ``normalise`` on every ANERcorp token."""
    table = {}
    for block in (range(0x0600, 0x0700), range(0x0750, 0x0780), range(0x08A0, 0x0900), range(0x2000, 0x2070)):
        for c in block:
            n = normalise(chr(c))
            if n != chr(c):
                table[c] = n or None
    table.update({k: v for k, v in _EXTRA.items()})
    table[ord("غ")] = "ج"
    return table


_FOLD_NORM = _char_table()


def _fold_key(words: Iterable[str]) -> tuple[str, ...]:
    """Normalised words with غ folded into ج (how ``cldr`` names are compared)."""
    return tuple(w.translate(_FOLD_NORM) for w in words)


class Places:
    CACHE = 50_000  # distinct tokens remembered by the rule-3 pre-check

    def __init__(self, names: Iterable[str], cldr: Iterable[str] = ()):
        self.keys = {_key(n) for n in names}
        self.keys.discard(())
        self.folded = {_fold_key(k) for k in self.keys}  # rule 1 compares these
        self.cldr = {_fold_key(n.split()) for n in cldr}
        self.cldr.discard(())
        self.longest = max(map(len, self.cldr), default=0)
        # rules 2 and 3: first word -> name lengths, longest first; token -> the first words it can be
        self._lengths = lengths_by_first(self.cldr)
        self._starts: dict[str, tuple[str, ...]] = {}

    @classmethod
    def from_json(cls, data) -> "Places":
        """``places.json``: ``{"places": [...], "cldr": [...]}`` (a bare list: ``places`` only)."""
        if isinstance(data, list):  # places.json before the CLDR rules
            return cls(data)
        return cls(data.get("places", ()), data.get("cldr", ()))

    def is_place(self, words: Sequence[str]) -> bool:
        """``words`` (tokens) are exactly a name of ``places`` (as rule 1 compares them)."""
        key = _key(" ".join(words))
        return bool(key) and self._is_place(key)

    def _is_place(self, key: tuple[str, ...]) -> bool:
        """Rule 1: ``key`` (normalised words) is in ``places``, the first word
        whole (بيونغ, لاغوس) or without its proclitics (لبيونغ), غ folded
        into ج on both sides (هونج كونج is CLDR's هونغ كونغ)."""
        first, rest = key[0], key[1:]
        first, rest = _fold_key([first])[0], _fold_key(rest)
        return any((f, *rest) in self.folded for f in (first, *proclitic_options(first)))

    def _is_cldr(self, tokens: Sequence[str], forms: tuple[str, ...]) -> bool:
        """Rules 2 and 3: ``tokens`` are a CLDR name whose first word is one of ``forms``."""
        rest = _fold_key(tokens[1:])
        return any((f, *rest) in self.cldr for f in forms)

    def _first_forms(self, token: str) -> tuple[str, ...]:
        """The CLDR first words ``token`` is, whole or without its proclitics
        (the same forms as :meth:`_is_place`; cached)."""
        hit = self._starts.get(token)
        if hit is None:
            f = token.translate(_FOLD_NORM)
            # every form proclitic_options can leave (و/ف, then ب/ل/ك, لل -> ال), before its length checks:
            # a cheap test that rules out almost every token
            forms = {f, f[1:], f[2:]}
            if f.startswith("لل"):
                forms.add("ا" + f[1:])
            if f[1:3] == "لل":
                forms.add("ا" + f[2:])
            hit = ()
            if not self._lengths.keys().isdisjoint(forms):
                hit = tuple(x for x in (f, *proclitic_options(f)) if x in self._lengths)
            if len(self._starts) >= self.CACHE:
                self._starts.clear()
            self._starts[token] = hit
        return hit

    def retype(self, tokens: Sequence[str], tags: list[str], lexicon: Lexicon | None = None) -> list[str]:
        """``tags`` with the four rules applied (in place). ``lexicon``: the
        model's (rule 3 skips words training saw only outside a LOC)."""
        for s, e, typ in spans(tags):
            if (typ == "PERS" and self.keys and self.is_place(tokens[s:e])) or \
                    (typ == "ORG" and self.cldr and self._is_cldr(tokens[s:e], self._first_forms(tokens[s]))):
                set_span(tags, s, e, "LOC")
        if not self.cldr:
            return tags
        words = lexicon.words if lexicon is not None else {}
        n = len(tokens)
        end = 0  # where the last place found ends (places do not overlap)
        for i, tok in enumerate(tokens):
            if i < end or tags[i] not in ("O", "B-LOC"):
                continue
            forms = self._starts.get(tok)
            if forms is None:
                forms = self._first_forms(tok)
            if not forms:
                continue
            for ln in sorted({ln for f in forms for ln in self._lengths[f] if i + ln <= n}, reverse=True):
                inner = tags[i:i + ln]
                if all(t == "O" for t in inner):  # rule 3
                    if self._is_cldr(tokens[i:i + ln], forms):
                        if all(_maybe_place(words.get(gaz_key(t))) for t in tokens[i:i + ln]):
                            set_span(tags, i, i + ln, "LOC")
                        end = i + ln
                        break
                elif ln > 1 and all(t in _LOC_OR_O for t in inner) and (i + ln == n or tags[i + ln] != "I-LOC") \
                        and inner[1:] != ["I-LOC"] * (ln - 1) and self._is_cldr(tokens[i:i + ln], forms):  # rule 4
                    set_span(tags, i, i + ln, "LOC")
                    end = i + ln
                    break
        return tags


_LOC_OR_O = frozenset(("O", "B-LOC", "I-LOC"))


def _maybe_place(marks) -> bool:
    """Unseen in training, or seen inside a LOC at least once."""
    return marks is None or any(m.startswith("LOC") for m in marks)


def set_span(tags: list[str], s: int, e: int, typ: str) -> None:
    """Tag ``s:e`` as one ``typ`` span, in place (the rules of :mod:`tasks.ner.rules` too). A span
    that starts at ``e`` with an I- tag (after a span of another type) stays its own: it is made
    B-, or it would run on from this one when of the same type."""
    tags[s] = "B-" + typ
    tags[s + 1:e] = ["I-" + typ] * (e - s - 1)
    if e < len(tags) and tags[e].startswith("I-"):
        tags[e] = "B-" + tags[e][2:]
