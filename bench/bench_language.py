"""Language step benchmark: accuracy on the hand-made labelled set, Arabic/Persian
confusion, reliability of ``language_score``, and speed on 3 KB articles.

    python bench/bench_language.py            # measure, print a table, write bench/results/language.json
    python bench/bench_language.py --fit      # also refit tasks/data/lang/calibration.json
    python bench/bench_language.py --quick    # skip the slow second-opinion comparison

Labelled set (``bench/lang``, see ``bench/lang/build_set.py``): hand-written
news-style sentences in ar fa ur en fr de es tr ru he, and word pairs cut from
them or drawn from wordfreq's frequency lists.

Calibration is fitted on the even-numbered items and the reliability reported
on the odd-numbered ones, so the reported curve is not measured on its own fit.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tasks import language as L  # noqa: E402

LANG_DIR = ROOT / "bench" / "lang"
RESULTS = ROOT / "bench" / "results" / "language.json"
CALIBRATION = ROOT / "tasks" / "data" / "lang" / "calibration.json"
TEN = ["ar", "fa", "ur", "en", "fr", "de", "es", "tr", "ru", "he"]


def load_set() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    sents = []
    for p in sorted(LANG_DIR.glob("sentences_*.tsv")):
        for line in p.read_text(encoding="utf-8").splitlines():
            if line.strip():
                lang, text = line.split("\t", 1)
                sents.append((lang, text.strip()))
    pairs = [tuple(line.split("\t")[:2]) for line in
             (LANG_DIR / "wordpairs.tsv").read_text(encoding="utf-8").splitlines() if line.strip()]
    return sents, pairs


# ---------------------------------------------------------------- detectors compared
def langdetect_alone():
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0

    def f(text: str) -> str:
        try:
            return detect(text).split("-")[0]
        except LangDetectException:
            return "und"
    return f


def ours():
    step_primary = frozenset(L.PRIMARY)
    return lambda text: L.detect(text, step_primary)["language"]


def lingua_alone(low: bool = False):
    from lingua import LanguageDetectorBuilder

    b = LanguageDetectorBuilder.from_all_languages()
    det = (b.with_low_accuracy_mode() if low else b).build()

    def f(text: str) -> str:
        r = det.detect_language_of(text)
        return r.iso_code_639_1.name.lower() if r else "und"
    return f


def py3langid_alone():
    import py3langid

    return lambda text: py3langid.classify(text)[0]


def score(fn, data) -> dict:
    wrong: Counter = Counter()
    ok = 0
    t0 = time.perf_counter()
    for lang, text in data:
        pred = fn(text)
        if pred == lang:
            ok += 1
        else:
            wrong[(lang, pred)] += 1
    n_ar_fa = sum(1 for lang, _ in data if lang in ("ar", "fa"))
    arfa = wrong[("ar", "fa")] + wrong[("fa", "ar")]
    return {"n": len(data), "accuracy": round(ok / len(data), 4),
            "ar_fa_confusions": arfa, "ar_fa_confusion_rate": round(arfa / max(n_ar_fa, 1), 4),
            "seconds": round(time.perf_counter() - t0, 2),
            "top_errors": [f"{a}->{b}:{n}" for (a, b), n in wrong.most_common(6)]}


# ---------------------------------------------------------------- calibration
def raw_scores(data) -> list[tuple[float, bool]]:
    out = []
    for lang, text in data:
        r = L.detect(text)
        out.append((r.get("raw", 0.0), r["language"] == lang))
    return out


def fit_isotonic(points: list[tuple[float, bool]], bins: int = 12) -> tuple[list[float], list[float]]:
    """Equal-count bins, then pool-adjacent-violators so the map is monotone."""
    pts = sorted(points)
    size = max(len(pts) // bins, 1)
    blocks = []  # [mean raw, accuracy, weight]
    for i in range(0, len(pts), size):
        chunk = pts[i:i + size]
        blocks.append([sum(p for p, _ in chunk) / len(chunk), sum(c for _, c in chunk) / len(chunk),
                       len(chunk)])
    merged: list[list[float]] = []
    for b in blocks:
        merged.append(b)
        while len(merged) > 1 and merged[-2][1] > merged[-1][1]:
            b2, b1 = merged.pop(), merged.pop()
            w = b1[2] + b2[2]
            merged.append([(b1[0] * b1[2] + b2[0] * b2[2]) / w, (b1[1] * b1[2] + b2[1] * b2[2]) / w, w])
    xs = [round(b[0], 6) for b in merged]
    # never claim certainty from a finite sample: add-one smoothing per block
    ys = [round((b[1] * b[2] + 0.5) / (b[2] + 1), 4) for b in merged]
    return xs, ys


def reliability(points: list[tuple[float, float, bool]], edges=(0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.01)):
    rows = []
    ece = 0.0
    for lo, hi in zip(edges, edges[1:]):
        sel = [(s, c) for _, s, c in points if lo <= s < hi]
        if not sel:
            continue
        conf = sum(s for s, _ in sel) / len(sel)
        acc = sum(c for _, c in sel) / len(sel)
        ece += len(sel) / len(points) * abs(conf - acc)
        rows.append({"bin": f"[{lo:.2f},{min(hi, 1.0):.2f}]", "n": len(sel),
                     "mean_score": round(conf, 4), "accuracy": round(acc, 4)})
    return rows, round(ece, 4)


# ---------------------------------------------------------------- speed
def cut_bytes(text: str, size: int) -> str:
    return text.encode("utf-8")[:size].decode("utf-8", "ignore")


def articles(sents, n_per_lang: int = 12, size: int = 3072) -> list[tuple[str, str]]:
    """3 KB (UTF-8) articles, labelled: the seeds, and shuffled sentences of one language in paragraphs."""
    rng = random.Random(0)
    docs = [("ar", cut_bytes(p.read_text(encoding="utf-8"), size)) for p in sorted((ROOT / "seeds").glob("*.txt"))]
    by_lang: dict[str, list[str]] = {}
    for lang, s in sents:
        by_lang.setdefault(lang, []).append(s)
    for lang in TEN:
        for _ in range(n_per_lang):
            pool = by_lang[lang][:]
            rng.shuffle(pool)
            text, i = "", 0
            while len(text.encode("utf-8")) < size:
                text += pool[i % len(pool)] + ("\n\n" if i % 3 == 2 else " ")
                i += 1
            docs.append((lang, cut_bytes(text, size)))
    return docs


def speed(fn, docs, repeat: int = 3) -> float:
    for d in docs[:20]:  # warm models
        fn(d)
    best = 0.0
    for _ in range(repeat):
        t0 = time.process_time()
        for d in docs:
            fn(d)
        best = max(best, len(docs) / max(time.process_time() - t0, 1e-9))
    return round(best, 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fit", action="store_true", help="refit tasks/data/lang/calibration.json")
    ap.add_argument("--quick", action="store_true", help="skip lingua/py3langid alone")
    args = ap.parse_args()

    sents, pairs = load_set()
    # speed first, ours before anything else loads big models (their objects slow the GC for everyone)
    labelled_docs = articles(sents)
    docs = [d for _, d in labelled_docs]
    kb = sum(len(d.encode("utf-8")) for d in docs) / len(docs) / 1024
    speeds = {"ours": speed(ours(), docs), "langdetect_alone_full_article": speed(langdetect_alone(), docs)}
    detectors = {"langdetect_alone": langdetect_alone(), "ours": ours()}
    if not args.quick:
        detectors.update({"lingua_high_alone": lingua_alone(), "lingua_low_alone": lingua_alone(low=True),
                          "py3langid_alone": py3langid_alone()})
    accuracy = {name: {"sentences": score(fn, sents), "word_pairs": score(fn, pairs)}
                for name, fn in detectors.items()}

    items = sents + pairs
    raw = raw_scores(items)
    if args.fit:
        xs, ys = fit_isotonic([p for i, p in enumerate(raw) if i % 2 == 0])
        CALIBRATION.write_text(json.dumps({
            "about": "Reliability map raw posterior -> measured accuracy, fitted by bench/bench_language.py "
                     "--fit on the even-numbered items of bench/lang (isotonic, add-one smoothed).",
            "raw": xs, "calibrated": ys}, indent=1) + "\n", encoding="utf-8")
        L._calibration.cache_clear()
    held_out = [(r, L.calibrate(r), c) for i, (r, c) in enumerate(raw) if i % 2 == 1]
    curve, ece = reliability(held_out)

    for name in ("langdetect_alone", "ours"):
        accuracy[name]["articles_3kb"] = score(detectors[name], labelled_docs)

    result = {"labelled_set": {"sentences": len(sents), "word_pairs": len(pairs), "languages": TEN},
              "accuracy": accuracy,
              "calibration_held_out": {"items": len(held_out), "ece": ece, "curve": curve},
              "speed_docs_per_cpu_second": speeds,
              "speed_articles": {"n": len(docs), "mean_kb": round(kb, 2)}}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    print(f"{'detector':22s} {'sent acc':>9s} {'pair acc':>9s} {'ar/fa pairs':>12s}")
    for name, r in accuracy.items():
        print(f"{name:22s} {r['sentences']['accuracy']:9.4f} {r['word_pairs']['accuracy']:9.4f} "
              f"{r['word_pairs']['ar_fa_confusion_rate']:12.4f}")
    print(f"\nlanguage_score reliability (held-out half, n={len(held_out)}, ECE={ece}):")
    for row in curve:
        print(f"  {row['bin']:14s} n={row['n']:5d} score={row['mean_score']:.3f} acc={row['accuracy']:.3f}")
    print(f"\nspeed on {len(docs)} articles of ~{kb:.1f} KB (docs per CPU second, one core):")
    for name, v in speeds.items():
        print(f"  {name:32s} {v:8.1f}")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
