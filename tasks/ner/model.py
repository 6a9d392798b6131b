"""The two-pass CRF tagger (loading and tagging; training is in train.py).

Pass 1 tags each sentence from its own features. Pass 2 sees the same
features plus :func:`tasks.ner.features.doc_features` of the pass-1 tags of
the whole document, so a name tagged confidently once helps its other
mentions.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import pycrfsuite

from tasks.ner import ATTRIBUTES_NAME, GAZETTEER_PATH, LEXICON_NAME, MODEL_DIR, PASS1_NAME, PASS2_NAME
from tasks.ner.features import FeatureExtractor, Gazetteer, Lexicon, doc_features, with_extra


class NERModel:
    def __init__(self, model_dir: Path = MODEL_DIR, gazetteer: Gazetteer | None = None):
        d = Path(model_dir)
        if gazetteer is None:
            gazetteer = Gazetteer(json.loads((d / GAZETTEER_PATH.name).read_text(encoding="utf-8")))
        lexicon = Lexicon.from_json(json.loads((d / LEXICON_NAME).read_text(encoding="utf-8")))
        attrs = d / ATTRIBUTES_NAME
        known = set(attrs.read_text(encoding="utf-8").split("\n")) if attrs.is_file() else None
        self.features = FeatureExtractor(gazetteer, lexicon, known)
        self.pass1 = pycrfsuite.Tagger()
        self.pass1.open(str(d / PASS1_NAME))
        self.pass2 = pycrfsuite.Tagger()
        self.pass2.open(str(d / PASS2_NAME))

    def tag(self, sentences: Sequence[Sequence[str]], confidence: bool = False):
        """BIO tags per sentence (with per-token confidences if asked)."""
        fx = self.features
        base = [fx.sentence(toks) for toks in sentences]
        first = [self.pass1.tag(x) for x in base]
        extra = doc_features([fx.keys(toks) for toks in sentences], first)
        out = []
        for x, ex in zip(base, extra):
            tags = self.pass2.tag(with_extra(x, ex))
            if confidence:
                conf = [self.pass2.marginal(t, i) if t != "O" else 1.0 for i, t in enumerate(tags)]
                out.append((tags, conf))
            else:
                out.append(tags)
        return out
