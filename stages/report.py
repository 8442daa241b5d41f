"""Stage `report`: `metrics/summary.json`, the base-vs-SFT plot data, and a printed summary table."""

from __future__ import annotations

import click

from voc.core.files import write_json
from voc.core.params import load_params
from voc.report.summary import level_f1_plot, print_summary, summarize


@click.command()
@click.option("--params", "params_path", default="params.yaml", type=click.Path(exists=True))
@click.option("--metrics-dir", default="metrics", type=click.Path(exists=True))
@click.option("--out", default="metrics/summary.json", type=click.Path())
@click.option("--plot", default="metrics/plots/level_f1.json", type=click.Path())
def main(params_path: str, metrics_dir: str, out: str, plot: str) -> None:
    p = load_params(params_path, "mix", "sft")
    summary = summarize(metrics_dir, p.mix, p.sft.method)
    write_json(out, summary)
    write_json(plot, level_f1_plot(metrics_dir))
    print_summary(summary)


if __name__ == "__main__":
    main()
