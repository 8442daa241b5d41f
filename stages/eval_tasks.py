"""Stage `eval_tasks@{base,sft}`: the general-ability task suite (ARC, HellaSwag, PIQA, BoolQ, Winogrande)."""

from __future__ import annotations

import click

from voc.core.files import write_json, write_jsonl
from voc.core.params import load_params
from voc.eval.tasks import evaluate_tasks
from voc.model.loading import load_model


@click.command()
@click.option("--params", "params_path", default="params.yaml", type=click.Path(exists=True))
@click.option("--model", "model_dir", default="models/base", type=click.Path(exists=True))
@click.option("--data", "data_dir", default="data/prepared/tasks", type=click.Path(exists=True))
@click.option("--out", default="metrics/tasks_base.json", type=click.Path())
@click.option("--details", required=True, type=click.Path(),
              help="JSONL of per-row outcomes (report pairs base and SFT on them)")
def main(params_path: str, model_dir: str, data_dir: str, out: str, details: str) -> None:
    p = load_params(params_path, "tasks", "model")
    model, tok = load_model(model_dir, p.model.trust_remote_code)
    res, items = evaluate_tasks(model, tok, data_dir, p.tasks.names, p.tasks.limit, p.tasks.batch_size)
    write_jsonl(details, items)
    write_json(out, res)
    click.echo(f"tasks {model_dir}: mean {res['mean']:.4f} over {len(p.tasks.names)} task(s)")


if __name__ == "__main__":
    main()
