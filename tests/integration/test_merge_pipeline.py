"""The merge stage in the real pipeline on the tiny project: `merge.alpha` moves only merge, the SFT-side
evaluations and the report, never `sft`; the default alpha 1 is the fine-tuned model byte for byte."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from safetensors.torch import load_file

pytestmark = pytest.mark.slow

AFTER_MERGE = {"merge", "eval_voc@sft", "eval_mmlu@sft", "eval_tasks@sft", "eval_probe@sft", "report"}  # never sft


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model_dir, make_project, run):
    proj = make_project(tmp_path_factory.mktemp("merge"), tiny_model_dir)
    run(["dvc", "repro"], proj)
    run(["git", "add", "-A"], proj)
    run(["git", "commit", "-qm", "repro"], proj)
    return proj


def test_default_alpha_evaluates_the_fine_tuned_model_itself(project):
    sft, merged = project / "models/sft", project / "models/merged"
    assert sorted(p.name for p in merged.iterdir()) == sorted(p.name for p in sft.iterdir())
    assert all((merged / p.name).read_bytes() == p.read_bytes() for p in sft.iterdir())
    for suite in ("voc", "mmlu", "tasks", "probe"):
        assert (project / f"metrics/{suite}_sft.json").exists()
    assert json.loads((project / "metrics/mmlu_sft.json").read_text())["model"] == "models/merged"


def test_alpha_changes_only_merge_then_the_sft_evaluations_and_report(project, run, ran_stages):
    params = project / "params.yaml"
    original = params.read_text()
    p = yaml.safe_load(original)
    p["merge"]["alpha"] = 0.5
    params.write_text(yaml.safe_dump(p, sort_keys=False))
    try:
        status = json.loads(run(["dvc", "status", "--json"], project).stdout)
        dry = run(["dvc", "repro", "--dry"], project)
    finally:
        params.write_text(original)
    assert set(status) == {"merge"}  # only its own param changed; sft and every base stage are up to date
    assert ran_stages(dry.stdout) == {"merge"}

    res = run(["dvc", "exp", "run", "-S", "merge.alpha=0.5", "-n", "alpha-0.5"], project)
    # report follows only if a metric moved: the random tiny model may score both weight sets the same
    assert AFTER_MERGE - {"report"} <= ran_stages(res.stdout) <= AFTER_MERGE
    base = load_file(str(project / "models/base/model.safetensors"))
    sft = load_file(str(project / "models/sft/model.safetensors"))
    merged = load_file(str(project / "models/merged/model.safetensors"))
    assert all(torch.allclose(merged[k], (base[k] + sft[k]) / 2, atol=1e-6) for k in sft)
