"""Stage `replay`: build the replay records (general-purpose data) that `mix` draws from."""

from __future__ import annotations

import functools

import click

from voc.core.files import write_json, write_jsonl
from voc.core.params import load_params
from voc.core.schema_replay import ReplaySource
from voc.data.replay import build_replay


@click.command()
@click.option("--params", "params_path", default="params.yaml", type=click.Path(exists=True))
@click.option("--model", "model_dir", default="models/base", type=click.Path())
@click.option("--out", default="data/replay/replay.jsonl", type=click.Path())
@click.option("--metrics", default="metrics/replay.json", type=click.Path())
def main(params_path: str, model_dir: str, out: str, metrics: str) -> None:
    p = load_params(params_path, "replay", "model")
    gen = p.replay.generate

    @functools.cache
    def model() -> tuple:
        """Loaded on first use, so json/hf-only configs never load it."""
        from voc.model.loading import load_model

        return load_model(model_dir, p.model.trust_remote_code)

    def answer(src: ReplaySource, prompts: list[str]) -> list[str]:
        """The base model's greedy answers."""
        from voc.model.generate import generate_chat

        return generate_chat(*model(), [[{"role": "user", "content": q}] for q in prompts], gen.max_new_tokens,
                             gen.batch_size, desc=f"replay {src.name}")

    def synth(src: ReplaySource) -> tuple[list[dict], dict]:
        """Requests and answers both written by the base model (replay.synth)."""
        from voc.data.synth import synthesise

        return synthesise(model, p.replay.synth, src.name, params_path)

    rows, report = build_replay(p.replay, answer, synth)
    write_jsonl(out, rows)
    write_json(metrics, report)
    click.echo(f"replay: {len(rows)} records from {len(report)} source(s): {report}")


if __name__ == "__main__":
    main()
