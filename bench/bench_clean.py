"""Benchmark of the clean step on our labelled eval set (bench/clean/).

Quality: word-level (bag of tokens) precision / recall / F1 of the output text
against the gold body, averaged per document (as article-extraction
benchmarks do), for
  - ours (tasks.clean.CleanStep) vs plain ``trafilatura.extract(html)``, on HTML pages;
  - ours vs trafilatura on the same pages flattened one block per line (text
    mode; trafilatura gets the lines wrapped in <p>), plus the five seeds.
Speed: the clean step vs plain ``trafilatura.extract`` on the same HTML pages,
interleaved in one process (ratio of median totals).

    python bench/bench_clean.py [--reps 7]

Prints a table and writes bench/results/clean.json.
"""
from __future__ import annotations

import argparse
import html as htmllib
import json
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

EVAL = ROOT / "bench" / "clean"
RESULTS = ROOT / "bench" / "results" / "clean.json"
_TOKEN = re.compile(r"\w+", re.U)


def load_eval() -> list[dict]:
    """Items: {source, lang, format, content, gold}."""
    from tasks.clean_html import html_to_text

    gold = json.loads((EVAL / "gold.json").read_text(encoding="utf-8"))["pages"]
    items = []
    for name in sorted(gold):
        g = gold[name]
        html = (EVAL / "pages" / name).read_text(encoding="utf-8")
        body = "\n".join(g["body"])
        items.append(dict(source=f"{name}", lang=g["lang"], format="html", content=html, gold=body,
                          title=g["title"]))
        items.append(dict(source=f"{name}.txt", lang=g["lang"], format="text", content=html_to_text(html),
                          gold=body, title=g["title"]))
    seeds = json.loads((ROOT / "tests" / "gold" / "seeds.json").read_text(encoding="utf-8"))["documents"]
    for name in sorted(seeds):
        g = seeds[name]
        lines = (ROOT / "seeds" / name).read_text(encoding="utf-8").split("\n")
        skip = set(g["boilerplate"]) | set(g["ambiguous"]) | {g["title_line"]}
        body = "\n".join(ln for i, ln in enumerate(lines, 1) if i not in skip and ln.strip())
        items.append(dict(source=f"seeds/{name}", lang="ar", format="text", content="\n".join(lines), gold=body,
                          title=g["title"]))
    return items


def score_text(pred: str, gold: str) -> tuple[float, float, float]:
    p_tok = Counter(t.lower() for t in _TOKEN.findall(pred or ""))
    g_tok = Counter(t.lower() for t in _TOKEN.findall(gold or ""))
    tp = sum((p_tok & g_tok).values())
    prec = tp / sum(p_tok.values()) if p_tok else (1.0 if not g_tok else 0.0)
    rec = tp / sum(g_tok.values()) if g_tok else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return prec, rec, f1


def _agg(rows: list[tuple[float, float, float]]) -> dict:
    if not rows:
        return {}
    p = statistics.mean(r[0] for r in rows)
    r = statistics.mean(r[1] for r in rows)
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r) if p + r else 0, 4),
            "docs": len(rows)}


def lines_as_html(text: str) -> str:
    paras = "".join(f"<p>{htmllib.escape(ln)}</p>" for ln in text.split("\n") if ln.strip())
    return f"<html><body>{paras}</body></html>"


def run_quality(items: list[dict]) -> dict:
    import trafilatura

    from newsflow.document import Document
    from tasks.clean import CleanStep

    docs = [Document.from_content(it["content"], source=it["source"], format=it["format"]) for it in items]
    CleanStep().process_batch(docs)
    per_doc = []
    scores: dict[tuple[str, str, str], list] = {}
    for it, d in zip(items, docs):
        base_in = it["content"] if it["format"] == "html" else lines_as_html(it["content"])
        base = trafilatura.extract(base_in) or ""
        ours = score_text(d.text, it["gold"])
        theirs = score_text(base, it["gold"])
        title_ok = (d.title or "").strip() == it["title"]
        per_doc.append({"source": it["source"], "mode": it["format"], "lang": it["lang"],
                        "ours_f1": round(ours[2], 4), "trafilatura_f1": round(theirs[2], 4), "title_ok": title_ok})
        for lang in (it["lang"], "all"):
            scores.setdefault((it["format"], lang, "ours"), []).append(ours)
            scores.setdefault((it["format"], lang, "trafilatura"), []).append(theirs)
            scores.setdefault((it["format"], lang, "title"), []).append((title_ok,) * 3)
    table = {}
    for (mode, lang, system), rows in sorted(scores.items()):
        agg = _agg(rows) if system != "title" else {"accuracy": round(statistics.mean(r[0] for r in rows), 4)}
        table.setdefault(mode, {}).setdefault(lang, {})[system] = agg
    return {"table": table, "per_doc": per_doc}


def run_speed(items: list[dict], reps: int) -> dict:
    import trafilatura

    from newsflow.document import Document
    from tasks.clean import CleanStep

    pages = [it["content"] for it in items if it["format"] == "html"]
    step = CleanStep()
    # warm-up both (imports, caches)
    trafilatura.extract(pages[0])
    step.process_batch([Document.from_content(pages[0], source="w", format="html")])
    t_base, t_ours = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        for h in pages:
            trafilatura.extract(h)
        t1 = time.perf_counter()
        step.process_batch([Document.from_content(h, source=f"p{i}", format="html") for i, h in enumerate(pages)])
        t2 = time.perf_counter()
        t_base.append(t1 - t0)
        t_ours.append(t2 - t1)
    mb, mo = statistics.median(t_base), statistics.median(t_ours)
    return {"pages": len(pages), "reps": reps, "trafilatura_s": round(mb, 4), "clean_s": round(mo, 4),
            "ratio": round(mo / mb, 3)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args(argv)
    items = load_eval()
    quality = run_quality(items)
    speed = run_speed(items, args.reps)
    print(f"{'mode':<6} {'lang':<4} {'system':<12} {'P':>6} {'R':>6} {'F1':>6} {'docs':>5}")
    for mode, langs in quality["table"].items():
        for lang, systems in langs.items():
            for system, m in systems.items():
                if system == "title":
                    continue
                print(f"{mode:<6} {lang:<4} {system:<12} {m['precision']:>6.3f} {m['recall']:>6.3f} "
                      f"{m['f1']:>6.3f} {m['docs']:>5}")
            print(f"{mode:<6} {lang:<4} {'title acc':<12} {systems['title']['accuracy']:>6.3f}")
    print(f"speed: clean {speed['clean_s']:.3f}s vs trafilatura.extract {speed['trafilatura_s']:.3f}s "
          f"on {speed['pages']} pages -> ratio {speed['ratio']:.2f}")
    out = {"quality": quality["table"], "speed": speed, "per_doc": quality["per_doc"]}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    return out


if __name__ == "__main__":
    main()
