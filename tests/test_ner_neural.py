"""The BiLSTM-CRF experiment (tasks.ner.neural): not shipped, but its parts
must do what its figures claim (BIO-valid decoding, marginals that are
probabilities and agree with the decoding)."""
from __future__ import annotations

import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tasks.ner import neural  # noqa: E402

PLACES = ["باريس", "القاهرة", "دمشق", "بغداد", "عمان"]
PEOPLE = [("محمد", "علي"), ("سارة", "حسن"), ("جورج", "بوش")]
FILLER = ["قال", "في", "إن", "اليوم", "زار", "الرئيس", "أمس", "إلى"]


def _sentences(n: int, seed: int):
    """Synthetic tagged sentences: a person name (two tokens) after a
    trigger word and a place after في, each marked by a dense feature too."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        first, last = rng.choice(PEOPLE)
        place = rng.choice(PLACES)
        words = ["قال", first, last, "في", place, rng.choice(FILLER)]
        tags = ["O", "B-PERS", "I-PERS", "O", "B-LOC", "O"]
        feats = [["sh=w"], ["gz=PERS", "sh=w"], ["gz=PERS", "sh=w"], ["sh=w"], ["gz=LOC", "sh=w"], ["sh=w"]]
        out.append((words, words, feats, tags))
    return out


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    train = _sentences(120, 1)
    vocab = neural.Vocab.build([s[0] for s in train], [s[1] for s in train], [s[2] for s in train])
    model, _ = neural.fit(vocab, train, epochs=8, seed=1, log=lambda m: None, hidden=16)
    return model, vocab


def test_learns_a_simple_pattern(trained):
    model, vocab = trained
    test = _sentences(20, 2)
    got = [tags for tags, _ in neural.predict(model, vocab, test)]
    assert got == [s[3] for s in test]


def test_decoding_is_bio_valid_on_any_input(trained):
    model, vocab = trained
    rng = random.Random(3)
    words = [w for p in PEOPLE for w in p] + PLACES + FILLER + ["غريب"]
    sents = []
    for _ in range(30):
        toks = [rng.choice(words) for _ in range(rng.randint(1, 9))]
        sents.append((toks, toks, [["gz=LOC"] if rng.random() < 0.3 else [] for _ in toks]))
    sents.append(([], [], []))
    for tags, conf in neural.predict(model, vocab, sents):
        assert len(tags) == len(conf)
        prev = "O"
        for t in tags:
            assert not (t.startswith("I-") and prev[2:] != t[2:]), tags
            prev = t
        assert all(0.0 <= c <= 1.0 for c in conf)


def test_marginals_are_probabilities_and_agree_with_decoding(trained):
    model, vocab = trained
    test = _sentences(10, 4)
    marg = neural.network_marginals(model, vocab, test)
    for m, s in zip(marg, test):
        assert m.shape == (len(s[0]), len(neural.LABELS))
        assert np.allclose(m.sum(1), 1.0, atol=1e-4)
        assert neural._viterbi(m) == s[3]


def test_repair_turns_a_stray_inside_tag_into_a_beginning():
    assert neural.repair(["O", "I-ORG", "I-ORG", "B-LOC", "I-PERS"]) == ["O", "B-ORG", "I-ORG", "B-LOC", "B-PERS"]
