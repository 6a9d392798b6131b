"""How much the NER figure depends on which slice of ANERcorp is held out.

    python bench/bench_ner_cv.py [--corpus DIR] [--folds 5] [--jobs 2] [--models DIR] [--c1 X --c2 Y]

The README's dev figure is one contiguous slice (the last 10% of
train.txt); the outside evaluation holds out another (the corpus's last
sixth, not in ../shared). This splits train.txt into ``--folds`` contiguous
blocks, trains the shipped recipe (``tasks.ner.train.train``: two-pass CRF,
jackknifed lexicon and name model, places) on the other blocks and scores
each block, token-level exact spans, PERS/LOC/ORG. One model per block, one
core each (about 4 minutes per model on these machines). Also scores the
same models with only the first known-place rule (PERS -> LOC, no CLDR
ORG/untagged rules; ``tasks.ner.places``), per block and pooled over all
blocks (every sentence of train.txt tagged once by a model that did not
see it). And each block as one document through every default step of
``newsflow inspect`` (clean, language, entities, dates; ``bench_ner.every_step``),
as a user runs it: gold entities on lines the clean step cuts count as missed.
Writes ``bench/results/ner_cv.json`` (``ner_cv_folds=N.json`` for another ``--folds``). ``--models DIR`` keeps the block
models in DIR/block<k>of<folds> and reuses them when there and built with
the same FEATURE_VERSION, c1 and c2 (to score a change in the rules after
the CRFs without training them again; delete DIR when training changes
otherwise).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tasks.ner import PLACES_NAME, find_corpus, read_conll, score, score_spans, spans  # noqa: E402
from tasks.ner.train import PARAMS  # noqa: E402


def _block(args):
    corpus, folds, k, models, recipe = args
    from tasks.ner.features import FEATURE_VERSION, read_gazetteers
    from tasks.ner.model import NERModel
    from tasks.ner.places import Places
    from tasks.ner.persons import PersonNames, model_gazetteer
    from tasks import entities
    from tasks.ner import META_PATH
    from tasks.ner.train import train, write_lookups
    from tasks.ner.phrases import write_phrases
    from bench_ner import every_step

    sents = read_conll(Path(corpus) / "train.txt")
    lo, hi = len(sents) * k // folds, len(sents) * (k + 1) // folds
    gaz_entries = read_gazetteers(Path(corpus))
    persons = PersonNames.from_index()
    gazetteer = model_gazetteer(gaz_entries, persons)
    block = [toks for toks, _ in sents[lo:hi]]
    gold = [tags for _, tags in sents[lo:hi]]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(models) / f"block{k}of{folds}" if models else Path(tmp)
        # written last ("<seconds> <feature version> c1=..,c2=.."): a block cut off while training, or trained
        # with other features or regularisation, is trained again
        done = out / "trained"
        tag = f"c1={recipe['c1']},c2={recipe['c2']}"
        mark = done.read_text(encoding="utf-8").split() if done.is_file() else []
        reused = mark[1:] == [FEATURE_VERSION, tag]
        if reused:
            secs = float(mark[0])
        else:
            out.mkdir(parents=True, exist_ok=True)
            secs = train(sents[:lo] + sents[hi:], gazetteer, out, recipe, 4, gaz_entries, persons=persons)
            done.write_text(f"{secs:.1f} {FEATURE_VERSION} {tag}\n", encoding="utf-8")
        # the multi-word names of this block's training sentences (tasks.ner.phrases): written again on every
        # run, so block models kept from before the rule get them too
        write_phrases(out, sents[:lo] + sents[hi:])
        model = NERModel(out, gazetteer)
        pred = model.tag(block)
        # the same model with only the first place rule (PERS -> LOC), as shipped before the CLDR rules
        model.places = Places(json.loads((out / PLACES_NAME).read_text(encoding="utf-8"))["places"])
        pred_rule1 = model.tag(block)
        # the block as one document through every default step of `newsflow inspect`, as a user runs it
        write_lookups(out, sents[:lo] + sents[hi:], gaz_entries)
        (out / META_PATH.name).write_text(json.dumps({"feature_version": FEATURE_VERSION, "params": recipe,
                                                      "trained_on": {"sentences": len(sents) - (hi - lo),
                                                                     "what": f"train.txt without block {k}"}}) + "\n",
                                          encoding="utf-8")
        os.environ[entities.MODEL_ENV] = str(out)
        entities.load_backend.cache_clear()
        gold_every, pred_every = every_step(sents[lo:hi])
    return {"block": k, "sentences": [lo, hi], "train_seconds": round(secs, 1), "model_reused": reused,
            "scores": score(gold, pred),
            "scores_rule1_only": score(gold, pred_rule1), "every_step": score_spans([gold_every], [pred_every]),
            "_spans": ([spans(g) for g in gold], [spans(p) for p in pred], [spans(p) for p in pred_rule1]),
            "_every_step": (gold_every, pred_every)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=2, help="models trained at once (one core each)")
    ap.add_argument("--models", help="keep the block models here and reuse them on the next run")
    ap.add_argument("--c1", type=float, help="L1 weight (default: the shipped recipe's)")
    ap.add_argument("--c2", type=float, help="L2 weight (default: the shipped recipe's)")
    args = ap.parse_args(argv)
    corpus = find_corpus(args.corpus)
    if corpus is None:
        print("ANERcorp not found (data/anercorp/ or ../shared/data/anercorp/; or --corpus)", file=sys.stderr)
        return 2
    params = {k: v for k, v in (("c1", args.c1), ("c2", args.c2)) if v is not None}
    recipe = {**PARAMS, **params}
    jobs = [(str(corpus), args.folds, k, args.models, recipe) for k in range(args.folds)]
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
    # every sentence of train.txt scored once, by a model that did not see it
    gold = [g for b in blocks for g in b["_spans"][0]]
    pooled = score_spans(gold, [p for b in blocks for p in b["_spans"][1]])
    pooled_rule1 = score_spans(gold, [p for b in blocks for p in b["_spans"][2]])
    every = score_spans(*zip(*(b["_every_step"] for b in blocks)))
    for b in blocks:
        del b["_spans"], b["_every_step"]
    summary["pooled"] = {t: pooled[t]["f1"] for t in types}
    summary["pooled_rule1_only"] = {t: pooled_rule1[t]["f1"] for t in types}
    summary["pooled_every_step"] = {t: every[t]["f1"] for t in types}
    print("pooled over all blocks, F1:  " + "  ".join(f"{t} {pooled[t]['f1']:.4f}" for t in types))
    print("  places rule 1 only (PERS->LOC): " + "  ".join(f"{t} {pooled_rule1[t]['f1']:.4f}" for t in types))
    print("  each block as one document through every default step of `newsflow inspect` (clean, language, entities, "
          "dates): " + "  ".join(f"{t} {every[t]['f1']:.4f}" for t in types))
    print("  per block, every step: " + " ".join(f"{b['every_step']['overall']['f1']:.4f}" for b in blocks))
    print("  per block, rule 1 only: " + " ".join(f"{b['scores_rule1_only']['overall']['f1']:.4f}" for b in blocks))
    # the shipped recipe's figures over 5 blocks in ner_cv.json; another c1/c2 or number of blocks in its own file
    suffix = "".join(f"_{k}={v}" for k, v in sorted(params.items())) + ("" if args.folds == 5 else f"_folds={args.folds}")
    out = ROOT / "bench" / "results" / f"ner_cv{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": "ner_cv", "folds": args.folds, "params": recipe,
                               "summary": summary, "blocks": blocks},
                              indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
