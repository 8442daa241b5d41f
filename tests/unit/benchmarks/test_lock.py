"""dvc.lock as the DVC-free executor reads it: the stage graph from deps and outs, the stages a params change
reruns, and the recorded commands with a changed embedded param substituted (or refused when it is ambiguous).
Tests run against a small synthetic dvc.lock, so renaming the real pipeline's stages does not touch them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from benchmarks.memd.lock import (
    changed,
    check_current,
    command,
    downstream,
    embedded,
    flatten,
    read_lock,
    topo_order,
    upstream,
)
from voc.core.errors import InputError

ROOT = Path(__file__).resolve().parents[3]


def entry(cmd: str, deps=(), outs=(), params=None) -> dict:
    """One stage as dvc.lock writes it (hashes are irrelevant here)."""
    return {"cmd": cmd, "deps": [{"path": d, "md5": "0"} for d in deps], "params": {"params.yaml": params or {}},
            "outs": [{"path": o, "md5": "0"} for o in outs]}


STAGES = {  # written in an order that is not the dependency order
    "report": entry("python report.py", deps=["metrics/score_base.json", "metrics/score_sft.json"],
                    outs=["metrics/summary.json"], params={"mix": 0.25}),
    "fetch": entry("python fetch.py", outs=["models/base", "metrics/fetch.json"], params={"model.name": "tiny"}),
    "prepare": entry("python prepare.py", deps=["models/base", "data/raw/in.txt"], outs=["data/prep"],
                     params={"seed": 1, "data": {"path": "data/raw/in.txt"}}),
    "train": entry("launch --config conf/a.yaml train.py", deps=["data/prep/train.txt", "conf/a.yaml"],
                   outs=["models/sft"], params={"mix": 0.25, "train": {"config": "conf/a.yaml", "lr": 0.1}}),
    "score@base": entry("python score.py models/base", deps=["models/base"], outs=["metrics/score_base.json"]),
    "score@sft": entry("python score.py models/sft", deps=["models/sft"], outs=["metrics/score_sft.json"]),
}
PARAMS = {"seed": 1, "mix": 0.25, "model": {"name": "tiny"}, "data": {"path": "data/raw/in.txt"},
          "train": {"config": "conf/a.yaml", "lr": 0.1}}


@pytest.fixture
def lock(tmp_path) -> Path:
    path = tmp_path / "dvc.lock"
    path.write_text(yaml.safe_dump({"schema": "2.0", "stages": STAGES}, sort_keys=False))
    return path


def test_graph_comes_from_deps_and_outs(lock):
    stages = read_lock(lock)
    up = upstream(stages)
    assert up["train"] == {"prepare"}  # a dep inside an out folder
    assert up["report"] == {"score@base", "score@sft"} and up["fetch"] == set()
    order = topo_order(stages)
    assert order == ["fetch", "prepare", "score@base", "train", "score@sft", "report"]
    assert downstream({"prepare"}, up) == {"prepare", "train", "score@sft", "report"}


def test_changed_stages_follow_the_recorded_params(lock):
    stages = read_lock(lock)
    base = flatten(PARAMS)
    assert changed(stages, base, base) == set()
    assert changed(stages, base, flatten({**PARAMS, "mix": 0.5})) == {"train", "report"}
    assert changed(stages, base, flatten({**PARAMS, "train": {**PARAMS["train"], "lr": 1}})) == {"train"}
    # a key added inside a recorded block counts too
    assert changed(stages, base, flatten({**PARAMS, "data": {"path": "data/raw/in.txt", "x": 1}})) == {"prepare"}


def test_a_changed_embedded_param_is_substituted_as_a_whole_word(lock):
    train = read_lock(lock)["train"]
    assert embedded(train) == {"conf/a.yaml": ["train.config"]}
    assert command(train, flatten(PARAMS)) == "launch --config conf/a.yaml train.py"
    new = flatten({**PARAMS, "train": {"config": "conf/b c.yaml", "lr": 0.1}})
    assert command(train, new) == "launch --config 'conf/b c.yaml' train.py"
    assert command(read_lock(lock)["prepare"], flatten({**PARAMS, "data": {"path": "x"}})) == "python prepare.py"


@pytest.mark.parametrize(("params", "cmd", "new", "problem"), [
    ({"a.path": "x.txt", "b.path": "x.txt"}, "run x.txt", {"a.path": "y.txt"}, "changed to different values"),
    ({"a.path": "x.txt"}, "run --in x.txt", {"a.path": None}, "which is no shell word"),
    ({"a.steps": 5}, "run --steps 5", {"a.steps": [5]}, "which is no shell word"),
])
def test_an_embedded_param_that_cannot_be_substituted_is_refused(tmp_path, params, cmd, new, problem):
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump({"stages": {"s": entry(cmd, params=params)}}))
    stage = read_lock(tmp_path / "dvc.lock")["s"]
    with pytest.raises(InputError, match=problem) as e:
        command(stage, {**params, **new})
    assert e.value.line == 2 and "--executor dvc" in e.value.fix


def test_a_lock_older_than_params_yaml_is_refused(lock):
    stages = read_lock(lock)
    check_current(stages, flatten(PARAMS), Path("params.yaml"))
    check_current(stages, flatten({**PARAMS, "train": {"config": "conf/a.yaml"}}), Path("params.yaml"))  # defaulted
    renamed = {k: v for k, v in PARAMS.items() if k != "model"} | {"base_model": {"name": "tiny"}}
    with pytest.raises(InputError, match="stage fetch records params key model.name") as e:
        check_current(stages, flatten(renamed), Path("params.yaml"))
    assert e.value.line == lock.read_text().splitlines().index("  fetch:") + 1 and "dvc repro" in e.value.fix


def test_bad_locks_name_the_fix(tmp_path):
    with pytest.raises(InputError, match="no dvc.lock"):
        read_lock(tmp_path / "dvc.lock")
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump({"stages": {"a": {"deps": []}}}))
    with pytest.raises(InputError, match="stage a has no single `cmd` string"):
        read_lock(tmp_path / "dvc.lock")
    cycle = {"a": entry("a", deps=["y"], outs=["x"]), "b": entry("b", deps=["x"], outs=["y"])}
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump({"stages": cycle}))
    with pytest.raises(InputError, match="cycle"):
        topo_order(read_lock(tmp_path / "dvc.lock"))


def test_the_committed_dvc_lock_gives_an_order_and_commands():
    stages = read_lock(ROOT / "dvc.lock")
    order = topo_order(stages)
    assert sorted(order) == sorted(stages)
    for name in order:
        assert command(stages[name], {}) == stages[name].cmd  # its own values: nothing to substitute


def _yaml_stages() -> dict[str, str]:
    """dvc.yaml stage name -> its command template (a `foreach` stage's `do` command)."""
    raw = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    return {name: (s.get("do") or s)["cmd"] for name, s in raw.items()}


def test_the_committed_pipeline_has_no_blind_spot_for_substitution():
    """Every param a dvc.yaml command embeds is recorded by its stage, and shows in dvc.lock's command as its
    value; no other recorded value is a word of the command (it would be substituted by mistake)."""
    stages = read_lock(ROOT / "dvc.lock")
    for name, template in _yaml_stages().items():
        keys = sorted(set(re.findall(r"\$\{\s*([\w.]+)\s*\}", template)) - {"item", "key"})
        for stage in (s for s in stages.values() if s.name.split("@")[0] == name):
            found = embedded(stage)
            assert sorted(k for ks in found.values() for k in ks) == keys, stage.name
            assert all(any(k == r or k.startswith(r + ".") for r in stage.keys) for k in keys), stage.name


def test_the_committed_dvc_lock_is_current_with_params_yaml():
    """The air-gapped workflow runs dvc.lock's commands: a lock older than a params rename would be refused."""
    check_current(read_lock(ROOT / "dvc.lock"), flatten(yaml.safe_load((ROOT / "params.yaml").read_text())),
                  ROOT / "params.yaml")
