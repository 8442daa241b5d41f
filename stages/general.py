"""Stage `general`: build the general (replay) records that `mix` draws from."""

from __future__ import annotations

import click

from voc.core.files import write_json, write_jsonl
from voc.core.params import load_params
from voc.data.replay import load_hf_source, load_json_source, load_replay_prompts, replay_records, validate_sources


@click.command()
@click.option("--params", "params_path", default="params.yaml", type=click.Path(exists=True))
@click.option("--model", "model_dir", default="models/base", type=click.Path())
@click.option("--out", default="data/general/general.jsonl", type=click.Path())
@click.option("--metrics", default="metrics/general_data.json", type=click.Path())
def main(params_path: str, model_dir: str, out: str, metrics: str) -> None:
    p = load_params(params_path)
    cfg = p["general"]
    sources = validate_sources(cfg["sources"])
    rows, report = [], {}
    model = tok = None
    for i, src in enumerate(sources):
        if src["kind"] == "replay":
            from voc.model.generate import generate_chat
            from voc.model.loading import load_model

            prompts = load_replay_prompts(src, cfg["replay"].get("limit"))
            if model is None:
                model, tok = load_model(model_dir, p["model"]["trust_remote_code"], p["model"]["allow_pickle"])
            answers = generate_chat(model, tok, [[{"role": "user", "content": q["prompt"]}] for q in prompts],
                                    int(cfg["replay"]["max_new_tokens"]), int(cfg["replay"]["batch_size"]),
                                    desc=f"replay {src['name']}")
            got = replay_records(src, prompts, answers)
            report[src["name"]] = {"kind": "replay", "prompts": len(prompts), "records": len(got),
                                   "empty_answers": len(prompts) - len(got)}
        elif src["kind"] == "hf":
            got, commit = load_hf_source(src, f"general.sources[{i}]")
            report[src["name"]] = {"kind": "hf", "records": len(got), "revision": commit}
        else:
            got = load_json_source(src)
            report[src["name"]] = {"kind": src["kind"], "records": len(got)}
        rows.extend({**r, "source": src["name"]} for r in got)
    write_jsonl(out, rows)
    write_json(metrics, report)
    click.echo(f"general: {len(rows)} records from {len(sources)} source(s): {report}")


if __name__ == "__main__":
    main()
