"""Backfill N generated documents on the embedded defaults and measure it.

    python bench/bench_backfill.py                 # 2,500, 5,000 and 10,000 docs
    python bench/bench_backfill.py --sizes 1000    # quicker

For each size, in a fresh process and a fresh NEWSFLOW_HOME (so nothing is
"unchanged"), it generates a folder of .txt articles (~3 KB each, Arabic news
sentences recombined so every document is distinct, with boilerplate lines),
runs `newsflow backfill`, and reports:

- docs/s over the whole command (including Prefect and service start-up) and
  over the flow itself;
- peak RSS of the process (memory must stay flat as the corpus grows: the
  flow streams the folder and holds one chunk per worker; the sentences come
  from the seeds and ANERcorp, so the vocabulary is open and per-word caches
  are exercised);
- the share of wall time spent outside the NLP steps (reading, lookups,
  orchestration, landing) = 1 - (sum of NLP step seconds / flow wall time),
  measured with one worker so step seconds are not inflated by GIL sharing.

Writes bench/results/backfill.json.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOILER_HEAD = ["اتصل بنا", "الرئيسية | أخبار | رياضة | اقتصاد", "تابعونا على فيسبوك"]
BOILER_TAIL = ["أخبار ذات صلة", "0 تعليق", "زر الذهاب إلى الأعلى", "جميع الحقوق محفوظة ©"]


def sentences() -> list[str]:
    """Sentences of the seed articles plus ANERcorp's news sentences, so the corpus
    has a realistic open vocabulary (tens of thousands of word forms): caches
    that grow with the vocabulary show up in peak memory."""
    out = []
    for p in sorted((ROOT / "seeds").glob("*.txt")):
        for line in p.read_text(encoding="utf-8").splitlines():
            if len(line) > 120:
                out.extend(s.strip() + "." for s in re.split(r"[.!؟]\s+", line) if len(s.strip()) > 40)
    corpus = ROOT / "data" / "anercorp" / "train.txt"
    if corpus.exists():
        tokens: list[str] = []
        for line in corpus.read_text(encoding="utf-8").splitlines():
            tok = line.split(" ", 1)[0] if line.strip() else ""
            if tok:
                tokens.append(tok)
            if tok in {".", "!", "؟"} or (not tok and tokens):
                sent = re.sub(r"\s+([.,،:؛!؟)])", r"\1", " ".join(tokens)).replace("( ", "(")
                if len(sent) > 40:
                    out.append(sent if sent[-1] in ".!؟" else sent + ".")
                tokens = []
    return out


def generate(folder: Path, n: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    pool = sentences()
    total = 0
    for i in range(n):
        sub = folder / f"{i // 1000:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        body = []
        size = 0
        while size < 2800:
            para = " ".join(rng.sample(pool, 3))
            body.append(para)
            size += len(para.encode("utf-8")) // 2
        title = rng.choice(pool)[:80]
        text = "\n".join([rng.choice(BOILER_HEAD), "", title, "", f"الخبر رقم {i} نشر في 2024-06-{1 + i % 28:02d}"]
                         + body + ["", rng.choice(BOILER_TAIL)])
        data = text.encode("utf-8")
        (sub / f"doc_{i:06d}.txt").write_bytes(data)
        total += len(data)
    return total


RUNNER = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from newsflow.cli import _ensure_services
from flows.ingest import ingest, make_task_runner
_ensure_services()
t1 = time.perf_counter()
flow = ingest.with_options(task_runner=make_task_runner(sys.argv[2], int(sys.argv[3])))
summary = flow(paths=[sys.argv[1]], batch_size=int(sys.argv[4]))
t2 = time.perf_counter()
summary["command_seconds"] = t2 - t0
summary["startup_seconds"] = t1 - t0
summary["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("BENCH" + json.dumps(summary))
"""


def run(folder: Path, home: Path, runner: str, workers: int, batch: int) -> dict:
    env = dict(os.environ, NEWSFLOW_HOME=str(home), PREFECT_LOGGING_LEVEL="WARNING")
    env.pop("NEWSFLOW_DATABASE_URL", None)
    env.pop("NEWSFLOW_S3_ENDPOINT", None)
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(folder), runner, str(workers), str(batch)],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    line = next((l for l in proc.stdout.splitlines() if l.startswith("BENCH")), None)
    if proc.returncode or line is None:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-5000:])
        raise SystemExit(f"backfill failed (exit {proc.returncode})")
    return json.loads(line[5:])


def stop(home: Path) -> None:
    env = dict(os.environ, NEWSFLOW_HOME=str(home))
    subprocess.run([sys.executable, "-m", "newsflow.cli", "down"], env=env, cwd=ROOT, capture_output=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="2500,5000,10000")
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--parallel", action="store_true",
                    help="also run the largest size with 2 workers in a process pool (throughput on both cores)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="newsflow-bench-") as tmp:
        configs = [(n, "thread", 1) for n in sizes]
        if args.parallel:
            configs.append((max(sizes), "process", 2))
        corpus_mb: dict[int, float] = {}
        for n, runner, workers in configs:
            folder = Path(tmp) / f"corpus-{n}"
            if n not in corpus_mb:
                corpus_mb[n] = generate(folder, n) / 1e6
            mb = corpus_mb[n]
            home = Path(tmp) / f"home-{n}-{runner}{workers}"
            try:
                s = run(folder, home, runner, workers, args.batch_size)
            finally:
                stop(home)
            nlp = sum(st["seconds"] for st in s["steps"].values())
            flow_wall = s["seconds"]
            row = {
                "docs": n, "mb": round(mb, 1), "runner": runner, "workers": workers,
                "landed": s["landed"], "quarantined": s["quarantined"],
                "docs_per_s_flow": round(s["landed"] / flow_wall, 1),
                "docs_per_s_command": round(s["landed"] / s["command_seconds"], 1),
                "peak_rss_mb": round(s["peak_rss_mb"], 1),
                "flow_seconds": round(flow_wall, 2),
                "command_seconds": round(s["command_seconds"], 2),
                "startup_seconds": round(s["startup_seconds"], 2),
                "nlp_seconds": round(nlp, 2),
                "steps": {k: round(v["seconds"], 2) for k, v in s["steps"].items()},
                "phases": s.get("seconds_by_phase", {}),
                "outside_nlp_share": round(1 - nlp / flow_wall, 3) if workers == 1 else None,
            }
            rows.append(row)
            print(f"{n:>6} docs {runner}x{workers}: {row['docs_per_s_flow']:>7} docs/s (flow), "
                  f"{row['docs_per_s_command']:>7} docs/s (command), peak RSS {row['peak_rss_mb']} MB, "
                  f"outside NLP {row['outside_nlp_share']}", flush=True)
    out = ROOT / "bench" / "results" / "backfill.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"when": time.strftime("%Y-%m-%d %H:%M"), "cpus": os.cpu_count(), "rows": rows},
                              ensure_ascii=False, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
