"""Stage `assets`: fetch and verify the pinned base model, MMLU and the task suite (cache: .assets/)."""

from __future__ import annotations

import time

import click

from voc.assets.mmlu import materialize_mmlu
from voc.assets.model import materialize_model
from voc.assets.tasks import materialize_tasks
from voc.core.files import write_json
from voc.core.params import load_params

CACHE = ".assets"


@click.command()
@click.option("--params", "params_path", default="params.yaml", type=click.Path(exists=True))
@click.option("--model-out", default="models/base", type=click.Path())
@click.option("--mmlu-out", default="data/prepared/mmlu", type=click.Path())
@click.option("--tasks-out", default="data/prepared/tasks", type=click.Path())
@click.option("--info", default="metrics/assets.json", type=click.Path())
def main(params_path: str, model_out: str, mmlu_out: str, tasks_out: str, info: str) -> None:
    p = load_params(params_path, "model", "mmlu", "tasks")  # every source, pin and flag, before any download
    m, mm, t = p.model, p.mmlu, p.tasks
    start = time.perf_counter()  # printed, not written: metrics/assets.json must not change on an identical rerun
    # The one place allow_pickle is read: every model folder written here, and so read later, is safetensors.
    model = materialize_model(m.source, model_out, m.sha256, CACHE, m.trust_remote_code, m.allow_pickle,
                              revision=m.revision, allow_unpinned=m.allow_unpinned)
    click.echo(f"assets: model {model['parameters']:,} parameters ({model['dtype']}) "
               f"in {time.perf_counter() - start:.1f} s")
    mmlu = materialize_mmlu(mm.source, mmlu_out, mm.sha256, CACHE, revision=mm.revision,
                            allow_unpinned=mm.allow_unpinned)
    click.echo(f"assets: MMLU {mmlu['subjects']} subjects, {mmlu['dev']} dev, {mmlu['test']} test")
    tasks = materialize_tasks(t.source, tasks_out, t.names, t.sha256, CACHE)
    click.echo(f"assets: tasks {tasks['tasks']}")
    write_json(info, {"model": model, "mmlu": mmlu, "tasks": tasks})


if __name__ == "__main__":
    main()
