"""Storage: embedded services, migrations and landing, against REAL PostgreSQL
(pgserver) and S3 (rclone serve s3) started by the `services` fixture (conftest.py)."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from newsflow.document import DateMention, Document, Entity, Quarantined, Removed

ROOT = Path(__file__).resolve().parents[1]
CITIES = ["القاهرة", "بيروت", "دمشق", "عمّان", "الرباط", "تونس"]
PEOPLE = ["محمد علي", "فاطمة حسن", "أحمد سعيد", "ليلى خالد"]


def make_docs(n: int, start: int = 0, tag: str = "") -> list[Document]:
    """n small Arabic documents with 3 entities and 2 dates each (deterministic)."""
    docs = []
    for i in range(start, start + n):
        city, person = CITIES[i % len(CITIES)], PEOPLE[i % len(PEOPLE)]
        text = f"{city} - قال {person} أمس إن الاجتماع رقم {i}{tag} سيعقد في 12 يونيو 2024 في {city}."
        doc = Document.from_content(text, source=f"in/doc-{i}.txt")
        doc.raw = text.encode("utf-8")
        doc.language, doc.language_score, doc.languages = "ar", 0.99, {"ar": 0.99}
        doc.published, doc.published_source = "2024-06-19", "input"
        c0 = text.index(person)
        doc.entities = [Entity(city, "LOC", 0, len(city), city, 0.9),
                        Entity(person, "PERS", c0, c0 + len(person), person),
                        Entity(city, "LOC", text.rindex(city), text.rindex(city) + len(city), city)]
        a, b = text.index("أمس"), text.index("12 يونيو 2024")
        doc.dates = [DateMention("أمس", "2024-06-18", "day", a, a + 3, relative=True),
                     DateMention("12 يونيو 2024", "2024-06-12", "day", b, b + 13)]
        docs.append(doc)
    return docs


def rows(conn, sql: str, *params) -> list[tuple]:
    return conn.execute(sql, params).fetchall()


@pytest.fixture
def db(clean_storage):
    with psycopg.connect(clean_storage.database_url, autocommit=True) as conn:
        yield conn


def snapshot(conn, lake) -> dict:
    """Everything landed: all rows (with timestamps) and all objects' bytes."""
    return {
        "documents": rows(conn, "SELECT id, doc, object_key, raw_key, doc_sha256, run_id, created_at, updated_at "
                                "FROM documents ORDER BY id"),
        "entities": rows(conn, 'SELECT doc_id, ord, start, "end", text, type, canonical_id FROM entities ORDER BY 1, 2'),
        "dates": rows(conn, 'SELECT doc_id, ord, start, "end", text, value, relative FROM dates ORDER BY 1, 2'),
        "canonical": rows(conn, "SELECT id, type, canonical FROM canonical_entities ORDER BY id"),
        "quarantine": rows(conn, "SELECT id, reason, object_key, bytes, updated_at FROM quarantine ORDER BY id"),
        "objects": {k: lake.get(k) for k in sorted(lake.keys())},
    }


# --------------------------------------------------------------------------- embedded services

def test_embedded_services_are_real_and_reused(services):
    from minio.error import S3Error

    from infra import embedded
    from newsflow.config import Settings

    settings = Settings.from_env()
    with psycopg.connect(services.database_url) as conn:
        assert conn.execute("SELECT current_database()").fetchone()[0] == "newsflow"
    client = services.minio()
    client.put_object(services.s3_bucket, "probe/a.txt", __import__("io").BytesIO(b"abc"), 3)
    assert client.stat_object(services.s3_bucket, "probe/a.txt").size == 3
    resp = client.get_object(services.s3_bucket, "probe/a.txt")
    assert resp.read() == b"abc"
    resp.close()
    resp.release_conn()
    assert [o.object_name for o in client.list_objects(services.s3_bucket, prefix="probe/", recursive=True)] == [
        "probe/a.txt"]
    client.remove_object(services.s3_bucket, "probe/a.txt")
    with pytest.raises(S3Error):
        client.stat_object(services.s3_bucket, "probe/a.txt")
    # wrong secret is refused: the endpoint really checks signatures
    from minio import Minio

    bad = Minio(services.s3_endpoint, access_key=services.s3_access_key, secret_key="wrong-secret-key-000",
                secure=False, region="us-east-1")
    with pytest.raises(S3Error):
        bad.bucket_exists(services.s3_bucket)

    state_file = settings.home / "s3.json"
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    info = embedded.up(settings)
    assert info["database"]["already_running"] and info["s3"]["already_running"]
    assert info["s3"]["endpoint"] == services.s3_endpoint
    st = embedded.status(settings)
    assert st["database"]["running"] and st["s3"]["running"]


def test_two_processes_starting_at_once_share_one_server_of_each_kind(tmp_path):
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSFLOW_")}
    env["NEWSFLOW_HOME"] = str(home)
    code = ("import json\nfrom infra.services import services\nfrom infra import embedded\n"
            "from newsflow.config import Settings\ns = services(Settings.from_env())\n"
            "st = embedded.status(Settings.from_env())\n"
            "print(json.dumps([s.database_url, s.s3_endpoint, st['database']['pid'], st['s3']['pid']]))")
    try:
        procs = [subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outs = [p.communicate(timeout=180) for p in procs]
        for p, (out, err) in zip(procs, outs):
            log = home / "pg" / "log"
            assert p.returncode == 0, err[-3000:] + (log.read_text(errors="replace")[-2000:] if log.exists() else "")
        first, second = (json.loads(out.strip().splitlines()[-1]) for out, _ in outs)
        assert first == second
        assert first[2] and first[3]
    finally:
        subprocess.run([sys.executable, "-c", "from infra import embedded\nfrom newsflow.config import Settings\n"
                        "embedded.down(Settings.from_env())"], env=env, cwd=ROOT, timeout=120, check=True)
    from infra import embedded
    from newsflow.config import Settings

    os_env_home = Settings(home=home, database_url=None, s3_endpoint=None, s3_access_key=None, s3_secret_key=None,
                           s3_bucket="newsflow", s3_secure=False, s3_region=None, batch_size=1, workers=1,
                           max_bytes=1)
    st = embedded.status(os_env_home)
    assert not st["database"]["running"] and not st["s3"]["running"]
    assert not (home / "s3.json").exists()


# --------------------------------------------------------------------------- migrations

def test_migrations_reapply_as_noop_and_new_files_apply_in_order(services, tmp_path):
    from infra.services import MIGRATIONS_DIR, migrate

    assert migrate(services.database_url) == []
    with psycopg.connect(services.database_url, autocommit=True) as conn:
        versions = [r[0] for r in rows(conn, "SELECT version FROM schema_migrations ORDER BY version")]
        assert versions[0] == "0001"
        conn.execute("DROP DATABASE IF EXISTS migtest")
    url = services.database_url_for("migtest")
    # a fresh database, a later migration dropped in by file name, and two processes racing
    mig = tmp_path / "migrations"
    mig.mkdir()
    for f in MIGRATIONS_DIR.glob("*.sql"):
        (mig / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    (mig / "0099_extra.sql").write_text("ALTER TABLE documents ADD COLUMN extra text;\n"
                                        "CREATE INDEX documents_extra ON documents (extra);\n", encoding="utf-8")
    (mig / "README.txt").write_text("not a migration")
    results: list = []
    errors: list = []

    def run():
        try:
            results.append(migrate(url, mig))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    applied = sorted(results, key=len)
    assert applied[0] == [] and applied[1][-1] == "0099_extra" and applied[1][0] == "0001_init"
    assert migrate(url, mig) == []
    with psycopg.connect(url) as conn:
        assert rows(conn, "SELECT count(*) FROM information_schema.columns "
                          "WHERE table_name = 'documents' AND column_name = 'extra'")[0][0] == 1
    with psycopg.connect(services.database_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE migtest")
    # another database on the same server (what a Prefect server would use)
    other = services.database_url_for("nf_other")
    assert services.database_url_for("nf_other") == other
    with psycopg.connect(other) as conn:
        assert conn.execute("SELECT current_database()").fetchone()[0] == "nf_other"


# --------------------------------------------------------------------------- landing

def test_landing_twice_is_idempotent_and_every_row_has_its_objects(db):
    from tasks import land

    docs = make_docs(40)
    bad = [Quarantined("in/image.txt", "binary", "looks like PNG", b"\x89PNG\r\n\x1a\n" + bytes(range(64)), ".txt")]
    run_id = land.start_run({"paths": ["in"]})
    first = land.land_batch(docs, bad, run_id=run_id, pipeline_version="clean=1;language=1")
    assert first["landed"] == first["inserted"] == 40 and first["quarantined"] == 1
    assert first["entities"] == 120 and first["dates"] == 80
    lake = land.default_lander().lake
    before = snapshot(db, lake)
    assert len(before["documents"]) == 40 and len(before["entities"]) == 120 and len(before["dates"]) == 80
    assert len(before["canonical"]) == len(CITIES) + len(PEOPLE)
    assert len(before["objects"]) == 81  # raw + clean per document, one quarantined raw

    second = land.land_batch(docs, bad, run_id=land.start_run({}), pipeline_version="clean=1;language=1")
    assert second["landed"] == 0 and second["unchanged"] == 40
    assert snapshot(db, lake) == before  # same rows (same timestamps, same run), same objects

    by_id = {d.id: d for d in docs}
    for doc_id, doc_json, object_key, raw_key, *_ in before["documents"]:
        assert object_key == f"clean/{doc_id[:2]}/{doc_id}.json" and raw_key == f"raw/{doc_id[:2]}/{doc_id}.txt"
        assert json.loads(before["objects"][object_key]) == doc_json == by_id[doc_id].to_json()
        assert before["objects"][raw_key] == by_id[doc_id].raw
    (qid, reason, qkey, size, _), = before["quarantine"]
    assert qid == bad[0].id and reason == "binary" and qkey == f"quarantine/{qid[:2]}/{qid}.txt"
    assert before["objects"][qkey] == bad[0].raw and size == len(bad[0].raw)
    assert all(land.object_exists(k) for k in before["objects"])

    land.finish_run(run_id, "completed", {"landed": 40})
    run = land.default_lander().catalog.get_run(run_id)
    assert run["status"] == "completed" and run["counts"] == {"landed": 40} and run["finished_at"] is not None
    assert land.unchanged_ids([d.id for d in docs] + ["0" * 32], "clean=1;language=1") == {d.id for d in docs}
    assert land.unchanged_ids([d.id for d in docs], "clean=2;language=1") == set()


def test_changed_document_replaces_its_entities_and_dates_atomically(db):
    from tasks import land

    doc = make_docs(1)[0]
    land.land_batch([doc], [], pipeline_version="v1")
    doc.entities = doc.entities[:1]
    doc.dates = []
    doc.title = "عنوان"
    counts = land.land_batch([doc], [], pipeline_version="v2")
    assert counts["updated"] == 1 and counts["entities"] == 1
    assert rows(db, "SELECT count(*) FROM entities WHERE doc_id = %s", doc.id)[0][0] == 1
    assert rows(db, "SELECT count(*) FROM dates WHERE doc_id = %s", doc.id)[0][0] == 0
    assert rows(db, "SELECT title, pipeline_version, doc->>'title' FROM documents")[0] == ("عنوان", "v2", "عنوان")
    clean = json.loads(land.default_lander().lake.get(f"clean/{doc.id[:2]}/{doc.id}.json"))
    assert clean["title"] == "عنوان" and len(clean["entities"]) == 1
    # canonical ids are stable hashes of (type, canonical)
    cid = rows(db, "SELECT canonical_id FROM entities")[0][0]
    assert cid == land.canonical_id("LOC", doc.entities[0].canonical)


def test_entities_of_cut_title_and_credit_lines_land_with_their_line(db):
    """removed[i].entities (offsets into that line) land after the body's
    entities, with removed_ord = i; a re-run replaces them, not adds."""
    from tasks import land

    doc = make_docs(1)[0]
    doc.removed = [Removed("شارك", "cue:share", 1),
                   Removed("المصدر: وكالة رويترز", "cue:credit", 9,
                           [Entity("وكالة رويترز", "ORG", 8, 20, "وكاله رويترز", 0.8)])]
    for version in ("v1", "v2"):
        land.land_batch([doc], [], pipeline_version=version)
    got = rows(db, 'SELECT ord, start, "end", text, type, removed_ord FROM entities ORDER BY ord')
    assert [r[5] for r in got] == [None, None, None, 1]
    assert got[3] == (3, 8, 20, "وكالة رويترز", "ORG", 1)
    assert rows(db, "SELECT canonical FROM canonical_entities WHERE id = %s",
                land.canonical_id("ORG", "وكاله رويترز"))[0][0] == "وكاله رويترز"
    exported = next(land.export_documents())
    assert exported["removed"][1]["entities"][0]["text"] == "وكالة رويترز"


def test_text_with_nul_characters_lands(db):
    from tasks import land

    doc = Document.from_content("خبر\x00 عاجل من بيروت", source="in/nul.txt")
    counts = land.land_batch([doc], [], pipeline_version="v1")
    assert counts["landed"] == 1
    (text,), = rows(db, "SELECT text FROM documents")
    assert text == "خبر عاجل من بيروت"


def test_unstorable_values_are_scrubbed_and_a_refused_document_is_quarantined_not_the_batch(db):
    from tasks import land

    docs = make_docs(30)
    docs[3].language_score = float("nan")  # not valid JSON: becomes null
    docs[4].title = "عنوان \udc80 مكسور"  # lone surrogate (surrogateescape decoding): becomes U+FFFD
    docs[5].entities[0].end = 2**40  # PostgreSQL refuses it (integer out of range)
    counts = land.land_batch(docs, [], pipeline_version="v1")
    assert (counts["landed"], counts["rejected"], counts["quarantined"]) == (29, 1, 1)
    assert rows(db, "SELECT count(*) FROM documents")[0][0] == 29
    assert rows(db, "SELECT language_score, doc->'language_score' FROM documents WHERE id = %s", docs[3].id)[0] == (
        None, None)
    assert rows(db, "SELECT title FROM documents WHERE id = %s", docs[4].id)[0][0] == "عنوان \ufffd مكسور"
    (qid, source, reason, detail, key), = rows(db, "SELECT id, source, reason, detail, object_key FROM quarantine")
    assert (source, reason) == (docs[5].source, "error:land") and "out of range" in detail
    assert land.default_lander().lake.get(key) == docs[5].raw
    assert land.audit()["missing_count"] == 0


def test_concurrent_overlapping_batches_land_each_document_exactly_once(db):
    from tasks import land

    docs = make_docs(450)
    batches = [docs[0:300], list(reversed(docs[150:450])), docs[100:350]]
    barrier = threading.Barrier(len(batches))
    results, errors = [], []

    def run(batch):
        try:
            barrier.wait()
            results.append(land.land_batch(batch, [], pipeline_version="v1"))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sum(r["inserted"] for r in results) == 450  # each document inserted by exactly one batch
    assert rows(db, "SELECT count(*), count(DISTINCT id) FROM documents")[0] == (450, 450)
    assert rows(db, "SELECT count(*) FROM entities")[0][0] == 450 * 3
    assert rows(db, "SELECT count(*) FROM dates")[0][0] == 450 * 2
    assert rows(db, "SELECT count(*) FROM (SELECT doc_id, ord FROM entities GROUP BY 1, 2 HAVING count(*) > 1) x"
                )[0][0] == 0
    lake = land.default_lander().lake
    assert len(list(lake.keys("clean/"))) == 450 and len(list(lake.keys("raw/"))) == 450
    # short-lived threads leave no connections behind (the catalog keeps a few idle ones)
    for _ in range(10):
        t = threading.Thread(target=land.unchanged_ids, args=([docs[0].id], "v1"))
        t.start()
        t.join()
    others = rows(db, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                      "AND pid <> pg_backend_pid()")[0][0]
    assert others <= land.default_lander().catalog.max_idle


_CRASH = """
import os, signal, sys
from tests.test_storage import make_docs
from tasks import land
where = sys.argv[1]
def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
if where == "before-rows":
    land.Catalog.write_batch = die            # objects written, process killed before any row
else:
    land.Catalog._replace_mentions = die      # killed inside the transaction, document rows upserted
land.land_batch(make_docs(60), [], pipeline_version="v1")
print("not reached")
"""


@pytest.mark.parametrize("where", ["before-rows", "inside-transaction"])
def test_crash_after_objects_leaves_no_row_and_rerun_lands_everything_once(db, where):
    from tasks import land

    proc = subprocess.run([sys.executable, "-c", _CRASH, where], cwd=ROOT, env=dict(os.environ),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr[-3000:]
    docs = make_docs(60)
    lake = land.default_lander().lake
    assert len(list(lake.keys("clean/"))) == 60  # the objects were written ...
    assert rows(db, "SELECT count(*) FROM documents")[0][0] == 0  # ... and no row points anywhere
    assert rows(db, "SELECT count(*) FROM entities")[0][0] == 0
    report = land.audit()
    assert (report["missing_count"], report["orphan_count"]) == (0, 120)

    counts = land.land_batch(docs, [], pipeline_version="v1")
    assert counts["inserted"] == 60
    assert rows(db, "SELECT count(*), count(DISTINCT id) FROM documents")[0] == (60, 60)
    for object_key, raw_key in rows(db, "SELECT object_key, raw_key FROM documents"):
        assert lake.exists(object_key) and lake.exists(raw_key)
    report = land.audit()
    assert (report["objects"], report["missing_count"], report["orphan_count"]) == (120, 0, 0)


def test_error_inside_transaction_rolls_back_the_whole_batch(db, monkeypatch):
    from tasks import land

    docs = make_docs(20)
    land.land_batch(docs[:5], [], pipeline_version="v1")

    def fail(self, cur, prepared, counts):
        raise RuntimeError("disk full")

    monkeypatch.setattr(land.Catalog, "_replace_mentions", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        land.land_batch(docs, [], pipeline_version="v2")
    monkeypatch.undo()
    assert rows(db, "SELECT count(*), min(pipeline_version), max(pipeline_version) FROM documents")[0] == (5, "v1", "v1")
    assert rows(db, "SELECT count(*) FROM entities")[0][0] == 15
    counts = land.land_batch(docs, [], pipeline_version="v2")
    assert (counts["inserted"], counts["updated"]) == (15, 5)
    assert rows(db, "SELECT count(*) FROM documents WHERE pipeline_version = 'v2'")[0][0] == 20


def test_landing_survives_a_postgres_restart_between_batches(db):
    from infra import embedded
    from newsflow.config import Settings
    from tasks import land

    docs = make_docs(20)
    land.land_batch(docs[:10], [], pipeline_version="v1")
    home = Settings.from_env().home
    with embedded.locked(home):
        assert embedded.stop_postgres(home)
    assert not embedded.postgres_running(home)
    counts = land.land_batch(docs, [], pipeline_version="v1")  # restarts it, reconnects
    assert (counts["inserted"], counts["unchanged"]) == (10, 10)
    assert embedded.postgres_running(home)
    with psycopg.connect(land.default_lander().catalog.database_url) as conn:
        assert rows(conn, "SELECT count(*) FROM documents")[0][0] == 20


def test_export_streams_documents_in_id_order_with_filters(db):
    from tasks import land

    docs = make_docs(30)
    docs[0].language = "en"
    land.land_batch(docs, [Quarantined("in/empty.txt", "empty", "", b"")], pipeline_version="v1")
    out = list(land.export_documents())
    assert [d["id"] for d in out] == sorted(d.id for d in docs)
    first = next(d for d in out if d["id"] == docs[1].id)
    assert first["object_key"] == f"clean/{docs[1].id[:2]}/{docs[1].id}.json" and first["raw_key"].startswith("raw/")
    assert {k: v for k, v in first.items() if k not in ("object_key", "raw_key")} == docs[1].to_json()
    assert [d["id"] for d in land.export_documents(language="en")] == [docs[0].id]
    assert len(list(land.export_documents(since="2000-01-01"))) == 30
    assert list(land.export_documents(since="2999-01-01")) == []
    with pytest.raises(ValueError):
        list(land.export_documents(since="yesterday"))
    (q,) = list(land.export_quarantine())
    assert q["reason"] == "empty" and q["bytes"] == 0 and land.object_exists(q["object_key"])


def test_landing_throughput_batch_of_500(db, capsys):
    """Measures docs/s for batches of 500 small documents (3 entities, 2 dates each)."""
    from tasks import land

    figures = []
    for b in range(3):
        docs = make_docs(500, start=1000 * b)
        t = time.perf_counter()
        counts = land.land_batch(docs, [], pipeline_version="v1")
        figures.append(500 / (time.perf_counter() - t))
        assert counts["inserted"] == 500
    t = time.perf_counter()
    again = land.land_batch(docs, [], pipeline_version="v1")
    relanding = 500 / (time.perf_counter() - t)
    assert again["unchanged"] == 500 and again["objects_written"] == 0
    with capsys.disabled():
        print(f"\nlanding: {', '.join(f'{f:.0f}' for f in figures)} docs/s (new, batches of 500); "
              f"{relanding:.0f} docs/s re-landing unchanged")
    assert min(figures) > 20  # loose floor: the machine is shared


def test_external_services_from_env_are_used_as_is(clean_storage, tmp_path):
    """Production path: NEWSFLOW_DATABASE_URL + NEWSFLOW_S3_* point at running servers
    (here the embedded ones, as MinIO and an external PostgreSQL would be); nothing is started."""
    services = clean_storage
    home = tmp_path / "unused-home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSFLOW_")}
    env.update(services.env(), NEWSFLOW_HOME=str(home), NEWSFLOW_S3_ENDPOINT="http://" + services.s3_endpoint,
               NEWSFLOW_S3_BUCKET="external-bucket")
    code = ("import json\nfrom infra.services import services\nfrom tasks import land\n"
            "from tests.test_storage import make_docs\nsvc = services()\n"
            "counts = land.land_batch(make_docs(3, start=777), [], pipeline_version='ext')\n"
            "print(json.dumps([svc.embedded_database, svc.embedded_s3, svc.s3_endpoint, svc.s3_secure, "
            "counts['landed'], land.audit()['missing_count']]))")
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [False, False, services.s3_endpoint, False, 3, 0]
    assert not (home / "pg").exists() and not (home / "s3.json").exists()
    assert services.minio().bucket_exists("external-bucket")
