"""The `ingest` Prefect flow: files and folders in, documents landed in S3 and Postgres.

The flow only plans: it walks the inputs (streaming), groups paths into batches
of `batch_size` files and submits one `process-batch` task per batch (never
one task per document), with a bounded number in flight so memory stays flat.
Each task runs flows/batch.py:process_paths, plain Python. Tasks get paths, not
contents, and keep no results (`persist_result=False`).
"""
from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.futures import as_completed
from prefect.runtime import flow_run as runtime_flow_run
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

from flows.batch import (BatchSummary, chunked, discover_inputs, get_pipeline, parse_since, pipeline_version,
                         process_paths, record_unsupported)
from newsflow.config import Settings
from newsflow.pipeline import parse_stages


class QuarantineError(RuntimeError):
    """Raised at the end of a --strict run that quarantined anything."""


def make_task_runner(kind: str | None = None, workers: int | None = None):
    """Thread pool by default (landing I/O overlaps NLP); `process` uses both cores
    for the NLP at the cost of loading the models once per worker process."""
    settings = Settings.from_env()
    kind = (kind or os.environ.get("NEWSFLOW_TASK_RUNNER") or "thread").lower()
    workers = workers or settings.workers
    if kind == "process":
        return ProcessPoolTaskRunner(max_workers=workers)
    if kind == "thread":
        return ThreadPoolTaskRunner(max_workers=workers)
    if kind == "dask":
        from prefect_dask import DaskTaskRunner  # optional extra

        address = os.environ.get("NEWSFLOW_DASK_ADDRESS")
        return DaskTaskRunner(address=address) if address else DaskTaskRunner()
    raise ValueError(f"NEWSFLOW_TASK_RUNNER must be thread, process or dask, not {kind!r}")


@task(name="process-batch", persist_result=False, cache_policy=None, retries=1, retry_delay_seconds=2,
      task_run_name="batch-{index}")
def process_batch(index: int, paths: list[str], options: dict) -> dict:
    """Thin wrapper: all the work is flows/batch.py:process_paths (idempotent, so a retry is safe)."""
    summary = process_paths(paths, **options)
    logger = get_run_logger()
    logger.info("batch %d: %d files, %d read, %d landed, %d unchanged, %d quarantined",
                index, len(paths), summary.read, summary.landed, summary.unchanged, summary.quarantined)
    return {"index": index, "files": len(paths), "summary": summary}


def _run_name() -> str:
    params = runtime_flow_run.parameters or {}
    paths = params.get("paths") or []
    label = Path(str(paths[0])).name if paths else "inputs"
    if len(paths) > 1:
        label += f"+{len(paths) - 1}"
    return f"ingest-{label}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"


@flow(name="ingest", flow_run_name=_run_name, persist_result=False,
      task_runner=ThreadPoolTaskRunner(max_workers=int(os.environ.get("NEWSFLOW_WORKERS") or 2)))
def ingest(paths: list[str], format: str = "auto", stages: str | None = None, reference_date: str | None = None,
           batch_size: int | None = None, strict: bool = False, reprocess: bool = False, since: str | None = None,
           show_progress: bool = False, rename_sources: dict[str, str] | None = None) -> dict:
    """Read, clean, enrich and land every document under `paths` (files or folders).

    Returns a summary: read, landed, unchanged, quarantined (by reason), docs/s,
    per-step counts and seconds, languages, top entities. `rename_sources` maps a
    local folder prefix to the recorded source prefix (used by the S3 inbox).
    """
    from flows import artifacts
    from tasks import land

    from infra.prefect_server import apply_secret_blocks

    logger = get_run_logger()
    if (filled := apply_secret_blocks()):  # NEWSFLOW_SECRET_BLOCKS=1: names are logged, never values
        logger.info("secrets from Prefect Secret blocks: %s", ", ".join(filled))
    settings = Settings.from_env()
    batch_size = batch_size or settings.batch_size
    stage_names = parse_stages(stages)
    since_ts = parse_since(since)
    params = {"paths": [str(p) for p in paths], "format": format, "stages": list(stage_names),
              "reference_date": reference_date, "batch_size": batch_size, "strict": strict,
              "reprocess": reprocess, "since": since}
    run_id = land.start_run(params, flow_run_id=str(runtime_flow_run.id) if runtime_flow_run.id else None)
    options = {"format": format, "stages": stage_names, "reference_date": reference_date,
               "reprocess": reprocess, "run_id": run_id, "rename_sources": rename_sources}

    started = time.perf_counter()
    total_files = sum(1 for _ in discover_inputs(paths, since_ts)) if show_progress else None
    progress = artifacts.progress_start(f"ingest of {', '.join(params['paths'])[:200]}")
    bar = None
    if show_progress:
        from tqdm import tqdm

        bar = tqdm(total=total_files, unit="file", desc="backfill", dynamic_ncols=True)

    summary = BatchSummary()
    files_done = 0
    in_flight: dict = {}
    max_in_flight = 2 * max(1, settings.workers)
    status = "failed"

    def collect(done_futures) -> None:
        nonlocal files_done
        for fut in done_futures:
            in_flight.pop(fut)
            out = fut.result()
            summary.merge(out["summary"])
            files_done += out["files"]
            if bar is not None:
                bar.update(out["files"])
                bar.set_postfix(landed=summary.landed, unchanged=summary.unchanged,
                                quarantined=summary.quarantined, refresh=False)
            artifacts.progress_update(progress, files_done, total_files)

    try:
        skipped: list[str] = []
        for index, batch in enumerate(chunked(discover_inputs(paths, since_ts, skipped), batch_size)):
            fut = process_batch.submit(index, batch, options)
            in_flight[fut] = index
            while len(in_flight) >= max_in_flight:
                collect([next(as_completed(list(in_flight)))])
        while in_flight:
            collect([next(as_completed(list(in_flight)))])
        if skipped:
            n = record_unsupported(skipped, run_id)
            summary.quarantined += n
            summary.quarantined_by_reason["unsupported"] += n
            logger.warning("skipped %d unsupported file(s), recorded in quarantine", n)
        status = "completed"
    finally:
        if bar is not None:
            bar.close()
        elapsed = time.perf_counter() - started
        result = summary.to_dict()
        result.update(run_id=run_id, files=files_done, seconds=round(elapsed, 3),
                      docs_per_s=round((summary.landed + summary.unchanged) / elapsed, 2) if elapsed else 0.0,
                      pipeline_version=pipeline_version(get_pipeline(stage_names)))
        land.finish_run(run_id, status if not (strict and summary.quarantined) else "failed", result)
    artifacts.publish_summary(result)
    logger.info("ingest done: %d read, %d landed, %d unchanged, %d quarantined in %.1fs",
                summary.read, summary.landed, summary.unchanged, summary.quarantined, elapsed)
    if strict and summary.quarantined:
        raise QuarantineError(f"--strict: {summary.quarantined} input(s) quarantined: "
                              f"{dict(summary.quarantined_by_reason)}")
    return result
