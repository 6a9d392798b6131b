"""Backfill at scale: a large folder in deterministic shards, one `ingest` flow run each, resumable.

    newsflow backfill PATH           (the CLI calls this flow)
    prefect deployment run backfill/backfill -p path=/data/archive -p since=2024-01-01

The walk is streamed (`tasks.read.discover`, sorted, hidden folders such as
`.done` skipped; `since` keeps files modified after that date) and cut into
shards of `shard_size` files. Each shard has a key: a hash of its files
(path, size, mtime) and of the parameters that change the output (format,
stages, reference date, reprocess). Shard state lives in PostgreSQL
(`backfill_shards`, migration 0010): a shard whose key is recorded `done` is
skipped, so an interrupted backfill (killed, crashed, or stopped by
`max_shards`) picks up at the first unfinished shard, and a file that changed
makes its shard run again. Landing is idempotent anyway (content-hash ids,
upserts), so a shard interrupted half-way redoes only its own work.

Each shard runs as its own flow run:

* by default a subflow run of `ingest` in this process, named
  ``shard-00003-<key8>``, under the backfill's flow run in the UI;
* with ``deployment="ingest/ingest"`` (or NEWSFLOW_BACKFILL_DEPLOYMENT), a run
  of that deployment, up to `parallel` at once, picked up by whatever workers
  or `newsflow serve` processes serve it: this is how a backfill spreads over
  machines. Runs are created with the Prefect idempotency key
  ``backfill-shard-<key>``, so a resumed backfill re-attaches to a shard run
  that the interrupted one had already started instead of starting a second.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from prefect import flow, get_run_logger
from prefect.runtime import flow_run as runtime_flow_run

SHARD_SIZE = 2000
COUNT_KEYS = ("files", "read", "landed", "unchanged", "duplicates", "quarantined", "docs_with_dates")


@dataclass
class Shard:
    index: int
    paths: list[str]
    bytes: int
    key: str


def _params_digest(format: str, stages: str | None, reference_date: str | None, reprocess: bool) -> str:
    from newsflow.pipeline import parse_stages

    params = {"format": format, "stages": list(parse_stages(stages)), "reference_date": reference_date,
              "reprocess": bool(reprocess)}
    return json.dumps(params, sort_keys=True)


def shard_key(paths: list[str], stats: list[tuple[int, int]], params_digest: str) -> str:
    """Hash of the shard's files (path, size, mtime in ns) and the processing parameters."""
    h = hashlib.sha256(params_digest.encode())
    for p, (size, mtime_ns) in zip(paths, stats):
        h.update(f"\0{p}\0{size}\0{mtime_ns}".encode("utf-8", "surrogateescape"))
    return h.hexdigest()[:32]


def iter_shards(paths: list[str], shard_size: int, params_digest: str, since: str | None = None,
                skipped: list | None = None) -> Iterator[Shard]:
    """Deterministic shards of the streamed walk (never the whole file list in memory).
    Unsupported files met on the walk are appended to `skipped` at the end."""
    from flows.batch import chunked, discover_inputs, parse_since

    for index, chunk in enumerate(chunked(discover_inputs(paths, parse_since(since), skipped), shard_size)):
        stats = []
        for p in chunk:
            try:
                st = os.stat(p)
                stats.append((st.st_size, st.st_mtime_ns))
            except OSError:
                stats.append((-1, -1))  # unreadable now: the reader quarantines it
        yield Shard(index, chunk, sum(max(s, 0) for s, _ in stats), shard_key(chunk, stats, params_digest))


# --------------------------------------------------------------------------- shard state (PostgreSQL)

def _connect():
    import psycopg

    from infra.services import services
    from newsflow.config import Settings

    return psycopg.connect(services(Settings.from_env()).database_url, autocommit=True)


def finished_shards(keys: list[str]) -> dict[str, dict]:
    """{shard_key: stored summary} of the given shards already done."""
    if not keys:
        return {}
    with _connect() as conn:
        rows = conn.execute("SELECT shard_key, summary FROM backfill_shards WHERE status = 'done' "
                            "AND shard_key = ANY(%s)", (keys,)).fetchall()
    return {k: s for k, s in rows}


def mark_started(shard: Shard, backfill_key: str, flow_run_id: str | None = None) -> int:
    """Record the shard as running; returns its attempt number (1 for the first)."""
    with _connect() as conn:
        return conn.execute(
            """INSERT INTO backfill_shards (shard_key, backfill_key, shard_index, files, bytes, first_path,
                                            last_path, status, attempts, flow_run_id, started_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, 'running', 1, %s, now())
               ON CONFLICT (shard_key) DO UPDATE SET status = 'running', attempts = backfill_shards.attempts + 1,
                   backfill_key = EXCLUDED.backfill_key, shard_index = EXCLUDED.shard_index,
                   flow_run_id = EXCLUDED.flow_run_id, error = NULL, started_at = now(), finished_at = NULL
               RETURNING attempts""",
            (shard.key, backfill_key, shard.index, len(shard.paths), shard.bytes, shard.paths[0], shard.paths[-1],
             flow_run_id)).fetchone()[0]


def mark_finished(key: str, status: str, summary: dict | None = None, error: str | None = None,
                  flow_run_id: str | None = None) -> None:
    from psycopg.types.json import Jsonb

    with _connect() as conn:
        conn.execute("UPDATE backfill_shards SET status = %s, summary = %s, error = %s, finished_at = now(), "
                     "flow_run_id = COALESCE(%s, flow_run_id) WHERE shard_key = %s",
                     (status, Jsonb(summary or {}), error, flow_run_id, key))


def shard_rows(backfill_key: str | None = None) -> list[dict]:
    """The recorded shards (of one backfill, or all), in walk order: for status and tests."""
    sql = ("SELECT shard_key, backfill_key, shard_index, files, bytes, status, attempts, flow_run_id, error "
           "FROM backfill_shards")
    args: tuple = ()
    if backfill_key:
        sql += " WHERE backfill_key = %s"
        args = (backfill_key,)
    with _connect() as conn:
        cur = conn.execute(sql + " ORDER BY backfill_key, shard_index", args)
        cols = [c.name for c in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]


# --------------------------------------------------------------------------- summaries

def merge_summaries(parts: list[dict]) -> dict:
    """One summary with ingest's keys from several (counts summed, top entities re-ranked)."""
    out: dict[str, Any] = {k: 0 for k in COUNT_KEYS}
    by_reason: Counter = Counter()
    languages: Counter = Counter()
    entities: Counter = Counter()
    phases: Counter = Counter()
    steps: dict[str, dict] = {}
    for s in parts:
        for k in COUNT_KEYS:
            out[k] += int(s.get(k) or 0)
        by_reason.update(s.get("quarantined_by_reason") or {})
        languages.update(s.get("languages") or {})
        phases.update(s.get("seconds_by_phase") or {})
        for canonical, type_, n in s.get("top_entities") or []:
            entities[(canonical, type_)] += n
        for name, st in (s.get("steps") or {}).items():
            mine = steps.setdefault(name, {"docs": 0, "seconds": 0.0, "errors": 0})
            for k in mine:
                mine[k] += st.get(k) or 0
    out.update(quarantined_by_reason=dict(sorted(by_reason.items())), languages=dict(languages.most_common()),
               top_entities=[[c, t, n] for (c, t), n in entities.most_common(20)], steps=steps,
               seconds_by_phase={k: round(v, 4) for k, v in phases.items()})
    return out


def _run_name() -> str:
    params = runtime_flow_run.parameters or {}
    path = params.get("path") or "inputs"
    paths = [path] if isinstance(path, str) else list(path)
    label = Path(str(paths[0])).name if paths else "inputs"
    if len(paths) > 1:
        label += f"+{len(paths) - 1}"
    return f"backfill-{label}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"


# --------------------------------------------------------------------------- running shards

def _run_subflow(shard: Shard, ingest_params: dict) -> tuple[dict, str | None]:
    from flows.ingest import ingest, make_task_runner

    flow_fn = ingest.with_options(flow_run_name=f"shard-{shard.index:05d}-{shard.key[:8]}",
                                  task_runner=make_task_runner())
    state = flow_fn(paths=shard.paths, **ingest_params, return_state=True)
    flow_run_id = str(state.state_details.flow_run_id) if state.state_details.flow_run_id else None
    return state.result(raise_on_failure=True), flow_run_id


def run_summary(flow_run_id: str) -> dict | None:
    """The summary an ingest flow run recorded in newsflow's `runs` table (deployment runs keep
    no Prefect result: ingest does not persist results)."""
    with _connect() as conn:
        row = conn.execute("SELECT counts FROM runs WHERE flow_run_id = %s AND status = 'completed' "
                           "ORDER BY finished_at DESC NULLS LAST LIMIT 1", (flow_run_id,)).fetchone()
    return row[0] if row else None


def _run_deployment(shard: Shard, ingest_params: dict, deployment: str, attempt: int) -> tuple[dict, str | None]:
    """Run the shard as a run of `deployment`, created with the idempotency key of the shard: a
    resumed backfill re-attaches to the run an interrupted one created (waiting for it if it is
    still going) instead of starting another. A run that had failed gets a fresh key per attempt."""
    from prefect.deployments import run_deployment

    name = f"shard-{shard.index:05d}-{shard.key[:8]}"
    params = {"paths": shard.paths, **ingest_params}
    key = f"backfill-shard-{shard.key}"
    flow_run = run_deployment(deployment, parameters=params, timeout=None, idempotency_key=key,
                              flow_run_name=name, as_subflow=True)
    if flow_run.state is not None and flow_run.state.is_final() and not flow_run.state.is_completed():
        flow_run = run_deployment(deployment, parameters=params, timeout=None, idempotency_key=f"{key}-{attempt}",
                                  flow_run_name=name, as_subflow=True)
    state = flow_run.state
    if state is None or not state.is_completed():
        raise RuntimeError(f"shard run {flow_run.name} ended {state.type.value if state else 'without a state'}")
    summary = run_summary(str(flow_run.id))
    if summary is None:
        raise RuntimeError(f"shard run {flow_run.name} completed but recorded no summary in the runs table")
    return summary, str(flow_run.id)


@flow(name="backfill", flow_run_name=_run_name, persist_result=False)
def backfill(path: str | list[str], since: str | None = None, reprocess: bool = False, shard_size: int = SHARD_SIZE,
             format: str = "auto", reference_date: str | None = None, strict: bool = False, stages: str | None = None,
             batch_size: int | None = None, max_shards: int | None = None, deployment: str | None = None,
             parallel: int = 2) -> dict:
    """Land every document under `path` (files or folders), one `ingest` flow run per shard of
    `shard_size` files. Shards already done (same files, sizes, mtimes, parameters) are skipped,
    so re-running an interrupted backfill resumes it. `since`: only files modified after this ISO
    date; `reprocess`: process documents again even if landed by this pipeline version;
    `max_shards`: run at most this many shards now (the rest on the next run); `deployment`:
    run shards as runs of this deployment (e.g. "ingest/ingest"), `parallel` at once.
    Returns ingest's summary keys summed over the shards run now, plus shard counts."""
    from flows import artifacts
    from flows.batch import record_unsupported
    from flows.ingest import QuarantineError
    from infra.prefect_server import apply_secret_blocks
    from tasks import land

    logger = get_run_logger()
    if (filled := apply_secret_blocks()):
        logger.info("secrets from Prefect Secret blocks: %s", ", ".join(filled))
    paths = [path] if isinstance(path, str) else [str(p) for p in path]
    if shard_size < 1:
        raise ValueError("shard_size must be at least 1")
    deployment = deployment or os.environ.get("NEWSFLOW_BACKFILL_DEPLOYMENT") or None
    digest = _params_digest(format, stages, reference_date, reprocess)
    backfill_key = hashlib.sha256((digest + "\0" + json.dumps(sorted(paths)) + f"\0{since}\0{shard_size}")
                                  .encode()).hexdigest()[:32]
    params = {"paths": paths, "since": since, "reprocess": reprocess, "shard_size": shard_size, "format": format,
              "reference_date": reference_date, "stages": stages, "deployment": deployment, "kind": "backfill"}
    run_id = land.start_run(params, flow_run_id=str(runtime_flow_run.id) if runtime_flow_run.id else None)
    ingest_params = {"format": format, "stages": stages, "reference_date": reference_date, "batch_size": batch_size,
                     "strict": False, "reprocess": reprocess, "since": None}

    started = time.perf_counter()
    progress = artifacts.progress_start(f"backfill of {', '.join(paths)[:200]} in shards of {shard_size} files")
    parts: list[dict] = []
    counts = Counter()
    failed: list[str] = []
    files_seen = 0
    status = "failed"

    def record(shard: Shard, outcome: tuple[dict, str | None] | BaseException) -> None:
        nonlocal files_seen
        files_seen += len(shard.paths)
        if isinstance(outcome, BaseException):
            counts["shards_failed"] += 1
            failed.append(f"{shard.index}:{shard.key[:8]}")
            msg = f"{type(outcome).__name__}: {str(outcome)[:500]}"
            mark_finished(shard.key, "failed", error=msg)
            logger.error("shard %d (%d files) failed: %s", shard.index, len(shard.paths), msg)
        else:
            summary, flow_run_id = outcome
            summary = {k: v for k, v in summary.items() if k != "run_id"}
            counts["shards_done"] += 1
            parts.append(summary)
            mark_finished(shard.key, "done", summary=summary, flow_run_id=flow_run_id)
            logger.info("shard %d: %d files, %d landed, %d unchanged, %d quarantined", shard.index,
                        len(shard.paths), summary.get("landed", 0), summary.get("unchanged", 0),
                        summary.get("quarantined", 0))
        artifacts.progress_update(progress, files_seen, None)

    try:
        pool = ThreadPoolExecutor(max_workers=max(1, parallel)) if deployment else None
        pending: list = []
        launched = 0
        unsupported: list[str] = []
        for shard in iter_shards(paths, shard_size, digest, since, unsupported):
            counts["shards"] += 1
            if shard.key in finished_shards([shard.key]):
                counts["shards_skipped"] += 1
                counts["files_skipped"] += len(shard.paths)
                files_seen += len(shard.paths)
                logger.info("shard %d (%d files) already done: skipped", shard.index, len(shard.paths))
                continue
            if max_shards is not None and launched >= max_shards:
                counts["shards_left"] += 1
                continue
            launched += 1
            attempt = mark_started(shard, backfill_key)
            if pool is None:
                try:
                    outcome: Any = _run_subflow(shard, ingest_params)
                except Exception as exc:  # noqa: BLE001 - recorded; the other shards go on
                    outcome = exc
                record(shard, outcome)
            else:
                ctx = copy_context()  # the parent flow run, so shard runs show as its children
                pending.append((shard, pool.submit(ctx.run, _run_deployment, shard, ingest_params, deployment,
                                                   attempt)))
                while len(pending) >= max(1, parallel):
                    _collect(pending.pop(0), record)
        for item in pending:
            _collect(item, record)
        if pool is not None:
            pool.shutdown()
        if unsupported:
            counts["unsupported"] = record_unsupported(unsupported, run_id)
            logger.warning("skipped %d unsupported file(s), recorded in quarantine", counts["unsupported"])
        status = "completed" if not failed else "failed"
    finally:
        elapsed = time.perf_counter() - started
        result = merge_summaries(parts)
        if counts["unsupported"]:
            result["quarantined"] = result.get("quarantined", 0) + counts["unsupported"]
            by_reason = dict(result.get("quarantined_by_reason") or {})
            by_reason["unsupported"] = by_reason.get("unsupported", 0) + counts["unsupported"]
            result["quarantined_by_reason"] = by_reason
        result.update(run_id=run_id, seconds=round(elapsed, 3),
                      docs_per_s=round((result["landed"] + result["unchanged"]) / elapsed, 2) if elapsed else 0.0,
                      backfill_key=backfill_key, shards=counts["shards"], shards_done=counts["shards_done"],
                      shards_skipped=counts["shards_skipped"], shards_failed=counts["shards_failed"],
                      shards_left=counts["shards_left"], skipped=counts["files_skipped"])
        land.finish_run(run_id, status, result)
    artifacts.publish_summary(result)
    logger.info("backfill: %d shards (%d run, %d already done, %d failed, %d left), %d landed, %d unchanged, "
                "%d quarantined in %.1fs", result["shards"], result["shards_done"], result["shards_skipped"],
                result["shards_failed"], result["shards_left"], result["landed"], result["unchanged"],
                result["quarantined"], elapsed)
    if failed:
        raise RuntimeError(f"{len(failed)} shard(s) failed ({', '.join(failed[:10])}); run the backfill again "
                           "to retry them (finished shards are skipped)")
    if strict and result["quarantined"]:
        raise QuarantineError(f"--strict: {result['quarantined']} input(s) quarantined: "
                              f"{result['quarantined_by_reason']}")
    return result


def _collect(item, record) -> None:
    shard, fut = item
    try:
        outcome: Any = fut.result()
    except Exception as exc:  # noqa: BLE001
        outcome = exc
    record(shard, outcome)
