"""The DVC-free executor of benchmarks/real runs the same commands DVC runs: its expansion of dvc.yaml must equal
the commands dvc.lock recorded for the committed demo run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "benchmarks/real"))

from direct import RUN_STAGES, interpolate, stage_commands  # noqa: E402


def test_expanded_commands_equal_the_ones_dvc_recorded():
    cmds = stage_commands(yaml.safe_load((ROOT / "dvc.yaml").read_text()),
                          yaml.safe_load((ROOT / "params.yaml").read_text()))
    lock = yaml.safe_load((ROOT / "dvc.lock").read_text())["stages"]
    assert set(cmds) == set(lock)
    for name, cmd in cmds.items():
        assert cmd == lock[name]["cmd"], name
    assert set(RUN_STAGES) < set(cmds)


def test_unknown_param_names_the_key():
    with pytest.raises(KeyError, match="sft.nope"):
        interpolate("run ${sft.nope}", {"sft": {}})
    assert interpolate("m/${item} ${a.b}", {"a": {"b": 3}}, item="sft") == "m/sft 3"


def test_device_copy_takes_code_and_raw_data_but_no_outputs(tmp_path):
    """`--copy files` (a device's checkout, whose .git may be stale): what the pipeline needs, never outputs."""
    from scratch import copy_project

    copy_project(tmp_path / "p", "files")
    p = tmp_path / "p"
    assert (p / "voc/train/sft.py").read_bytes() == (ROOT / "voc/train/sft.py").read_bytes()
    assert (p / "dvc.yaml").is_file() and (p / "data/raw/general_prompts.jsonl").is_file()
    for out in ("models", "metrics", "data/prepared", "benchmarks", ".git", ".venv", ".assets"):
        assert not (p / out).exists(), out
