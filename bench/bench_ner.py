"""NER benchmark: dev-split quality and single-core speed of the entities step.

    python bench/bench_ner.py [--corpus DIR] [--model DIR] [--speed-sentences N]

Quality: the ANERcorp dev split (last 10% of train.txt) is fed through
``EntityStep`` the way the outside evaluation does it: tokens joined by spaces, one sentence per line; entities compared by
exact character span and type. Two settings: the whole dev split as one
document, and each sentence as its own document (no document context). A
third, ``dev_every_step``: the dev split as one document through all of
``newsflow inspect``'s default steps (clean, language, entities, dates), as a
user would run it; gold entities on lines the clean step cuts count as missed,
the others are moved to their line's offset in the clean text.
The dev split is held out only from a model trained on the train split
(``model.json`` -> ``trained_on``); the shipped model is retrained on
train+dev, so it is flagged (``dev_held_out: false``) and its dev figures
are not a measure. To measure: ``python -m tasks.ner.train --train-only
--out /tmp/ner-train`` then ``python bench/bench_ner.py --model /tmp/ner-train``.

Speed: tokens per second of the whole step (tokenise, features, two CRF
passes, canonicalise) on one core (wall clock, and per CPU second, which
other load on a shared machine disturbs less), with a cold feature cache, over documents
of 30 sentences from ANERcorp; model loading is timed separately. And
``long_document``: all of train.txt (125k tokens) as one document through
the step, its CPU seconds and the peak memory the step allocates.
Writes ``bench/results/ner.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsflow.document import Document  # noqa: E402
from tasks import entities  # noqa: E402
from tasks.ner import MAIN_TYPES, as_document, find_corpus, read_conll, score_spans, split_dev  # noqa: E402


def _docs(sents, per_doc):
    """Documents of ``per_doc`` sentences, one per line, with gold char spans."""
    return [as_document(sents[i:i + per_doc]) for i in range(0, len(sents), per_doc)]


def quality(step, sents, per_doc):
    docs = _docs(sents, per_doc)
    pred = []
    for text, _ in docs:
        d = step.process(Document.from_content(text, "anercorp-dev", language="ar"))
        pred.append({(e.start, e.end, e.type) for e in d.entities})
    return score_spans([g for _, g in docs], pred)


def every_step(sents) -> tuple[set, set]:
    """Gold and predicted spans of ``sents`` as one document through every
    default step, in the clean text's offsets (gold on a cut line can only be missed)."""
    from newsflow.pipeline import DEFAULT_STAGES, Pipeline

    text, gold = as_document(sents)
    doc = Pipeline(DEFAULT_STAGES).run([Document.from_content(text, "anercorp-dev")]).documents[0]
    cut = {r.line for r in doc.removed}
    moved, at, start = {}, 0, 0  # input line start -> its offset in the clean text
    for no, line in enumerate(text.split("\n"), 1):
        if no not in cut and line:
            at = doc.text.index(line, at)
            moved[start] = at
            at += len(line)
        start += len(line) + 1
    kept = set()
    for s, e, t in gold:
        line_start = text.rfind("\n", 0, s) + 1
        kept.add((s - line_start + moved[line_start], e - line_start + moved[line_start], t) if line_start in moved
                 else (-1 - s, -1 - e, t))
    return kept, {(e.start, e.end, e.type) for e in doc.entities}


def speed(sents, per_doc):
    entities.load_backend.cache_clear()
    t0 = time.perf_counter()
    step = entities.EntityStep("offline")
    step.backend  # noqa: B018 - loads the model
    load = time.perf_counter() - t0
    docs = [Document.from_content(text, "bench", language="ar") for text, _ in _docs(sents, per_doc)]
    tokens = sum(len(toks) for toks, _ in sents)
    t0, c0 = time.perf_counter(), time.process_time()
    for d in docs:
        step.process(d)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"tokens": tokens, "docs": len(docs), "seconds": round(secs, 3), "cpu_seconds": round(cpu, 3),
            "tokens_per_second": round(tokens / secs), "tokens_per_cpu_second": round(tokens / cpu),
            "model_load_seconds": round(load, 3)}


def long_document(sents) -> dict:
    """All of ``sents`` as one document (tokens joined by spaces, a sentence
    per line) through the entity step, model loaded first and token cache
    cold: CPU seconds, and the peak memory the step allocates on top of the
    loaded model (tracemalloc, numpy's arrays included; a second run, as
    tracing slows Python down)."""
    import tracemalloc

    text, _ = as_document(sents)
    entities.load_backend.cache_clear()
    step = entities.EntityStep("offline")
    ner = step.backend.ner
    out = {"sentences": len(sents), "tokens": sum(len(toks) for toks, _ in sents), "characters": len(text)}
    for traced in (False, True):
        ner._cache.clear()
        doc = Document.from_content(text, "bench-long", language="ar")
        if traced:
            tracemalloc.start()
        c0 = time.process_time()
        step.process(doc)
        if traced:
            out["peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
            tracemalloc.stop()
        else:
            out["cpu_seconds"] = round(time.process_time() - c0, 2)
            out["entities"] = len(doc.entities)
    return out


def python_loop_seconds(n: int = 5_000_000) -> float:
    """CPU seconds of a fixed pure-Python loop: how fast this machine runs
    Python right now. Shared hosts vary by 2x and more between runs; the
    step's tokens per CPU-second move with this figure, so it is recorded
    beside them (the loop's best of three, before and after the timing)."""
    best = float("inf")
    for _ in range(3):
        c0 = time.process_time()
        s = 0
        for i in range(n):
            s += i
        best = min(best, time.process_time() - c0)
    return round(best, 3)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus")
    ap.add_argument("--model", help="offline model directory (default: the shipped one; sets $NEWSFLOW_NER_MODEL)")
    ap.add_argument("--speed-sentences", type=int, default=2000,
                    help="ANERcorp sentences to time the step on (default 2000, ~60k tokens)")
    args = ap.parse_args(argv)
    corpus = find_corpus(args.corpus)
    if corpus is None:
        print("ANERcorp not found (data/anercorp/ or ../shared/data/anercorp/; or --corpus)", file=sys.stderr)
        return 2
    if args.model:
        os.environ[entities.MODEL_ENV] = args.model
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    sents = read_conll(corpus / "train.txt")
    _, dev = split_dev(sents)

    loop_before = python_loop_seconds()
    spd = speed(sents[:args.speed_sentences], 30)
    spd["python_loop_5m_cpu_seconds"] = [loop_before, python_loop_seconds()]
    step = entities.EntityStep("offline")
    as_doc = quality(step, dev, len(dev))
    per_sentence = quality(step, dev, 1)
    through = score_spans(*([x] for x in every_step(dev)))
    long = long_document(sents)

    from tasks.ner import META_PATH
    meta = step.backend.model_dir / META_PATH.name
    trained_on = json.loads(meta.read_text(encoding="utf-8")).get("trained_on", {})
    held_out = trained_on.get("sentences", 0) <= len(sents) - len(dev)
    if not held_out:
        print(f"WARNING: the shipped model was trained on dev too ({trained_on.get('what')}): "
              "the dev figures below are NOT held out", file=sys.stderr)
    print(f"dev split: {len(dev)} sentences, exact character spans")
    print(f"{'':<18} {'one document':^22} {'sentence per doc':^22}")
    print(f"{'type':<18} {'P':>6} {'R':>7} {'F1':>7}  {'P':>6} {'R':>7} {'F1':>7}  {'gold':>5}")
    for k in (*MAIN_TYPES, "MISC", "overall", "overall_with_misc"):
        a, b = as_doc[k], per_sentence[k]
        print(f"{k:<18} {a['precision']:>6.3f} {a['recall']:>7.3f} {a['f1']:>7.3f}  "
              f"{b['precision']:>6.3f} {b['recall']:>7.3f} {b['f1']:>7.3f}  {a['support']:>5}")
    print(f"every default step, dev as one document: PERS/LOC/ORG F1 {through['overall']['f1']:.3f} "
          f"(P {through['overall']['precision']:.3f}, R {through['overall']['recall']:.3f})")
    print(f"speed: {spd['tokens_per_second']} tokens/s wall, {spd['tokens_per_cpu_second']} tokens/CPU-s, "
          f"one core ({spd['tokens']} tokens, "
          f"{spd['docs']} docs, {spd['seconds']} s; model load {spd['model_load_seconds']} s)")
    print(f"one long document (all of train.txt, {long['tokens']} tokens, {long['entities']} entities): "
          f"{long['cpu_seconds']} CPU-s, peak {long['peak_mb']} MB allocated by the step")
    print(f"machine: a 5M-iteration Python loop takes {spd['python_loop_5m_cpu_seconds'][0]} / "
          f"{spd['python_loop_5m_cpu_seconds'][1]} CPU-s before / after (slower host, fewer tokens per CPU-s)")

    out = {"benchmark": "ner", "backend": step.backend.name, "model": step.backend.model,
           "model_dir": str(step.backend.model_dir), "trained_on": trained_on,
           "dev_sentences": len(dev), "dev_held_out": held_out,
           "dev_one_document": as_doc, "dev_sentence_per_document": per_sentence,
           "dev_every_step": through,
           "speed_single_core": spd, "long_document": long, "python": platform.python_version(), "machine": platform.machine()}
    path = ROOT / "bench" / "results" / "ner.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
