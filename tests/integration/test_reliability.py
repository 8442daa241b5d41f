"""Reliability through the real `dvc repro`: same seed -> same bytes; SIGTERM mid-SFT -> resume -> same result;
a killed stage leaves no partial output.

One tiny project, three runs: A (`dvc repro`), B (`dvc repro -f`, checkpoints wiped: a second fresh run), and C
(`dvc repro -f sft` killed by SIGTERM once a checkpoint exists, then `dvc repro --force-downstream`, which resumes
and re-evaluates). A and B are the determinism pair; B is the uninterrupted reference for the resumed run C.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

MAX_STEPS = 40  # the tiny model trains in milliseconds a step: leave room to land the signal mid-run
SAVE_STEPS = 2
DETERMINISTIC = ["data/mixed/train.jsonl", "data/mixed/train_clean.jsonl", "metrics/summary.json",
                 "metrics/voc_sft.json", "metrics/mmlu_sft.json", "models/sft/model.safetensors"]
AFTER_SFT = {"sft", "merge", "eval_voc@sft", "eval_mmlu@sft", "eval_tasks@sft", "eval_probe@sft", "report"}


def _set_sft(proj: Path, **values) -> None:
    p = yaml.safe_load((proj / "params.yaml").read_text())
    p["sft"].update(values)
    (proj / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))


def _json(proj: Path, rel: str) -> dict:
    return json.loads((proj / rel).read_text())


def _loss_curve(proj: Path) -> dict[int, float]:
    """Per-step training loss as DVCLive logged it (plots/metrics/train/loss.tsv is only the run's mean)."""
    rows = (proj / "metrics/sft/plots/metrics/loss.tsv").read_text().splitlines()[1:]
    return {int(r.split("\t")[0]): float(r.split("\t")[1]) for r in rows}


def _wait_for(condition: Callable[[], bool], timeout: float, what: str, alive: subprocess.Popen | None = None) -> None:
    """Poll until `condition()` holds; fail after `timeout` seconds or if `alive` exits first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if alive is not None and alive.poll() is not None:
            raise AssertionError(f"process exited ({alive.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group is still running (zombies of our own child are reaped by Popen.wait)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _terminate_group(proc: subprocess.Popen, timeout: float = 120) -> None:
    """SIGTERM the whole process group (dvc, accelerate and the stage), then wait until every member is gone.

    The stage may outlive dvc while it saves its checkpoint, so waiting on `proc` alone is not enough.
    SIGKILL only if the group overruns `timeout`, so a hung stage never outlives the test.
    """
    pgid = proc.pid  # started with start_new_session=True: the leader's pid is the group id
    with contextlib.suppress(ProcessLookupError):  # the group may already be gone (the stage failed early)
        os.killpg(pgid, signal.SIGTERM)
    proc.wait(timeout=timeout)
    deadline = time.monotonic() + timeout
    while _group_alive(pgid):
        if time.monotonic() > deadline:
            os.killpg(pgid, signal.SIGKILL)
            raise AssertionError("stage still running after SIGTERM")
        time.sleep(0.2)


def _snapshot(root: Path, rels: list[str]) -> dict[str, bytes]:
    """The bytes of each file, to compare one run with the next."""
    return {rel: (root / rel).read_bytes() for rel in rels}


def _flatten(obj: object, prefix: str = "") -> dict[str, object]:
    """Nested JSON as {"a.b.0": leaf}, so metrics with nested sections compare key by key with pytest.approx."""
    if isinstance(obj, dict):
        return {k: v for key, val in obj.items() for k, v in _flatten(val, f"{prefix}{key}.").items()}
    if isinstance(obj, list):
        return {k: v for i, val in enumerate(obj) for k, v in _flatten(val, f"{prefix}{i}.").items()}
    return {prefix.rstrip("."): obj}


def _kill_sft_mid_run(proj: Path, log_path: Path, env: dict[str, str]) -> dict:
    """Start `dvc repro -f sft` in its own process group, SIGTERM the group once a checkpoint exists."""
    ckpts = proj / "checkpoints/sft"
    with log_path.open("w") as log:
        proc = subprocess.Popen(["dvc", "repro", "-f", "sft"], cwd=proj, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_for(lambda: any(ckpts.glob("checkpoint-*")), 300, "the first SFT checkpoint", alive=proc)
        finally:
            _terminate_group(proc)
    out = log_path.read_text()
    stopped = re.search(r"stopped at global step (\d+)", out)
    return {"returncode": proc.returncode, "log": out, "stopped_at": int(stopped.group(1)) if stopped else None,
            "models_sft_exists": (proj / "models/sft").exists(),
            "hidden_temps": sorted(p.name for p in (proj / "models").glob(".sft.*")),
            "train_stats_exists": (proj / "metrics/sft/train_stats.json").exists(),
            "complete_ckpts": sorted(int(p.parent.name.split("-")[1])
                                     for p in ckpts.glob("checkpoint-*/trainer_state.json"))}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_model_dir, make_project, run, ran_stages, repro_env):
    proj = make_project(tmp_path_factory.mktemp("rel"), tiny_model_dir)
    _set_sft(proj, max_steps=MAX_STEPS, save_steps=SAVE_STEPS)
    run(["git", "commit", "-qam", "more sft steps"], proj)

    run(["dvc", "repro"], proj)
    a = _snapshot(proj, DETERMINISTIC)
    shutil.rmtree(proj / "checkpoints/sft", ignore_errors=True)  # a finished run deletes them; be sure
    res_b = run(["dvc", "repro", "-f"], proj)
    b = _snapshot(proj, DETERMINISTIC)
    b_stats, b_curve, b_voc = _json(proj, "metrics/sft/train_stats.json"), _loss_curve(proj), \
        _json(proj, "metrics/voc_sft.json")

    shutil.rmtree(proj / "checkpoints/sft", ignore_errors=True)
    killed = _kill_sft_mid_run(proj, tmp_path_factory.mktemp("logs") / "killed.log", repro_env)
    killed["dvc_status"] = json.loads(run(["dvc", "status", "--json"], proj).stdout)
    resumed = run(["dvc", "repro", "--force-downstream"], proj)
    return {"proj": proj, "a": a, "b": b, "b_ran": ran_stages(res_b.stdout), "b_stats": b_stats,
            "b_curve": b_curve, "b_voc": b_voc, "killed": killed,
            "resumed_out": resumed.stdout + resumed.stderr, "resumed_ran": ran_stages(resumed.stdout)}


def test_two_fresh_runs_with_the_same_seed_are_byte_identical(runs):
    assert "mix" in runs["b_ran"] and "sft" in runs["b_ran"] and "report" in runs["b_ran"]  # B really reran
    assert runs["b_stats"]["resumed_from_step"] == 0 and runs["b_stats"]["global_step"] == MAX_STEPS
    for rel in DETERMINISTIC:
        assert runs["a"][rel] == runs["b"][rel], f"{rel} differs between two runs with the same seed"


def test_sigterm_stops_sft_mid_run_and_leaves_no_partial_output(runs):
    k = runs["killed"]
    assert k["returncode"] != 0
    assert "SIGTERM received" in k["log"], k["log"][-3000:]
    assert k["stopped_at"] is not None and 0 < k["stopped_at"] < MAX_STEPS, "signal landed after training ended"
    # The stage saved a complete checkpoint at the step it stopped on (GracefulStop), and nothing else:
    assert k["stopped_at"] in k["complete_ckpts"] and max(k["complete_ckpts"]) == k["stopped_at"]
    # `dvc repro -f` removed the old model before running; the killed run never renamed a new one in,
    # and no hidden half-written temp dir was left beside it.
    assert not k["models_sft_exists"]
    assert k["hidden_temps"] == []
    assert not k["train_stats_exists"]
    # DVC knows the stage is incomplete (its declared outputs are missing), so the next repro reruns it.
    assert "sft" in k["dvc_status"]


def test_rerun_resumes_from_the_checkpoint(runs, run):
    proj, stopped = runs["proj"], runs["killed"]["stopped_at"]
    m = re.search(r"Resuming from checkpoint \S*checkpoint-(\d+) at global step (\d+)", runs["resumed_out"])
    assert m, runs["resumed_out"][-3000:]
    assert int(m.group(1)) == int(m.group(2)) == stopped
    assert runs["resumed_ran"] == AFTER_SFT  # only sft and what depends on it
    stats = _json(proj, "metrics/sft/train_stats.json")
    assert stats["resumed_from_step"] == stopped > 0
    assert stats["global_step"] == MAX_STEPS
    assert json.loads(run(["dvc", "status", "--json"], proj).stdout) == {}


def test_resumed_run_matches_the_uninterrupted_run(runs):
    proj, stopped = runs["proj"], runs["killed"]["stopped_at"]
    curve, ref = _loss_curve(proj), runs["b_curve"]
    # DVC cleared metrics/sft before the rerun, so the curve holds exactly the steps trained after the resume.
    assert sorted(curve) == list(range(stopped + 1, MAX_STEPS + 1))
    for step, loss in curve.items():
        assert loss == pytest.approx(ref[step], rel=1e-3, abs=1e-4), step
    # Trainer's train_loss averages the steps this process trained: the tail of the clean curve.
    tail = [ref[s] for s in range(stopped + 1, MAX_STEPS + 1)]
    assert _json(proj, "metrics/sft/train_stats.json")["train_loss"] == pytest.approx(sum(tail) / len(tail),
                                                                                       rel=1e-3)
    voc, ref_voc = _flatten(_json(proj, "metrics/voc_sft.json")), _flatten(runs["b_voc"])
    assert voc.keys() == ref_voc.keys()
    for key, value in voc.items():
        assert value == (pytest.approx(ref_voc[key], abs=1e-6) if isinstance(value, float) else ref_voc[key]), key
