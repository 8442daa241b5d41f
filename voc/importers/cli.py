"""`voc import` and `voc export` (registered in the main `voc` group by voc/cli.py)."""

from __future__ import annotations

from pathlib import Path

import click

from voc.core.errors import InputError
from voc.core.taxonomy import Taxonomy, load_taxonomy
from voc.data.spans import DEFAULT_THRESHOLD
from voc.importers.acos import import_acos
from voc.importers.bedrock import DEFAULT_MARKER, import_bedrock
from voc.importers.common import ImportResult, write_import
from voc.importers.csvfmt import import_csv
from voc.importers.export import DEFAULT_FAMILY, export_bedrock
from voc.importers.keys import check_family
from voc.importers.memd import import_memd

FORMATS = ("bedrock", "csv", "memd", "acos")
SHOWN_WARNINGS = 20  # the rest are in warnings.jsonl; a big file should not flood the terminal


def run_import(fmt: str, inputs: list[Path], taxonomy: Taxonomy | None, marker: str, domain: str | None,
               threshold: float = DEFAULT_THRESHOLD) -> ImportResult:
    """Dispatch to the importer for `fmt` (options a format does not use are refused by the caller)."""
    if fmt == "bedrock":
        return import_bedrock(inputs, marker=marker, taxonomy=taxonomy, fuzzy_threshold=threshold)
    if fmt == "csv":
        return import_csv(inputs, taxonomy=taxonomy, fuzzy_threshold=threshold)
    if fmt == "memd":
        return import_memd(inputs, domain=domain, taxonomy=taxonomy, fuzzy_threshold=threshold)
    return import_acos(inputs, domain=domain, taxonomy=taxonomy, fuzzy_threshold=threshold)


def summary(report: dict, out: Path) -> str:
    """Human summary: what was converted, and what failed per reason."""
    unit = report["unit"] + "s"
    lines = [f"{report['format']}: converted {report['converted']} of {report['read']} {unit} "
             f"({report['comments']} comments, {report['segments']} segments, {report['leaves']} leaves) -> {out}"]
    lines.append(f"segment content: {report['content_verbatim']} verbatim, {report['content_relaxed']} relaxed, "
                 f"{report['content_fuzzy']} fuzzy, {report['content_not_found']} not found "
                 f"(fuzzy threshold {report['fuzzy_threshold']})")
    if report["failed"]:
        lines.append(f"failed {report['failed']} {unit} (see {out / 'failures.jsonl'}):")
        lines += [f"  {reason}: {n}" for reason, n in report["failed_by_reason"].items()]
    return "\n".join(lines)


def warning_lines(warnings: list[dict], out: Path) -> list[str]:
    """`file:line: detail` for the first warnings, then where the rest are."""
    lines = [f"warning: {w['source']}:{w['line']}: {w['detail']}" for w in warnings[:SHOWN_WARNINGS]]
    if len(warnings) > SHOWN_WARNINGS:
        lines.append(f"warning: {len(warnings) - SHOWN_WARNINGS} more in {out / 'warnings.jsonl'}")
    return lines


def _family(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return check_family(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


@click.command("import")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True, help="Input format.")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder for taxonomy.csv, comments.jsonl, import_report.json, failures.jsonl.")
@click.option("--taxonomy", "taxonomy_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Validate labels against this taxonomy.csv instead of building one from the data.")
@click.option("--marker", default=DEFAULT_MARKER, show_default=True,
              help="bedrock: the comment follows this text in the user turn ('' = the whole turn, no warning).")
@click.option("--domain", default=None, help="memd/acos: L1 label (default: folder or file name).")
@click.option("--fuzzy-threshold", "threshold", default=DEFAULT_THRESHOLD, show_default=True,
              type=click.FloatRange(0, 1, min_open=True),
              help="Similarity (0..1] at which a content that is not verbatim still counts as located (fuzzy).")
def import_cmd(fmt: str, inputs: tuple[Path, ...], out: Path, taxonomy_csv: Path | None, marker: str,
               domain: str | None, threshold: float) -> None:
    """Convert customer-feedback files to voc's canonical taxonomy.csv + comments.jsonl."""
    if domain is not None and fmt not in ("memd", "acos"):
        raise click.UsageError("--domain applies only to --format memd or acos")
    if marker != DEFAULT_MARKER and fmt != "bedrock":
        raise click.UsageError("--marker applies only to --format bedrock")
    try:
        taxonomy = load_taxonomy(taxonomy_csv) if taxonomy_csv else None
        result = run_import(fmt, list(inputs), taxonomy, marker, domain, threshold)
    except InputError as e:
        raise click.ClickException(str(e)) from None
    report = write_import(result, out)
    for line in warning_lines(result.warnings, out):
        click.echo(line, err=True)
    click.echo(summary(report, out))
    if not report["converted"]:
        raise click.ClickException(f"nothing was converted; see {out / 'failures.jsonl'} for the reasons")


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(("bedrock",)), required=True, help="Output format.")
@click.argument("input_path", metavar="IN", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Output JSONL file.")
@click.option("--taxonomy", "taxonomy_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Append each leaf's description to its label (\"Leaf: description\").")
@click.option("--marker", default=DEFAULT_MARKER, show_default=True, help="Text put before the comment.")
@click.option("--level-keys", "level_keys", default=DEFAULT_FAMILY, show_default=True, callback=_family,
              help="Label key family to write: E (E1..En, Nova Forge), L, level_, 'Level ', ... "
                   "(import_report.json's level_keys family, for a lossless round trip).")
def export_cmd(fmt: str, input_path: Path, out: Path, taxonomy_csv: Path | None, marker: str,
               level_keys: str) -> None:
    """Write prepared SFT records (e.g. data/prepared/voc/train.jsonl) as Bedrock conversation JSONL."""
    try:
        taxonomy = load_taxonomy(taxonomy_csv) if taxonomy_csv else None
        n = export_bedrock(input_path, out, marker=marker, taxonomy=taxonomy, level_keys=level_keys)
    except InputError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"{fmt}: exported {n} records from {input_path} -> {out}")
