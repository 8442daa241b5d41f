"""Stage `eval_mmlu@{base,sft}`: MMLU accuracy by log-likelihood of the answer letter."""

from __future__ import annotations

import click

from voc.core.files import read_jsonl, write_json, write_jsonl
from voc.core.params import load_params
from voc.eval.mmlu import evaluate_mmlu
from voc.model.loading import load_model


@click.command()
@click.option("--params", "params_path", default="params.yaml", type=click.Path(exists=True))
@click.option("--model", "model_dir", default="models/base", type=click.Path(exists=True))
@click.option("--test", "test_path", default="data/prepared/mmlu/test.jsonl", type=click.Path(exists=True),
              help="the questions scored")
@click.option("--dev", "dev_path", default="data/prepared/mmlu/dev.jsonl", type=click.Path(exists=True),
              help="the k-shot examples (mmlu.k_shot per subject)")
@click.option("--out", default="metrics/mmlu_base.json", type=click.Path())
@click.option("--details", required=True, type=click.Path(),
              help="JSONL of per-question outcomes (report pairs base and SFT on them)")
def main(params_path: str, model_dir: str, test_path: str, dev_path: str, out: str, details: str) -> None:
    p = load_params(params_path, "mmlu", "model")
    model, tok = load_model(model_dir, p.model.trust_remote_code)
    res, items = evaluate_mmlu(model, tok, read_jsonl(test_path), read_jsonl(dev_path), k_shot=p.mmlu.k_shot,
                               limit_per_subject=p.mmlu.limit_per_subject, batch_size=p.mmlu.batch_size)
    write_jsonl(details, items)
    write_json(out, {"model": model_dir, **res})
    click.echo(f"mmlu {model_dir}: accuracy {res['accuracy']:.4f} (95 % CI {res['accuracy_ci95']['lo']:.4f}-"
               f"{res['accuracy_ci95']['hi']:.4f}, macro {res['macro_accuracy']:.4f}, n={res['n']})")


if __name__ == "__main__":
    main()
