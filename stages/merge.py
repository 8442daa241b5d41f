"""DVC stage `merge`: interpolate the fine-tuned weights towards the base, θ = (1 − α)·θ_base + α·θ_sft.

The SFT-side evaluations read its output, so `dvc exp run -S merge.alpha=0.5` reruns only this stage, those
evaluations and the report: never the training. The work is `voc.model.merge.merge_models`.
"""

from __future__ import annotations

import logging

import click

from voc.core.params import load_params
from voc.model.merge import merge_models


@click.command()
@click.option("--params", "params_path", default="params.yaml", show_default=True, type=click.Path(exists=True))
@click.option("--base", "base_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="the base model folder")
@click.option("--sft", "sft_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="the fine-tuned model folder (a full model: LoRA runs are saved merged)")
@click.option("--out", "out_dir", required=True, type=click.Path(), help="where the interpolated model goes")
def main(params_path: str, base_dir: str, sft_dir: str, out_dir: str) -> None:
    """Write (1 − merge.alpha)·base + merge.alpha·sft to --out."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    alpha = load_params(params_path, "merge").merge.alpha
    info = merge_models(base_dir, sft_dir, out_dir, alpha)
    click.echo(f"merge: alpha={alpha}, {info['tensors']} tensors in {info['files']} file(s) -> {out_dir}")


if __name__ == "__main__":
    main()
