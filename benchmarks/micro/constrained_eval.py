"""What `eval.constrained` buys and costs (issue 12, section 1b): the eval stage's own prompts, generation and
scoring for each model, free and constrained, side by side in one process on the same test comments.

    python -m benchmarks.micro.constrained_eval                     # demo base and SFT, 16 test comments
    python -m benchmarks.micro.constrained_eval --models models/sft --n 4 --max-new-tokens 128 --out /tmp/c.json

Per model and mode: leaf F1, Nova-compatible F1, the JSON-valid and label-in-taxonomy rates, the outputs cut at
`max_new_tokens`, and comments/s (generation only: model load and scoring excluded). A model whose folder name is
`base` is shown the taxonomy, as eval_voc does.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from benchmarks.micro.util import machine
from voc.core.files import read_jsonl
from voc.core.taxonomy import load_taxonomy
from voc.data.comments import leaf_counts
from voc.data.prompt import eval_prompts
from voc.eval.predictions import prediction_rows
from voc.eval.scoring.metrics import score_predictions
from voc.model.constrained import TaxonomyConstraint
from voc.model.generate import generate_chat_with_hits
from voc.model.loading import load_model

KEYS = ("f1", "nova_f1", "json_valid_rate", "label_in_taxonomy_rate", "path_consistent_rate")


class TimedConstraint(TaxonomyConstraint):
    """The constraint, adding up the seconds spent in it (grammar compile, masks, matcher updates)."""

    seconds = 0.0

    def __call__(self, rows, generated, scores):
        start = time.perf_counter()
        try:
            return super().__call__(rows, generated, scores)
        finally:
            TimedConstraint.seconds += time.perf_counter() - start


def monkeypatch_constraint() -> None:
    """The generation API builds its constraint by name: swap in the timed one."""
    import voc.model.generate

    voc.model.generate.TaxonomyConstraint = TimedConstraint


@click.command()
@click.option("--models", default="models/base,models/sft", show_default=True)
@click.option("--data", default="data/prepared/voc", show_default=True, type=click.Path(exists=True))
@click.option("--prompt-taxonomy", default="names", show_default=True, help="the prompt.taxonomy of the records")
@click.option("--n", default=16, show_default=True, help="test comments")
@click.option("--max-new-tokens", default=256, show_default=True)
@click.option("--batch-size", default=16, show_default=True)
@click.option("--out", type=click.Path(), help="also write the results here as JSON")
def main(models: str, data: str, prompt_taxonomy: str, n: int, max_new_tokens: int, batch_size: int,
         out: str | None) -> None:
    monkeypatch_constraint()
    taxonomy = load_taxonomy(Path(data) / "taxonomy.csv")
    test = read_jsonl(Path(data) / "test.jsonl")[:n]
    counts = leaf_counts(read_jsonl(Path(data) / "train.jsonl"), taxonomy.levels)
    print(machine(), f"| {len(test)} test comments, max_new_tokens {max_new_tokens}, batch {batch_size}")
    results = []
    for model_dir in models.split(","):
        model, tok = load_model(model_dir)
        prompts = eval_prompts(test, taxonomy, prompt_taxonomy, learned=Path(model_dir).name != "base")
        for constrain in (None, taxonomy):
            start, TimedConstraint.seconds = time.perf_counter(), 0.0
            outputs, hits = generate_chat_with_hits(model, tok, prompts, max_new_tokens, batch_size,
                                                    stop_at_array_end=True, constrain=constrain)
            secs = time.perf_counter() - start
            metrics = score_predictions(prediction_rows(test, outputs, taxonomy, hits), taxonomy, counts)
            new_tokens = sum(len(ids) for ids in tok(outputs, add_special_tokens=False)["input_ids"])
            row = {"model": model_dir, "constrained": constrain is not None, "seconds": round(secs, 1),
                   "in_constraint_s": round(TimedConstraint.seconds, 1), "new_tokens": new_tokens,
                   "comments_per_s": round(len(test) / secs, 4), "hit_max_new_tokens": sum(hits),
                   **{k: metrics[k] for k in KEYS}}
            results.append(row)
            print(json.dumps(row), flush=True)
    cols = (*KEYS, "hit_max_new_tokens", "new_tokens", "in_constraint_s", "comments_per_s")
    print(f"\n{'model':>14} {'mode':>11} " + " ".join(f"{k[:14]:>14}" for k in cols))
    for r in results:
        print(f"{r['model']:>14} {'constrained' if r['constrained'] else 'free':>11} "
              + " ".join(f"{r[k]:>14}" for k in cols))
    if out:
        Path(out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
