"""``rasid process FILE...``: the stream's stages on local HTML files, one JSON line per file.

Exit status 1 at the end when a file failed (0 when every file produced an article), so a pipeline
still gets one line per file (see :mod:`pipeline.stream.batch`). No Kafka, no Elasticsearch.
"""

from __future__ import annotations

import logging
import sys
import time

import click

from pipeline.core.dates import zone
from pipeline.core.settings import Settings, get_settings
from pipeline.stream.batch import run_files

timezone_option = click.option(
    "--timezone", "tz_name", default=None, metavar="ZONE",
    help="The outlet's clock (IANA, e.g. Asia/Damascus) for page times written without an offset "
         "(default: the --source's zone in the source registry, else UTC).")


def page_zone(settings: Settings, source: str | None, tz_name: str | None) -> str | None:
    """The zone naive page times are read in, as the stream reads them: ``--timezone``, else the source's
    (the registry's ``timezone``, else its country's), else None (UTC)."""
    from connectors.registry import source_timezone

    if tz_name:
        if zone(tz_name) is None:
            raise click.BadParameter(f"unknown time zone {tz_name!r}", param_hint="--timezone")
        return tz_name
    return source_timezone(settings.sources_file, source) if source else None


@click.command("process")
@click.option("--url", default=None, help="Canonical URL of the page (sets url and id). One file only.")
@click.option("--source", default=None, help="Source id to put in `source`.")
@timezone_option
@click.option("-j", "--jobs", default=0, type=int, show_default=True,
              help="Processes for many files (0 = one per core).")
@click.argument("files", nargs=-1, required=True)
def process_cmd(url: str | None, source: str | None, tz_name: str | None, jobs: int, files: tuple[str, ...]) -> None:
    """Run the stream's extract, clean, classify, enrich and near-duplicate code on local HTML FILES
    (any charset; `-` = stdin). Prints one JSON object per file, in order; a file that fails
    prints {"file", "error", ...} on its line and the exit status is 1 at the end."""
    if url and len(files) > 1:
        raise click.UsageError("--url names one page; give a single FILE with it")
    if list(files).count("-") > 1:
        raise click.UsageError("stdin (-) can be read only once")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    t0 = time.perf_counter()
    settings = get_settings()
    failures = run_files(list(files), url, source, settings=settings, jobs=jobs,
                         tz_name=page_zone(settings, source, tz_name))
    logging.getLogger("rasid.process").info("%d files in %.2fs", len(files), time.perf_counter() - t0)
    if failures:
        sys.exit(1)
