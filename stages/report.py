"""Stage `report`: `metrics/summary.json` and a printed summary table (the per-level base-vs-SFT chart reads
`metrics/voc_{base,sft}/level_f1.json` directly, so the report writes no plot data of its own)."""

from __future__ import annotations

import click

from voc.core.files import write_json
from voc.core.params import load_params
from voc.report.decision import summary_verdict
from voc.report.summary import print_summary, summarize


@click.command()
@click.option("--params", "params_path", default="params.yaml", type=click.Path(exists=True))
@click.option("--metrics-dir", default="metrics", type=click.Path(exists=True))
@click.option("--out", default="metrics/summary.json", type=click.Path())
def main(params_path: str, metrics_dir: str, out: str) -> None:
    p = load_params(params_path, "mix", "sft", "decision")
    summary = summarize(metrics_dir, p.mix, p.sft.method)
    write_json(out, summary)
    print_summary(summary)
    click.echo(summary_verdict(summary, p.decision))  # params decision: (README)


if __name__ == "__main__":
    main()
