"""How much the NER figure depends on which slice of ANERcorp is held out.

    python bench/bench_ner_cv.py [--corpus DIR] [--folds 5] [--jobs 2]

The README's dev figure is one contiguous slice (the last 10% of
train.txt); the outside evaluation holds out another (the corpus's last
sixth, not in ../shared). This splits train.txt into ``--folds`` contiguous
blocks, trains the shipped recipe (``tasks.ner.train.train``: two-pass CRF,
jackknifed lexicon and name model, places) on the other blocks and scores
each block, token-level exact spans, PERS/LOC/ORG. One model per block, one
core each (about 4 minutes per model on these machines).
Writes ``bench/results/ner_cv.json``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tasks.ner import find_corpus, read_conll  # noqa: E402


def _block(args):
    corpus, folds, k = args
    from tasks.ner.features import Gazetteer, read_gazetteers
    from tasks.ner.train import PARAMS, evaluate, train

    sents = read_conll(Path(corpus) / "train.txt")
    lo, hi = len(sents) * k // folds, len(sents) * (k + 1) // folds
    gaz_entries = read_gazetteers(Path(corpus))
    gazetteer = Gazetteer(gaz_entries)
    with tempfile.TemporaryDirectory() as tmp:
        secs = train(sents[:lo] + sents[hi:], gazetteer, Path(tmp), dict(PARAMS), 4, gaz_entries)
        res = evaluate(sents[lo:hi], Path(tmp), gazetteer)
    return {"block": k, "sentences": [lo, hi], "train_seconds": round(secs, 1), "scores": res}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=2, help="models trained at once (one core each)")
    args = ap.parse_args(argv)
    corpus = find_corpus(args.corpus)
    if corpus is None:
        print("ANERcorp not found (data/anercorp/ or ../shared/data/anercorp/; or --corpus)", file=sys.stderr)
        return 2
    jobs = [(str(corpus), args.folds, k) for k in range(args.folds)]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        blocks = list(pool.map(_block, jobs))
    types = ("PERS", "LOC", "ORG", "overall")
    print(f"{'block':<6} {'sentences':<12} " + " ".join(f"{t:>8}" for t in types))
    for b in blocks:
        print(f"{b['block']:<6} {b['sentences'][0]:>5}-{b['sentences'][1]:<6} "
              + " ".join(f"{b['scores'][t]['f1']:>8.3f}" for t in types))
    f1 = [b["scores"]["overall"]["f1"] for b in blocks]
    summary = {"mean": round(statistics.mean(f1), 4), "min": round(min(f1), 4), "max": round(max(f1), 4),
               "stdev": round(statistics.stdev(f1), 4) if len(f1) > 1 else 0.0}
    print(f"PERS/LOC/ORG F1 over {args.folds} held-out blocks: mean {summary['mean']:.3f}, "
          f"min {summary['min']:.3f}, max {summary['max']:.3f}, stdev {summary['stdev']:.3f}")
    out = ROOT / "bench" / "results" / "ner_cv.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": "ner_cv", "folds": args.folds, "summary": summary, "blocks": blocks},
                              indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
