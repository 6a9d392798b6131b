"""Steps and the pipeline that composes them. Pure Python: no Prefect here.

A step is an object with a ``name`` and ``process_batch(docs) -> docs`` (the
default maps ``process(doc)``). Steps that need a whole batch (the clean step
looks for lines repeated across documents of one source) override
``process_batch``. The pipeline times each step, counts what it did, and turns
an exception on one document into a quarantine record instead of a lost run.
"""
from __future__ import annotations

import importlib
import time
import traceback
from dataclasses import dataclass, field
from typing import Iterable

from newsflow.document import Document, Quarantined

# stage name -> "module:factory"; imported lazily so `inspect --stages language`
# does not pay for the entity model.
STAGES: dict[str, str] = {
    "clean": "tasks.clean:CleanStep",
    "language": "tasks.language:LanguageStep",
    "entities": "tasks.entities:EntityStep",
    "dates": "tasks.dates:DateStep",
}
DEFAULT_STAGES = ("clean", "language", "entities", "dates")


class Step:
    name = "step"
    # part of a landed document's pipeline_version: bump it when the step's output for the same input
    # changes, so a re-run or `reprocess` redoes the documents landed before
    version = "1"

    def process(self, doc: Document) -> Document:  # pragma: no cover - interface
        raise NotImplementedError

    def process_batch(self, docs: list[Document]) -> list[Document]:
        return [self.process(d) for d in docs]


@dataclass
class StepStats:
    name: str
    docs: int = 0
    seconds: float = 0.0
    errors: int = 0

    def add(self, other: "StepStats") -> None:
        self.docs += other.docs
        self.seconds += other.seconds
        self.errors += other.errors


@dataclass
class BatchResult:
    documents: list[Document] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    stats: dict[str, StepStats] = field(default_factory=dict)


def load_step(name: str, **options) -> Step:
    try:
        target = STAGES[name]
    except KeyError:
        raise ValueError(f"unknown stage {name!r}; known stages: {', '.join(STAGES)}") from None
    module, factory = target.split(":")
    return getattr(importlib.import_module(module), factory)(**options)


def parse_stages(spec: str | Iterable[str] | None) -> tuple[str, ...]:
    if spec is None:
        return DEFAULT_STAGES
    names = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    for n in names:
        if n not in STAGES:
            raise ValueError(f"unknown stage {n!r}; known stages: {', '.join(STAGES)}")
    # always run in pipeline order, whatever order the user typed
    return tuple(n for n in DEFAULT_STAGES if n in names)


class Pipeline:
    def __init__(self, stages: Iterable[str] | str | None = None, steps: list[Step] | None = None):
        self.steps: list[Step] = steps if steps is not None else [load_step(n) for n in parse_stages(stages)]

    def run(self, docs: list[Document]) -> BatchResult:
        result = BatchResult(stats={s.name: StepStats(s.name) for s in self.steps})
        for step in self.steps:
            stats = result.stats[step.name]
            t0 = time.perf_counter()
            try:
                docs = step.process_batch(docs)
            except Exception:
                # A batch-level failure: fall back to one document at a time so
                # only the offending documents are quarantined.
                kept = []
                for d in docs:
                    try:
                        kept.extend(step.process_batch([d]))
                    except Exception as exc:  # noqa: BLE001 - the reason is recorded
                        stats.errors += 1
                        result.quarantined.append(_quarantine(d, step.name, exc))
                docs = kept
            stats.seconds += time.perf_counter() - t0
            stats.docs += len(docs)
            for d in docs:
                d.provenance.setdefault("steps", {})[step.name] = getattr(step, "version", "1")
        result.documents = docs
        return result


def _quarantine(doc: Document, step: str, exc: BaseException) -> Quarantined:
    detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return Quarantined(source=doc.source, reason=f"error:{step}", detail=detail[:2000],
                       raw=doc.raw if doc.raw is not None else doc.content.encode("utf-8"),
                       raw_ext=doc.raw_ext)
