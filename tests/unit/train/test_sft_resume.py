"""Kill the SFT stage mid-run with SIGTERM, rerun it, and check it resumes to the same result as a clean run."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from voc.train.sft import train_sft

ROOT = Path(__file__).resolve().parents[3]
STEPS = 8  # two epochs of 4 batches: the resume also crosses an epoch boundary


@pytest.fixture
def workdir(tmp_path: Path, repo_params) -> Path:
    rows = [{"id": str(i), "source": "voc", "messages": [
        {"role": "user", "content": f"The camera app crashes {i}."},
        {"role": "assistant", "content": '[{"content": "app crashes", "L1": "App"}]'}]} for i in range(8)]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    params = repo_params(dict(method="full", accelerate_config="configs/accelerate/cpu.yaml", lr=1e-3, epochs=1,
                          max_steps=STEPS, batch_size=2, grad_accum=1, max_length=64, warmup_ratio=0.1,
                          weight_decay=0.01, lr_scheduler="cosine", save_steps=1, logging_steps=1, seed=3))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return tmp_path


def _cmd(work: Path, base: Path, run: str) -> list[str]:
    return [sys.executable, str(ROOT / "stages" / "sft.py"), "--params", str(work / "params.yaml"),
            "--train", str(work / "train.jsonl"), "--base", str(base), "--out", str(work / run / "model"),
            "--checkpoints", str(work / run / "ckpt"), "--live", str(work / run / "live")]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": ""}


def _loss_curve(live: Path) -> dict[int, float]:
    rows = (live / "plots" / "metrics" / "loss.tsv").read_text().splitlines()[1:]
    return {int(s): float(v) for s, v in (r.split("\t") for r in rows)}


def test_sigterm_then_rerun_resumes_and_matches_clean_run(workdir, tiny_model_dir):
    ckpt = workdir / "killed" / "ckpt"
    proc = subprocess.Popen(_cmd(workdir, tiny_model_dir, "killed"), env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 120
    while not (ckpt / "checkpoint-1" / "trainer_state.json").exists():
        assert proc.poll() is None and time.time() < deadline, "no first checkpoint"
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 143, out
    assert "SIGTERM received" in out
    stopped_at = int(re.search(r"stopped at global step (\d+)", out).group(1))
    assert 1 <= stopped_at < STEPS, "the run finished before the signal: make the test run longer"
    assert not (workdir / "killed" / "model").exists()  # no final model from an interrupted run

    resumed = subprocess.run(_cmd(workdir, tiny_model_dir, "killed"), env=_env(), capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    m = re.search(r"Resuming from checkpoint \S+checkpoint-(\d+) at global step (\d+)", resumed.stderr)
    assert m and int(m.group(1)) == int(m.group(2)) == stopped_at
    stats = json.loads((workdir / "killed" / "live" / "train_stats.json").read_text())
    assert stats["resumed_from_step"] == stopped_at and stats["global_step"] == STEPS

    c = workdir / "clean"  # the uninterrupted reference runs in-process: same code, no interpreter start-up
    sft = yaml.safe_load((workdir / "params.yaml").read_text())["sft"]
    ref_stats = train_sft(workdir / "train.jsonl", tiny_model_dir, c / "model", c / "ckpt", c / "live", sft)
    assert ref_stats["resumed_from_step"] == 0 and ref_stats["global_step"] == STEPS

    curve, ref = _loss_curve(workdir / "killed" / "live"), _loss_curve(workdir / "clean" / "live")
    assert sorted(curve) == list(range(1, STEPS + 1)) == sorted(ref)  # continued, no gap, no repeat
    assert curve[STEPS] == pytest.approx(ref[STEPS], rel=1e-4)
    a = load_file(str(workdir / "killed" / "model" / "model.safetensors"))
    b = load_file(str(workdir / "clean" / "model" / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5)
