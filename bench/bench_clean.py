"""Benchmark of the clean step on our labelled eval set (bench/clean/).

Quality: word-level (bag of tokens) precision / recall / F1 of the output text
against the gold body, averaged per document (as article-extraction
benchmarks do), for
  - ours (tasks.clean.CleanStep) vs plain ``trafilatura.extract(html)``, on HTML pages;
  - ours vs trafilatura on the same pages flattened one block per line (text
    mode; trafilatura gets the lines wrapped in <p>), plus the five seeds.
Speed: the clean step vs plain ``trafilatura.extract`` on the same HTML pages,
interleaved page by page in one process (the order alternating),
reported as median totals, their ratio, and the median of per-rep ratios. Our
pages are small (3-8 KB), so the speed set also holds each page wrapped in the
chrome of a real news page (``heavy_page``: ~100 KB, ~2,000 elements of head
scripts and styles, JSON-LD, menus, teasers, forms, footer), where per-page
costs weigh as they do on real pages.

    python bench/bench_clean.py [--reps 9] [--outside DIR]

``--outside DIR`` also scores pages we do not ship (see ``load_outside``).

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


def _html_text(html: str) -> str:
    """Gold text from a gold HTML file (mozilla/readability's expected.html)."""
    from tasks.clean_html import html_to_text

    return html_to_text(html)


def load_outside(directory: str | Path) -> list[dict]:
    """Pages we do not ship, for our own checks (never committed). Two layouts:
    ``DIR/NAME.html`` with its gold body in ``DIR/NAME.txt``, or readability's
    ``DIR/NAME/source.html`` with ``DIR/NAME/expected.html``. The language is
    the page's ``<html lang>``. Each page is scored as HTML and flattened to lines."""
    from tasks.clean_html import html_to_text

    d = Path(directory)
    pairs = [(p, p.with_suffix(".txt"), False) for p in sorted(d.glob("*.html")) if p.with_suffix(".txt").exists()]
    pairs += [(p / "source.html", p / "expected.html", True) for p in sorted(d.iterdir())
              if (p / "source.html").exists() and (p / "expected.html").exists()]
    items = []
    for src, gold_path, gold_html in pairs:
        html = src.read_text(encoding="utf-8", errors="replace")
        gold = gold_path.read_text(encoding="utf-8", errors="replace")
        gold = _html_text(gold) if gold_html else gold
        m = re.search(r"<html[^>]*\blang=[\"']?([a-zA-Z]{2})", html[:5000])
        lang = m.group(1).lower() if m else "xx"
        name = src.parent.name if gold_html else src.name
        items.append(dict(source=name, lang=lang, format="html", content=html, gold=gold, title=None))
        items.append(dict(source=name + ".txt", lang=lang, format="text", content=html_to_text(html), gold=gold,
                          title=None))
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
        title_ok = it["title"] is None or (d.title or "").strip() == it["title"]
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


_WORDS = ("news world business sport culture opinion science health travel video podcast market climate "
          "election city council school police court weather energy housing transport film music books "
          "football tennis economy budget report analysis interview guide review live latest popular").split()


def heavy_page(html: str, seed: int) -> str:
    """``html`` inside the chrome of a real news page (deterministic): big head
    styles and scripts, JSON-LD, a mega-menu, a most-read box, related teasers,
    a newsletter form, a long footer and trailing scripts."""
    import random

    rnd = random.Random(seed)

    def words(a: int, b: int) -> str:
        return " ".join(rnd.choice(_WORDS) for _ in range(rnd.randint(a, b)))

    def links(n: int, cls: str) -> str:
        return "".join(f'<li class="{cls}-item"><a href="/{words(1, 2).replace(" ", "-")}/{i}" '
                       f'data-track="{cls}-{i}">{words(1, 3).title()}</a></li>' for i in range(n))

    css = "".join(f".c{i}{{margin:{i % 7}px;padding:{i % 5}px;color:#{i * 2654435761 % 0xFFFFFF:06x}}}"
                  for i in range(500))
    js = "".join(f"var v{i}=function(a,b){{return a*{i}+b-'{words(2, 5)}'.length}};" for i in range(400))
    ld = ('<script type="application/ld+json">{"@context":"https://schema.org","@type":"WebPage",'
          f'"name":"{words(3, 6)}","breadcrumb":"{words(2, 4)}"}}</script>')
    head = (f"<style>{css}</style><script>{js}</script>{ld}"
            + "".join(f'<meta name="x-{i}" content="{words(2, 6)}">' for i in range(25)))
    menu = ('<div class="megamenu"><ul>' + "".join(
        f'<li class="section"><a href="/s{k}">{words(1, 2).title()}</a><ul>{links(15, "menu")}</ul></li>'
        for k in range(10)) + "</ul></div>")
    teasers = "".join(
        f'<div class="teaser"><a href="/t/{i}"><img src="/i/{i}.jpg" alt=""><h3>{words(5, 10).capitalize()}</h3></a>'
        f'<p class="teaser-sum">{words(10, 22).capitalize()}.</p><span class="meta">{words(1, 2)}</span></div>'
        for i in range(30))
    side = (f'<aside class="sidebar"><div class="most-read"><h2>Most read</h2><ol>{links(10, "mr")}</ol></div>'
            f'<div class="related"><h2>More stories</h2>{teasers}</div>'
            '<form class="newsletter"><label>Email</label><input type="email" name="e"><button>Sign up</button></form>'
            "</aside>")
    foot = "".join(f'<div class="col"><h4>{words(1, 2).title()}</h4><ul>{links(15, "foot")}</ul></div>'
                   for _ in range(6))
    tail = f'<footer class="site-footer">{foot}</footer><script>{js[: len(js) // 2]}</script>'
    html = re.sub(r"</head>", lambda _: head + "</head>", html, count=1, flags=re.I)
    html = re.sub(r"<body[^>]*>", lambda m: m.group(0) + menu, html, count=1, flags=re.I)
    return re.sub(r"</body>", lambda _: side + tail + "</body>", html, count=1, flags=re.I)


def run_speed(pages: list[str], reps: int) -> dict:
    """Median totals over ``reps`` reps and the median of the per-rep ratios,
    in CPU time of this process and in wall time."""
    import trafilatura

    from newsflow.document import Document
    from tasks.clean import CleanStep

    step = CleanStep()

    def timed(fn) -> tuple[float, float]:
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        return time.process_time() - c0, time.perf_counter() - w0

    def base(h: str) -> tuple[float, float]:
        return timed(lambda: trafilatura.extract(h))

    def ours(h: str) -> tuple[float, float]:
        docs = [Document.from_content(h, source="p", format="html")]
        return timed(lambda: step.process_batch(docs))

    for h in pages:  # warm-up: imports, caches, stoplists
        base(h), ours(h)
    # interleaved page by page, the order alternating, so that a machine
    # slowing down or speeding up weighs on both sides alike
    t_base, t_ours = [], []
    for rep in range(reps):
        tb, to = [0.0, 0.0], [0.0, 0.0]
        for i, h in enumerate(pages):
            if (rep + i) % 2:
                o, b = ours(h), base(h)
            else:
                b, o = base(h), ours(h)
            for k in (0, 1):
                tb[k] += b[k]
                to[k] += o[k]
        t_base.append(tb)
        t_ours.append(to)
    out = {"pages": len(pages), "kb": round(sum(len(h.encode()) for h in pages) / 1024), "reps": reps}
    for k, clock in ((0, "cpu"), (1, "wall")):
        mb, mo = statistics.median(t[k] for t in t_base), statistics.median(t[k] for t in t_ours)
        out[clock] = {"trafilatura_s": round(mb, 4), "clean_s": round(mo, 4), "ratio": round(mo / mb, 3),
                      "ratio_per_rep_median": round(statistics.median(o[k] / b[k] for o, b in zip(t_ours, t_base)),
                                                    3)}
    return out


def _print_table(table: dict, titles: bool = False) -> None:
    print(f"{'mode':<6} {'lang':<4} {'system':<12} {'P':>6} {'R':>6} {'F1':>6} {'docs':>5}")
    for mode, langs in table.items():
        for lang, systems in langs.items():
            for system, m in systems.items():
                if system == "title":
                    continue
                print(f"{mode:<6} {lang:<4} {system:<12} {m['precision']:>6.3f} {m['recall']:>6.3f} "
                      f"{m['f1']:>6.3f} {m['docs']:>5}")
            if titles:
                print(f"{mode:<6} {lang:<4} {'title acc':<12} {systems['title']['accuracy']:>6.3f}")


def run_outside(directory: str, reps: int) -> dict:
    """Scores and speed on an outside directory; prints only (nothing written)."""
    if not Path(directory).is_dir():
        print(f"outside: {directory} not found, skipped")
        return {}
    items = load_outside(directory)
    if not items:
        print(f"outside: no page with a gold body in {directory}, skipped")
        return {}
    quality = run_quality(items)
    _print_table(quality["table"])
    for row in quality["per_doc"]:
        print(f"  {row['mode']:<5} {row['source']:<40} ours {row['ours_f1']:.3f} trafilatura {row['trafilatura_f1']:.3f}")
    speed = run_speed([it["content"] for it in items if it["format"] == "html"], reps)
    for clock in ("cpu", "wall"):
        c = speed[clock]
        print(f"speed outside ({speed['pages']} pages, {speed['kb']} KB, {reps} reps, {clock}): ratio {c['ratio']:.3f}")
    return {"quality": quality["table"], "speed": speed}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--outside", metavar="DIR", help="score and time pages we do not ship instead; skipped if absent")
    args = ap.parse_args(argv)
    if args.outside:
        return run_outside(args.outside, args.reps)
    items = load_eval()
    quality = run_quality(items)
    small = [it["content"] for it in items if it["format"] == "html"]
    speed = {"small": run_speed(small, args.reps),
             "heavy": run_speed([heavy_page(h, i) for i, h in enumerate(small)], args.reps)}
    _print_table(quality["table"], titles=True)
    for name, sp in speed.items():
        for clock in ("cpu", "wall"):
            c = sp[clock]
            print(f"speed {name} ({sp['pages']} pages, {sp['kb']} KB, {sp['reps']} reps, {clock}): clean "
                  f"{c['clean_s']:.3f}s vs trafilatura.extract {c['trafilatura_s']:.3f}s -> ratio {c['ratio']:.3f} "
                  f"(median per-rep ratio {c['ratio_per_rep_median']:.3f})")
    out = {"quality": quality["table"], "speed": speed, "per_doc": quality["per_doc"]}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    return out


if __name__ == "__main__":
    main()
