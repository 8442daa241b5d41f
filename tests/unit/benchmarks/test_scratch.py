"""The scratch copy of the project that benchmark runs work in: what it takes, never the main workspace's outputs."""

from __future__ import annotations

from pathlib import Path

from benchmarks.memd.scratch import copy_project

ROOT = Path(__file__).resolve().parents[3]


def test_device_copy_takes_code_and_raw_data_but_no_outputs(tmp_path):
    """`--copy files` (a device's checkout, whose .git may be stale): what the pipeline needs, never outputs."""
    copy_project(tmp_path / "p", "files")
    p = tmp_path / "p"
    assert (p / "voc/train/sft.py").read_bytes() == (ROOT / "voc/train/sft.py").read_bytes()
    for needed in ("dvc.yaml", "dvc.lock", "data/raw/general_prompts.jsonl"):  # dvc.lock: the direct executor's
        assert (p / needed).is_file(), needed
    for out in ("models", "metrics", "data/prepared", "benchmarks", ".git", ".venv", ".assets"):
        assert not (p / out).exists(), out
