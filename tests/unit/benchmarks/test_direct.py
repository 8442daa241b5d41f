"""The DVC-free executor runs a series from dvc.lock alone: the first run's project runs every stage, a later run
only the stages its params change and those downstream, reading the rest from the base project. The pipeline here
is a synthetic one of tiny Python steps, so stage names of the real pipeline appear nowhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from benchmarks.memd.direct import execute, link_prebuilt, run_series
from benchmarks.memd.lock import read_lock

STEP = '''import json, sys, pathlib
out, key, *rest = sys.argv[1:]
params = json.loads(json.dumps(__import__("yaml").safe_load(open("params.yaml"))))
value = params
for part in key.split("."):
    value = value[part]
if value == "boom":
    sys.exit("boom")
inputs = {p: json.loads(pathlib.Path(p).read_text()) for p in rest if pathlib.Path(p).is_file()}
pathlib.Path(out).parent.mkdir(parents=True, exist_ok=True)
pathlib.Path(out).write_text(json.dumps({"value": value, "argv": rest, "inputs": inputs}))
'''


def entry(cmd: str, deps=(), outs=(), params=None) -> dict:
    return {"cmd": cmd, "deps": [{"path": d, "md5": "0"} for d in deps], "params": {"params.yaml": params or {}},
            "outs": [{"path": o, "md5": "0"} for o in outs]}


LOCK = {
    "fetch": entry("python step.py models/base model.name", outs=["models/base", "metrics/fetch.json"],
                   params={"model.name": "tiny"}),
    "prepare": entry("python step.py data/prep/train.json seed models/base", deps=["models/base"],
                     outs=["data/prep"], params={"seed": 1}),
    "replay": entry("python step.py data/replay.json replay.source models/base", deps=["models/base"],
                    outs=["data/replay.json"], params={"replay": {"source": "self"}}),
    "train": entry("python step.py models/sft mix data/prep/train.json data/replay.json --config conf/a.yaml",
                   deps=["data/prep/train.json", "data/replay.json", "conf/a.yaml"], outs=["models/sft"],
                   params={"mix": 0.0, "train": {"config": "conf/a.yaml"}}),
    "score@base": entry("python step.py metrics/score_base.json seed models/base", deps=["models/base"],
                        outs=["metrics/score_base.json"], params={"seed": 1}),
    "score@sft": entry("python step.py metrics/score_sft.json seed models/sft", deps=["models/sft"],
                       outs=["metrics/score_sft.json"], params={"seed": 1}),
    "report": entry("python step.py metrics/summary.json mix metrics/score_base.json metrics/score_sft.json",
                    deps=["metrics/score_base.json", "metrics/score_sft.json"], outs=["metrics/summary.json"],
                    params={"mix": 0.0}),
}
PARAMS = {"seed": 1, "mix": 0.0, "model": {"name": "tiny"}, "replay": {"source": "self"},
          "train": {"config": "conf/a.yaml"}}
EVERY = ["fetch", "prepare", "replay", "score@base", "train", "score@sft", "report"]


def params_of(run: dict) -> dict:
    return {**PARAMS, "mix": run["mix"], "replay": {"source": run.get("source", "self")},
            "train": {"config": run.get("config", "conf/a.yaml")}}


@pytest.fixture
def base(tmp_path) -> Path:
    """A base project holding only code, dvc.lock and the first run's params, as run.py builds it."""
    project = tmp_path / "repo"
    project.mkdir()
    (project / "step.py").write_text(STEP)
    (project / "dvc.lock").write_text(yaml.safe_dump({"schema": "2.0", "stages": LOCK}, sort_keys=False))
    (project / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    (tmp_path / "logs").mkdir()
    return project


def series(base: Path, runs: list[dict], jobs: int, assets: Path | None = None) -> dict[str, tuple]:
    got = {}
    run_series(base, runs, params_of, jobs, base.parent / "logs",
               lambda run, project, wall, stages, error: got.setdefault(run["name"], (project, stages, error)),
               assets)
    return got


def read(project: Path, rel: str) -> dict:
    return json.loads((project / rel).read_text())


@pytest.mark.parametrize("jobs", [1, 3])
def test_a_run_reruns_only_what_its_params_change(base, jobs):
    runs = [{"name": "r0", "mix": 0.0}, {"name": "mix", "mix": 0.5}, {"name": "lima", "mix": 0.5, "source": "lima"},
            {"name": "conf", "mix": 0.0, "config": "conf/b.yaml"}]
    got = series(base, runs, jobs)
    assert got["r0"] == (base, EVERY, None)  # the first run is the base project: every stage, as in DVC
    assert got["mix"][1:] == (["train", "score@sft", "report"], None)
    assert got["lima"][1:] == (["replay", "train", "score@sft", "report"], None)
    assert got["conf"][1:] == (["train", "score@sft", "report"], None)
    mix, lima, conf = (got[n][0] for n in ("mix", "lima", "conf"))
    assert read(mix, "metrics/summary.json")["value"] == 0.5
    assert read(mix, "models/sft")["inputs"]["data/replay.json"]["value"] == "self"  # the base project's
    assert (mix / "data/prep").is_symlink() and (mix / "data/prep").resolve() == (base / "data/prep").resolve()
    assert read(lima, "models/sft")["inputs"]["data/replay.json"]["value"] == "lima"  # its own
    assert read(conf, "models/sft")["argv"][-2:] == ["--config", "conf/b.yaml"]  # substituted in the command
    assert read(base, "models/sft")["argv"][-2:] == ["--config", "conf/a.yaml"]


def test_a_failed_stage_fails_only_the_runs_that_need_it(base):
    got = series(base, [{"name": "r0", "mix": 0.0}, {"name": "bad", "mix": "boom"}, {"name": "ok", "mix": 0.5}], 2)
    assert got["r0"][2] is None and got["ok"][2] is None
    project, stages, error = got["bad"]
    assert stages == [] and "stage train failed" in error and "bad-train.log" in error


def test_built_download_outputs_are_linked_not_run(base, tmp_path):
    assets = tmp_path / "assets"
    (assets / "models").mkdir(parents=True)
    (assets / "models/base").write_text(json.dumps({"value": "prebuilt"}))
    got = series(base, [{"name": "r0", "mix": 0.0}], 1, assets)
    assert got["r0"] == (base, EVERY[1:], None)
    assert read(base, "data/prep/train.json")["inputs"]["models/base"]["value"] == "prebuilt"


def test_partly_built_download_outputs_are_an_error(base, tmp_path):
    lock = yaml.safe_load((base / "dvc.lock").read_text())
    lock["stages"]["fetch"]["outs"].append({"path": "data/vocab", "md5": "0"})
    lock["stages"]["prepare"]["deps"].append({"path": "data/vocab", "md5": "0"})
    (base / "dvc.lock").write_text(yaml.safe_dump(lock))
    (tmp_path / "assets/models").mkdir(parents=True)
    (tmp_path / "assets/models/base").write_text("{}")
    with pytest.raises(FileNotFoundError, match="lacks data/vocab"):
        link_prebuilt(base, read_lock(base / "dvc.lock"), tmp_path / "assets")


def test_tasks_wait_for_what_they_need_and_failures_propagate():
    from benchmarks.memd.direct import Task

    order = []

    def runner(task: Task) -> None:
        order.append(task.stage)
        if task.stage == "b":
            raise RuntimeError("b broke")

    tasks = {(None, s): Task(Path("."), s, "", needs, Path("log"))
             for s, needs in (("a", []), ("b", [(None, "a")]), ("c", [(None, "b")]), ("d", [(None, "a")]))}
    failed = execute(tasks, 2, lambda done, failed: None, runner)
    assert order.index("a") < order.index("b") and "c" not in order and "d" in order
    assert failed[(None, "b")] == "RuntimeError: b broke" and "needs b (base), which failed" in failed[(None, "c")]
