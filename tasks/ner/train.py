"""Build the offline NER model: ``python -m tasks.ner.train``.

Reads ANERcorp (``train.txt`` + ``gazetteer-*.txt``) from ``data/anercorp/``
in the repo or ``../shared/data/anercorp/`` (``--corpus`` overrides), holds
out the last 10% of sentences as dev, trains the two-pass CRF on the rest and
reports dev P/R/F1 (held out), then retrains on all sentences (train + dev)
and writes ``tasks/data/ner/`` (``pass1.crfsuite``, ``pass2.crfsuite``,
``lexicon.json``, ``namemodel.json``, ``attributes.txt``, ``places.json``, ``clubs.json``, ``phrases.json``, ``model.json`` with
the held-out dev figures, ``gazetteer.json``, ``names.json``): the shipped
model has seen dev, so measure with ``--train-only --out DIR``, which writes
the train-split model instead (``bench/bench_ner.py --model DIR`` then gives
held-out figures through the step); ``--no-write`` only reports.
Deterministic: L-BFGS with fixed parameters and a fixed data order.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Sequence

import pycrfsuite

from tasks.ner import (ATTRIBUTES_NAME, GAZETTEER_PATH, LEXICON_NAME, META_PATH, MODEL_DIR, NAME_MODEL_NAME, NAMES_PATH,
                       PASS1_NAME, PASS2_NAME, PASS2_SHORT_NAME, PLACES_NAME, crf_paths, find_corpus, read_conll, score,
                       spans, split_dev)
from tasks.ner import names as name_model
from tasks.ner import places as place_list
from tasks.ner.clubs import club_names, write_clubs
from tasks.ner.crf import CRFWeights
from tasks.ner.persons import PersonNames, model_gazetteer
from tasks.ner.model import NERModel
from tasks.ner.phrases import write_phrases
from tasks.ner.features import (FEATURE_VERSION, FeatureExtractor, Gazetteer, Lexicon, doc_features, normalise,
                                gaz_key, read_gazetteers, with_extra)

PARAMS = {
    "c1": 0.1,  # L1: prunes features, keeps the model small
    "c2": 0.001,
    "max_iterations": 100,
    "feature.possible_transitions": True,
    "feature.minfreq": 1,
}


def name_vocabulary(sents, gaz_entries: dict[str, list[str]]) -> dict[str, int]:
    """How often each normalised word occurs inside an entity (training data
    and gazetteers): lets canonicalisation tell a proclitic (وبوتين) from a
    name's first letter (فلاديمير)."""
    vocab: Counter = Counter()
    for toks, tags in sents:
        for s, e, _ in spans(tags):
            vocab.update(normalise(w) for w in toks[s:e])
    for names in gaz_entries.values():
        for name in names:
            vocab.update(normalise(w) for w in name.split())
    return {w: c for w, c in sorted(vocab.items()) if len(w) > 1}


def _train_crf(xseqs, yseqs, path: Path, params: dict) -> None:
    trainer = pycrfsuite.Trainer(verbose=False)
    for x, y in zip(xseqs, yseqs):
        trainer.append(x, y)
    trainer.set_params(params)
    trainer.train(str(path))


def _folds(n: int, folds: int) -> list[tuple[int, int]]:
    return [(n * k // folds, n * (k + 1) // folds) for k in range(folds)]


def model_attributes(model_dir: Path) -> list[str]:
    """The feature names either pass has weights for."""
    return sorted(CRFWeights.from_crfsuite(crf_paths(model_dir)).attr)


def train(sents, gazetteer: Gazetteer, out: Path, params: dict, folds: int = 4,
          gaz_entries: dict[str, list[str]] | None = None, keep: dict | None = None,
          persons: PersonNames | None = None, clubs: Sequence[str] | None = None) -> float:
    """Train both passes into ``out`` (pass 2 twice: for documents of any length
    and for short ones), with ``lexicon.json``, ``namemodel.json``,
    ``attributes.txt``, ``places.json``, ``clubs.json`` (``clubs``, or the
    ArWikiCats package's list) and, given ``persons``, ``persons.json``.
    ``gazetteer`` should then be built from ``persons.gazetteer_entries``
    (:func:`tasks.ner.persons.model_gazetteer`), as the tagger will build it.

    Jackknifing, over ``folds`` contiguous folds: a training sentence's
    lexicon features (:class:`tasks.ner.features.Lexicon`: how its words were
    tagged in training) come from the other folds only, so the model sees
    as many unseen words in training as it will in use; and pass 2 learns
    from pass-1 tags that pass-1 models produced without seeing those
    sentences, so it sees realistic first-pass mistakes. The name model
    (:mod:`tasks.ner.names`) is jackknifed over folds of word types.

    ``keep``, if given, receives these jackknifed inputs (``x1``: pass-1
    features, ``first``: pass-1 tags, ``extra``: document features, ``keys``)
    for a model stacked on them (:mod:`tasks.ner.neural`)."""
    t0 = time.perf_counter()
    lexicon = Lexicon.learn(sents)
    names, held_out = name_model.fit_jackknifed(name_model.word_types(sents, gaz_entries or {}, gaz_key), folds)
    train_names = names.with_known(held_out)
    toks = [t for t, _ in sents]
    gold = [g for _, g in sents]
    x1: list = []
    for lo, hi in _folds(len(sents), folds):
        fold_lex = Lexicon.learn(sents[:lo] + sents[hi:], triggers_from=sents)
        fx = FeatureExtractor(gazetteer, fold_lex, names=train_names, persons=persons)
        x1.extend(fx.sentence(t) for t in toks[lo:hi])
    first: list = [None] * len(sents)
    with tempfile.TemporaryDirectory() as tmp:
        for k, (lo, hi) in enumerate(_folds(len(sents), folds)):
            path = Path(tmp) / f"fold{k}.crfsuite"
            _train_crf(x1[:lo] + x1[hi:], gold[:lo] + gold[hi:], path, params)
            tagger = pycrfsuite.Tagger()
            tagger.open(str(path))
            for i in range(lo, hi):
                first[i] = tagger.tag(x1[i])
            tagger.close()
    _train_crf(x1, gold, out / PASS1_NAME, params)
    fx = FeatureExtractor(gazetteer, lexicon, names=names, persons=persons)
    keys = [fx.keys(t) for t in toks]
    extra = doc_features(keys, first)
    _train_crf([with_extra(x, ex) for x, ex in zip(x1, extra)], gold, out / PASS2_NAME, params)
    # pass 2 for short documents: the same, but each sentence is its own document (window 0), so the document
    # features come from that sentence alone. Pass 2 learns to lean on the other mentions of a name within 15 sentences; a
    # document of one sentence has none, and there the first pass 2 did worse than pass 1 (tasks.ner.model)
    solo = doc_features(keys, first, window=0)
    _train_crf([with_extra(x, ex) for x, ex in zip(x1, solo)], gold, out / PASS2_SHORT_NAME, params)
    if keep is not None:
        keep.update(x1=x1, first=first, extra=extra, keys=keys)
    (out / LEXICON_NAME).write_text(json.dumps(lexicon.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n",
                                    encoding="utf-8")
    (out / NAME_MODEL_NAME).write_text(json.dumps(names.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n",
                                       encoding="utf-8")
    (out / ATTRIBUTES_NAME).write_text("\n".join(model_attributes(out)) + "\n", encoding="utf-8")
    write_places(out, gaz_entries or {})
    write_clubs(out, clubs)
    write_phrases(out, sents)
    if persons is not None:
        persons.write(out)
    return time.perf_counter() - t0


def write_places(out: Path, gaz_entries: dict[str, list[str]]) -> None:
    """``places.json`` (tasks.ner.places); the CRFs do not depend on it."""
    (out / PLACES_NAME).write_text(json.dumps(place_list.place_lists(gaz_entries), ensure_ascii=False, indent=0) + "\n",
                                   encoding="utf-8")


def write_lookups(out: Path, sents, gaz_entries: dict[str, list[str]]) -> None:
    """What the pipeline's backend reads beside the CRFs: the gazetteer and the
    name vocabulary of the sentences the model was trained on."""
    (out / GAZETTEER_PATH.name).write_text(json.dumps(gaz_entries, ensure_ascii=False, indent=0) + "\n",
                                           encoding="utf-8")
    (out / NAMES_PATH.name).write_text(json.dumps(name_vocabulary(sents, gaz_entries), ensure_ascii=False,
                                                  separators=(",", ":")) + "\n", encoding="utf-8")


def evaluate(sents, model_dir: Path, gazetteer: Gazetteer) -> dict:
    """Dev scores; the dev sentences are tagged as one stream, like a document."""
    model = NERModel(model_dir, gazetteer)
    return score([tags for _, tags in sents], model.tag([toks for toks, _ in sents]))


def print_scores(res: dict, out=sys.stdout) -> None:
    print(f"{'type':<18} {'P':>7} {'R':>7} {'F1':>7} {'gold':>6}", file=out)
    for k, v in res.items():
        print(f"{k:<18} {v['precision']:>7.4f} {v['recall']:>7.4f} {v['f1']:>7.4f} {v['support']:>6}", file=out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", help="directory with ANERcorp train.txt and gazetteer-*.txt")
    ap.add_argument("--dev-fraction", type=float, default=0.1)
    ap.add_argument("--c1", type=float, default=PARAMS["c1"])
    ap.add_argument("--c2", type=float, default=PARAMS["c2"])
    ap.add_argument("--iterations", type=int, default=PARAMS["max_iterations"])
    ap.add_argument("--folds", type=int, default=4, help="folds for the pass-1 tags pass 2 learns from")
    ap.add_argument("--no-write", action="store_true",
                    help="only report dev figures; do not write the model")
    ap.add_argument("--train-only", action="store_true",
                    help="write the model trained without dev (to measure it), not the one retrained on all sentences")
    ap.add_argument("--out", default=str(MODEL_DIR), help="output directory (default: the shipped model)")
    args = ap.parse_args(argv)

    corpus = find_corpus(args.corpus)
    if corpus is None:
        print("ANERcorp not found: pass --corpus DIR (needs train.txt)", file=sys.stderr)
        return 2
    params = dict(PARAMS, c1=args.c1, c2=args.c2, max_iterations=args.iterations)
    sents = read_conll(corpus / "train.txt")
    gaz_entries = read_gazetteers(corpus)
    persons = PersonNames.from_index()
    clubs = club_names()  # read once for both trainings
    gazetteer = model_gazetteer(gaz_entries, persons)
    train_s, dev_s = split_dev(sents, args.dev_fraction)
    print(f"corpus {corpus}: {len(sents)} sentences; train {len(train_s)}, dev {len(dev_s)}")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) if args.no_write else out
        secs = train(train_s, gazetteer, work, params, args.folds, gaz_entries, persons=persons, clubs=clubs)
        dev = evaluate(dev_s, work, gazetteer)
    print(f"model trained on {len(train_s)} sentences in {secs:.0f}s; dev scores (exact span, token level):")
    print_scores(dev)
    if args.no_write:
        return 0
    trained_on = {"sentences": len(train_s), "what": "train split only (dev held out)", "seconds": round(secs, 1)}
    if not args.train_only:
        secs = train(sents, gazetteer, out, params, args.folds, gaz_entries, persons=persons, clubs=clubs)
        trained_on = {"sentences": len(sents), "what": "all of train.txt (train + dev)", "seconds": round(secs, 1)}
        print(f"retrained on all {len(sents)} sentences in {secs:.0f}s")
    write_lookups(out, train_s if args.train_only else sents, gaz_entries)
    meta = {
        "model": "two-pass crf (pass 2 in two versions: documents of any length, short documents)",
        "folds": args.folds, "feature_version": FEATURE_VERSION, "params": params,
        "corpus": "ANERcorp (CAMeL Lab release), train.txt = first five sixths",
        "dev": {"fraction": args.dev_fraction, "sentences": len(dev_s), "split": "last sentences, contiguous",
                "scores": dev, "scored_by": "the model trained on the train split only (dev held out)"},
        "trained_on": trained_on,
        "licence": "CC BY-SA 4.0 (ANERcorp, Benajiba et al. 2007)",
    }
    (out / META_PATH.name).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    size = sum(p.stat().st_size for p in crf_paths(out))
    print(f"model written to {out} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
