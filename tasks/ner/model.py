"""The two-pass CRF tagger (loading and tagging; training is in train.py).

Pass 1 tags each sentence from its own features. Pass 2 sees the same
features plus :func:`tasks.ner.features.doc_features` of the pass-1 tags of
the whole document, so a name tagged confidently once helps its other
mentions. Last, known place names (:mod:`tasks.ner.places`, when the
model directory has ``places.json``): a PERS span that is exactly one, an
ORG span or an untagged run that is exactly a CLDR place, becomes LOC.
"""
from __future__ import annotations

import gc
import json
from contextlib import contextmanager
from pathlib import Path
from typing import Sequence

import pycrfsuite

from tasks.ner import (ATTRIBUTES_NAME, GAZETTEER_PATH, LEXICON_NAME, MODEL_DIR, NAME_MODEL_NAME, PASS1_NAME, PASS2_NAME,
                       PLACES_NAME)
from tasks.ner import spans
from tasks.ner.features import FeatureExtractor, Gazetteer, Lexicon, doc_features, normalise
from tasks.ner.names import NameModel
from tasks.ner.persons import PersonNames, model_gazetteer
from tasks.ner.places import Places


class NERModel:
    def __init__(self, model_dir: Path = MODEL_DIR, gazetteer: Gazetteer | None = None):
        d = Path(model_dir)
        persons = PersonNames.load(d)  # absent in models built before it
        if gazetteer is None:
            gazetteer = model_gazetteer(json.loads((d / GAZETTEER_PATH.name).read_text(encoding="utf-8")), persons)
        lexicon = Lexicon.from_json(json.loads((d / LEXICON_NAME).read_text(encoding="utf-8")))
        attrs = d / ATTRIBUTES_NAME
        known = set(attrs.read_text(encoding="utf-8").split("\n")) if attrs.is_file() else None
        names = NameModel.from_json(json.loads((d / NAME_MODEL_NAME).read_text(encoding="utf-8")))
        self.features = FeatureExtractor(gazetteer, lexicon, known, names, persons)
        places = d / PLACES_NAME
        self.places = Places.from_json(json.loads(places.read_text(encoding="utf-8")) if places.is_file() else [])
        self.lexicon = lexicon
        self.pass1 = pycrfsuite.Tagger()
        self.pass1.open(str(d / PASS1_NAME))
        self.pass2 = pycrfsuite.Tagger()
        self.pass2.open(str(d / PASS2_NAME))

    def tag(self, sentences: Sequence[Sequence[str]], confidence: bool = False):
        """BIO tags per sentence (with per-token confidences if asked)."""
        with _no_cyclic_gc():
            return self._tag(sentences, confidence)

    def _tag(self, sentences: Sequence[Sequence[str]], confidence: bool):
        fx = self.features
        fx.prefetch(sentences)
        base = [fx.sentence(toks) for toks in sentences]
        first = [self.pass1.tag(x) for x in base]
        extra = doc_features([fx.keys(toks) for toks in sentences], first)
        out = []
        for toks, x, ex in zip(sentences, base, extra):
            for f, e in zip(x, ex):  # base is not needed after this: extend in place
                f.extend(e)
            tags = self.pass2.tag(x)
            crf_tags = list(tags) if confidence else None
            tags = self.places.retype(toks, tags, self.lexicon)
            media_names_are_org(toks, tags)
            if confidence:
                # the CRF's marginal of the tag it gave (a place retyped from PERS/ORG keeps it); a place the
                # rules found where the CRF saw none gets the CRF's (low) marginal of the place tag
                conf = [1.0 if t == "O" else self.pass2.marginal(t if c == "O" else c, i)
                        for i, (c, t) in enumerate(zip(crf_tags, tags))]
                out.append((tags, conf))
            else:
                out.append(tags)
        tags = [o[0] for o in out] if confidence else out
        split_joined_persons(sentences, tags)
        extend_names_over_connectors(sentences, tags, [o[1] for o in out] if confidence else None)
        return out


# news agency, newspaper, magazine, with the proclitics و ل ب ف; normalised (ة -> ه)
MEDIA_HEADS = frozenset(normalise(p + w) for w in ("وكالة", "صحيفة", "جريدة", "مجلة")
                        for p in ("", "و", "ل", "ب", "ف", "ول", "وب"))
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
            tags[s] = "B-ORG"
            tags[s + 1:e] = ["I-ORG"] * (e - s - 1)


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


# words that join the parts of an Arabic name and cannot end one (سعد بن أبي وقاص, محمد بن راشد آل مكتوم)
NAME_CONNECTORS = frozenset(normalise(w) for w in ("بن", "ابن", "بنت", "أبو", "أبي", "أبا", "عبد", "آل", "بو", "ولد"))


def extend_names_over_connectors(sentences: Sequence[Sequence[str]], tags: Sequence[list[str]],
                                 conf: Sequence[list[float]] | None = None) -> None:
    """Extend, in place, a PERS span that ends in a name connector (بن,
    أبي, عبد, آل...) over the next word when that word is untagged: "سعد بن
    أبي" + "وقاص". The CRF sometimes stops before a last part that starts
    with و or is rare. ``conf``: the new token takes the span's last one."""
    for k, (toks, tt) in enumerate(zip(sentences, tags)):
        for s, e, typ in spans(tt):
            if typ == "PERS" and e < len(toks) and tt[e] == "O" and normalise(toks[e - 1]) in NAME_CONNECTORS \
                    and any(c.isalpha() and c != "ـ" for c in toks[e]):
                tt[e] = "I-PERS"
                if conf is not None:
                    conf[k][e] = conf[k][e - 1]


@contextmanager
def _no_cyclic_gc():
    """Tagging allocates tens of thousands of feature lists that hold no
    reference cycles (reference counting frees them); left on, the cyclic
    collector keeps re-scanning them and the feature cache: about 20% of
    tagging time (bench: 19.8k -> 24k tokens per CPU-second on one core).
    Restored afterwards only if it was on, so nesting/threads cannot leave
    it off."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
