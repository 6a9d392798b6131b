"""Scheduled flows and `newsflow serve`.

* ``inbox`` polls a local folder and/or an S3 prefix and lands what is new:
  local files (older than `min_age_seconds`, so a file still being written
  waits for the next poll) go through one `ingest` subflow run, then move to
  ``<inbox>/.done/`` (same relative path; `discover` skips hidden folders).
  S3 objects are fetched to a temporary folder, ingested under their
  ``s3://bucket/key`` name (the source of their documents), and recorded with
  their ETag in ``inbox_objects`` (migration 0011), so an object is read again
  only if it changes. A poll with nothing new creates no ingest run.
* ``reprocess`` re-runs the pipeline on stored raw bytes: quarantined inputs
  whose reason starts with one of `reasons` (default ``error:``: a step or
  landing failed, which a fix may cure), and documents whose
  ``pipeline_version`` is not the current one. Documents keep their ids, and a
  quarantined input that now becomes a document leaves the quarantine.
* ``newsflow serve`` serves them (and ``ingest`` and ``backfill``, on demand)
  with Prefect's `serve`: no work pool, no worker; flow runs execute in
  subprocesses of the serve process. ``prefect.yaml`` declares the same
  deployments for a process work pool in production.
"""
from __future__ import annotations

import os
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click
from prefect import flow, get_run_logger, task
from prefect.runtime import flow_run as runtime_flow_run

DONE_DIR = ".done"


# --------------------------------------------------------------------------- inbox

def _stamp() -> str:
    return f"{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"


def _inbox_run_name() -> str:
    params = runtime_flow_run.parameters or {}
    parts = [Path(params["path"]).name] if params.get("path") else []
    parts += [params["s3_prefix"].strip("/").replace("/", "_")] if params.get("s3_prefix") else []
    return f"inbox-{'+'.join(parts) or 'nothing'}-{_stamp()}"


def ready_files(folder: Path, min_age_seconds: float, max_files: int) -> list[str]:
    """Inbox files to take now: supported or not (the reader quarantines the rest),
    in walk order, skipping .done and files modified in the last `min_age_seconds`."""
    from tasks.read import discover

    now = time.time()
    out: list[str] = []
    for p in discover([folder]):
        try:
            if now - Path(p).stat().st_mtime < min_age_seconds:
                continue
        except OSError:
            continue  # moved away by a concurrent poll
        out.append(str(p))
        if len(out) >= max_files:
            break
    return out


def move_done(folder: Path, files: list[str]) -> int:
    """Move ingested files to <folder>/.done/<relative path>; never overwrite an earlier one."""
    moved = 0
    for f in files:
        src = Path(f)
        try:
            rel = src.resolve().relative_to(folder.resolve())
        except ValueError:
            rel = Path(src.name)
        dest = folder / DONE_DIR / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            dest = dest.with_name(f"{dest.stem}.{_stamp()}.{os.getpid()}{dest.suffix}")
        try:
            os.replace(src, dest)
            moved += 1
        except FileNotFoundError:
            pass  # a concurrent poll took it
    return moved


def parse_s3_prefix(prefix: str, default_bucket: str) -> tuple[str, str]:
    """'s3://bucket/some/prefix' -> (bucket, 'some/prefix'); 'some/prefix' -> (default_bucket, ...)."""
    if prefix.startswith("s3://"):
        bucket, _, rest = prefix[5:].partition("/")
        return bucket, rest
    return default_bucket, prefix.lstrip("/")


def _secrets() -> None:
    from infra.prefect_server import apply_secret_blocks

    if (filled := apply_secret_blocks()):
        get_run_logger().info("secrets from Prefect Secret blocks: %s", ", ".join(filled))  # names only


def _ingest(paths: list[str], run_name: str, **params) -> dict:
    from flows.ingest import ingest, make_task_runner

    return ingest.with_options(flow_run_name=run_name, task_runner=make_task_runner())(paths=paths, **params)


def _new_objects(client, bucket: str, prefix: str, max_files: int) -> list[Any]:
    from flows.backfill import _connect

    objs = [o for o in client.list_objects(bucket, prefix=prefix, recursive=True) if not o.is_dir]
    if not objs:
        return []
    with _connect() as conn:
        seen = set(conn.execute("SELECT key, etag FROM inbox_objects WHERE bucket = %s AND key = ANY(%s)",
                                (bucket, [o.object_name for o in objs])).fetchall())
    return [o for o in objs if (o.object_name, o.etag) not in seen][:max_files]


def _record_objects(bucket: str, objs: list[Any], run_id: str | None) -> None:
    from flows.backfill import _connect

    with _connect() as conn, conn.cursor() as cur:
        cur.executemany("INSERT INTO inbox_objects (bucket, key, etag, size, run_id) VALUES (%s, %s, %s, %s, %s) "
                        "ON CONFLICT (bucket, key, etag) DO NOTHING",
                        [(bucket, o.object_name, o.etag, o.size or 0, run_id) for o in objs])


@flow(name="inbox", flow_run_name=_inbox_run_name, persist_result=False)
def inbox(path: str | None = None, s3_prefix: str | None = None, format: str = "auto", stages: str | None = None,
          reference_date: str | None = None, min_age_seconds: float = 2.0, max_files: int = 5000) -> dict:
    """Land what is new in the inbox folder `path` and under `s3_prefix` ("prefix" in newsflow's
    bucket, or "s3://bucket/prefix"). Returns ingest's summary keys summed over what was new,
    plus local_files / objects: how many inbox files and S3 objects this poll took."""
    from flows.backfill import merge_summaries
    from infra.services import services
    from newsflow.config import Settings

    logger = get_run_logger()
    _secrets()
    params = {"format": format, "stages": stages, "reference_date": reference_date}
    summaries: list[dict] = []
    out: dict[str, Any] = {"local_files": 0, "objects": 0}
    if path:
        folder = Path(path)
        files = ready_files(folder, min_age_seconds, max_files) if folder.is_dir() else []
        if files:
            logger.info("inbox %s: %d new file(s)", folder, len(files))
            summary = _ingest(files, f"inbox-{folder.name}-{len(files)}-files-{_stamp()}", **params)
            summaries.append(summary)
            out["local_files"] = len(files)
            out["moved"] = move_done(folder, files)
        else:
            logger.info("inbox %s: nothing new", folder)
    if s3_prefix:
        svc = services(Settings.from_env())
        bucket, prefix = parse_s3_prefix(s3_prefix, svc.s3_bucket)
        client = svc.minio()
        objs = _new_objects(client, bucket, prefix, max_files)
        if objs:
            logger.info("inbox s3://%s/%s: %d new object(s)", bucket, prefix, len(objs))
            with tempfile.TemporaryDirectory(prefix="newsflow-inbox-") as tmp:
                local = []
                for o in objs:
                    dest = Path(tmp) / bucket / o.object_name
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    client.fget_object(bucket, o.object_name, str(dest))
                    local.append(str(dest))
                summary = _ingest(local, f"inbox-s3-{len(local)}-objects-{_stamp()}",
                                  rename_sources={str(Path(tmp) / bucket) + "/": f"s3://{bucket}/"}, **params)
            summaries.append(summary)
            _record_objects(bucket, objs, summary.get("run_id"))
            out["objects"] = len(objs)
        else:
            logger.info("inbox s3://%s/%s: nothing new", bucket, prefix)
    merged = merge_summaries(summaries) if summaries else {}
    return {**merged, **out}


# --------------------------------------------------------------------------- reprocess

def _reprocess_run_name() -> str:
    return f"reprocess-{_stamp()}"


def _candidates(reasons: list[str], quarantined: bool, outdated: bool, version: str, limit: int) -> list[dict]:
    from flows.backfill import _connect

    rows: list[dict] = []
    with _connect() as conn:
        if quarantined and reasons:
            cur = conn.execute("SELECT id, source, object_key, NULL FROM quarantine WHERE bytes > 0 "
                               "AND reason LIKE ANY(%s) ORDER BY id LIMIT %s",
                               ([r.replace("%", r"\%") + "%" for r in reasons], limit))
            rows += [{"kind": "quarantine", "id": i, "source": s, "key": k, "reference_date": d}
                     for i, s, k, d in cur.fetchall()]
        if outdated and len(rows) < limit:
            cur = conn.execute("SELECT id, source, raw_key, reference_date FROM documents "
                               "WHERE pipeline_version <> %s ORDER BY id LIMIT %s", (version, limit - len(rows)))
            rows += [{"kind": "document", "id": i, "source": s, "key": k, "reference_date": d}
                     for i, s, k, d in cur.fetchall()]
    return rows


@task(name="reprocess-batch", persist_result=False, cache_policy=None, retries=1, retry_delay_seconds=2,
      task_run_name="reprocess-{index}")
def reprocess_batch(index: int, rows: list[dict], stages: tuple[str, ...], format: str, run_id: str) -> dict:
    """Read stored raw bytes under the original source name, run the pipeline, land; drop
    the quarantine rows (and objects) of inputs that now make documents."""
    from flows.backfill import _connect
    from flows.batch import BatchSummary, get_pipeline, pipeline_version
    from newsflow.document import Quarantined
    from tasks import land, read

    lander = land.default_lander()
    pipe = get_pipeline(stages)
    summary = BatchSummary()
    docs, quarantined, recovered = [], [], []
    for row in rows:
        try:
            data = lander.lake.get(row["key"])
        except Exception as exc:  # noqa: BLE001 - a missing object is reported, not fatal
            summary.quarantined_by_reason["missing-raw"] += 1
            get_run_logger().warning("raw bytes of %s missing (%s)", row["id"], type(exc).__name__)
            continue
        items = list(read.read_bytes(data, source=row["source"], name=Path(row["source"]).name, format=format,
                                     reference_date=row["reference_date"]))
        summary.read += sum(1 for i in items if not isinstance(i, Quarantined))
        quarantined += [i for i in items if isinstance(i, Quarantined)]
        docs += [i for i in items if not isinstance(i, Quarantined)]
        if row["kind"] == "quarantine" and not any(isinstance(i, Quarantined) for i in items):
            recovered.append(row)
    result = pipe.run(docs)
    summary.add_result(result)
    quarantined += result.quarantined
    failed_sources = {q.source for q in result.quarantined}
    recovered = [r for r in recovered if r["source"] not in failed_sources]
    counts = land.land_batch(result.documents, quarantined, run_id=run_id, pipeline_version=pipeline_version(pipe))
    summary.landed += counts["landed"]
    summary.quarantined += len(quarantined)
    summary.quarantined_by_reason.update(q.reason for q in quarantined)
    if recovered:
        with _connect() as conn:
            conn.execute("DELETE FROM quarantine WHERE id = ANY(%s)", ([r["id"] for r in recovered],))
        for r in recovered:
            lander.lake.clear(r["key"])
    get_run_logger().info("reprocess batch %d: %d inputs, %d landed, %d quarantined, %d left the quarantine",
                          index, len(rows), summary.landed, summary.quarantined, len(recovered))
    return {"summary": summary, "recovered": len(recovered)}


@flow(name="reprocess", flow_run_name=_reprocess_run_name, persist_result=False)
def reprocess(quarantined: bool = True, outdated: bool = True, reasons: str = "error:", stages: str | None = None,
              format: str = "auto", limit: int = 10000, batch_size: int = 200) -> dict:
    """Re-run the pipeline over quarantined inputs (reasons starting with any of the comma-separated
    `reasons`) and documents landed by another pipeline version, from their stored raw bytes."""
    from flows import artifacts
    from flows.batch import BatchSummary, get_pipeline, pipeline_version
    from newsflow.pipeline import parse_stages
    from tasks import land

    logger = get_run_logger()
    _secrets()
    stage_names = parse_stages(stages)
    version = pipeline_version(get_pipeline(stage_names))
    reason_list = [r.strip() for r in reasons.split(",") if r.strip()]
    rows = _candidates(reason_list, quarantined, outdated, version, limit)
    if not rows:
        logger.info("reprocess: nothing to do (no matching quarantine, every document at %s)", version)
        return {"inputs": 0, "read": 0, "landed": 0, "quarantined": 0, "recovered": 0}
    run_id = land.start_run({"kind": "reprocess", "reasons": reason_list, "quarantined": quarantined,
                             "outdated": outdated, "pipeline_version": version},
                            flow_run_id=str(runtime_flow_run.id) if runtime_flow_run.id else None)
    started = time.perf_counter()
    handle = artifacts.progress_start(f"reprocess of {len(rows)} inputs")
    total = BatchSummary()
    recovered = 0
    futures = [reprocess_batch.submit(i, rows[s:s + batch_size], stage_names, format, run_id)
               for i, s in enumerate(range(0, len(rows), batch_size))]
    status = "failed"
    try:
        for n, fut in enumerate(futures, 1):
            out = fut.result()
            total.merge(out["summary"])
            recovered += out["recovered"]
            artifacts.progress_update(handle, min(n * batch_size, len(rows)), len(rows))
        status = "completed"
    finally:
        elapsed = time.perf_counter() - started
        result = total.to_dict()
        result.update(run_id=run_id, inputs=len(rows), recovered=recovered, seconds=round(elapsed, 3),
                      docs_per_s=round(total.landed / elapsed, 2) if elapsed else 0.0, pipeline_version=version)
        land.finish_run(run_id, status, result)
    artifacts.publish_summary(result)
    logger.info("reprocess: %d inputs, %d landed, %d quarantined, %d left the quarantine in %.1fs",
                len(rows), total.landed, total.quarantined, recovered, elapsed)
    return result


# --------------------------------------------------------------------------- newsflow serve

def build_deployments(inbox_path: str | None, s3_prefix: str | None, interval: float, reprocess_interval: float,
                      format: str = "auto", stages: str | None = None) -> list:
    """The RunnerDeployments `newsflow serve` serves (entrypoints by module path, so any cwd works)."""
    from datetime import timedelta

    from prefect.client.schemas.objects import ConcurrencyLimitConfig
    from prefect.deployments.runner import EntrypointType

    from flows.backfill import backfill
    from flows.ingest import ingest
    # the flows of the importable module, not of __main__ (python -m flows.serve), so the
    # module-path entrypoints resolve in the runner's subprocesses
    from flows.serve import inbox, reprocess

    one_at_a_time = ConcurrencyLimitConfig(limit=1, collision_strategy="CANCEL_NEW")
    common = {"entrypoint_type": EntrypointType.MODULE_PATH, "tags": ["newsflow"]}
    out = []
    if inbox_path or s3_prefix:
        out.append(inbox.to_deployment(
            name="inbox", interval=timedelta(seconds=interval), concurrency_limit=one_at_a_time,
            parameters={"path": inbox_path, "s3_prefix": s3_prefix, "format": format, "stages": stages},
            description="Poll the inbox folder / S3 prefix and land new inputs.", **common))
    out.append(reprocess.to_deployment(
        name="reprocess", interval=timedelta(seconds=reprocess_interval) if reprocess_interval > 0 else None,
        concurrency_limit=one_at_a_time, parameters={"stages": stages},
        description="Re-run quarantined (error:*) inputs and documents of an older pipeline version.", **common))
    out.append(backfill.to_deployment(name="backfill", description="Sharded, resumable backfill of a path.",
                                      **common))
    out.append(ingest.to_deployment(name="ingest", description="Ingest paths (one backfill shard each).",
                                    **common))
    return out


def _ensure_api(start_server: bool) -> str:
    """The Prefect API URL to serve against; starts the local server if none is configured."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if url:
        return url
    if not start_server:
        raise click.ClickException("no Prefect API configured (PREFECT_API_URL): run `newsflow up --prefect`, "
                                   "or drop --no-server to start it now")
    from infra import prefect_server
    from newsflow.config import Settings

    info = prefect_server.up(Settings.from_env())
    os.environ["PREFECT_API_URL"] = info["api_url"]
    click.echo(f"Prefect server at {info['ui_url']} (database: {info.get('database_where', 'PostgreSQL')}); "
               f"Prefect profile '{prefect_server.PROFILE}' now points at it", err=True)
    return info["api_url"]


@click.command(name="serve")
@click.option("--inbox", "inbox_path", type=click.Path(file_okay=False), metavar="DIR",
              help="Local inbox folder to poll. Landed files move to DIR/.done/.")
@click.option("--s3-prefix", metavar="PREFIX",
              help="S3 prefix to poll: 'inbox/' in newsflow's bucket, or 's3://bucket/prefix'. "
                   "Objects are read again only when their ETag changes.")
@click.option("--interval", type=click.FloatRange(1), default=60, show_default=True, metavar="SECONDS",
              help="How often the inbox poll runs.")
@click.option("--reprocess-interval", type=click.FloatRange(0), default=3600, show_default=True, metavar="SECONDS",
              help="How often the re-processing run goes (quarantined error:* inputs, documents of an older "
                   "pipeline version); 0 = only on demand.")
@click.option("--format", "fmt", type=click.Choice(["auto", "text", "html"]), default="auto", show_default=True,
              help="How inbox inputs are read.")
@click.option("--stages", help="Comma-separated steps for scheduled runs (default: all).")
@click.option("--limit", type=click.IntRange(1), default=4, show_default=True,
              help="Flow runs executing at once in this serve process.")
@click.option("--no-server", is_flag=True,
              help="Fail instead of starting the local Prefect server when no PREFECT_API_URL is configured.")
def serve_command(inbox_path, s3_prefix, interval, reprocess_interval, fmt, stages, limit, no_server) -> None:
    """Serve newsflow's deployments on a schedule, with Prefect's `serve` (no work pool).

    \b
    Deployments served (see them in the UI under Deployments):
      inbox/inbox          every --interval s: land new files of --inbox and new
                           objects under --s3-prefix (only if one of them is given)
      reprocess/reprocess  every --reprocess-interval s: re-run quarantined error:*
                           inputs and outdated documents
      backfill/backfill    on demand: prefect deployment run backfill/backfill -p path=/data
      ingest/ingest        on demand; also runs backfill shards (backfill -p deployment=ingest/ingest)

    Flow runs execute in subprocesses of this command; stop it with Ctrl-C (the
    schedules are paused until it serves again). Without PREFECT_API_URL, the local
    Prefect server (`newsflow up --prefect`) is started first.
    """
    from prefect import serve

    from infra.services import services
    from newsflow.config import Settings

    if not inbox_path and not s3_prefix:
        click.echo("no --inbox or --s3-prefix: serving reprocess, backfill and ingest only", err=True)
    if inbox_path:
        Path(inbox_path).mkdir(parents=True, exist_ok=True)
        inbox_path = str(Path(inbox_path).resolve())
    services(Settings.from_env())  # start/migrate storage once, before the first run
    api = _ensure_api(start_server=not no_server)
    deployments = build_deployments(inbox_path, s3_prefix, interval, reprocess_interval, fmt, stages)
    click.echo(f"serving {len(deployments)} deployments against {api}", err=True)
    serve(*deployments, limit=limit)


if __name__ == "__main__":  # python -m flows.serve ...
    serve_command()
