"""Landing: documents into object storage (minio client) and PostgreSQL (psycopg 3).

Plain Python, no Prefect. The rules that make landing safe to re-run and to
run concurrently:

* Keys are deterministic: ``raw/<id[:2]>/<id><raw_ext>`` (original bytes),
  ``clean/<id[:2]>/<id>.json`` (``Document.to_json()``),
  ``quarantine/<qid[:2]>/<qid><raw_ext>`` (bytes of a quarantined input).
* Every object is written before its row, so no row ever points at a missing
  object; a crash in between leaves at most an orphan object, overwritten with
  the same bytes by the re-run.
* Rows are upserted by id, one transaction per batch (COPY into a temporary
  table, then one INSERT .. ON CONFLICT); a document's entities and dates are
  replaced in the same transaction as its row. Rows are locked in id order
  (documents, then canonical entities, then quarantine) so concurrent runs
  cannot deadlock.
* A document whose stored row has the same clean-JSON hash and pipeline
  version is left alone (no object put, no row write): re-landing is a no-op.

Module functions (``land_batch``, ``unchanged_ids``, ``start_run``,
``finish_run``, ``export_documents``, ``export_quarantine``,
``object_exists``) use one :class:`Lander` per process, built from
``infra.services.services(Settings.from_env())``.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator, Sequence

from newsflow.config import Settings
from newsflow.document import Document, Quarantined

PUT_THREADS = 8  # concurrent object puts per process (I/O bound)
TXN_DOCS = 1000  # documents per transaction when a caller hands over more

_CONTENT_TYPES = {".txt": "text/plain", ".html": "text/html", ".htm": "text/html", ".json": "application/json",
                  ".jsonl": "application/x-ndjson", ".gz": "application/gzip"}
_SAFE_EXT = re.compile(r"^(\.[A-Za-z0-9]{1,10}){1,3}$")


class LandingError(RuntimeError):
    """Objects could not be written; no row was written for the batch."""


# --------------------------------------------------------------------------- keys and ids

def _ext(raw_ext: str | None, default: str) -> str:
    return raw_ext if raw_ext and _SAFE_EXT.match(raw_ext) else default


def raw_key(doc_id: str, raw_ext: str | None = ".txt") -> str:
    return f"raw/{doc_id[:2]}/{doc_id}{_ext(raw_ext, '.bin')}"


def clean_key(doc_id: str) -> str:
    return f"clean/{doc_id[:2]}/{doc_id}.json"


def quarantine_key(qid: str, raw_ext: str | None = ".bin") -> str:
    return f"quarantine/{qid[:2]}/{qid}{_ext(raw_ext, '.bin')}"


def canonical_id(type_: str, canonical: str) -> str:
    """Stable id of a canonical entity: the same (type, canonical) gets the same id everywhere."""
    return hashlib.sha256(f"{type_}\0{canonical}".encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _content_type(key: str) -> str:
    for ext, ctype in _CONTENT_TYPES.items():
        if key.endswith(ext):
            return ctype
    return "application/octet-stream"


_SURROGATE = re.compile("[\ud800-\udfff]")


def _scrub(value: Any) -> Any:
    """Make a value storable in PostgreSQL text/jsonb and valid JSON: drop NUL, replace
    lone surrogates with U+FFFD, NaN/infinity with null. Applied before the object is
    written, so the object and the row stay identical."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value.replace("\x00", ""))
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str, allow_nan=False)


def _encode_json(data: dict) -> tuple[dict, str, bytes]:
    """(data, JSON text, UTF-8 bytes), scrubbed only when it has to be."""
    try:
        text = _dumps(data)
        if "\\u0000" not in text:
            return data, text, text.encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        pass
    data = _scrub(data)
    text = _dumps(data)
    return data, text, text.encode("utf-8")


# --------------------------------------------------------------------------- prepared rows

@dataclass
class _Prepared:
    id: str
    doc_json: dict
    clean_bytes: bytes
    sha: str
    raw: bytes
    raw_ext: str
    raw_key: str
    clean_key: str
    row: tuple
    entities: list[tuple]
    dates: list[tuple]
    canon: list[tuple]


DOC_COLUMNS = ("id", "source", "object_key", "raw_key", "doc_sha256", "title", "text", "language", "language_score",
               "languages", "published", "published_source", "publisher", "author", "site_name", "url",
               "reference_date", "pipeline_version", "doc", "run_id")
ENTITY_COLUMNS = ("doc_id", "ord", "start", "end", "text", "type", "canonical_id", "score", "removed_ord")
DATE_COLUMNS = ("doc_id", "ord", "start", "end", "text", "value", "granularity", "relative", "calendar", "hijri")
QUARANTINE_COLUMNS = ("id", "source", "reason", "detail", "object_key", "bytes", "run_id")


def _prepare(doc: Document, pipeline_version: str, run_id: str | None) -> _Prepared:
    data, text, clean_bytes = _encode_json(doc.to_json())
    raw = doc.raw if doc.raw is not None else doc.content.encode("utf-8", "surrogateescape")
    rkey, ckey = raw_key(doc.id, doc.raw_ext), clean_key(doc.id)
    row = (doc.id, data["source"], ckey, rkey, hashlib.sha256(clean_bytes).hexdigest(), data["title"], data["text"],
           data["language"], data["language_score"], _dumps(data["languages"] or {}), data["published"],
           data["published_source"], data["publisher"], data["author"], data["site_name"], data["url"],
           data["reference_date"], pipeline_version, text, run_id)
    entities, canon = [], {}
    # the body's entities, then those of the title/byline/credit lines clean cut (offsets into that removed line)
    mentions = [(e, None) for e in data["entities"]]
    mentions += [(e, r_ord) for r_ord, r in enumerate(data["removed"]) for e in r.get("entities") or ()]
    for i, (e, r_ord) in enumerate(mentions):
        name = e.get("canonical") or e["text"]
        cid = canonical_id(e["type"], name)
        canon[cid] = (cid, e["type"], name)
        entities.append((doc.id, i, e["start"], e["end"], e["text"], e["type"], cid, e.get("score"), r_ord))
    dates = [(doc.id, i, d["start"], d["end"], d["text"], d.get("value"), d["granularity"], bool(d.get("relative")),
              d.get("calendar") or "gregorian", d.get("hijri")) for i, d in enumerate(data["dates"])]
    return _Prepared(doc.id, data, clean_bytes, row[4], raw, _ext(doc.raw_ext, ".bin"), rkey, ckey, row, entities,
                     dates, list(canon.values()))


def _dedupe(items: Iterable, key) -> list:
    """Last one wins per id (ON CONFLICT cannot touch one row twice in a statement)."""
    return list({key(x): x for x in items}.values())


# --------------------------------------------------------------------------- object storage

class Lake:
    """The bucket, through the minio client. One per process; thread-safe."""

    def __init__(self, svc, threads: int = PUT_THREADS):
        self.svc = svc
        self.bucket = svc.s3_bucket
        self.client = svc.minio()
        self.threads = threads
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="newsflow-put")

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        self.client.put_object(self.bucket, key, io.BytesIO(data), len(data),
                               content_type=content_type or _content_type(key))

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> int:
        """Write all objects with `threads` puts in flight; raise LandingError if any failed
        (after the others finished: a failed put leaves the key as it was)."""
        futures = [self._pool.submit(self.put, key, data) for key, data in items]
        errors = []
        for key_data, fut in zip(items, futures):
            exc = fut.exception()
            if exc is not None:
                errors.append(f"{key_data[0]}: {exc}")
        if errors:
            raise LandingError(f"{len(errors)} of {len(items)} object puts failed; first: {errors[0]}")
        return len(items)

    def exists(self, key: str) -> bool:
        from minio.error import S3Error

        try:
            self.client.stat_object(self.bucket, key)
            return True
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return False
            raise

    def get(self, key: str) -> bytes:
        resp = self.client.get_object(self.bucket, key)
        try:
            return resp.read()
        finally:
            resp.close()
            resp.release_conn()

    def keys(self, prefix: str = "") -> Iterator[str]:
        for obj in self.client.list_objects(self.bucket, prefix=prefix, recursive=True):
            yield obj.object_name

    def clear(self, prefix: str = "") -> int:
        """Remove every object under `prefix` (tests and maintenance)."""
        from minio.deleteobjects import DeleteObject

        names = list(self.keys(prefix))
        errors = list(self.client.remove_objects(self.bucket, (DeleteObject(n) for n in names)))
        if errors:
            raise LandingError(f"could not remove {len(errors)} objects; first: {errors[0]}")
        return len(names)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


# --------------------------------------------------------------------------- PostgreSQL

_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS land_documents (
    id text, source text, object_key text, raw_key text, doc_sha256 text, title text, text text, language text,
    language_score double precision, languages jsonb, published text, published_source text, publisher text,
    author text, site_name text, url text, reference_date text, pipeline_version text, doc jsonb, run_id text
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS land_canonical (id text, type text, canonical text) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS land_quarantine (
    id text, source text, reason text, detail text, object_key text, bytes bigint, run_id text
) ON COMMIT DELETE ROWS;
"""

_UPSERT_DOCUMENTS = f"""
INSERT INTO documents ({', '.join(DOC_COLUMNS)})
SELECT {', '.join(DOC_COLUMNS)} FROM land_documents ORDER BY id
ON CONFLICT (id) DO UPDATE SET
    {', '.join(f'{c} = EXCLUDED.{c}' for c in DOC_COLUMNS if c != 'id')}, updated_at = now()
WHERE (documents.doc_sha256, documents.pipeline_version, documents.object_key, documents.raw_key)
      IS DISTINCT FROM (EXCLUDED.doc_sha256, EXCLUDED.pipeline_version, EXCLUDED.object_key, EXCLUDED.raw_key)
RETURNING id, (xmax = 0) AS inserted
"""

_UPSERT_CANONICAL = """
INSERT INTO canonical_entities (id, type, canonical)
SELECT id, type, canonical FROM land_canonical ORDER BY id
ON CONFLICT DO NOTHING
"""

_UPSERT_QUARANTINE = f"""
INSERT INTO quarantine ({', '.join(QUARANTINE_COLUMNS)})
SELECT {', '.join(QUARANTINE_COLUMNS)} FROM land_quarantine ORDER BY id
ON CONFLICT (id) DO UPDATE SET
    {', '.join(f'{c} = EXCLUDED.{c}' for c in QUARANTINE_COLUMNS if c != 'id')}, updated_at = now()
WHERE (quarantine.source, quarantine.reason, quarantine.detail, quarantine.object_key, quarantine.bytes)
      IS DISTINCT FROM (EXCLUDED.source, EXCLUDED.reason, EXCLUDED.detail, EXCLUDED.object_key, EXCLUDED.bytes)
RETURNING id
"""


def _copy(cur, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    cols = ", ".join(f'"{c}"' for c in columns)
    with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _parse_since(since: str | datetime | None) -> datetime | None:
    if since is None or since == "":
        return None
    if isinstance(since, datetime):
        dt = since
    else:
        try:
            dt = datetime.fromisoformat(since)
        except ValueError:
            raise ValueError(f"since takes an ISO date or date-time such as 2024-06-19, got {since!r}") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _retry_once(method):
    """Run a Catalog method again, on a fresh connection, after a connection-level error
    (server restarted, deadlock victim). Safe because every write here is idempotent."""
    import functools

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        import psycopg

        try:
            return method(self, *args, **kwargs)
        except psycopg.OperationalError:
            self._discard_idle()  # after a restart every idle connection is dead too
            return method(self, *args, **kwargs)

    return wrapper


class Catalog:
    """PostgreSQL access. One per process, shared by threads: each operation borrows a
    connection (autocommit, explicit transactions) from a small pool, so concurrent
    batch tasks never share a transaction and short-lived threads leak nothing."""

    def __init__(self, database_url: str, max_idle: int = 4):
        self.database_url = database_url
        self.max_idle = max_idle
        self._idle: list = []
        self._lock = threading.Lock()

    def _connect(self):
        import psycopg

        conn = psycopg.connect(self.database_url, autocommit=True)
        conn.execute(_STAGING)
        return conn

    @contextmanager
    def connection(self):
        """Borrow a connection; it goes back to the pool if healthy and idle."""
        from psycopg.pq import TransactionStatus

        conn = None
        with self._lock:
            while self._idle and conn is None:
                candidate = self._idle.pop()
                conn = None if candidate.closed or candidate.broken else candidate
        if conn is None:
            conn = self._connect()
        try:
            yield conn
        finally:
            healthy = not conn.closed and not conn.broken and conn.info.transaction_status == TransactionStatus.IDLE
            with self._lock:
                if healthy and len(self._idle) < self.max_idle:
                    self._idle.append(conn)
                    conn = None
            if conn is not None:
                conn.close()

    def _discard_idle(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def close(self) -> None:
        self._discard_idle()

    # -- reads
    @_retry_once
    def existing(self, ids: Sequence[str]) -> dict[str, tuple[str, str, str]]:
        """id -> (doc_sha256, raw_key, pipeline_version) for the ids already landed."""
        if not ids:
            return {}
        with self.connection() as conn:
            rows = conn.execute("SELECT id, doc_sha256, raw_key, pipeline_version FROM documents "
                                "WHERE id = ANY(%s)", (list(ids),)).fetchall()
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    @_retry_once
    def unchanged_ids(self, ids: Sequence[str], pipeline_version: str) -> set[str]:
        if not ids:
            return set()
        with self.connection() as conn:
            rows = conn.execute("SELECT id FROM documents WHERE id = ANY(%s) AND pipeline_version = %s",
                                (list(ids), pipeline_version)).fetchall()
        return {r[0] for r in rows}

    # -- the batch write
    @_retry_once
    def write_batch(self, docs: list[_Prepared], quarantine_rows: list[tuple]) -> dict[str, int]:
        """Upsert documents (with their entities and dates) and quarantine rows in one transaction."""
        counts = {"inserted": 0, "updated": 0, "unchanged_rows": 0, "entities": 0, "dates": 0, "quarantine_rows": 0}
        docs = sorted(docs, key=lambda p: p.id)
        with self.connection() as conn, conn.transaction(), conn.cursor() as cur:
            changed: set[str] = set()
            if docs:
                _copy(cur, "land_documents", DOC_COLUMNS, (p.row for p in docs))
                cur.execute(_UPSERT_DOCUMENTS)
                for doc_id, inserted in cur.fetchall():
                    changed.add(doc_id)
                    counts["inserted" if inserted else "updated"] += 1
                counts["unchanged_rows"] = len(docs) - len(changed)
            if changed:
                self._replace_mentions(cur, [p for p in docs if p.id in changed], counts)
            if quarantine_rows:
                _copy(cur, "land_quarantine", QUARANTINE_COLUMNS, sorted(quarantine_rows))
                cur.execute(_UPSERT_QUARANTINE)
                counts["quarantine_rows"] = len(cur.fetchall())
        return counts

    def _replace_mentions(self, cur, docs: list[_Prepared], counts: dict[str, int]) -> None:
        """Entities and dates of `docs` replaced (rows of the docs are locked by this transaction)."""
        canon = sorted({c for p in docs for c in p.canon})
        if canon:
            _copy(cur, "land_canonical", ("id", "type", "canonical"), canon)
            cur.execute(_UPSERT_CANONICAL)
        ids = [p.id for p in docs]
        cur.execute("DELETE FROM entities WHERE doc_id = ANY(%s)", (ids,))
        cur.execute("DELETE FROM dates WHERE doc_id = ANY(%s)", (ids,))
        entities = [e for p in docs for e in p.entities]
        dates = [d for p in docs for d in p.dates]
        if entities:
            _copy(cur, "entities", ENTITY_COLUMNS, entities)
        if dates:
            _copy(cur, "dates", DATE_COLUMNS, dates)
        counts["entities"] += len(entities)
        counts["dates"] += len(dates)

    # -- runs
    @_retry_once
    def start_run(self, params: dict | None = None, flow_run_id: str | None = None) -> str:
        run_id = uuid.uuid4().hex
        with self.connection() as conn:
            conn.execute("INSERT INTO runs (id, flow_run_id, params) VALUES (%s, %s, %s::jsonb)",
                         (run_id, flow_run_id, _dumps(_scrub(params or {}))))
        return run_id

    @_retry_once
    def finish_run(self, run_id: str, status: str, counts: dict | None = None) -> None:
        payload = _dumps(_scrub(counts or {}))
        with self.connection() as conn:
            # a run not started through start_run (or started elsewhere) is recorded anyway
            conn.execute("INSERT INTO runs (id, status, counts, finished_at) VALUES (%s, %s, %s::jsonb, now()) "
                         "ON CONFLICT (id) DO UPDATE SET finished_at = now(), status = EXCLUDED.status, "
                         "counts = EXCLUDED.counts", (run_id, status, payload))

    @_retry_once
    def get_run(self, run_id: str) -> dict | None:
        import psycopg.rows

        with self.connection() as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
            return cur.execute("SELECT * FROM runs WHERE id = %s", (run_id,)).fetchone()

    # -- exports (streamed with a server-side cursor on a connection of their own)
    def _stream(self, sql: str, params: Sequence[Any], itersize: int = 500) -> Iterator[tuple]:
        import psycopg

        with psycopg.connect(self.database_url) as conn:
            with conn.cursor(name=f"export_{uuid.uuid4().hex[:8]}") as cur:
                cur.itersize = itersize
                cur.execute(sql, params)
                yield from cur

    def export_documents(self, language: str | None = None, since: str | datetime | None = None) -> Iterator[dict]:
        where, params = [], []
        if language:
            where.append("language = %s")
            params.append(language)
        since_dt = _parse_since(since)
        if since_dt is not None:
            where.append("updated_at >= %s")
            params.append(since_dt)
        sql = "SELECT doc, object_key, raw_key FROM documents"
        if where:
            sql += " WHERE " + " AND ".join(where)
        for doc, object_key, raw in self._stream(sql + " ORDER BY id", params):
            out = dict(doc)
            out["object_key"] = object_key
            out["raw_key"] = raw
            yield out

    def object_keys(self) -> Iterator[str]:
        """Every object key a row points at (documents' clean and raw, quarantine raw)."""
        sql = ("SELECT object_key FROM documents UNION ALL SELECT raw_key FROM documents "
               "UNION ALL SELECT object_key FROM quarantine")
        for (key,) in self._stream(sql, (), itersize=5000):
            yield key

    def export_quarantine(self) -> Iterator[dict]:
        sql = ("SELECT id, source, reason, detail, object_key, bytes, run_id, created_at, updated_at "
               "FROM quarantine ORDER BY id")
        for qid, source, reason, detail, key, size, run_id, created, updated in self._stream(sql, ()):
            yield {"id": qid, "source": source, "reason": reason, "detail": detail, "object_key": key,
                   "bytes": size, "run_id": run_id, "created_at": created.isoformat(),
                   "updated_at": updated.isoformat()}


# --------------------------------------------------------------------------- the two together

class Lander:
    """Lands batches: objects first (thread pool), then rows (one transaction)."""

    def __init__(self, catalog: Catalog, lake: Lake):
        self.catalog = catalog
        self.lake = lake

    @classmethod
    def from_settings(cls, settings: Settings | None = None, threads: int = PUT_THREADS) -> "Lander":
        from infra.services import services

        svc = services(settings or Settings.from_env())
        return cls(Catalog(svc.database_url), Lake(svc, threads=threads))

    def close(self) -> None:
        self.catalog.close()
        self.lake.close()

    def audit(self, limit: int = 100) -> dict[str, Any]:
        """Rows against objects. `missing` (a row whose object is gone) must always be 0;
        `orphans` (objects no row points at) are left by a crash between the two writes
        and by batches in flight, and are overwritten by the re-run. Reads every key:
        for maintenance, not for the hot path."""
        objects = set(self.lake.keys())
        referenced = set(self.catalog.object_keys())
        missing, orphans = sorted(referenced - objects), sorted(objects - referenced)
        return {"objects": len(objects), "referenced": len(referenced), "missing_count": len(missing),
                "missing": missing[:limit], "orphan_count": len(orphans), "orphans": orphans[:limit]}

    def land_batch(self, docs: Sequence[Document], quarantined: Sequence[Quarantined] = (), run_id: str | None = None,
                   pipeline_version: str = "") -> dict[str, int]:
        """Land documents and quarantine records. Returns counts:
        landed (rows inserted or changed), inserted, updated, unchanged (identical row
        already there), quarantined (records given + documents refused), rejected
        (documents PostgreSQL refused, quarantined as `error:land`), objects_written,
        entities, dates."""
        total = {"landed": 0, "inserted": 0, "updated": 0, "unchanged": 0, "quarantined": 0, "rejected": 0,
                 "objects_written": 0, "entities": 0, "dates": 0}
        docs = _dedupe(docs, lambda d: d.id)
        quarantined = _dedupe(quarantined, lambda q: q.id)
        for i in range(0, max(len(docs), len(quarantined), 1), TXN_DOCS):
            counts = self._land_chunk(docs[i:i + TXN_DOCS], quarantined[i:i + TXN_DOCS], run_id, pipeline_version)
            for k, v in counts.items():
                total[k] += v
        return total

    def _land_chunk(self, docs: Sequence[Document], quarantined: Sequence[Quarantined], run_id: str | None,
                    pipeline_version: str) -> dict[str, int]:
        prepared = [_prepare(d, pipeline_version, run_id) for d in docs]
        existing = self.catalog.existing([p.id for p in prepared])
        puts: list[tuple[str, bytes]] = []
        to_write: list[_Prepared] = []
        unchanged = 0
        for p in prepared:
            old = existing.get(p.id)
            same_objects = old is not None and old[0] == p.sha and old[1] == p.raw_key
            if same_objects and old[2] == pipeline_version:
                unchanged += 1  # identical row and objects: nothing to do
                continue
            if not same_objects:
                puts += [(p.raw_key, p.raw), (p.clean_key, p.clean_bytes)]
            to_write.append(p)
        q_rows = []
        for q in quarantined:
            key = quarantine_key(q.id, q.raw_ext)
            puts.append((key, q.raw))
            q_rows.append((q.id, _scrub(q.source), _scrub(q.reason), _scrub(q.detail or ""), key, len(q.raw), run_id))
        self.lake.put_many(puts)  # all objects first ...
        counts, rejected = self._write(to_write, q_rows, run_id)  # ... then rows
        inserted, updated = counts.get("inserted", 0), counts.get("updated", 0)
        return {"landed": inserted + updated, "inserted": inserted, "updated": updated,
                "unchanged": unchanged + counts.get("unchanged_rows", 0), "quarantined": len(q_rows) + rejected,
                "rejected": rejected, "objects_written": len(puts) + rejected, "entities": counts.get("entities", 0),
                "dates": counts.get("dates", 0)}

    def _write(self, to_write: list[_Prepared], q_rows: list[tuple], run_id: str | None) -> tuple[dict, int]:
        """Write the rows in one transaction. If PostgreSQL refuses the data of some
        document (not a connection problem), write them one by one and quarantine the
        refused ones with reason `error:land`, so one bad document does not sink the batch.
        Returns (counts, number of documents refused)."""
        import psycopg

        if not (to_write or q_rows):
            return {}, 0
        try:
            return self.catalog.write_batch(to_write, q_rows), 0
        except psycopg.OperationalError:  # connection-level: not the data's fault
            raise
        except psycopg.DatabaseError:
            if not to_write:
                raise
        total: dict[str, int] = {}
        refused: list[Quarantined] = []
        for p in to_write:
            try:
                counts = self.catalog.write_batch([p], [])
            except psycopg.OperationalError:
                raise
            except psycopg.DatabaseError as exc:
                detail = f"{type(exc).__name__}: {exc}".strip()[:2000]
                refused.append(Quarantined(source=p.doc_json["source"], reason="error:land", detail=detail,
                                           raw=p.raw, raw_ext=p.raw_ext))
                continue
            for k, v in counts.items():
                total[k] = total.get(k, 0) + v
        extra = []
        for q in refused:
            key = quarantine_key(q.id, q.raw_ext)
            extra.append((q.id, _scrub(q.source), q.reason, _scrub(q.detail), key, len(q.raw), run_id))
        self.lake.put_many([(row[4], q.raw) for row, q in zip(extra, refused)])
        if q_rows or extra:
            self.catalog.write_batch([], q_rows + extra)
        return total, len(refused)


# --------------------------------------------------------------------------- module API (one Lander per process)

_default: Lander | None = None
_default_svc = None
_default_lock = threading.Lock()


def default_lander() -> Lander:
    """The process's Lander for the current environment; rebuilt when the settings change
    or the embedded services were restarted (new endpoint or keys)."""
    global _default, _default_svc
    from infra.services import services

    svc = services(Settings.from_env())
    with _default_lock:
        if _default is None or _default_svc != svc:
            if _default is not None:
                _default.close()
            _default = Lander(Catalog(svc.database_url), Lake(svc))
            _default_svc = svc
        return _default


def reset() -> None:
    """Close the process's clients (tests; after `newsflow down`)."""
    global _default, _default_svc
    with _default_lock:
        if _default is not None:
            _default.close()
        _default, _default_svc = None, None


def land_batch(docs: Sequence[Document], quarantined: Sequence[Quarantined] = (), run_id: str | None = None,
               pipeline_version: str = "") -> dict[str, int]:
    return default_lander().land_batch(docs, quarantined, run_id=run_id, pipeline_version=pipeline_version)


def unchanged_ids(ids: Sequence[str], pipeline_version: str) -> set[str]:
    """Ids already landed by this pipeline version (one query): the flow skips them."""
    return default_lander().catalog.unchanged_ids(ids, pipeline_version)


def start_run(params: dict | None = None, flow_run_id: str | None = None) -> str:
    return default_lander().catalog.start_run(params, flow_run_id)


def finish_run(run_id: str, status: str, counts: dict | None = None) -> None:
    default_lander().catalog.finish_run(run_id, status, counts)


def export_documents(language: str | None = None, since: str | datetime | None = None) -> Iterator[dict]:
    """Landed documents ordered by id: stored JSON + object_key + raw_key."""
    return default_lander().catalog.export_documents(language=language, since=since)


def export_quarantine() -> Iterator[dict]:
    return default_lander().catalog.export_quarantine()


def audit(limit: int = 100) -> dict[str, Any]:
    """Rows against objects: missing (must be 0) and orphan objects; see Lander.audit."""
    return default_lander().audit(limit)


def object_exists(key: str) -> bool:
    return default_lander().lake.exists(key)
