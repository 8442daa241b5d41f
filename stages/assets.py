"""Stage `assets`: fetch and verify the pinned base model, MMLU and general-eval tasks (cache: .assets/)."""

from __future__ import annotations

import time

import click

from voc.assets import check_tasks, materialize_general_tasks, materialize_mmlu, materialize_model, parse_source
from voc.errors import ParamsError
from voc.io import write_json
from voc.params import load_params

CACHE = ".assets"


def _get(params: dict, dotted: str, params_path: str, required: bool = True):
    """params['a']['b'] for 'a.b'; a missing required key is a ParamsError naming it."""
    node = params
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            if not required:
                return None
            raise ParamsError(params_path, None, f"missing key {dotted}", f"add {dotted} to {params_path}")
        node = node[part]
    return node


@click.command()
@click.option("--params", "params_path", default="params.yaml", type=click.Path(exists=True))
@click.option("--model-out", default="models/base", type=click.Path())
@click.option("--mmlu-out", default="data/prepared/mmlu", type=click.Path())
@click.option("--general-out", default="data/prepared/general_eval", type=click.Path())
@click.option("--info", default="metrics/assets.json", type=click.Path())
def main(params_path: str, model_out: str, mmlu_out: str, general_out: str, info: str) -> None:
    p = load_params(params_path)
    # validate every source before downloading anything
    for key in ("model.source", "mmlu.source", "general_eval.source"):
        parse_source(_get(p, key, params_path, required=False), key)
    tasks = check_tasks(_get(p, "general_eval.tasks", params_path))
    start = time.perf_counter()  # printed, not written: metrics/assets.json must not change on an identical rerun
    model = materialize_model(p["model"]["source"], model_out, p["model"].get("sha256"), CACHE,
                              bool(p["model"].get("trust_remote_code", False)),
                              bool(p["model"].get("allow_pickle", False)))
    click.echo(f"assets: model {model['parameters']:,} parameters ({model['dtype']}) "
               f"in {time.perf_counter() - start:.1f} s")
    mmlu = materialize_mmlu(p["mmlu"]["source"], mmlu_out, p["mmlu"].get("sha256"), CACHE)
    click.echo(f"assets: MMLU {mmlu['subjects']} subjects, {mmlu['dev']} dev, {mmlu['test']} test")
    general = materialize_general_tasks(p["general_eval"]["source"], general_out, tasks,
                                        p["general_eval"].get("sha256"), CACHE)
    click.echo(f"assets: general tasks {general['tasks']}")
    write_json(info, {"model": model, "mmlu": mmlu, "general_eval": general})


if __name__ == "__main__":
    main()
