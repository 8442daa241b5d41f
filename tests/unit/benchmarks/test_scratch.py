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


def test_run_params_apply_alpha_freeze_and_synth_only_where_a_run_sets_them():
    import yaml

    from benchmarks.memd.scratch import profile_params, run_params

    bench = yaml.safe_load((ROOT / "benchmarks/memd/params.yaml").read_text())
    base = profile_params(bench, "cpu-sized", None)
    runs = {r["name"]: r for r in bench["runs"]}
    plain = run_params(base, bench, runs["mix0.25"])
    assert plain["merge"]["alpha"] == 1.0 and "synth" not in plain["replay"]
    assert plain["sft"]["freeze"] == {"embeddings": False, "layers": 0}
    combo = run_params(base, bench, runs["mix0.1-alpha0.7"])
    assert combo["merge"]["alpha"] == 0.7 and combo["mix"] == 0.1
    frozen = run_params(base, bench, runs["freeze-mix0"])
    assert frozen["sft"]["freeze"] == {"embeddings": True, "layers": 10}
    synth = run_params(base, bench, runs["synth-mix0.25"])
    assert synth["replay"]["synth"]["n"] == bench["synth"]["n"]
    assert [s["kind"] for s in synth["replay"]["sources"]] == ["synth"]
    assert base["eval"]["limit"] is None and base["probe"]["ifeval"]["limit"] == 200
    assert plain["sft"]["max_truncated_share"] == base["sft"]["max_truncated_share"]
    assert run_params(base, bench, runs["lima-mix0.25"])["sft"]["max_truncated_share"] == 0.05  # its own params
