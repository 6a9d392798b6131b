"""End to end through the `newsflow` command, on real embedded services.

These tests use their own NEWSFLOW_HOME (a fresh embedded PostgreSQL and S3
endpoint), so counts are exact, and run the CLI in subprocesses, as a user
would. No mocks: Postgres, S3 (rclone serve s3) and Prefect are real.
"""
from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
NEWSFLOW = [sys.executable, "-m", "newsflow.cli"]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("e2e-home")
    env = _env(home)
    yield home
    subprocess.run(NEWSFLOW + ["down"], env=env, cwd=ROOT, capture_output=True, timeout=120)


def _env(home: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSFLOW_")}
    env.update(NEWSFLOW_HOME=str(home), PREFECT_HOME=str(home / "prefect"), PREFECT_LOGGING_LEVEL="WARNING",
               PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def run(home: Path, *args, check=True, timeout=600, **extra) -> subprocess.CompletedProcess:
    proc = subprocess.run(NEWSFLOW + list(args), env=_env(home, **extra), cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"newsflow {' '.join(args)} exited {proc.returncode}\n{proc.stdout[-3000:]}\n"
                             f"{proc.stderr[-6000:]}")
    return proc


def backfill(home: Path, *paths, extra_args=(), **env) -> dict:
    proc = run(home, "backfill", *map(str, paths), "--json", "--no-progress", *extra_args, **env)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def export(home: Path, *args) -> list[dict]:
    proc = run(home, "export", *args)
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def objects_exist(home: Path, keys: list[str]) -> bool:
    code = ("import json,sys\nfrom tasks import land\nkeys=json.load(sys.stdin)\n"
            "print(json.dumps([land.object_exists(k) for k in keys]))")
    proc = subprocess.run([sys.executable, "-c", code], input=json.dumps(keys), env=_env(home), cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return all(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_backfill_seeds_twice_lands_each_document_once(home):
    first = backfill(home, SEEDS)
    assert first["read"] == 5 and first["landed"] == 5 and first["quarantined"] == 0
    second = backfill(home, SEEDS)
    assert second["landed"] == 0 and second["unchanged"] == 5

    docs = export(home)
    assert len(docs) == 5
    assert len({d["id"] for d in docs}) == 5
    assert all(d["language"] == "ar" for d in docs)
    assert all(d["object_key"] and d["text"] for d in docs)
    assert objects_exist(home, [d["object_key"] for d in docs] + [d["raw_key"] for d in docs])


def test_same_article_under_two_names_is_one_document(home, tmp_path):
    src = sorted(SEEDS.glob("*.txt"))[0]
    shutil.copy(src, tmp_path / "copy-a.txt")
    shutil.copy(src, tmp_path / "copy-b.txt")
    from newsflow.document import content_id

    summary = backfill(home, tmp_path)
    assert summary["read"] == 2
    assert summary["landed"] + summary["unchanged"] + summary["duplicates"] == 2
    assert summary["landed"] <= 1
    doc_id = content_id(src.read_text(encoding="utf-8"))
    assert [d["id"] for d in export(home)].count(doc_id) == 1


def _bad_folder(folder: Path) -> dict[str, str]:
    """Good files plus one of each bad kind; returns {file name: expected reason}."""
    seeds = sorted(SEEDS.glob("*.txt"))
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(seeds[1], folder / "good.txt")
    (folder / "good-1256.txt").write_bytes(seeds[2].read_text(encoding="utf-8").encode("cp1256", errors="ignore"))
    (folder / "good.jsonl").write_text(
        json.dumps({"text": seeds[3].read_text(encoding="utf-8"), "url": "https://example.org/a"}, ensure_ascii=False)
        + "\n{not json\n", encoding="utf-8")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    whole = gzip.compress(seeds[4].read_bytes())
    (folder / "cut.txt.gz").write_bytes(whole[: len(whole) // 2])
    (folder / "huge.txt").write_bytes(("كلمة " * 60_000).encode("utf-8"))
    return {"empty.txt": "empty", "image.txt": "binary", "cut.txt.gz": "truncated_gzip",
            "good.jsonl": "invalid_json", "huge.txt": "too_large"}


def test_bad_inputs_are_quarantined_and_good_files_land(tmp_path):
    home = tmp_path / "home"
    expected = _bad_folder(tmp_path / "in")
    try:
        summary = backfill(home, tmp_path / "in", NEWSFLOW_MAX_BYTES="200000")
        assert summary["landed"] == 3, summary
        quarantine = export(home, "--quarantine")
        got = {Path(q["source"].split("#")[0]).name: q["reason"] for q in quarantine}
        for name, reason in expected.items():
            assert got.get(name) == reason, (name, got)
        assert all(q["detail"] for q in quarantine)
        assert objects_exist(home, [q["object_key"] for q in quarantine])
        docs = export(home)
        assert len(docs) == 3 and all(d["language"] == "ar" for d in docs)

        strict = run(home, "backfill", str(tmp_path / "in"), "--json", "--no-progress", "--strict", check=False,
                     NEWSFLOW_MAX_BYTES="200000")
        assert strict.returncode == 1 and "quarantined" in strict.stderr
    finally:
        run(home, "down", check=False)


def _corpus(folder: Path, n: int) -> None:
    lines = [ln for p in sorted(SEEDS.glob("*.txt")) for ln in p.read_text(encoding="utf-8").splitlines()
             if len(ln) > 80]
    for i in range(n):
        sub = folder / f"{i // 100:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        body = "\n".join(lines[(i + k) % len(lines)] for k in range(3))
        (sub / f"d{i:05d}.txt").write_text(f"خبر رقم {i}\n{body}\n", encoding="utf-8")


def test_run_killed_halfway_then_rerun_lands_every_document_once(tmp_path):
    home = tmp_path / "home"
    corpus = tmp_path / "corpus"
    n = 1200
    _corpus(corpus, n)
    args = ["backfill", str(corpus), "--no-progress", "--batch-size", "50", "--workers", "1",
            "--stages", "clean,language"]
    try:
        run(home, "up")
        proc = subprocess.Popen(NEWSFLOW + args, env=_env(home), cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 300
        landed = 0
        while time.monotonic() < deadline and proc.poll() is None:
            landed = len(export(home))
            if landed >= 50:
                break
            time.sleep(0.5)
        assert proc.poll() is None, "the run finished before it could be killed; make the corpus larger"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        partial = len(export(home))
        assert 0 < partial < n

        summary = backfill(home, corpus, extra_args=["--stages", "clean,language"])
        assert summary["landed"] + summary["unchanged"] == n
        assert summary["unchanged"] >= partial
        docs = export(home)
        assert len(docs) == n and len({d["id"] for d in docs}) == n
        assert len({d["source"] for d in docs}) == n
        assert objects_exist(home, [d["object_key"] for d in docs[:: max(1, n // 100)]])
    finally:
        run(home, "down", check=False)


def test_inspect_prints_one_json_object_per_document_in_input_order():
    proc = subprocess.run(NEWSFLOW + ["inspect", str(SEEDS), "--stages", "clean,language"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    objs = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [Path(o["source"]).name for o in objs] == sorted(p.name for p in SEEDS.glob("*.txt"))
    required = {"source", "id", "title", "text", "removed", "language", "language_score", "published",
                "publisher", "entities", "dates"}
    for o in objs:
        assert required <= set(o)
        assert o["language"] == "ar"
        assert o["entities"] == [] and o["dates"] == []  # stages not run: fields left empty


def test_inspect_without_clean_keeps_the_input_as_read(tmp_path):
    src = sorted(SEEDS.glob("*.txt"))[0]
    raw = src.read_text(encoding="utf-8")
    proc = subprocess.run(NEWSFLOW + ["inspect", "-", "--stages", "language"], input=raw, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (obj,) = [json.loads(line) for line in proc.stdout.splitlines()]
    assert obj["text"] == raw and obj["removed"] == []


def test_inspect_reports_bad_input_on_stderr_and_goes_on(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"")
    shutil.copy(sorted(SEEDS.glob("*.txt"))[0], tmp_path / "b.txt")
    proc = subprocess.run(NEWSFLOW + ["inspect", str(tmp_path), "--stages", "clean"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0
    assert len(proc.stdout.splitlines()) == 1
    assert "a.txt" in proc.stderr and "empty" in proc.stderr
