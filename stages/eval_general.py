"""Stage `eval_general_{base,sft}`: general-ability tasks (ARC, HellaSwag, PIQA, BoolQ, Winogrande)."""

from __future__ import annotations

import click

from voc.assets.tasks import check_tasks
from voc.core.files import write_json
from voc.core.params import load_params
from voc.eval.tasks import evaluate_tasks
from voc.model.loading import load_model


@click.command()
@click.option("--params", "params_path", default="params.yaml", type=click.Path(exists=True))
@click.option("--model", "model_dir", default="models/base", type=click.Path(exists=True))
@click.option("--data", "data_dir", default="data/prepared/general_eval", type=click.Path(exists=True))
@click.option("--out", default="metrics/general_base.json", type=click.Path())
def main(params_path: str, model_dir: str, data_dir: str, out: str) -> None:
    p = load_params(params_path)
    cfg = p["general_eval"]
    tasks = check_tasks(cfg.get("tasks"))
    # validated: the flags are real YAML booleans, never bool("false")
    model, tok = load_model(model_dir, p["model"]["trust_remote_code"], p["model"]["allow_pickle"])
    res = evaluate_tasks(model, tok, data_dir, tasks, cfg.get("limit"), int(cfg.get("batch_size") or 16))
    write_json(out, res)
    click.echo(f"general eval {model_dir}: mean {res['mean']:.4f} over {len(tasks)} task(s)")


if __name__ == "__main__":
    main()
