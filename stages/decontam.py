"""DVC stage: check the mixed training set against every held-out test set before training on it.

Writes the report and the hit list first, then either fails (decontam.action: fail) or writes the training
set without the hit rows (decontam.action: drop).
"""

from __future__ import annotations

import sys

import click

from voc.core.errors import VocError
from voc.core.files import read_jsonl, write_jsonl
from voc.core.params import load_params
from voc.data.decontam import decontaminate
from voc.data.decontam_sets import load_test_sets
from voc.eval.ifeval import load_ifeval


@click.command()
@click.option("--params", "params_path", default="params.yaml", show_default=True)
@click.option("--train", default="data/mixed/train.jsonl", show_default=True)
@click.option("--voc-test", default="data/prepared/voc/test.jsonl", show_default=True)
@click.option("--mmlu-test", default="data/prepared/mmlu/test.jsonl", show_default=True)
@click.option("--tasks", default="data/prepared/tasks", show_default=True,
              help="Directory of the task suite's JSONL files (written by the assets stage); required.")
@click.option("--probe", default="data/raw/general_prompts.jsonl", show_default=True,
              help="The general prompts file (params probe.path); its held-out `probe` split is checked.")
@click.option("--out", default="data/mixed/train_clean.jsonl", show_default=True)
@click.option("--report", default="metrics/decontam.json", show_default=True)
@click.option("--hits", "hits_path", default="metrics/decontam_hits.csv", show_default=True)
def main(params_path: str, train: str, voc_test: str, mmlu_test: str, tasks: str, probe: str, out: str,
         report: str, hits_path: str) -> None:
    """Drop or refuse training rows that overlap the VOC, MMLU, task-suite or probe test sets (and IFEval's
    prompts, all of them, where probe.ifeval points at it)."""
    try:
        p = load_params(params_path, "decontam", "probe")
        cfg, ifeval = p.decontam, p.probe.ifeval
        test_sets = load_test_sets(voc_test, mmlu_test, tasks, probe)
        if ifeval.source:
            test_sets["ifeval"] = [row["prompt"] for row in load_ifeval(ifeval.source, ifeval.revision)]
        kept, summary, hits = decontaminate(read_jsonl(train), test_sets, cfg.ngram, cfg.action, report, hits_path)
    except VocError as e:
        click.echo(f"decontam: {e}", err=True)
        sys.exit(1)
    write_jsonl(out, kept)
    click.echo(
        f"decontam: {summary['rows_checked']} rows checked, {len(hits)} hits, "
        f"{summary['rows_dropped']} rows dropped ({cfg.action}); kept {len(kept)} -> {out}"
    )


if __name__ == "__main__":
    main()
