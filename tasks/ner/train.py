"""Build the offline NER model: ``python -m tasks.ner.train``.

Reads ANERcorp (``train.txt`` + ``gazetteer-*.txt``) from ``data/anercorp/``
in the repo or ``../shared/data/anercorp/`` (``--corpus`` overrides), holds
out the last 10% of sentences as dev, trains a CRF, reports dev P/R/F1, then
(unless ``--no-final``) retrains on all sentences with the same settings and
writes ``tasks/data/ner/{model.crfsuite,model.json,gazetteer.json,names.json}``.
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

import pycrfsuite

from tasks.ner import (GAZETTEER_PATH, META_PATH, MODEL_DIR, MODEL_PATH, NAMES_PATH, find_corpus,
                       read_conll, score, spans, split_dev)
from tasks.ner.features import FEATURE_VERSION, FeatureExtractor, Gazetteer, normalise, read_gazetteers

PARAMS = {
    "c1": 0.05,  # L1: prunes features, keeps the model small
    "c2": 0.01,
    "max_iterations": 200,
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


def train(sents, gazetteer: Gazetteer, path: Path, params: dict) -> float:
    fx = FeatureExtractor(gazetteer)
    trainer = pycrfsuite.Trainer(verbose=False)
    for toks, tags in sents:
        trainer.append(fx.sentence(toks), tags)
    trainer.set_params(params)
    t0 = time.perf_counter()
    trainer.train(str(path))
    return time.perf_counter() - t0


def evaluate(sents, gazetteer: Gazetteer, path: Path) -> dict:
    fx = FeatureExtractor(gazetteer)
    tagger = pycrfsuite.Tagger()
    tagger.open(str(path))
    pred = [tagger.tag(fx.sentence(toks)) for toks, _ in sents]
    return score([tags for _, tags in sents], pred)


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
    ap.add_argument("--no-final", action="store_true",
                    help="only report dev figures; do not write the shipped model")
    ap.add_argument("--out", default=str(MODEL_DIR), help="output directory (default: the shipped model)")
    args = ap.parse_args(argv)

    corpus = find_corpus(args.corpus)
    if corpus is None:
        print("ANERcorp not found: pass --corpus DIR (needs train.txt)", file=sys.stderr)
        return 2
    params = dict(PARAMS, c1=args.c1, c2=args.c2, max_iterations=args.iterations)
    sents = read_conll(corpus / "train.txt")
    gaz_entries = read_gazetteers(corpus)
    gazetteer = Gazetteer(gaz_entries)
    train_s, dev_s = split_dev(sents, args.dev_fraction)
    print(f"corpus {corpus}: {len(sents)} sentences; train {len(train_s)}, dev {len(dev_s)}")

    with tempfile.TemporaryDirectory() as tmp:
        dev_model = Path(tmp) / "dev.crfsuite"
        secs = train(train_s, gazetteer, dev_model, params)
        dev = evaluate(dev_s, gazetteer, dev_model)
    print(f"dev model trained in {secs:.0f}s; dev scores (exact span, token level):")
    print_scores(dev)
    if args.no_final:
        return 0

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    secs_full = train(sents, gazetteer, out / MODEL_PATH.name, params)
    (out / GAZETTEER_PATH.name).write_text(json.dumps(gaz_entries, ensure_ascii=False, indent=0) + "\n",
                                           encoding="utf-8")
    (out / NAMES_PATH.name).write_text(
        json.dumps(name_vocabulary(sents, gaz_entries), ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    meta = {
        "model": "crf", "feature_version": FEATURE_VERSION, "params": params,
        "corpus": "ANERcorp (CAMeL Lab release), train.txt = first five sixths",
        "dev": {"fraction": args.dev_fraction, "sentences": len(dev_s), "split": "last sentences, contiguous",
                "scores": dev},
        "final_model": {"trained_on": "all sentences of train.txt (train + dev)", "sentences": len(sents),
                        "train_seconds": round(secs_full, 1)},
        "licence": "CC BY-SA 4.0 (ANERcorp, Benajiba et al. 2007)",
    }
    (out / META_PATH.name).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    size = (out / MODEL_PATH.name).stat().st_size
    print(f"final model trained on all {len(sents)} sentences in {secs_full:.0f}s -> {out} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
