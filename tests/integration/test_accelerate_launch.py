"""`accelerate launch` with two CPU processes (torchrun + gloo) runs the SFT stage; only rank 0 writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from voc.model.loading import load_model

ROOT = Path(__file__).resolve().parents[2]


def test_two_process_cpu_launch_trains_and_saves_a_loadable_model(tmp_path, tiny_model_dir, repo_params):
    rows = [{"id": str(i), "source": "voc", "messages": [
        {"role": "user", "content": f"Night vision is blurry {i}."},
        {"role": "assistant", "content": '[{"content": "blurry", "L1": "Camera"}]'}]} for i in range(8)]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    sft = dict(method="full", accelerate_config="configs/accelerate/cpu.yaml", lr=1e-3, epochs=1, max_steps=2,
               batch_size=2, grad_accum=1, max_length=64, warmup_ratio=0.0, weight_decay=0.0,
               lr_scheduler="linear", save_steps=10, logging_steps=1, seed=1)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(repo_params(sft)))
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
           str(ROOT / "configs" / "accelerate" / "cpu.yaml"), "--multi_gpu", "--num_processes", "2",
           "--main_process_port", "0", str(ROOT / "stages" / "sft.py"),
           "--params", str(tmp_path / "params.yaml"), "--train", str(tmp_path / "train.jsonl"),
           "--base", str(tiny_model_dir), "--out", str(tmp_path / "model"),
           "--checkpoints", str(tmp_path / "ckpt"), "--live", str(tmp_path / "live")]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]

    stats = json.loads((tmp_path / "live" / "train_stats.json").read_text())
    assert stats["world_size"] == 2 and stats["global_step"] == 2
    loss_rows = (tmp_path / "live" / "plots" / "metrics" / "loss.tsv").read_text().splitlines()
    assert [r.split("\t")[0] for r in loss_rows[1:]] == ["1", "2"]  # logged once (rank 0), not per rank
    assert not [p for p in (tmp_path / "model").iterdir() if p.suffix in {".bin", ".pt", ".pth"}]
    model, tok = load_model(tmp_path / "model")
    assert model.config.num_hidden_layers == 2 and tok.chat_template
    assert not list(tmp_path.glob(".model.*"))  # atomic save left no temp dir behind
