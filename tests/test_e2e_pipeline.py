"""End-to-end: the real `dvc repro` on a tiny config in a temp copy of the repo, then an experiment on `mix`."""

from __future__ import annotations

import json

import pytest
import yaml
from e2e_project import make_project, ran_stages, run

pytestmark = pytest.mark.slow

BASE_STAGES = {"assets", "prepare", "general", "eval_voc@base", "eval_mmlu@base", "eval_general@base",
               "eval_probe@base"}
MIX_STAGES = {"mix", "decontam", "sft", "eval_voc@sft", "eval_mmlu@sft", "eval_general@sft", "eval_probe@sft",
              "report"}


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model_dir):
    proj = make_project(tmp_path_factory.mktemp("e2e"), tiny_model_dir)
    res = run(["dvc", "repro"], proj)
    assert ran_stages(res.stdout) == BASE_STAGES | MIX_STAGES
    run(["git", "add", "-A"], proj)
    run(["git", "commit", "-qm", "repro"], proj)
    return proj


def load(proj, name):
    return json.loads((proj / "metrics" / name).read_text())


def test_every_metric_file_is_sane(project):
    data = load(project, "data.json")
    assert data["read"] == 24 and data["accepted"] + data["rejected"] == 24
    assert data["train"] + data["test"] + data["split_overlaps_removed"] == 24
    for name in ("base", "sft"):
        voc = load(project, f"voc_{name}.json")
        assert voc["n"] == data["test"] and 0 <= voc["f1"] <= 1 and 0 <= voc["json_valid_rate"] <= 1
        mmlu = load(project, f"mmlu_{name}.json")
        assert mmlu["n"] == 4 and 0 <= mmlu["accuracy"] <= 1  # limit 2 x 2 subjects in the fixture
        gen = load(project, f"general_{name}.json")
        assert set(gen) >= {"arc_easy.validation", "boolq.validation", "mean"}
        assert gen["arc_easy.validation"]["n"] == 4
        probe = load(project, f"probe_{name}.json")
        assert probe["n"] == 40 and 0 <= probe["pass_rate"] <= 1
        rows = [json.loads(x) for x in (project / f"metrics/voc_{name}/predictions.jsonl").read_text().splitlines()]
        assert len(rows) == voc["n"] and {"gold", "pred", "raw", "status"} <= set(rows[0])
    mix = load(project, "mix.json")
    assert mix["mix"] == 0.25 and abs(mix["general_record_share"] - 0.25) < 0.05
    assert mix["records"] == load(project, "sft/train_stats.json")["rows"]
    summary = load(project, "summary.json")
    assert summary["mix"] == 0.25 and summary["method"] == "full"
    assert summary["f1_gain"] == pytest.approx(summary["f1_sft"] - summary["f1_base"], abs=1e-4)
    for key in ("mmlu_retention", "general_retention"):
        assert key in summary
    assert (project / "models/sft/model.safetensors").exists()
    assert not list((project / "models/sft").glob("*.bin"))
    assert (project / "metrics/sft/plots/metrics/loss.tsv").exists()
    decontam = load(project, "decontam.json")
    assert decontam["action"] == "fail"


def test_changing_sft_params_never_reruns_base_evaluations(project):
    params = project / "params.yaml"
    original = params.read_text()
    p = yaml.safe_load(original)
    p["sft"]["lr"] = 5e-4
    params.write_text(yaml.safe_dump(p, sort_keys=False))
    try:
        out = run(["dvc", "repro", "--dry"], project)
    finally:
        params.write_text(original)
    # A dry run lists the stages whose own deps or params changed; everything downstream of `sft` follows
    # only because the model changes. The base evaluations are in neither group.
    assert ran_stages(out.stdout) == {"sft"}


def test_exp_run_on_mix_reruns_only_what_depends_on_mix(project):
    res = run(["dvc", "exp", "run", "-S", "mix=0.5", "-n", "mix-0.5"], project)
    assert ran_stages(res.stdout) == MIX_STAGES
    diff = run(["dvc", "metrics", "diff", "--json"], project)
    assert "metrics/mix.json" in json.loads(diff.stdout)


def test_two_point_sweep_gives_a_frontier_table(project):
    """Issue contract: a two-point sweep on the tiny config, then `voc frontier` lists both points."""
    run(["dvc", "exp", "run", "-S", "mix=0", "-n", "mix-0"], project)  # mix-0.5 exists from the test above
    run(["voc", "frontier", "--out", "frontier"], project)
    lines = (project / "frontier" / "frontier.md").read_text().splitlines()
    table = lines[next(i for i, line in enumerate(lines) if line.startswith("| name"))]
    table = [line for line in lines[lines.index(table):] if line.startswith("|")]
    header = [c.strip() for c in table[0].strip("|").split("|")]
    rows = {r[header.index("name")]: r for r in
            ([c.strip() for c in line.strip("|").split("|")] for line in table[2:])}
    assert {"mix-0", "mix-0.5"} <= set(rows)
    assert float(rows["mix-0"][header.index("mix")]) == 0.0
    assert float(rows["mix-0.5"][header.index("mix")]) == 0.5
    assert (project / "frontier" / "frontier.png").stat().st_size > 0
