"""Operations: schedules served with Prefect's `serve`, concurrent runs, sharded resumable
backfills, artifacts, and the production files (compose, prefect.yaml).

Everything is real: the embedded PostgreSQL and S3 endpoint of the session
(`services` fixture), a real Prefect server (infra/prefect_server.py) whose
database is a PostgreSQL cluster, real flow runs, real subprocesses. Waits are
bounded; every test checks what landed in PostgreSQL and S3.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
STAGES = "clean,language"  # enough for these checks, and fast


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def prefect_api(services, tmp_path_factory):
    """A real Prefect server for this module; PREFECT_API_URL points at it in-process and in `env`."""
    from infra import prefect_server
    from newsflow.config import Settings
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    try:
        prefect_server._pg_bindir()
    except RuntimeError as exc:
        pytest.skip(str(exc))
    prefect_home = tmp_path_factory.mktemp("prefect-home")
    settings = Settings.from_env()
    saved_home = os.environ.get("PREFECT_HOME")
    os.environ["PREFECT_HOME"] = str(prefect_home)
    info = prefect_server.up(settings, set_profile=False)
    try:
        with temporary_settings(updates={PREFECT_API_URL: info["api_url"], PREFECT_HOME: str(prefect_home)}):
            yield info
            _drain_prefect_workers()  # send buffered logs/events while the server is up
    finally:
        prefect_server.down(settings)
        if saved_home is None:
            os.environ.pop("PREFECT_HOME", None)
        else:
            os.environ["PREFECT_HOME"] = saved_home


def _drain_prefect_workers() -> None:
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        try:
            worker.drain_all(timeout=20)
        except Exception:  # noqa: BLE001 - best effort at teardown
            pass


def _env(services, prefect_api) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSFLOW_") and k != "PREFECT_PROFILE"}
    env.update(services.env())
    env.update(NEWSFLOW_HOME=os.environ["NEWSFLOW_HOME"], PREFECT_API_URL=prefect_api["api_url"],
               PREFECT_HOME=os.environ["PREFECT_HOME"], PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join([str(ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))
    return env


@contextlib.contextmanager
def _serving(env: dict, args: list[str], log_path: Path):
    """`newsflow serve ARGS` in a subprocess (its own process group), stopped with SIGINT at the end."""
    log = open(log_path, "w+")
    proc = subprocess.Popen([sys.executable, "-m", "flows.serve", *args, "--no-server"], env=env, cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


def _db(services):
    import psycopg

    return psycopg.connect(services.database_url, autocommit=True)


def _make_docs(folder: Path, tag: str, n: int, start: int = 0) -> list[Path]:
    """n distinct real articles (a seed + a unique closing line, so unique content ids)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(start, start + n):
        seed = SEEDS[i % len(SEEDS)].read_text(encoding="utf-8")
        p = folder / f"{tag}_{i:03d}.txt"
        p.write_text(seed + f"\n\nملاحظة التحرير {tag} رقم {i}.\n", encoding="utf-8")
        out.append(p)
    return out


def _doc_ids(paths: list[Path]) -> set[str]:
    from flows.batch import iter_items
    from newsflow.document import Document

    return {d.id for d in iter_items([str(p) for p in paths]) if isinstance(d, Document)}


def _landed(services, ids: set[str]) -> dict[str, int]:
    """id -> number of rows in documents (0 or 1), objects checked in S3 too."""
    with _db(services) as conn:
        rows = conn.execute("SELECT id, object_key, raw_key FROM documents WHERE id = ANY(%s)",
                            (list(ids),)).fetchall()
    client = services.minio()
    for _id, obj, raw in rows:
        client.stat_object(services.s3_bucket, obj)  # raises if missing
        client.stat_object(services.s3_bucket, raw)
    counts = {i: 0 for i in ids}
    for r in rows:
        counts[r[0]] += 1
    return counts


# --------------------------------------------------------------------------- artifacts (no server needed)

def test_artifact_helpers_are_noops_outside_a_run_and_render_the_summary():
    from flows import artifacts

    assert artifacts.progress_start("x") is None
    artifacts.progress_update(None, 1, 2)
    artifacts.publish_summary({"read": 1})  # no run: nothing happens, nothing raises
    summary = {"read": 3, "landed": 2, "unchanged": 1, "quarantined": 1, "quarantined_by_reason": {"empty": 1},
               "seconds": 1.5, "docs_per_s": 2.0, "languages": {"ar": 2, "en": 1}, "docs_with_dates": 1,
               "steps": {"clean": {"docs": 3, "seconds": 0.2, "errors": 0},
                         "dates": {"docs": 2, "seconds": 0.1, "errors": 0}},
               "top_entities": [["القاهرة", "LOC", 2], ["a|b", "ORG", 1]]}
    rows = artifacts.summary_rows(summary)
    assert {"section": "language", "item": "ar", "docs": 2, "seconds": None, "errors": None} in rows
    assert {"section": "quarantined", "item": "empty", "docs": 1, "seconds": None, "errors": None} in rows
    assert any(r["section"] == "step" and r["item"] == "clean" and r["docs"] == 3 for r in rows)
    assert any(r["item"] == "docs/s" and r["docs"] == 2.0 for r in rows)
    md = artifacts.report_markdown(summary)
    assert "1 of 2 processed documents mention at least one date (50.0 %)" in md
    assert "| القاهرة | LOC | 2 |" in md and "a\\|b" in md
    assert artifacts.artifact_key("Ingest Flow", "summary") == "ingest-flow-summary"


# --------------------------------------------------------------------------- production files

def test_compose_and_prefect_yaml_are_consistent():
    from prefect.cli.deploy._models import PrefectYamlModel
    from prefect.flows import load_flow_from_entrypoint

    compose = yaml.safe_load((ROOT / "infra/docker-compose.yml").read_text())
    services = compose["services"]
    for name in ("postgres", "minio", "prefect-server", "worker"):
        assert name in services, name
    env_example = dict(line.split("=", 1) for line in (ROOT / "infra/.env.example").read_text().splitlines()
                       if line and not line.startswith("#"))
    used = set(re.findall(r"\$\{([A-Z0-9_]+)\}", (ROOT / "infra/docker-compose.yml").read_text()))
    assert used <= set(env_example), f"variables without a value in .env.example: {used - set(env_example)}"
    worker_env = services["worker"]["environment"]
    assert worker_env["PREFECT_API_URL"] == "http://prefect-server:4200/api"
    assert "@postgres:5432/" in worker_env["NEWSFLOW_DATABASE_URL"]
    assert worker_env["NEWSFLOW_S3_ENDPOINT"] == "http://minio:9000"
    assert "@postgres:5432/prefect" in services["prefect-server"]["environment"]["PREFECT_SERVER_DATABASE_CONNECTION_URL"]
    assert "newsflow-process" in services["worker"]["command"]
    # no secret values in the committed files
    assert not re.search(r"(PASSWORD|SECRET_KEY):\s*[^$\s{]", (ROOT / "infra/docker-compose.yml").read_text())

    raw = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    model = PrefectYamlModel.model_validate(raw)
    by_name = {d.name: d for d in model.deployments}
    assert set(by_name) == {"inbox", "reprocess", "backfill", "ingest"}
    assert by_name["inbox"].schedules and by_name["inbox"].schedules[0].interval
    assert by_name["reprocess"].schedules and by_name["reprocess"].schedules[0].cron
    import inspect

    for d in model.deployments:
        assert d.work_pool.name == "newsflow-process"
        fl = load_flow_from_entrypoint(str(ROOT / d.entrypoint))
        assert fl.name == d.name
        accepted = set(inspect.signature(fl.fn).parameters)
        assert set(d.parameters) <= accepted, (d.name, set(d.parameters) - accepted)


def test_serve_help():
    proc = subprocess.run([sys.executable, "-m", "flows.serve", "--help"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for opt in ("--inbox", "--s3-prefix", "--interval", "--reprocess-interval"):
        assert opt in proc.stdout


# --------------------------------------------------------------------------- schedules

def test_served_schedule_picks_up_a_dropped_file_and_lands_it(services, prefect_api, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    env = _env(services, prefect_api)
    args = ["--inbox", str(inbox), "--interval", "3", "--reprocess-interval", "0", "--stages", STAGES]
    with _serving(env, args, tmp_path / "serve.log") as proc:
        dropped = _make_docs(tmp_path / "staging", "served", 1)[0]
        ids = _doc_ids([dropped])
        target = inbox / "sub" / dropped.name
        target.parent.mkdir()
        os.replace(dropped, target)  # dropped while the schedule is being served
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            if all(_landed(services, ids).values()) and (inbox / ".done" / "sub" / dropped.name).exists():
                break
            assert proc.poll() is None, "newsflow serve exited:\n" + (tmp_path / "serve.log").read_text()[-3000:]
            time.sleep(1)
        else:
            pytest.fail("the dropped file was not landed in 150 s:\n" + (tmp_path / "serve.log").read_text()[-4000:])
        assert _landed(services, ids) == {i: 1 for i in ids}
        assert not target.exists()
        assert re.search(r"Flow run 'inbox-inbox-\d{8}-\d{6}'", (tmp_path / "serve.log").read_text())


# --------------------------------------------------------------------------- concurrency

def test_two_flow_runs_at_once_over_overlapping_inputs_land_each_document_once(services, prefect_api, tmp_path):
    docs = _make_docs(tmp_path / "all", "overlap", 10)
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    for p in docs[:7]:
        (a / p.name).write_bytes(p.read_bytes())
    for p in docs[3:]:
        (b / p.name).write_bytes(p.read_bytes())
    ids = _doc_ids(docs)
    assert len(ids) == 10
    env = _env(services, prefect_api)
    code = ("import json, sys\nfrom flows.ingest import ingest\n"
            f"s = ingest([sys.argv[1]], stages={STAGES!r}, batch_size=2)\n"
            "print('SUMMARY ' + json.dumps({k: s[k] for k in ('read', 'landed', 'unchanged', 'quarantined')}))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(folder)], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for folder in (a, b)]
    outs = [p.communicate(timeout=240)[0] for p in procs]
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out[-4000:]
    summaries = [json.loads(re.search(r"^SUMMARY (.*)$", o, re.M).group(1)) for o in outs]
    assert [s["read"] for s in summaries] == [7, 7]
    assert all(s["quarantined"] == 0 for s in summaries)
    assert _landed(services, ids) == {i: 1 for i in ids}
    with _db(services) as conn:
        n_objects = conn.execute("SELECT count(DISTINCT object_key) FROM documents WHERE id = ANY(%s)",
                                 (list(ids),)).fetchone()[0]
    assert n_objects == 10
    keys = {k for k in (o.object_name for o in services.minio().list_objects(services.s3_bucket, prefix="clean/",
                                                                           recursive=True))}
    assert {f"clean/{i[:2]}/{i}.json" for i in ids} <= keys


# --------------------------------------------------------------------------- sharded backfill

def _shards(services, backfill_key: str) -> list[tuple]:
    with _db(services) as conn:
        return conn.execute("SELECT shard_index, status, attempts, flow_run_id FROM backfill_shards "
                            "WHERE backfill_key = %s ORDER BY shard_index", (backfill_key,)).fetchall()


def test_interrupted_backfill_resumes_without_redoing_finished_shards(services, prefect_api, tmp_path):
    from flows.backfill import backfill

    folder = tmp_path / "archive"
    files = _make_docs(folder, "resume", 7)
    ids = _doc_ids(files)
    first = backfill(str(folder), shard_size=2, max_shards=2, stages=STAGES)  # stops after 2 of 4 shards
    assert (first["shards"], first["shards_done"], first["shards_left"], first["shards_skipped"]) == (4, 2, 2, 0)
    assert first["landed"] == 4
    before = _shards(services, first["backfill_key"])
    assert [(i, s, a) for i, s, a, _ in before] == [(0, "done", 1), (1, "done", 1)]

    second = backfill(str(folder), shard_size=2, stages=STAGES)
    assert second["backfill_key"] == first["backfill_key"]
    assert (second["shards"], second["shards_done"], second["shards_skipped"], second["shards_left"]) == (4, 2, 2, 0)
    assert second["landed"] == 3 and second["unchanged"] == 0  # finished shards were not read again
    after = _shards(services, first["backfill_key"])
    assert after[:2] == before  # same attempt, same flow run: not redone
    assert [(i, s, a) for i, s, a, _ in after] == [(0, "done", 1), (1, "done", 1), (2, "done", 1), (3, "done", 1)]
    assert len({fr for *_, fr in after}) == 4  # one flow run per shard
    assert _landed(services, ids) == {i: 1 for i in ids}

    # a file that changes makes only its own shard run again
    files[6].write_text(files[6].read_text(encoding="utf-8") + "\nتحديث.\n", encoding="utf-8")
    third = backfill(str(folder), shard_size=2, stages=STAGES)
    assert (third["shards_done"], third["shards_skipped"]) == (1, 3)


def test_sharded_backfill_records_unsupported_files_in_quarantine_once(services, prefect_api, tmp_path):
    from flows.backfill import backfill

    folder = tmp_path / "mixed"
    files = _make_docs(folder, "unsupported", 3)
    (folder / "scan.pdf").write_bytes(b"%PDF-1.4 not an article")
    first = backfill(str(folder), shard_size=2, stages=STAGES)
    assert (first["landed"], first["quarantined"], first["quarantined_by_reason"]) == (3, 1, {"unsupported": 1})
    second = backfill(str(folder), shard_size=2, stages=STAGES)
    assert second["shards_skipped"] == 2 and second["quarantined_by_reason"] == {"unsupported": 1}
    with _db(services) as conn:
        rows = conn.execute("SELECT reason FROM quarantine WHERE source = %s", (str(folder / "scan.pdf"),)).fetchall()
    assert rows == [("unsupported",)]
    assert _landed(services, _doc_ids(files)) == {i: 1 for i in _doc_ids(files)}


def test_killed_backfill_resumes_and_lands_everything_once(services, prefect_api, tmp_path):
    """A real interruption: the backfill process is killed (SIGKILL) once a shard is done."""
    from flows.backfill import backfill

    folder = tmp_path / "big"
    files = _make_docs(folder, "killed", 8)
    ids = _doc_ids(files)
    env = _env(services, prefect_api)
    code = ("import sys\nfrom flows.backfill import backfill\n"
            f"backfill(sys.argv[1], shard_size=2, stages={STAGES!r})")
    proc = subprocess.Popen([sys.executable, "-c", code, str(folder)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        done_before: list = []
        while time.monotonic() < deadline and proc.poll() is None:
            with _db(services) as conn:
                done_before = conn.execute(
                    "SELECT shard_key, flow_run_id FROM backfill_shards WHERE first_path LIKE %s AND status = 'done'",
                    (f"{folder}%",)).fetchall()
            if done_before:
                break
            time.sleep(0.2)
        assert done_before, "no shard finished in time"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    resumed = backfill(str(folder), shard_size=2, stages=STAGES)
    assert resumed["shards"] == 4
    assert resumed["shards_skipped"] >= len(done_before) >= 1
    assert resumed["shards_done"] + resumed["shards_skipped"] == 4
    with _db(services) as conn:
        rows = dict(conn.execute("SELECT shard_key, flow_run_id FROM backfill_shards WHERE first_path LIKE %s "
                                 "AND status = 'done'", (f"{folder}%",)).fetchall())
    assert len(rows) == 4
    for key, flow_run_id in done_before:
        assert rows[key] == flow_run_id  # finished before the kill: not redone
    assert _landed(services, ids) == {i: 1 for i in ids}


def test_backfill_artifacts_are_listed_by_prefect_artifact_ls(services, prefect_api, tmp_path):
    from flows.backfill import backfill

    folder = tmp_path / "seeds"
    _make_docs(folder, "artifacts", 3)
    result = backfill(str(folder), shard_size=2, stages=STAGES)
    assert result["landed"] == 3
    env = _env(services, prefect_api)
    env["COLUMNS"] = "200"
    proc = subprocess.run([sys.executable, "-m", "prefect", "artifact", "ls"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for key in ("backfill-progress", "backfill-summary", "backfill-report", "ingest-summary", "ingest-report"):
        assert key in proc.stdout, proc.stdout
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        table = client.read_latest_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["backfill-summary"])))[0]
        progress = client.read_latest_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["backfill-progress"])))[0]
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert {"section": "totals", "item": "landed", "docs": 3, "seconds": None, "errors": None} in rows
    assert float(progress.data) == 100.0


# --------------------------------------------------------------------------- reprocess

def test_reprocess_recovers_quarantined_error_inputs_and_outdated_documents(clean_storage, prefect_api, tmp_path):
    services = clean_storage  # empty tables: every outdated document here is this test's
    from flows.batch import get_pipeline, pipeline_version
    from flows.ingest import ingest
    from flows.serve import reprocess
    from newsflow.document import Quarantined
    from newsflow.pipeline import parse_stages
    from tasks import land

    # an input a (since fixed) step failed on: quarantined with its raw bytes
    raw = _make_docs(tmp_path / "q", "requeue", 1)[0]
    q = Quarantined(source=str(raw), reason="error:clean", detail="RuntimeError: boom", raw=raw.read_bytes(),
                    raw_ext=".txt")
    land.land_batch([], [q], run_id=None, pipeline_version="")
    # a document landed by an older pipeline version
    old = _make_docs(tmp_path / "old", "outdated", 1)
    ingest([str(old[0])], stages=STAGES)
    old_id = next(iter(_doc_ids(old)))
    with _db(services) as conn:
        conn.execute("UPDATE documents SET pipeline_version = 'clean=0' WHERE id = %s", (old_id,))
    result = reprocess(stages=STAGES)
    assert result["recovered"] >= 1
    assert _landed(services, _doc_ids([raw])) == {i: 1 for i in _doc_ids([raw])}
    version = pipeline_version(get_pipeline(parse_stages(STAGES)))
    with _db(services) as conn:
        assert conn.execute("SELECT count(*) FROM quarantine WHERE id = %s", (q.id,)).fetchone()[0] == 0
        assert conn.execute("SELECT pipeline_version FROM documents WHERE id = %s",
                            (old_id,)).fetchone()[0] == version
    # nothing left to do: a second run finds nothing of these
    again = reprocess(stages=STAGES)
    assert again.get("recovered", 0) == 0


def test_inbox_lands_new_s3_objects_once_and_local_files_move_to_done(services, prefect_api, tmp_path):
    import io

    from flows.serve import inbox

    docs = _make_docs(tmp_path / "s3src", "s3inbox", 2)
    ids = _doc_ids(docs)
    client = services.minio()
    for p in docs:
        data = p.read_bytes()
        client.put_object(services.s3_bucket, f"inbox-test/{p.name}", io.BytesIO(data), len(data))
    local = tmp_path / "drop"
    local_docs = _make_docs(local, "localinbox", 1)
    os.utime(local_docs[0], (time.time() - 60, time.time() - 60))
    first = inbox(path=str(local), s3_prefix="inbox-test/", stages=STAGES)
    assert (first["local_files"], first["objects"], first["files"], first["landed"]) == (1, 2, 3, 3)
    assert _landed(services, ids | _doc_ids([local / ".done" / local_docs[0].name])) == {
        i: 1 for i in ids | _doc_ids([local / ".done" / local_docs[0].name])}
    assert not local_docs[0].exists()
    with _db(services) as conn:  # S3 documents keep their object's name, not the temporary download path
        sources = {r[0] for r in conn.execute("SELECT source FROM documents WHERE id = ANY(%s)", (list(ids),))}
    assert sources == {f"s3://{services.s3_bucket}/inbox-test/{p.name}" for p in docs}
    second = inbox(path=str(local), s3_prefix=f"s3://{services.s3_bucket}/inbox-test/", stages=STAGES)
    assert (second["local_files"], second["objects"]) == (0, 0)  # nothing new: no ingest run
    # an object whose content changes is read again
    changed = docs[0].read_bytes() + "\nتصحيح.\n".encode()
    client.put_object(services.s3_bucket, f"inbox-test/{docs[0].name}", io.BytesIO(changed), len(changed))
    third = inbox(s3_prefix="inbox-test/", stages=STAGES)
    assert (third["objects"], third["landed"]) == (1, 1)


def test_backfill_shards_as_deployment_runs_reattach_by_idempotency_key(services, prefect_api, tmp_path):
    """Scale-out mode: shards are runs of the served `ingest` deployment (any worker or serve
    process can take them); a resumed backfill finds a shard's run by its idempotency key."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    from flows.backfill import backfill

    env = _env(services, prefect_api)
    with _serving(env, ["--reprocess-interval", "0"], tmp_path / "serve.log") as proc, \
            get_client(sync_client=True) as client:
        deadline = time.monotonic() + 90
        while True:
            try:
                dep = client.read_deployment_by_name("ingest/ingest")
                break
            except Exception:  # noqa: BLE001 - not registered yet
                assert time.monotonic() < deadline, "serve did not register ingest/ingest:\n" + \
                    (tmp_path / "serve.log").read_text()[-3000:]
                assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
                time.sleep(0.5)
        folder = tmp_path / "scaled"
        ids = _doc_ids(_make_docs(folder, "scaled", 4))
        first = backfill(str(folder), shard_size=2, deployment="ingest/ingest", parallel=2, stages=STAGES)
        assert (first["shards"], first["shards_done"], first["landed"]) == (2, 2, 4)
        assert _landed(services, ids) == {i: 1 for i in ids}
        rows = _shards(services, first["backfill_key"])
        for _i, _status, _attempts, flow_run_id in rows:
            assert client.read_flow_run(flow_run_id).deployment_id == dep.id

        def ingest_runs() -> int:
            return len(client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[dep.id]))))

        before = ingest_runs()
        # a backfill that died after shard 0's run finished, before it recorded it
        with _db(services) as conn:
            conn.execute("UPDATE backfill_shards SET status = 'running' WHERE backfill_key = %s "
                         "AND shard_index = 0", (first["backfill_key"],))
        second = backfill(str(folder), shard_size=2, deployment="ingest/ingest", parallel=2, stages=STAGES)
        assert (second["shards_done"], second["shards_skipped"]) == (1, 1)
        after = _shards(services, first["backfill_key"])
        assert after[0][3] == rows[0][3] and after[0][1] == "done"  # the same run, found by its key
        assert ingest_runs() == before  # no second run of that shard


def test_secret_blocks_fill_unset_settings_and_values_are_never_logged(prefect_api, monkeypatch, caplog):
    """With NEWSFLOW_SECRET_BLOCKS=1 a Prefect Secret block fills an unset NEWSFLOW_* secret
    (a variable already set wins); only the variable's name is returned and logged."""
    from prefect.blocks.system import Secret

    from infra.prefect_server import apply_secret_blocks

    value = "s3cr3t-" + os.urandom(6).hex()
    Secret(value=value).save("newsflow-s3-secret-key", overwrite=True)
    Secret(value="not-used-" + value).save("newsflow-s3-access-key", overwrite=True)
    for var in ("NEWSFLOW_S3_SECRET_KEY", "NEWSFLOW_DATABASE_URL"):
        monkeypatch.setenv(var, "recorded")  # so that teardown restores whatever was there
        monkeypatch.delenv(var)
    monkeypatch.setenv("NEWSFLOW_S3_ACCESS_KEY", "from-env")

    monkeypatch.delenv("NEWSFLOW_SECRET_BLOCKS", raising=False)
    assert apply_secret_blocks() == []  # off unless asked for
    assert "NEWSFLOW_S3_SECRET_KEY" not in os.environ

    monkeypatch.setenv("NEWSFLOW_SECRET_BLOCKS", "1")
    with caplog.at_level("DEBUG"):
        filled = apply_secret_blocks()
    assert filled == ["NEWSFLOW_S3_SECRET_KEY"]
    assert os.environ["NEWSFLOW_S3_SECRET_KEY"] == value
    assert os.environ["NEWSFLOW_S3_ACCESS_KEY"] == "from-env"
    assert value not in caplog.text and value not in " ".join(filled)
