"""Prefect artifacts for newsflow runs: what a user sees on a flow run's Artifacts tab.

Three artifacts per flow run, with stable keys so the UI's Artifacts page groups
the versions of each across runs (keys are ``<flow name>-progress`` etc.):

* ``<flow>-progress``: a progress artifact, updated once per batch
  (:func:`progress_start`, :func:`progress_update`), set to 100 % by
  :func:`publish_summary`.
* ``<flow>-summary``: a table, one row per figure: totals (read, landed,
  unchanged, quarantined, docs/s, seconds), per-step docs/seconds/errors,
  languages, quarantined by reason.
* ``<flow>-report``: markdown with the top entities and the date coverage.

Every function is a safe no-op outside a Prefect flow or task run, and never
raises into the pipeline: a failure to publish is logged (once, as a warning)
and the run goes on. Nothing here logs or publishes settings, URLs with
credentials or keys: only counts and names from the summary.
"""
from __future__ import annotations

import logging
import re
from typing import Any

_log = logging.getLogger("newsflow.artifacts")
_KEY_OK = re.compile(r"[^a-z0-9-]+")
# progress handle per flow run, so publish_summary can close the bar at 100 %
_open_progress: dict[str, Any] = {}


def _run_context() -> tuple[str | None, str]:
    """(flow run id, flow name) of the current run, or (None, "") outside one."""
    try:
        from prefect.context import FlowRunContext, TaskRunContext

        ctx = FlowRunContext.get()
        if ctx is not None and ctx.flow_run is not None:
            return str(ctx.flow_run.id), ctx.flow.name if ctx.flow else "newsflow"
        tctx = TaskRunContext.get()
        if tctx is not None and tctx.task_run is not None and tctx.task_run.flow_run_id is not None:
            from prefect.runtime import flow_run

            return str(tctx.task_run.flow_run_id), flow_run.flow_name or "newsflow"
    except Exception:  # noqa: BLE001 - no Prefect context: no artifacts
        pass
    return None, ""


def artifact_key(flow_name: str, kind: str) -> str:
    """A key Prefect accepts (lowercase letters, digits, dashes): ``ingest-summary``."""
    base = _KEY_OK.sub("-", (flow_name or "newsflow").lower()).strip("-") or "newsflow"
    return f"{base}-{kind}"


def _warn(what: str, exc: BaseException) -> None:
    # The exception's type and first line only: an API error can echo a URL.
    msg = str(exc).splitlines()[0][:200] if str(exc) else ""
    msg = re.sub(r"://[^/@\s]+@", "://***@", msg)
    try:
        from prefect import get_run_logger

        get_run_logger().warning("could not publish the %s artifact (%s: %s); the run goes on",
                                 what, type(exc).__name__, msg)
    except Exception:  # noqa: BLE001
        _log.warning("could not publish the %s artifact (%s: %s)", what, type(exc).__name__, msg)


def _percent(done: int, total: int | None) -> float:
    if not total:
        return 0.0
    return max(0.0, min(100.0, 100.0 * done / total))


def progress_start(description: str) -> object:
    """Create this run's progress artifact at 0 %. Returns a handle for
    :func:`progress_update` (None outside a flow run or on failure)."""
    run_id, flow_name = _run_context()
    if run_id is None:
        return None
    try:
        from prefect.artifacts import create_progress_artifact

        handle = create_progress_artifact(0.0, key=artifact_key(flow_name, "progress"),
                                          description=description[:500])
        _open_progress[run_id] = handle
        return handle
    except Exception as exc:  # noqa: BLE001 - monitoring never breaks the pipeline
        _warn("progress", exc)
        return None


def progress_update(handle: object, done: int, total: int | None) -> None:
    """Set the progress artifact to done/total (per batch). With total unknown
    (a streamed walk), the description carries the count and the bar stays at 0
    until the summary closes it."""
    if handle is None:
        return
    try:
        from prefect.artifacts import update_progress_artifact

        desc = f"{done} of {total} files" if total else f"{done} files done (total not counted)"
        update_progress_artifact(handle, _percent(done, total), description=desc)
    except Exception as exc:  # noqa: BLE001
        _warn("progress", exc)


def summary_rows(summary: dict) -> list[dict[str, Any]]:
    """The summary table: one row per figure, columns section/item/docs/seconds/errors."""
    rows: list[dict[str, Any]] = []

    def row(section: str, item: str, docs: Any = None, seconds: Any = None, errors: Any = None) -> None:
        rows.append({"section": section, "item": item, "docs": docs, "seconds": seconds, "errors": errors})

    for name in ("files", "read", "landed", "unchanged", "duplicates", "quarantined", "skipped",
                 "shards", "shards_done", "shards_skipped", "shards_failed"):
        if name in summary and summary[name] is not None:
            row("totals", name, summary[name])
    if "docs_per_s" in summary:
        row("totals", "docs/s", summary.get("docs_per_s"), summary.get("seconds"))
    for name, st in (summary.get("steps") or {}).items():
        row("step", name, st.get("docs"), round(float(st.get("seconds") or 0), 3), st.get("errors"))
    for phase, secs in (summary.get("seconds_by_phase") or {}).items():
        row("phase", phase, None, secs)
    for lang, n in (summary.get("languages") or {}).items():
        row("language", lang, n)
    for reason, n in (summary.get("quarantined_by_reason") or {}).items():
        row("quarantined", reason, n)
    return rows


def report_markdown(summary: dict, title: str = "newsflow run") -> str:
    """Short markdown report: headline counts, top entities, date coverage."""
    processed = (summary.get("steps") or {}).get("dates", {}).get("docs")
    if processed is None:
        processed = summary.get("landed", 0)
    with_dates = summary.get("docs_with_dates") or 0
    lines = [f"# {title}", "",
             f"**{summary.get('read', 0)}** read, **{summary.get('landed', 0)}** landed, "
             f"**{summary.get('unchanged', 0)}** unchanged, **{summary.get('quarantined', 0)}** quarantined "
             f"in {summary.get('seconds', 0)} s ({summary.get('docs_per_s', 0)} docs/s).", ""]
    if summary.get("shards") is not None:
        lines += [f"Shards: {summary.get('shards_done', 0)} run, {summary.get('shards_skipped', 0)} already done "
                  f"(skipped), {summary.get('shards_failed', 0)} failed, of {summary['shards']}.", ""]
    lines += ["## Date coverage", ""]
    if processed:
        lines.append(f"{with_dates} of {processed} processed documents mention at least one date "
                     f"({100.0 * with_dates / processed:.1f} %).")
    else:
        lines.append("No document went through the pipeline in this run (all unchanged or quarantined).")
    lines += ["", "## Top entities", ""]
    top = summary.get("top_entities") or []
    if top:
        lines += ["| entity | type | documents |", "|---|---|---|"]
        for canonical, type_, n in top[:15]:
            cell = str(canonical).replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {cell} | {type_} | {n} |")
    else:
        lines.append("No entities (none found, or the entities step did not run).")
    if summary.get("quarantined_by_reason"):
        lines += ["", "## Quarantined", ""]
        lines += [f"- `{reason}`: {n}" for reason, n in summary["quarantined_by_reason"].items()]
    return "\n".join(lines) + "\n"


def publish_summary(summary: dict) -> None:
    """Publish the summary table and the markdown report for this run, and set
    the run's progress artifact to 100 %. No-op outside a flow run."""
    run_id, flow_name = _run_context()
    if run_id is None:
        return
    handle = _open_progress.pop(run_id, None)
    if handle is not None:
        try:
            from prefect.artifacts import update_progress_artifact

            update_progress_artifact(handle, 100.0, description=f"done: {summary.get('files', summary.get('read', 0))}"
                                                               " files")
        except Exception as exc:  # noqa: BLE001
            _warn("progress", exc)
    try:
        from prefect.artifacts import create_table_artifact

        create_table_artifact(summary_rows(summary), key=artifact_key(flow_name, "summary"),
                              description=f"{flow_name}: counts per step, languages, quarantined by reason, docs/s")
    except Exception as exc:  # noqa: BLE001
        _warn("summary", exc)
    try:
        from prefect.artifacts import create_markdown_artifact

        create_markdown_artifact(report_markdown(summary, title=f"{flow_name} report"),
                                 key=artifact_key(flow_name, "report"),
                                 description=f"{flow_name}: top entities and date coverage")
    except Exception as exc:  # noqa: BLE001
        _warn("report", exc)
