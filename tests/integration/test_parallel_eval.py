"""Data-parallel generation: two CPU processes (torchrun + gloo via accelerate) give the same answers as one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import json, sys
from accelerate import PartialState
from voc.model.generate import generate_outputs
convs = [[{"role": "user", "content": f"Question number {i}?"}] for i in range(5)]
outs = generate_outputs("hf", sys.argv[1], convs, max_new_tokens=6, batch_size=2)
if PartialState().is_main_process:
    json.dump(outs, open(sys.argv[2], "w"))
"""


@pytest.mark.slow
def test_two_processes_match_one(tmp_path, build_tiny_model):
    # untied embeddings: the random model then answers with varied, non-empty text instead of newlines
    tiny_model_dir = build_tiny_model(tmp_path / "model", seed=1, tie_word_embeddings=False)
    script = tmp_path / "gen.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    single = subprocess.run([sys.executable, str(script), str(tiny_model_dir), str(tmp_path / "one.json")],
                            env=env, capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr[-3000:]
    multi = subprocess.run([sys.executable, "-m", "accelerate.commands.launch", "--config_file",
                            str(ROOT / "configs/accelerate/cpu.yaml"), "--multi_gpu", "--num_processes", "2",
                            "--main_process_port", "0", str(script), str(tiny_model_dir), str(tmp_path / "two.json")],
                           env=env, capture_output=True, text=True, timeout=300)
    assert multi.returncode == 0, multi.stderr[-3000:]
    one = json.loads((tmp_path / "one.json").read_text())
    two = json.loads((tmp_path / "two.json").read_text())
    assert len(two) == 5 and two == one
    assert all(one)  # real, non-empty answers
    # rank 0 answered its shard (3 of 5 prompts = 2 batches of 2); rank 1's 2 prompts fit one batch (no bar)
    assert "eval rank 0: 100%|██████████| 2/2" in multi.stderr
