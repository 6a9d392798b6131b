"""What one batch task does, as plain Python: read -> skip unchanged -> steps -> land.

The Prefect flow (flows/ingest.py) only decides which paths go in which batch;
everything a batch does is here, so it runs and is tested without Prefect, and
`newsflow inspect` shares the same reading and pipeline code (without landing).
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator

from newsflow.config import Settings
from newsflow.document import Document, Quarantined
from newsflow.pipeline import BatchResult, Pipeline, parse_stages

# Documents are processed and landed in chunks of this many, so a batch task
# holding a huge JSONL file still keeps memory flat.
CHUNK = 500


@lru_cache(maxsize=8)
def get_pipeline(stages: tuple[str, ...]) -> Pipeline:
    """One pipeline (and so one loaded model of each kind) per process and stage set."""
    return Pipeline(stages)


def pipeline_version(pipe: Pipeline) -> str:
    """Which step versions produced a document; a change re-processes it on the next run."""
    return ";".join(f"{s.name}={getattr(s, 'version', '1')}" for s in pipe.steps)


def parse_since(since: str | None) -> float | None:
    if not since:
        return None
    try:
        dt = datetime.fromisoformat(since)
    except ValueError:
        raise ValueError(f"--since takes an ISO date such as 2024-06-19, got {since!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def iter_items(paths: Iterable[str | Path], *, format: str = "auto", reference_date: str | None = None,
               max_bytes: int | None = None, rename_sources: dict[str, str] | None = None
               ) -> Iterator[Document | Quarantined]:
    """Documents and quarantine records from files, folders or '-' (stdin), in input order.

    `rename_sources` maps a local prefix to the name the user knows the input by
    (the S3 inbox downloads objects to a temporary folder and records them as
    s3://bucket/key); the rest of the source is kept."""
    items = _iter_items(paths, format=format, reference_date=reference_date, max_bytes=max_bytes)
    if not rename_sources:
        yield from items
        return
    prefixes = sorted(rename_sources.items(), key=lambda kv: -len(kv[0]))
    for item in items:
        for local, public in prefixes:
            if item.source.startswith(local):
                item.source = public + item.source[len(local):]
                break
        yield item


def _iter_items(paths: Iterable[str | Path], *, format: str, reference_date: str | None,
                max_bytes: int | None) -> Iterator[Document | Quarantined]:
    from tasks import read

    for p in paths:
        if str(p) == "-":
            import sys

            data = sys.stdin.buffer.read()
            yield from read.read_bytes(data, source="<stdin>", name="stdin", format=format,
                                       reference_date=reference_date, max_bytes=max_bytes)
        else:
            yield from read.read_many([p], format=format, reference_date=reference_date, max_bytes=max_bytes)


def discover_inputs(paths: list[str], since: float | None = None, skipped: list | None = None) -> Iterator[str]:
    """Files to read under `paths`, streamed in sorted order (only those modified
    after `since`, a timestamp, if given). Files of unsupported types found while
    walking folders are appended to `skipped` once the walk is done, so the
    caller can record them (see record_unsupported): never silently dropped."""
    from tasks.read import discover

    found = discover(paths)
    for p in found:
        if since is not None:
            try:
                if Path(p).stat().st_mtime <= since:
                    continue
            except OSError:
                pass  # let the reader quarantine it as unreadable
        yield str(p)
    if skipped is not None:
        skipped.extend(str(p) for p in getattr(found, "skipped", []))


def record_unsupported(skipped: list[str], run_id: str | None) -> int:
    """Record files of unsupported types as quarantined (reason `unsupported`, no
    bytes kept). Idempotent: the same file gives the same quarantine id."""
    from tasks import land

    records = [Quarantined(source=p, reason="unsupported",
                           detail="not a supported input type (.txt, .html/.htm, .json/.jsonl, .gz)",
                           raw_ext=Path(p).suffix or ".bin") for p in skipped]
    if records:
        land.land_batch([], records, run_id=run_id, pipeline_version="")
    return len(records)


def chunked(items: Iterable, size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass
class BatchSummary:
    """Counts one batch reports back to the flow (small: no document contents)."""

    read: int = 0
    landed: int = 0
    unchanged: int = 0
    duplicates: int = 0  # same content twice in one batch: one document
    quarantined: int = 0
    quarantined_by_reason: Counter = field(default_factory=Counter)
    languages: Counter = field(default_factory=Counter)
    entities: Counter = field(default_factory=Counter)  # (canonical, type) -> mentions in docs
    docs_with_dates: int = 0
    steps: dict = field(default_factory=dict)  # name -> {docs, seconds, errors}
    seconds: dict = field(default_factory=lambda: Counter())  # read / lookup / nlp / land

    def merge(self, other: "BatchSummary") -> None:
        for name in ("read", "landed", "unchanged", "duplicates", "quarantined", "docs_with_dates"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.quarantined_by_reason.update(other.quarantined_by_reason)
        self.languages.update(other.languages)
        self.entities.update(other.entities)
        self.seconds.update(other.seconds)
        for name, st in other.steps.items():
            mine = self.steps.setdefault(name, {"docs": 0, "seconds": 0.0, "errors": 0})
            for k in mine:
                mine[k] += st[k]

    def to_dict(self) -> dict:
        return {
            "read": self.read,
            "landed": self.landed,
            "unchanged": self.unchanged,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "quarantined_by_reason": dict(sorted(self.quarantined_by_reason.items())),
            "languages": dict(self.languages.most_common()),
            "top_entities": [[c, t, n] for (c, t), n in self.entities.most_common(20)],
            "docs_with_dates": self.docs_with_dates,
            "steps": self.steps,
            "seconds_by_phase": {k: round(v, 4) for k, v in self.seconds.items()},
        }

    def add_result(self, result: BatchResult) -> None:
        for name, st in result.stats.items():
            mine = self.steps.setdefault(name, {"docs": 0, "seconds": 0.0, "errors": 0})
            mine["docs"] += st.docs
            mine["seconds"] += st.seconds
            mine["errors"] += st.errors
        for d in result.documents:
            self.languages[d.language or "und"] += 1
            if d.dates:
                self.docs_with_dates += 1
            for key in {(e.canonical, e.type) for e in d.entities}:
                self.entities[key] += 1


def process_paths(paths: list[str], *, format: str = "auto", stages: str | Iterable[str] | None = None,
                  reference_date: str | None = None, reprocess: bool = False, run_id: str | None = None,
                  settings: Settings | None = None, rename_sources: dict[str, str] | None = None) -> BatchSummary:
    """Read, enrich and land every document under `paths`. Idempotent: a re-run
    lands nothing twice (content-hash ids, deterministic keys, upserts)."""
    from tasks import land

    settings = settings or Settings.from_env()
    pipe = get_pipeline(parse_stages(stages))
    version = pipeline_version(pipe)
    summary = BatchSummary()
    t = time.perf_counter()
    items = iter_items(paths, format=format, reference_date=reference_date, max_bytes=settings.max_bytes,
                       rename_sources=rename_sources)
    for chunk in chunked(items, CHUNK):
        summary.seconds["read"] += time.perf_counter() - t
        docs: list[Document] = []
        quarantined: list[Quarantined] = []
        seen: set[str] = set()
        for item in chunk:
            if isinstance(item, Quarantined):
                quarantined.append(item)
            elif item.id in seen:
                summary.duplicates += 1
            else:
                seen.add(item.id)
                docs.append(item)
        summary.read += len(chunk) - len(quarantined)
        t = time.perf_counter()
        if docs and not reprocess:
            done = land.unchanged_ids([d.id for d in docs], version)
            if done:
                summary.unchanged += sum(1 for d in docs if d.id in done)
                docs = [d for d in docs if d.id not in done]
        summary.seconds["lookup"] += time.perf_counter() - t
        t = time.perf_counter()
        result = pipe.run(docs)
        summary.seconds["nlp"] += time.perf_counter() - t
        summary.add_result(result)
        quarantined.extend(result.quarantined)
        t = time.perf_counter()
        counts = land.land_batch(result.documents, quarantined, run_id=run_id, pipeline_version=version)
        summary.seconds["land"] += time.perf_counter() - t
        summary.landed += counts["landed"]
        # identical output on --reprocess comes back unchanged; rows PostgreSQL
        # refused are quarantined inside land_batch (reason error:land)
        summary.unchanged += counts.get("unchanged", 0)
        rejected = counts.get("rejected", 0)
        summary.quarantined += len(quarantined) + rejected
        summary.quarantined_by_reason.update(q.reason for q in quarantined)
        if rejected:
            summary.quarantined_by_reason["error:land"] += rejected
        t = time.perf_counter()
    return summary


def inspect_items(paths: Iterable[str], *, format: str = "auto", stages=None, reference_date: str | None = None,
                  max_bytes: int | None = None) -> Iterator[Document | Quarantined]:
    """Process without landing, yielding documents (and quarantine records) in input order."""
    pipe = get_pipeline(parse_stages(stages))
    if max_bytes is None:
        max_bytes = Settings.from_env().max_bytes
    for chunk in chunked(iter_items(paths, format=format, reference_date=reference_date, max_bytes=max_bytes), CHUNK):
        docs = [d for d in chunk if isinstance(d, Document)]
        result = pipe.run(docs)
        # Steps may return new objects or drop a failing document: match by source
        # (unique per input item) to keep the input order.
        out: dict[str, Document | Quarantined] = {d.source: d for d in result.documents}
        out.update((q.source, q) for q in result.quarantined)
        for item in chunk:
            yield item if isinstance(item, Quarantined) else out[item.source]

