"""The `newsflow` command.

    newsflow backfill PATH...   run the ingest flow over files/folders and land them
    newsflow inspect PATH...    process without landing; one JSON object per document
    newsflow export             landed documents as JSON Lines, from PostgreSQL
    newsflow up / down / status the embedded PostgreSQL and S3 endpoint (and Prefect server)
    newsflow serve              serve the scheduled deployments (inbox poll, re-processing)

`inspect` and `export` are a stable interface: flags and JSON fields are only added.
Imports are lazy so `inspect` starts fast (no Prefect, no storage clients).
"""
from __future__ import annotations

import json
import sys

import click

STAGE_HELP = ("Comma-separated steps to run, of clean,language,entities,dates (default: all). "
              "Skipped steps leave their fields empty; without clean, `text` is the input as read.")
FORMAT_HELP = "How to read inputs: auto (by extension and content), text, or html."


def _reference_date(ctx, param, value):
    if value is None:
        return None
    from datetime import date

    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise click.BadParameter(f"expected YYYY-MM-DD, got {value!r}") from None


def _stages(ctx, param, value):
    if value is None:
        return None
    from newsflow.pipeline import parse_stages

    try:
        return ",".join(parse_stages(value))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _dump(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class LazyGroup(click.Group):
    """Commands that import Prefect are loaded only when asked for, so
    `newsflow inspect` does not pay Prefect's import time."""

    lazy = {"serve": ("flows.serve", "serve_command",
                      "Serve the scheduled deployments: inbox poll and re-processing.")}

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def format_commands(self, ctx, formatter):
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy:
                rows.append((name, self.lazy[name][2]))
            else:
                cmd = super().get_command(ctx, name)
                rows.append((name, cmd.get_short_help_str(formatter.width - 6 - len(name))))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def get_command(self, ctx, name):
        if name in self.lazy:
            import importlib

            module, attr, _ = self.lazy[name]
            try:
                return getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError) as exc:
                raise click.ClickException(f"`newsflow {name}` is unavailable: {exc}") from None
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="newsflow")
def cli() -> None:
    """newsflow: raw scraped news (much of it Arabic) in; clean, enriched documents out.

    Storage defaults to an embedded PostgreSQL (pgserver) and an embedded S3
    endpoint (rclone serve s3) under $NEWSFLOW_HOME (default ~/.newsflow),
    started on demand. Set NEWSFLOW_DATABASE_URL and NEWSFLOW_S3_ENDPOINT
    (+ NEWSFLOW_S3_ACCESS_KEY, NEWSFLOW_S3_SECRET_KEY) to use an external
    PostgreSQL and MinIO instead.
    """


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["auto", "text", "html"]), default="auto", show_default=True,
              help=FORMAT_HELP)
@click.option("--stages", callback=_stages, help=STAGE_HELP)
@click.option("--reference-date", callback=_reference_date, metavar="YYYY-MM-DD",
              help="Resolve relative dates (أمس, الثلاثاء, 13 سبتمبر) against this date when a document has no "
                   "publication date of its own.")
@click.option("--pretty", is_flag=True, help="Indent the JSON (one object per document still).")
@click.option("--strict", is_flag=True, help="Exit with status 1 if any input was quarantined.")
def inspect(paths, fmt, stages, reference_date, pretty, strict) -> None:
    """Process PATHS without landing and print one JSON object per document.

    PATHS are files or folders (walked recursively; .txt, .html/.htm, .json/.jsonl,
    and .gz of these), or - for standard input. Output is in input order, one JSON
    object per line with: source, id, title, text, removed [{text, reason, line,
    entities}], language, language_score, languages, published, publisher,
    entities [{text, type, start, end, canonical}], dates [{text, value,
    granularity, start, end}], provenance. Entity offsets are into text; those of
    a cut title/byline/credit line (removed[].entities) are into that line.
    Inputs that cannot be read are reported on stderr with the reason.
    """
    from flows.batch import inspect_items
    from newsflow.document import Quarantined

    quarantined = 0
    out = sys.stdout
    for item in inspect_items(paths, format=fmt, stages=stages, reference_date=reference_date):
        if isinstance(item, Quarantined):
            quarantined += 1
            click.echo(f"quarantined: {item.source}: {item.reason}: {item.detail}", err=True)
            continue
        obj = item.to_json()
        out.write((json.dumps(obj, ensure_ascii=False, indent=2) if pretty else _dump(obj)) + "\n")
    out.flush()
    if strict and quarantined:
        sys.exit(1)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["auto", "text", "html"]), default="auto", show_default=True,
              help=FORMAT_HELP)
@click.option("--stages", callback=_stages, help=STAGE_HELP)
@click.option("--reference-date", callback=_reference_date, metavar="YYYY-MM-DD",
              help="Reference for relative dates in documents without a publication date.")
@click.option("--batch-size", type=click.IntRange(1), help="Files per batch task [default: $NEWSFLOW_BATCH_SIZE or 500].")
@click.option("--workers", type=click.IntRange(1), help="Batch tasks in parallel [default: $NEWSFLOW_WORKERS or 2].")
@click.option("--task-runner", type=click.Choice(["thread", "process", "dask"]),
              help="Prefect task runner [default: $NEWSFLOW_TASK_RUNNER or thread].")
@click.option("--since", metavar="DATE", help="Only files modified after this ISO date.")
@click.option("--reprocess", is_flag=True, help="Process documents again even if already landed by this pipeline version.")
@click.option("--strict", is_flag=True, help="Fail the run (exit 1) if any input is quarantined.")
@click.option("--shard-size", type=click.IntRange(1), metavar="FILES",
              help="Split a large backfill into shards of this many files, one ingest flow run each; finished "
                   "shards are recorded, so re-running an interrupted backfill resumes where it stopped.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def backfill(paths, fmt, stages, reference_date, batch_size, workers, task_runner, since, reprocess, strict,
             shard_size, no_progress, as_json) -> None:
    """Run the ingest flow over PATHS (files or folders) and land every document.

    Each document lands once in object storage (raw bytes under raw/, clean JSON
    under clean/) and in PostgreSQL, whatever the number of runs: ids are content
    hashes and writes are upserts. Bad inputs are quarantined with a reason and
    the run goes on. Prints a summary: read, landed, unchanged, quarantined, docs/s.
    """
    import os

    if workers:
        os.environ["NEWSFLOW_WORKERS"] = str(workers)
    # Prefect's ephemeral API server gets 20 s to start by default: too little on a loaded 2-core machine
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no internet: telemetry only logs errors
    from flows.ingest import QuarantineError, ingest, make_task_runner

    _ensure_services()
    if task_runner:
        os.environ["NEWSFLOW_TASK_RUNNER"] = task_runner
    try:
        if shard_size:
            from flows.backfill import backfill as sharded

            summary = sharded(path=list(paths), since=since, reprocess=reprocess, shard_size=shard_size,
                              format=fmt, reference_date=reference_date, strict=strict, stages=stages,
                              batch_size=batch_size)
            return _finish(summary, as_json)
        flow_fn = ingest.with_options(task_runner=make_task_runner(task_runner, workers))
        summary = flow_fn(paths=list(paths), format=fmt, stages=stages, reference_date=reference_date,
                          batch_size=batch_size, strict=strict, reprocess=reprocess, since=since,
                          show_progress=not no_progress and sys.stderr.isatty())
    except QuarantineError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    _finish(summary, as_json)


def _finish(summary: dict, as_json: bool) -> None:
    if as_json:
        click.echo(_dump(summary))
    else:
        _print_summary(summary)


def _print_summary(s: dict) -> None:
    if "shards" in s:
        click.echo(f"shards {s['shards']}: {s.get('shards_done', 0)} run now, {s.get('shards_skipped', 0)} already "
                   f"done, {s.get('shards_failed', 0)} failed")
    click.echo(f"read {s['read']}  landed {s['landed']}  unchanged {s['unchanged']}  "
               f"quarantined {s['quarantined']}  ({s['docs_per_s']} docs/s, {s['seconds']} s)")
    if s.get("duplicates"):
        click.echo(f"duplicates within the input (same content): {s['duplicates']}")
    for reason, n in s.get("quarantined_by_reason", {}).items():
        click.echo(f"  quarantined {reason}: {n}")
    if s.get("languages"):
        click.echo("languages: " + ", ".join(f"{k} {v}" for k, v in s["languages"].items()))
    click.echo(f"run {s['run_id']}; see `newsflow export` for the landed documents")


def _ensure_services():
    """Start the embedded services if needed (no-op when pointed at external ones)."""
    from infra.services import services
    from newsflow.config import Settings

    return services(Settings.from_env())


@cli.command()
@click.option("--language", help="Only documents in this language (e.g. ar).")
@click.option("--since", metavar="DATE", help="Only documents landed or updated after this ISO date.")
@click.option("--quarantine", is_flag=True, help="Export the quarantine records instead of documents.")
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-",
              help="Write to this file instead of stdout.")
def export(language, since, quarantine, output) -> None:
    """Print the landed documents as JSON Lines from PostgreSQL.

    Each line is the document's JSON (as `inspect` prints it) plus `object_key`
    (its clean JSON in object storage) and `raw_key` (its original bytes).
    With --quarantine: one line per quarantined input with its reason.
    """
    from tasks import land

    _ensure_services()
    rows = land.export_quarantine() if quarantine else land.export_documents(language=language, since=since)
    for row in rows:
        output.write(_dump(row) + "\n")


@cli.command()
@click.option("--prefect", is_flag=True, help="Also start a Prefect server (UI) backed by the embedded PostgreSQL.")
def up(prefect) -> None:
    """Start the embedded PostgreSQL and S3 endpoint (and optionally the Prefect server)."""
    from infra import embedded
    from newsflow.config import Settings

    settings = Settings.from_env()
    info = embedded.up(settings)
    click.echo(_dump(info) if not isinstance(info, str) else info)
    if prefect:
        from infra import prefect_server

        click.echo(_dump(prefect_server.up(settings)))


@cli.command()
def down() -> None:
    """Stop the embedded services started by `newsflow up` (data is kept)."""
    from infra import embedded
    from newsflow.config import Settings

    settings = Settings.from_env()
    try:
        from infra import prefect_server

        prefect_server.down(settings)
    except ImportError:
        pass
    embedded.down(settings)
    click.echo("stopped")


@cli.command()
def status() -> None:
    """Show where storage lives and whether the embedded services run."""
    from infra import embedded
    from newsflow.config import Settings

    settings = Settings.from_env()
    info = embedded.status(settings)
    try:
        from infra import prefect_server

        info = {**info, "prefect": prefect_server.status(settings)}
    except ImportError:
        pass
    click.echo(_dump(info))


def main() -> None:
    cli(prog_name="newsflow")


if __name__ == "__main__":
    main()
