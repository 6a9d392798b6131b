"""Rules after the CRF and the place rules (:mod:`tasks.ner.places`).

Each edits a sentence's (or a document's) BIO tags in place and is measured
out of fold on ANERcorp (``bench/bench_ner_cv.py``: every sentence of
train.txt tagged by a model that did not see it; pooled PERS/LOC/ORG F1,
token-level exact spans), so that none costs more than a span or two on
the corpus the model is judged on. In the order :class:`tasks.ner.model.NERModel` applies them:

Per sentence:

* :func:`known_organisations`: an untagged run of words that is exactly a
  well-known organisation's name (``tasks/data/organisations.txt``: the UN
  system, regional bodies, international NGOs, federations and agencies,
  compiled by category) is ORG, unless a competition word (كأس, بطولة, دوري)
  stands before it (كأس الاتحاد الأفريقي) (+0.0018; +0.0009 without the four
  names that were among the out-of-fold misses seen before the list was
  written: الويبو, its full name, the ICRC and the IAEA).
* :func:`media_names_are_org`: the entity after وكالة/صحيفة/جريدة/مجلة is ORG
  (all 66 such in ANERcorp; +0.0007).
* :func:`institution_names`: a PERS or LOC name after فريق/نادي/شركة/قناة,
  or a PERS name after مسجد/سجن, is ORG, unless training saw its first word
  mostly as a person (مسجد الحسن الثاني; not after سجن) (+0.0017).
* :func:`paper_names`: an untagged unseen word after صحيفة/جريدة/مجلة is the
  paper's name, ORG (صحيفة يديعوت أحرونوت; +0.0007; with وكالة too, +0.0003,
  so not for agencies; the same after شركة, نادي/فريق or مسجد: −0.0004 to
  +0.0001).
* :func:`titled_names`: an untagged unseen word after الإمام, الشيخ(ة) or
  السيد(ة) is a name, PERS (الشيخة حسينة; +0.0009; with الرئيس, الملك,
  الأمير(ة), الدكتور, المستشار and الوزير too: −0.0003).
* :func:`party_names`: حزب + a definite word is a party, ORG (97 of 102 such
  in ANERcorp, heads included; +0.0001).
* :func:`bank_names`: البنك + a masculine definite adjective is a bank, ORG
  (18 of 26 such in ANERcorp; +0.0015, mostly البنك التجاري in one article;
  the same rule for الاتحاد, منظمة, جامعة or معهد: −0.0004 to +0.0001).
* :func:`agency_names`: وكالة أنباء X and وكالة X للأنباء are an agency's
  whole name, ORG (as ANERcorp tags وكالة أنباء الشرق الأوسط; ±0).
* :func:`palace_names`: قصر + a name unseen in training is a place, LOC
  (no such case in ANERcorp but a novel title in quotes; −0.0001).
* :func:`national_bodies`: a country's adjective after a council or a party
  made of common words belongs to its name (مجلس الأمن الروسي is not the UN's
  مجلس الأمن; حزب العمال الكوري). ANERcorp leaves an adjective after a proper
  name outside it (ريال مدريد الإسباني, حزب الله اللبناني: 60 cases), so the
  rule is limited to those two heads and skips الله (+0.0001).
* :func:`peninsulas`: شبه جزيرة / شبه الجزيرة + its name, and الجزيرة
  العربية, are one LOC (the CRF split شبه الجزيرة العربية into شبه LOC +
  الجزيرة العربية ORG, the TV channel; +0.0007, then +0.0011 for الجزيرة
  العربية without شبه).
* :func:`split_joined_places`: a LOC span that is not a known place splits at
  each و + a known place (إنجلترا والبرتغال; +0.0010), and an ORG or PERS span
  ending in و + a known place loses it to a LOC (حزب الله وإسرائيل; +0.0006,
  though twice it was a club: أرسنال وموناكو).
* :func:`research_centres`: مركز + أبحاث/دراسات/بحوث + definite words is a
  research centre, ORG (مركز أبحاث التسلح في النزاعات; one such phrase in
  ANERcorp, untagged there; ±0: out-of-fold tags unchanged).
* :func:`months_are_not_names`: no entity right after شهر (شهر رمضان;
  none in ANERcorp, ±0 out of fold).
* :func:`unseen_name_tails`: a word unseen in training right after a PERS
  span, which the CRF's marginals put inside the name (P(I-PERS) above 0.45)
  though the best path left it out, joins the name (نو غوانغ + تشول; no such
  case in ANERcorp, ±0).

After these, per sentence, the sports clubs' names (:func:`tasks.ner.clubs.club_rule`)
and the names training saw whole (:func:`tasks.ner.phrases.known_phrases`,
+0.0027, four blocks up and one level).

Per document: :func:`split_joined_persons` (+0.0001) and
:func:`extend_names_over_connectors` (+0.0004 over an untagged word, +0.0006
more over the PERS span the CRF started after the connector).

The agency, palace, national-body and name-tail rules follow how the seed
labels (``tests/gold/seeds.json``) name things; on ANERcorp they change at
most a few spans either way.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from tasks.ner import spans
from tasks.ner.canonical import proclitic_options
from tasks.ner.features import DOC_WINDOW, Lexicon, gaz_key, lengths_by_first, longest_name, name_runs, normalise
from tasks.ner.names import NameModel
from tasks.ner.places import Places, set_span


def _heads(*words: str) -> frozenset[str]:
    return frozenset(normalise(w) for w in words)


@lru_cache(maxsize=1 << 15)
def _forms(token: str) -> tuple[str, ...]:
    """``token`` normalised, and what is left after each proclitic strip;
    remembered per token (the rules ask of most tokens whether they are one
    of several heads: one entry per token, not per token and head list)."""
    n = normalise(token)
    return (n, *proclitic_options(n))


def _is(token: str, heads: frozenset[str]) -> bool:
    """``token`` is one of ``heads``, whole or after its proclitics (ولحزب)."""
    return any(f in heads for f in _forms(token))


_GROUPS: list[frozenset[str]] = []


def _group(*words: str) -> frozenset[str]:
    """A set of head words that :class:`Heads` finds in a sentence."""
    g = _heads(*words)
    _GROUPS.append(g)
    return g


@lru_cache(maxsize=1)
def _form_index() -> dict[str, list[frozenset[str]]]:
    index: dict[str, list[frozenset[str]]] = {}
    for g in _GROUPS:
        for f in g:
            index.setdefault(f, []).append(g)
    return index


class Heads:
    """Where the head words of the rules (حزب, البنك, وكالة, قصر, شبه,
    الجزيرة, with proclitics) stand in a sentence: one look-up per token for
    all the rules, which then visit only those places."""

    def __init__(self, tokens: Sequence[str]):
        index = _form_index()
        self._at: dict[frozenset[str], list[int]] = {}
        for i, t in enumerate(tokens):
            for f in _forms(t):
                for g in index.get(f, ()):
                    at = self._at.setdefault(g, [])
                    if not at or at[-1] != i:
                        at.append(i)

    def at(self, group: frozenset[str]) -> list[int]:
        return self._at.get(group, [])


def _has_letters(token: str) -> bool:
    return any(c.isalpha() and c != "ـ" for c in token)


def _span_ends(tags: Sequence[str]) -> dict[int, tuple[int, str]]:
    """start -> (end, type) of each span."""
    return {s: (e, t) for s, e, t in spans(tags)}


def _set_unless_cut(tags: list[str], starts: dict[int, tuple[int, str]], i: int, end: int, typ: str) -> None:
    """Tag ``i:end`` as one ``typ`` span unless that would cut one of the
    spans in ``starts`` (start -> (end, type))."""
    if not any(s < i < e or s < end < e for s, (e, _) in starts.items()):
        set_span(tags, i, end, typ)


def _with_proclitics(*words: str) -> frozenset[str]:
    """``words`` and their forms with و ل ب ف ول وب, normalised (ة -> ه)."""
    return frozenset(normalise(p + w) for w in words for p in ("", "و", "ل", "ب", "ف", "ول", "وب"))


ORGANISATIONS_PATH = Path(__file__).resolve().parents[1] / "data" / "organisations.txt"


def org_key(name: str) -> tuple[str, ...]:
    """How :class:`Organisations` compares names (والأونروا and الاونروا alike)."""
    return tuple(gaz_key(w) for w in name.split())


@lru_cache(maxsize=1)
def organisations() -> "Organisations":
    """The shipped list, loaded once (the tagger and canonical forms share it)."""
    return Organisations.load()


class Organisations:
    """Names of :func:`known_organisations`, compared as gazetteer keys
    (:func:`org_key`), each with the first name of its body (``head``:
    الناتو -> حلف شمال الأطلسي)."""

    def __init__(self, groups: Iterable[Sequence[str]]):
        self.head: dict[tuple[str, ...], str] = {}
        for group in groups:
            for name in group:
                self.head.setdefault(org_key(name), group[0])
        self.head.pop((), None)
        self.lengths = lengths_by_first(self.head)

    @classmethod
    def load(cls, path: Path = ORGANISATIONS_PATH) -> "Organisations":
        """One body per line: names separated by ``|``, the usual one first."""
        lines = (ln.strip() for ln in path.read_text(encoding="utf-8").splitlines())
        return cls([n.strip() for n in ln.split("|") if n.strip()] for ln in lines if ln and not ln.startswith("#"))


COMPETITIONS = _heads("كأس", "بطولة", "دوري")


def known_organisations(tokens: Sequence[str], tags: list[str], orgs: Organisations,
                        keys: Sequence[str] | None = None) -> None:
    """Tag, in place, each untagged run of words that is exactly a name in
    ``orgs`` as ORG (the longest name first). ``keys``: the tokens'
    :func:`tasks.ner.features.gaz_key`, if the caller has them (the tagger
    does: its clitic-free keys). The CRF misses names it rarely
    saw (الويبو, اللجنة الدولية للصليب الأحمر, الوكالة الدولية للطاقة
    الذرية); ANERcorp also leaves some untagged (مجلس التعاون الخليجي, هيئة
    الإذاعة البريطانية), which the out-of-fold figure counts against the
    rule. After كأس/بطولة/دوري the name is a competition's, left alone."""
    n = len(tokens)
    if keys is None:
        keys = [gaz_key(t) for t in tokens]
    for i, end in name_runs(orgs.head, orgs.lengths, keys):
        if all(t == "O" for t in tags[i:end]) and (end == n or not tags[end].startswith("I-")) \
                and not (i and _is(tokens[i - 1], COMPETITIONS)):
            set_span(tags, i, end, "ORG")


def known_organisation_ends(tags: list[str], orgs: Organisations, keys: Sequence[str], lexicon: Lexicon) -> None:
    """End, in place, an ORG span that starts with a well-known
    organisation's name (:func:`known_organisations`) and runs on into a
    word training never saw inside an entity: the name ends there
    (منظمة الصحة العالمية سترسل: the verb is not part of it). A span that is
    itself a known name is left alone (الأمم المتحدة is a prefix of longer
    names). Out of fold on ANERcorp it fired once, rightly (الفيفا + a
    person's first name)."""
    words = lexicon.words
    for s, e, typ in spans(tags):
        if typ != "ORG" or tuple(keys[s:e]) in orgs.head:
            continue
        name = longest_name(orgs.head, orgs.lengths, keys, s, e - s - 1)
        if name and words.get(keys[s + name]) in (None, ["O"]):
            tags[s + name:e] = ["O"] * (e - s - name)


# news agency, newspaper, magazine
MEDIA_HEADS = _with_proclitics("وكالة", "صحيفة", "جريدة", "مجلة")
_QUOTES = frozenset('"\'«“”»')


def media_names_are_org(tokens: Sequence[str], tags: list[str]) -> None:
    """Retype, in place, an entity right after وكالة/صحيفة/جريدة/مجلة (an
    opening quote may stand between) as ORG: the name of an agency or a paper
    (وكالة "ريا نوفوستي", صحيفة القدس). In ANERcorp every one of the 66 entities
    in that place is ORG; out of fold the CRF had 6 of them as LOC or MISC (and
    صحيفة القدس would otherwise meet the CLDR place rule)."""
    for s, e, typ in spans(tags):
        if typ == "ORG":
            continue
        j = s - 1
        if j >= 0 and tokens[j] in _QUOTES:
            j -= 1
        if j >= 0 and normalise(tokens[j]) in MEDIA_HEADS:
            set_span(tags, s, e, "ORG")


CLUBS_AND_FIRMS = _with_proclitics("فريق", "نادي", "شركة", "قناة")
_PRISON = _with_proclitics("سجن")
MOSQUES_AND_PRISONS = _with_proclitics("مسجد") | _PRISON
# where to look; the head itself must then be one of the forms above (not الفريق, a military rank)
INSTITUTIONS = _group("فريق", "نادي", "شركة", "قناة", "مسجد", "سجن")


def institution_names(tokens: Sequence[str], tags: list[str], lexicon: Lexicon, heads: Heads | None = None) -> None:
    """Retype, in place, the name right after a word for a team, club,
    company or channel (فريق, نادي, شركة, قناة) as ORG when the CRF took it
    for a person or a place (نادي كورينثيانز, شركة كونكو فيليبس, فريق
    المغرب الفاسي, قناة فوكس), and after a mosque or a prison (مسجد, سجن)
    when it took it for a person (مسجد هوبان, سجن أبو غريب): ANERcorp tags
    those names ORG. A name whose first word training saw mostly as a
    person keeps PERS, as ANERcorp has it (مسجد الحسن الثاني, شركة
    ديمورا), except after سجن (سجن أبو غريب)."""
    starts = None
    for i in (heads or Heads(tokens)).at(INSTITUTIONS):
        typ = tags[i + 1][2:] if i + 1 < len(tokens) else ""
        if tags[i] != "O" or typ not in ("PERS", "LOC"):  # after O, an I- starts a span too (tasks.ner.spans)
            continue
        head = normalise(tokens[i])
        if not (head in CLUBS_AND_FIRMS or (typ == "PERS" and head in MOSQUES_AND_PRISONS)):
            continue
        if typ == "PERS" and head not in _PRISON and "PERSH" in (lexicon.words.get(gaz_key(tokens[i + 1])) or ()):
            continue
        starts = starts or _span_ends(tags)  # retyping keeps every span's bounds
        set_span(tags, i + 1, starts[i + 1][0], "ORG")


PAPERS = _group("صحيفة", "جريدة", "مجلة")


def paper_names(tokens: Sequence[str], tags: list[str], lexicon: Lexicon, heads: Heads | None = None) -> None:
    """An untagged word right after صحيفة/جريدة/مجلة (an opening quote may
    stand between) that training never saw, or saw inside an ORG, is the
    paper's name, ORG, with the unseen untagged words after it (صحيفة يديعوت
    أحرونوت, لصحيفة الجارديان). The name stops before a word training saw
    (the country adjective: الإسرائيلية stays outside, as ANERcorp has it)."""
    _name_after(tokens, tags, lexicon, (heads or Heads(tokens)).at(PAPERS), "ORG", after_quote=True,
                no_tatweel=True)


TITLES = _group("الإمام", "الشيخ", "الشيخة", "السيد", "السيدة")


def titled_names(tokens: Sequence[str], tags: list[str], lexicon: Lexicon, heads: Heads | None = None) -> None:
    """An untagged word right after الإمام/الشيخ/الشيخة/السيد/السيدة that
    training never saw, or saw inside a PERS, is a name, PERS, with the
    unseen untagged words after it (الشيخة حسينة, الإمام الرضا)."""
    _name_after(tokens, tags, lexicon, (heads or Heads(tokens)).at(TITLES), "PERS")


def _name_after(tokens: Sequence[str], tags: list[str], lexicon: Lexicon, at: Sequence[int], typ: str,
                after_quote: bool = False, no_tatweel: bool = False) -> None:
    """For each head at ``at`` (untagged): the untagged word after it (after
    an opening quote too, with ``after_quote``) becomes a ``typ`` span when
    training never saw it or saw it inside a ``typ``, with the unseen
    untagged words that follow. ``no_tatweel``: a word ending in ـ (الـ) is
    not unseen."""
    n = len(tokens)

    def unseen(t: str) -> bool:
        return _has_letters(t) and not (no_tatweel and t.endswith("ـ")) and lexicon.words.get(gaz_key(t)) is None

    for i in at:
        j = i + 1
        if after_quote and j < n and tokens[j] in _QUOTES:
            j += 1
        if j >= n or tags[i] != "O" or tags[j] != "O":
            continue
        marks = lexicon.words.get(gaz_key(tokens[j]))
        if not (unseen(tokens[j]) or (marks and any(m.startswith(typ) for m in marks) and _has_letters(tokens[j]))):
            continue
        e = j + 1
        while e < n and tags[e] == "O" and unseen(tokens[e]):
            e += 1
        set_span(tags, j, e, typ)


def split_joined_persons(sentences: Sequence[Sequence[str]], tags: Sequence[list[str]]) -> None:
    """Split, in place, a PERS span where a later token is و + a word that the
    document tags PERS on its own: "كيم وشويغو" is Kim and Shoigu when شويغو
    is a name elsewhere in the text. The CRF sometimes runs two names joined by
    "and" into one span, and canonical forms then merge شويغو into it. Names
    that start with و (وقاص, وليد) are left alone unless the rest is a name too."""
    names = {normalise(tok) for toks, tt in zip(sentences, tags) for tok, t in zip(toks, tt)
             if t.endswith("-PERS") and not normalise(tok).startswith("و")}
    for toks, tt in zip(sentences, tags):
        for s, e, typ in spans(tt):
            if typ != "PERS":
                continue
            for i in range(s + 1, e):
                n = normalise(toks[i])
                if len(n) > 3 and n[0] == "و" and n[1:] in names:
                    tt[i] = "B-PERS"


def unseen_name_heads(sentences: Sequence[Sequence[str]], tags: Sequence[list[str]], lexicon: Lexicon,
                      conf: Sequence[list[float]] | None = None,
                      keys: Sequence[Sequence[str]] | None = None) -> None:
    """An untagged word right before a PERS span joins it, in place, when
    training never saw the word and the same word begins a PERS span of two
    words or more within ±:data:`DOC_WINDOW` sentences: تشو + سون هوي, when
    تشو سون is a person two sentences on. The CRF knows a transliterated name
    by its neighbours, and sometimes starts it one word late. Not a definite
    word: الشيخة in الشيخة حسينة is a title, outside the name in ANERcorp.
    ``conf``: the word taken in gets the span's first one. ``keys``: each
    sentence's :func:`tasks.ner.features.gaz_key` of its tokens, if the caller
    has them (the tagger does)."""
    if keys is None:
        keys = [[gaz_key(t) for t in toks] for toks in sentences]
    heads: list[set[str]] = [{kk[s] for s, e, typ in spans(tt) if typ == "PERS" and e - s >= 2}
                             for kk, tt in zip(keys, tags)]
    if not any(heads):
        return
    for k, (toks, tt) in enumerate(zip(sentences, tags)):
        near = None
        for s, e, typ in spans(tt):
            if typ != "PERS" or s == 0 or tt[s - 1] != "O" or not _has_letters(toks[s - 1]):
                continue
            key = keys[k][s - 1]
            if lexicon.words.get(key) is not None or _definite(toks[s - 1]):
                continue  # a definite word is a title or a description (الشيخة حسينة), not a name's head
            if near is None:
                near = set().union(*heads[max(0, k - DOC_WINDOW):k + DOC_WINDOW + 1])
            if key in near:
                tt[s - 1], tt[s] = "B-PERS", "I-PERS"
                if conf is not None:
                    conf[k][s - 1] = conf[k][s]


# words that join the parts of an Arabic name and cannot end one (سعد بن أبي وقاص, محمد بن راشد آل مكتوم)
NAME_CONNECTORS = frozenset(normalise(w) for w in ("بن", "ابن", "بنت", "أبو", "أبي", "أبا", "عبد", "آل", "بو", "ولد"))


def extend_names_over_connectors(sentences: Sequence[Sequence[str]], tags: Sequence[list[str]],
                                 conf: Sequence[list[float]] | None = None) -> None:
    """Extend, in place, a PERS span that ends in a name connector (بن,
    أبي, عبد, آل...) over the next word when that word is untagged, or over
    the PERS span that starts there: "سعد بن أبي" + "وقاص". The CRF sometimes
    stops before a last part that starts with و or is rare, or starts a new
    name there (أبي / وقاص: 9 times out of fold; +0.0006). ``conf``: an
    untagged word taken in gets the span's last one."""
    for k, (toks, tt) in enumerate(zip(sentences, tags)):
        for s, e, typ in spans(tt):
            if typ != "PERS" or e >= len(toks) or normalise(toks[e - 1]) not in NAME_CONNECTORS:
                continue
            if tt[e] == "B-PERS":
                tt[e] = "I-PERS"
            elif tt[e] == "O" and _has_letters(toks[e]):
                tt[e] = "I-PERS"
                if conf is not None:
                    conf[k][e] = conf[k][e - 1]


PARTY = _group("حزب")
BANK = _group("البنك")


def party_names(tokens: Sequence[str], tags: list[str], heads: Heads | None = None) -> None:
    """حزب + a definite word: ORG over both (حزب العمال), or ORG from حزب
    to the end of the span the CRF started at that word (حزب + الليكود)."""
    _head_names(tokens, tags, PARTY, heads)


def bank_names(tokens: Sequence[str], tags: list[str], heads: Heads | None = None) -> None:
    """البنك + a masculine definite adjective: ORG, as :func:`party_names`
    (البنك الدولي, البنك المركزي, البنك التجاري). A definite head takes no
    genitive, so the next word is its adjective and agrees with it; a
    feminine one (البنك التنموية) belongs to an earlier noun."""
    _head_names(tokens, tags, BANK, heads, masculine=True)


def _head_names(tokens: Sequence[str], tags: list[str], group: frozenset[str], heads: Heads | None,
                masculine: bool = False) -> None:
    at = (heads or Heads(tokens)).at(group)
    if not at:
        return
    starts = _span_ends(tags)
    for i in at:
        if i + 1 >= len(tokens) or tags[i] != "O":
            continue
        nxt = normalise(tokens[i + 1])
        if not nxt.startswith("ال") or len(nxt) < 4 or (masculine and nxt.endswith("ه")):
            continue
        if tags[i + 1] == "O":
            set_span(tags, i, i + 2, "ORG")
        elif i + 1 in starts:
            set_span(tags, i, starts[i + 1][0], "ORG")


AGENCY = _group("وكالة")
NEWS = normalise("أنباء")
FOR_NEWS = normalise("للأنباء")


def agency_names(tokens: Sequence[str], tags: list[str], heads: Heads | None = None) -> None:
    """وكالة أنباء X (X: a word, or the span the CRF found there) and وكالة
    X للأنباء: ORG over the whole name, unless that would cut another span."""
    n = len(tokens)
    for i in (heads or Heads(tokens)).at(AGENCY):
        if i + 2 >= n:
            continue
        starts = _span_ends(tags)
        if normalise(tokens[i + 1]) == NEWS and _has_letters(tokens[i + 2]):
            end = starts[i + 2][0] if i + 2 in starts else i + 3
        elif normalise(tokens[i + 2]) == FOR_NEWS and _has_letters(tokens[i + 1]):
            end = i + 3
        else:
            continue
        _set_unless_cut(tags, starts, i, end, "ORG")


PALACE = _group("قصر")


def palace_names(tokens: Sequence[str], tags: list[str], lexicon: Lexicon, names: NameModel,
                 heads: Heads | None = None) -> None:
    """قصر + an untagged word that training never saw and that the name
    model does not take for an ordinary word, or + such a word that the CRF
    took for a one-word person: a palace, LOC (قصر كومسوسان)."""
    for i in (heads or Heads(tokens)).at(PALACE):
        if i + 1 >= len(tokens) or tags[i] != "O" or not _has_letters(tokens[i + 1]):
            continue
        key = gaz_key(tokens[i + 1])
        if lexicon.words.get(key) is not None:
            continue
        if tags[i + 1] == "B-PERS" and (i + 2 >= len(tokens) or not tags[i + 2].startswith("I-")):
            set_span(tags, i, i + 2, "LOC")  # a palace named like a person: the CRF saw a name, not whose
        elif tags[i + 1] == "O":
            names.fill([key])
            if names.marks(key) != ["O"]:
                set_span(tags, i, i + 2, "LOC")


class Demonyms:
    """Country adjectives (الروسي, الكورية): ال + a place name's stem + ي/ية,
    the stem alone or with ا/يا/ان being a known place name or the first word
    of one (كوريا in كوريا الشمالية)."""

    SUFFIXES = ("يه", "ي")  # normalised: ية -> يه
    ENDINGS = ("", "يا", "ا", "ان")

    def __init__(self, place_keys: Iterable[tuple[str, ...]]):
        self.words = {k[0] for k in place_keys if k}

    def __contains__(self, token: str) -> bool:
        w = normalise(token)
        if not w.startswith("ال"):
            return False
        w = w[2:]
        for suf in self.SUFFIXES:
            if w.endswith(suf) and len(w) > len(suf) + 1:
                stem = w[:-len(suf)]
                return any(stem + end in self.words for end in self.ENDINGS)
        return False


BODIES = _heads("مجلس", "حزب")
_GOD = normalise("الله")


def national_bodies(tokens: Sequence[str], tags: list[str], demonyms: Demonyms) -> None:
    """An ORG span of مجلس/حزب + definite words (not الله) takes the
    untagged country adjective right after it: مجلس الأمن + الروسي."""
    for s, e, typ in spans(tags):
        if typ != "ORG" or e - s < 2 or e >= len(tokens) or tags[e] != "O" or not _is(tokens[s], BODIES):
            continue
        rest = [normalise(t) for t in tokens[s + 1:e]]
        if all(r.startswith("ال") and r != _GOD for r in rest) and tokens[e] in demonyms:
            tags[e] = "I-ORG"


PENINSULA = _group("شبه")
ISLAND = _heads("جزيرة", "الجزيرة")
THE_ISLAND = _group("الجزيرة")
ARABIAN = normalise("العربية")


def peninsulas(tokens: Sequence[str], tags: list[str], demonyms: Demonyms, heads: Heads | None = None) -> None:
    """A peninsula is one place, LOC: شبه جزيرة / شبه الجزيرة + what names it
    (the span the CRF found at جزيرة or right after it, or a country
    adjective: شبه الجزيرة الكورية), and الجزيرة + العربية or a country
    adjective without شبه. The CRF splits them (شبه as LOC, الجزيرة العربية
    as ORG, the TV channel)."""
    n = len(tokens)
    heads = heads or Heads(tokens)
    for i in sorted({*heads.at(PENINSULA), *heads.at(THE_ISLAND)}):
        if i + 1 >= n:
            continue
        if _is(tokens[i], PENINSULA) and normalise(tokens[i + 1]) in ISLAND:
            starts = _span_ends(tags)
            if tags[i] not in ("O", "B-LOC") or (i in starts and starts[i][0] > i + 1):
                continue
            end = starts[i + 1][0] if i + 1 in starts else i + 2 if tags[i + 1] == "O" else None
            if end is None:
                continue
            if end == i + 2 and end < n:
                if end in starts:
                    end = starts[end][0]
                elif tags[end] == "O" and tokens[end] in demonyms:
                    end += 1
        elif _is(tokens[i], THE_ISLAND) and (normalise(tokens[i + 1]) == ARABIAN or tokens[i + 1] in demonyms):
            starts = _span_ends(tags)
            if not (tags[i] == tags[i + 1] == "O" or starts.get(i, (0,))[0] == i + 2):
                continue
            end = i + 2
        else:
            continue
        _set_unless_cut(tags, starts, i, end, "LOC")


def split_joined_places(tokens: Sequence[str], tags: list[str], places: Places) -> None:
    """Split a LOC span that is not itself a known place at each و + a known
    place: "إنجلترا والبرتغال" is two places (the CRF runs a list of
    countries into one span); البوسنة والهرسك, a known place, stays one. An
    ORG or PERS span that ends in و + a known place loses it to a LOC of its
    own ("حزب الله وإسرائيل")."""
    for s, e, typ in spans(tags):
        if e - s < 2 or typ not in ("LOC", "ORG", "PERS"):
            continue
        if typ == "LOC" and not places.is_place(tokens[s:e]):
            for j in range(s + 1, e):
                if tags[j] == "I-LOC" and normalise(tokens[j])[:1] == "و" and len(tokens[j]) > 2:
                    rest = [tokens[j][1:], *tokens[j + 1:e]]
                    if any(places.is_place(rest[:k]) for k in range(1, len(rest) + 1)):
                        tags[j] = "B-LOC"
        elif typ != "LOC":
            for j in range(s + 1, e):
                if normalise(tokens[j])[:1] == "و" and len(tokens[j]) > 2 \
                        and places.is_place([tokens[j][1:], *tokens[j + 1:e]]):
                    set_span(tags, j, e, "LOC")
                    break


CENTRE = _group("مركز")
RESEARCH = _heads("أبحاث", "دراسات", "بحوث")
_IN = normalise("في")
CENTRE_WORDS = 6  # the most words a centre's name takes after أبحاث/دراسات/بحوث


def _definite(token: str) -> bool:
    w = normalise(token)
    return len(w) > 3 and _has_letters(token) and (w.startswith("ال") or (w.startswith("وال") and len(w) > 4))


def research_centres(tokens: Sequence[str], tags: list[str], places: Places, demonyms: Demonyms,
                     heads: Heads | None = None) -> None:
    """مركز + أبحاث/دراسات/بحوث + definite words is a research centre's
    name, ORG: مركز أبحاث التسلح في النزاعات (Conflict Armament Research),
    مركز دراسات الوحدة العربية. The name takes untagged definite words (and
    و + one), and في + an untagged definite word that is not a place (مركز
    دراسات الوحدة العربية في بيروت stops before في); a country adjective
    ends it, outside the name. ANERcorp has one such phrase (مركز دراسات
    الاسلام, untagged there, with الاسلام as MISC) and tags none of its
    other centres (مركز الخليج للأبحاث), so the rule is limited to this
    pattern, which news uses for research institutes by name, and to untagged
    words (مركز أبحاث + الشرق الأوسط, a place the CRF found, is left as it is)."""
    n = len(tokens)
    for i in (heads or Heads(tokens)).at(CENTRE):
        if i + 2 >= n or tags[i] != "O" or normalise(tokens[i + 1]) not in RESEARCH or tags[i + 1] != "O":
            continue
        e = i + 2
        while e < n and e - i - 2 < CENTRE_WORDS:
            if tags[e] == "O" and _definite(tokens[e]) and tokens[e] not in demonyms:
                e += 1
            elif normalise(tokens[e]) == _IN and e + 1 < n and tags[e + 1] == "O" and _definite(tokens[e + 1]) \
                    and tokens[e + 1] not in demonyms \
                    and not any(places.is_place(tokens[e + 1:e + 1 + k]) for k in (1, 2, 3)):
                e += 2
            else:
                break
        if e > i + 2:
            set_span(tags, i, e, "ORG")


MONTH = _group("شهر")


def months_are_not_names(tokens: Sequence[str], tags: list[str], heads: Heads | None = None) -> None:
    """Untag, in place, a span right after شهر ("the month of"): شهر رمضان
    المبارك is a month, not the person رمضان whom the document names
    elsewhere. ANERcorp has no entity in that place (38 times out of
    fold)."""
    for i in (heads or Heads(tokens)).at(MONTH):
        if i + 1 < len(tokens) and tags[i] == "O" and tags[i + 1].startswith("B-"):
            end = _span_ends(tags)[i + 1][0]
            tags[i + 1:end] = ["O"] * (end - i - 1)


TAIL_MARGINAL = 0.45


def unseen_name_tails(tokens: Sequence[str], tags: list[str], marg: np.ndarray, index: dict[str, int],
                      lexicon: Lexicon) -> None:
    """A PERS span takes the untagged word after it when training never saw
    that word and the CRF's marginal of I-PERS there is above
    :data:`TAIL_MARGINAL` (``marg``: tokens x labels, ``index``: label -> column)."""
    col = index["I-PERS"]
    for s, e, typ in spans(tags):
        if typ == "PERS" and e < len(tokens) and tags[e] == "O" and _has_letters(tokens[e]) \
                and marg[e, col] > TAIL_MARGINAL and lexicon.words.get(gaz_key(tokens[e])) is None:
            tags[e] = "I-PERS"
