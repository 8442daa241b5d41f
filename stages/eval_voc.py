"""Stage `eval_voc@{base,sft}`: classify the test split and score it against the gold segments."""

from __future__ import annotations

import csv
from pathlib import Path

import click

from voc.core.files import atomic_path, read_jsonl, write_json, write_jsonl
from voc.core.params import load_params
from voc.core.taxonomy import load_taxonomy
from voc.data.comments import leaf_counts
from voc.data.prompt import eval_prompts
from voc.eval.predictions import answer_budget, degeneration_counts, prediction_rows
from voc.eval.scoring.intervals import comment_outcomes
from voc.eval.scoring.metrics import l1_confusion_rows, level_f1_rows, per_leaf_table, score_predictions
from voc.model.generate import generate_outputs_with_hits
from voc.model.loading import load_tokenizer


def write_csv(path: Path, rows: list[dict]) -> None:
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        if rows:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)


@click.command()
@click.option("--params", "params_path", default="params.yaml", type=click.Path(exists=True))
@click.option("--model", "model_dir", required=True, type=click.Path(exists=True))
@click.option("--name", required=True, help="base or sft: names the outputs; base has not learned the labels, so "
              "its prompts show the taxonomy even with prompt.taxonomy none")
@click.option("--data", default="data/prepared/voc", type=click.Path(exists=True))
@click.option("--out", required=True, type=click.Path(), help="metrics JSON")
@click.option("--details", required=True, type=click.Path(), help="folder for predictions and plot data")
def main(params_path: str, model_dir: str, name: str, data: str, out: str, details: str) -> None:
    p = load_params(params_path, "eval", "prompt", "model")
    ev, trust = p.eval, p.model.trust_remote_code
    taxonomy = load_taxonomy(Path(data) / "taxonomy.csv")
    test = read_jsonl(Path(data) / "test.jsonl")[: ev.limit]
    train_counts = leaf_counts(read_jsonl(Path(data) / "train.jsonl"), taxonomy.levels)
    # warn before generating when eval.max_new_tokens would cut the longer gold-length answers
    budget = answer_budget(test, load_tokenizer(model_dir, trust), ev.max_new_tokens)
    prompts = eval_prompts(test, taxonomy, p.prompt.taxonomy, learned=name != "base")
    # a reply is one JSON array: it ends where the array closes (no tokens spent after it)
    # eval.constrained: every reply follows the taxonomy's answer grammar (voc.model.constrained)
    outputs, hits = generate_outputs_with_hits(ev.backend, model_dir, prompts, ev.max_new_tokens, ev.batch_size,
                                               trust, stop_at_array_end=True,
                                               constrain=taxonomy if ev.constrained else None)
    rows = prediction_rows(test, outputs, taxonomy, hits)
    metrics = score_predictions(rows, taxonomy, train_counts)
    # outputs that repeat a segment, and outputs cut by the limit (not finished)
    metrics.update(budget, **degeneration_counts(rows, taxonomy.levels))
    d = Path(details)
    d.mkdir(parents=True, exist_ok=True)
    write_jsonl(d / "predictions.jsonl", rows)
    write_jsonl(d / "items.jsonl", comment_outcomes(rows, taxonomy.levels))  # report pairs base and SFT on these
    write_csv(d / "per_leaf.csv", per_leaf_table(rows, taxonomy, train_counts))
    write_json(d / "level_f1.json", level_f1_rows(metrics, name))
    write_json(d / "l1_confusion.json", l1_confusion_rows(rows))
    write_json(out, metrics)
    click.echo(f"eval_voc[{name}]: leaf F1 {metrics['f1']:.4f}, JSON-valid {metrics['json_valid_rate']:.3f} "
               f"on {metrics['n']} comments")


if __name__ == "__main__":
    main()
