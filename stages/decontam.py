"""DVC stage: check the mixed training set against every held-out test set before training on it.

Writes the report and the hit list first, then either fails (decontam.action: fail) or writes the training
set without the hit rows (decontam.action: drop).
"""

from __future__ import annotations

import sys

import click

from voc.core.errors import ParamsError, VocError
from voc.core.files import load_yaml, read_jsonl, write_jsonl
from voc.data.decontam import decontaminate
from voc.data.decontam_sets import load_test_sets


def read_params(path: str) -> tuple[str, int]:
    """decontam.action and decontam.ngram, validated."""
    cfg = (load_yaml(path) or {}).get("decontam") or {}
    action, n = cfg.get("action", "fail"), cfg.get("ngram", 13)
    if action not in ("fail", "drop"):
        raise ParamsError(path, None, f"decontam.action is {action!r}", "set it to fail or drop")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ParamsError(path, None, f"decontam.ngram is {n!r}", "set it to a positive integer such as 13")
    return action, n


@click.command()
@click.option("--params", "params_path", default="params.yaml", show_default=True)
@click.option("--train", default="data/mixed/train.jsonl", show_default=True)
@click.option("--voc-test", default="data/prepared/voc/test.jsonl", show_default=True)
@click.option("--mmlu-test", default="data/prepared/mmlu/test.jsonl", show_default=True)
@click.option("--general-eval", default="data/prepared/general_eval", show_default=True,
              help="Directory of general-eval task JSONL files (written by the assets stage); required.")
@click.option("--probe", default="data/raw/general_prompts.jsonl", show_default=True,
              help="The general prompts file (params probe.path); its held-out `probe` split is checked.")
@click.option("--out", default="data/mixed/train_clean.jsonl", show_default=True)
@click.option("--report", default="metrics/decontam.json", show_default=True)
@click.option("--hits", "hits_path", default="metrics/decontam_hits.csv", show_default=True)
def main(params_path: str, train: str, voc_test: str, mmlu_test: str, general_eval: str, probe: str, out: str,
         report: str, hits_path: str) -> None:
    """Drop or refuse training rows that overlap the VOC, MMLU, general-eval or probe test sets."""
    try:
        action, n = read_params(params_path)
        test_sets = load_test_sets(voc_test, mmlu_test, general_eval, probe)
        kept, summary, hits = decontaminate(read_jsonl(train), test_sets, n, action, report, hits_path)
    except VocError as e:
        click.echo(f"decontam: {e}", err=True)
        sys.exit(1)
    write_jsonl(out, kept)
    click.echo(
        f"decontam: {summary['rows_checked']} rows checked, {len(hits)} hits, "
        f"{summary['rows_dropped']} rows dropped ({action}); kept {len(kept)} -> {out}"
    )


if __name__ == "__main__":
    main()
