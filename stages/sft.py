"""DVC stage: supervised fine-tuning, launched as `accelerate launch --config_file <cfg> stages/sft.py ...`.

Only argument parsing lives here; the work is `voc.train.sft.train_sft` (rank 0 writes every output).
"""

from __future__ import annotations

import logging
import sys

import click

from voc.core.params import load_params
from voc.train.sft import TrainingInterrupted, train_sft


@click.command()
@click.option("--params", "params_path", default="params.yaml", show_default=True, type=click.Path(exists=True))
@click.option("--train", "train_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="mixed training rows {id, source, messages}")
@click.option("--base", "base_dir", required=True, type=click.Path(exists=True), help="base model directory")
@click.option("--out", "out_dir", required=True, type=click.Path(), help="where the fine-tuned model goes")
@click.option("--checkpoints", "ckpt_dir", required=True, type=click.Path(), help="persistent checkpoint dir")
@click.option("--live", "live_dir", required=True, type=click.Path(), help="DVCLive metrics dir")
def main(params_path: str, train_path: str, base_dir: str, out_dir: str, ckpt_dir: str, live_dir: str) -> None:
    """Fine-tune the base model on the training rows (resumes from --checkpoints after a kill)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    p = load_params(params_path, "sft", "model")
    try:
        train_sft(train_path, base_dir, out_dir, ckpt_dir, live_dir, p.sft, trust_remote_code=p.model.trust_remote_code)
    except TrainingInterrupted as e:
        logging.getLogger("voc.train.sft").warning("%s", e)
        sys.exit(143)


if __name__ == "__main__":
    main()
