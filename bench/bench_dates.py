"""Benchmark the date step against dateparser's ``search_dates``.

    python bench/bench_dates.py [--dp-sample 500] [--repeat 30]

1. Speed: time per article of ``tasks.dates.find_dates`` vs
   ``dateparser.search.search_dates`` on the same articles (the 5 seeds plus
   ``bench/dates/articles/*.txt``), both warm (after a warm-up call), median of
   repeated runs, in one process; the ratio is the figure to read.
2. Accuracy on the CLDR-built held-out expressions (``bench/dates/heldout.py``):
   ours must return a mention whose text is the expression and whose value is
   the expected ISO value; search_dates must return a match overlapping the
   expression whose datetime agrees at the expected granularity. search_dates
   is scored on a fixed sample (it is slow); ours on the sample and the full set.
3. Seeds: gold recall (text+value), extra mentions, not_dates taken, and the
   precision of year-only mentions.

Prints a table and writes ``bench/results/dates.json``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench" / "dates"))

from heldout import generate  # noqa: E402

from tasks.dates import find_dates  # noqa: E402


def articles() -> list[tuple[str, str]]:
    paths = sorted((ROOT / "seeds").glob("*.txt")) + sorted((ROOT / "bench" / "dates" / "articles").glob("*.txt"))
    return [(p.name, p.read_text(encoding="utf-8")) for p in paths]


def timed(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def dp_ok(results, item, strict: bool = False) -> bool:
    """Lenient: a result overlapping the expression with the right date at the
    expected granularity. Strict: the result's text is the expression itself."""
    s0, s1 = item["start"], item["start"] + len(item["expr"])
    y, m = int(item["value"][:4]), int(item["value"][5:7])
    d = int(item["value"][8:10]) if item["granularity"] == "day" else None
    pos = 0
    for sub, dt in results or []:
        i = item["sentence"].find(sub, pos)
        if i < 0:
            i = item["sentence"].find(sub)
        if i < 0 or i >= s1 or i + len(sub) <= s0:
            continue
        if strict and sub.strip(" ،,.") != item["expr"]:
            continue
        if dt.year == y and dt.month == m and (d is None or dt.day == d):
            return True
    return False


def ours_ok(item) -> bool:
    return any(x.text == item["expr"] and x.value == item["value"] for x in find_dates(item["sentence"]))


def seed_scores() -> dict:
    gold = json.loads((ROOT / "tests" / "gold" / "seeds.json").read_text(encoding="utf-8"))["documents"]
    total = found = extras = not_taken = not_total = 0
    years = years_ok = 0
    for name, g in gold.items():
        text = (ROOT / "seeds" / name).read_text(encoding="utf-8")
        ds = find_dates(text, g["reference"])
        got = {(d.text, d.value) for d in ds}
        gtexts = {x["text"] for x in g["dates"]}
        total += len(g["dates"])
        found += sum((x["text"], x["value"]) in got for x in g["dates"])
        extras += sum(d.text not in gtexts for d in ds)
        for nd in g.get("not_dates", []):
            not_total += 1
            not_taken += any(nd in d.text or d.text in nd for d in ds)
        gold_years = {(x["text"], x["value"]) for x in g["dates"] if x["granularity"] == "year"}
        for d in ds:
            if d.granularity == "year":
                years += 1
                years_ok += (d.text, d.value) in gold_years
    return {"gold_dates": total, "gold_found": found, "recall": round(found / total, 4),
            "extra_mentions": extras, "not_dates": not_total, "not_dates_taken": not_taken,
            "year_mentions": years, "year_mentions_correct": years_ok,
            "year_precision": round(years_ok / years, 4) if years else None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dp-sample", type=int, default=500, help="held-out items scored with search_dates")
    ap.add_argument("--repeat", type=int, default=30, help="runs per article for our step")
    ap.add_argument("--dp-repeat", type=int, default=3, help="runs per article for search_dates")
    args = ap.parse_args()

    from dateparser.search import search_dates

    # -- speed
    arts = articles()
    t = time.perf_counter()
    find_dates(arts[0][1])
    ours_first = time.perf_counter() - t
    t = time.perf_counter()
    search_dates(arts[0][1])
    dp_first = time.perf_counter() - t
    rows = []
    for name, text in arts:
        o = timed(lambda: find_dates(text, "2024-06-19"), args.repeat)
        d = timed(lambda: search_dates(text), args.dp_repeat)
        rows.append({"article": name, "chars": len(text), "ours_ms": round(o * 1000, 3),
                     "search_dates_ms": round(d * 1000, 1), "ratio": round(d / o, 1)})
    ours_mean = statistics.mean(r["ours_ms"] for r in rows)
    dp_mean = statistics.mean(r["search_dates_ms"] for r in rows)

    # -- held-out accuracy
    items = generate()
    step = max(1, len(items) // args.dp_sample)
    sample = items[::step][: args.dp_sample]
    ours_full = [ours_ok(i) for i in items]
    ours_sample = [ours_ok(i) for i in sample]
    t = time.perf_counter()
    dp_results = [search_dates(i["sentence"]) for i in sample]
    dp_secs = time.perf_counter() - t
    dp_sample = [dp_ok(r, i) for r, i in zip(dp_results, sample)]
    dp_strict = [dp_ok(r, i, strict=True) for r, i in zip(dp_results, sample)]
    by_form: dict[str, list[int]] = {}
    for i, ok, dok in zip(sample, ours_sample, dp_sample):
        by_form.setdefault(i["form"], [0, 0, 0])
        by_form[i["form"]][0] += 1
        by_form[i["form"]][1] += ok
        by_form[i["form"]][2] += dok
    full_forms = Counter(i["form"] for i in items)
    misses = [i["sentence"] for i, ok in zip(items, ours_full) if not ok][:20]

    seeds = seed_scores()
    result = {
        "speed": {"articles": rows, "ours_mean_ms": round(ours_mean, 3), "search_dates_mean_ms": round(dp_mean, 1),
                  "ratio_of_means": round(dp_mean / ours_mean, 1),
                  "median_ratio": statistics.median(r["ratio"] for r in rows),
                  "ours_first_call_ms": round(ours_first * 1000, 1),
                  "search_dates_first_call_ms": round(dp_first * 1000, 1)},
        "heldout": {"items": len(items), "forms": dict(full_forms), "ours_accuracy_full": round(sum(ours_full) / len(items), 4),
                    "sample": len(sample), "ours_accuracy_sample": round(sum(ours_sample) / len(sample), 4),
                    "search_dates_accuracy_sample": round(sum(dp_sample) / len(sample), 4),
                    "search_dates_accuracy_sample_strict_span": round(sum(dp_strict) / len(sample), 4),
                    "search_dates_seconds_per_item": round(dp_secs / len(sample), 4),
                    "by_form_sample": {f: {"n": v[0], "ours": round(v[1] / v[0], 4), "search_dates": round(v[2] / v[0], 4)}
                                       for f, v in sorted(by_form.items())},
                    "ours_misses": misses},
        "seeds": seeds,
    }
    out = ROOT / "bench" / "results" / "dates.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    print(f"{'article':34} {'chars':>6} {'ours ms':>9} {'search_dates ms':>16} {'ratio':>7}")
    for r in rows:
        print(f"{r['article']:34} {r['chars']:6d} {r['ours_ms']:9.3f} {r['search_dates_ms']:16.1f} {r['ratio']:7.1f}")
    print(f"{'mean':34} {'':6} {ours_mean:9.3f} {dp_mean:16.1f} {dp_mean / ours_mean:7.1f}")
    h = result["heldout"]
    print(f"\nheld-out CLDR expressions: ours {h['ours_accuracy_full']:.4f} on {h['items']}; on the {h['sample']}-item "
          f"sample ours {h['ours_accuracy_sample']:.4f} vs search_dates {h['search_dates_accuracy_sample']:.4f} "
          f"(overlap + date) / {h['search_dates_accuracy_sample_strict_span']:.4f} (exact span + date)")
    for f, v in h["by_form_sample"].items():
        print(f"  {f:14} n={v['n']:4d} ours {v['ours']:.3f} search_dates {v['search_dates']:.3f}")
    print(f"\nseeds: {seeds['gold_found']}/{seeds['gold_dates']} gold dates, {seeds['extra_mentions']} extra mentions, "
          f"{seeds['not_dates_taken']}/{seeds['not_dates']} not_dates taken, year precision "
          f"{seeds['year_mentions_correct']}/{seeds['year_mentions']}")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
