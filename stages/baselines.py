"""Stage `baselines`: the majority-leaf and TF-IDF baselines, trained on the prepared train split and scored on the
same test comments as `eval_voc` (see voc.eval.baselines). Independent of `mix`, so an experiment never reruns it."""

from __future__ import annotations

from pathlib import Path

import click

from voc.core.files import write_json, write_jsonl
from voc.core.params import load_params
from voc.eval.baselines import score_baselines


@click.command()
@click.option("--params", "params_path", default="params.yaml", type=click.Path(exists=True))
@click.option("--data", default="data/prepared/voc", type=click.Path(exists=True))
@click.option("--out", required=True, type=click.Path(), help="metrics JSON")
@click.option("--details", required=True, type=click.Path(), help="folder for each baseline's per-comment rows")
def main(params_path: str, data: str, out: str, details: str) -> None:
    p = load_params(params_path, "seed", "eval", "baselines")
    metrics, files = score_baselines(data, p.eval.limit, p.baselines.holdout, p.seed)
    d = Path(details)
    d.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():  # per baseline: prediction rows and per-comment outcomes, as eval_voc's
        write_jsonl(d / name, rows)
    write_json(out, metrics)
    click.echo(f"baselines: leaf F1 majority {metrics['majority']['f1']:.4f}, TF-IDF {metrics['tfidf']['f1']:.4f} "
               f"(threshold {metrics['tfidf']['threshold']}); best: {metrics['best']}")


if __name__ == "__main__":
    main()
