"""End-to-end: the real `dvc repro` on a tiny config in a temp copy of the repo, a forced identical rerun, then an
experiment on `mix`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from voc.core.files import read_jsonl, write_json, write_jsonl
from voc.core.taxonomy import load_taxonomy
from voc.data.comments import leaf_counts
from voc.eval.baselines import score_baselines
from voc.eval.predictions import prediction_rows
from voc.eval.probe import probe_report
from voc.eval.scoring.intervals import comment_outcomes
from voc.eval.scoring.metrics import score_predictions
from voc.report.summary import summarize

pytestmark = pytest.mark.slow

BASE_STAGES = {"assets", "prepare", "replay", "eval_voc@base", "eval_mmlu@base", "eval_tasks@base",
               "eval_probe@base", "baselines"}
MIX_STAGES = {"mix", "decontam", "sft", "merge", "eval_voc@sft", "eval_mmlu@sft", "eval_tasks@sft", "eval_probe@sft",
              "report"}


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model_dir, make_project, run, ran_stages):
    proj = make_project(tmp_path_factory.mktemp("e2e"), tiny_model_dir)
    res = run(["dvc", "repro"], proj)
    assert ran_stages(res.stdout) == BASE_STAGES | MIX_STAGES
    run(["git", "add", "-A"], proj)
    run(["git", "commit", "-qm", "repro"], proj)
    return proj


def load(proj, name):
    return json.loads((proj / "metrics" / name).read_text())


def same_where_recomputed(recomputed: dict, written: dict) -> bool:
    """The written record holds every recomputed key with the same value (it may hold more, e.g. run counts)."""
    return recomputed == {k: written.get(k) for k in recomputed}


def recomputed_summary(proj: Path, dest: Path) -> dict:
    """summary.json rebuilt from the prediction files the pipeline committed, with the library's own functions:
    each raw model output is parsed again, scored against the prepared test split, and summarised. MMLU and
    the task suite are scored by log-likelihood and keep no prediction file, so their metrics are taken as is.
    """
    data = proj / "data/prepared/voc"
    taxonomy = load_taxonomy(data / "taxonomy.csv")
    train_counts = leaf_counts(read_jsonl(data / "train.jsonl"), taxonomy.levels)
    test = {r["id"]: r for r in read_jsonl(data / "test.jsonl")}
    for name in ("base", "sft"):
        rows = read_jsonl(proj / f"metrics/voc_{name}/predictions.jsonl")
        again = prediction_rows([test[r["id"]] for r in rows], [r["raw"] for r in rows], taxonomy)
        assert len(again) == len(rows) and all(map(same_where_recomputed, again, rows))
        voc = score_predictions(rows, taxonomy, train_counts)
        assert same_where_recomputed(voc, load(proj, f"voc_{name}.json"))
        details = read_jsonl(proj / f"metrics/probe_{name}.jsonl")
        probe = probe_report([d["answer"] for d in details], details)
        assert same_where_recomputed(probe, load(proj, f"probe_{name}.json"))
        write_json(dest / f"voc_{name}.json", voc)
        write_json(dest / f"probe_{name}.json", probe)
        # the per-comment outcomes report pairs base and SFT on, recomputed from the predictions too
        items = comment_outcomes(rows, taxonomy.levels)
        assert items == read_jsonl(proj / f"metrics/voc_{name}/items.jsonl")
        write_jsonl(dest / f"voc_{name}/items.jsonl", items)
        for suite in ("mmlu", "tasks"):
            shutil.copy(proj / f"metrics/{suite}_{name}.json", dest)
        for suite in ("mmlu", "tasks", "probe"):  # per-item outcomes: kept as the stages wrote them
            shutil.copy(proj / f"metrics/{suite}_{name}.jsonl", dest)
    params = yaml.safe_load((proj / "params.yaml").read_text())
    # the baselines, refit and rescored from the prepared data: the same metrics and per-comment files
    baselines, files = score_baselines(data, params["eval"]["limit"], params["baselines"]["holdout"], params["seed"])
    assert baselines == load(proj, "baselines.json")
    for name, rows in files.items():
        assert rows == read_jsonl(proj / "metrics/baselines" / name)
        write_jsonl(dest / "baselines" / name, rows)
    write_json(dest / "baselines.json", baselines)
    return summarize(dest, params["mix"], params["sft"]["method"])


def test_every_metric_file_is_sane(project):
    data = load(project, "data.json")
    assert data["read"] == 24 and data["accepted"] + data["rejected"] == 24
    assert data["train"] + data["test"] + data["split_overlaps_removed"] == 24
    for name in ("base", "sft"):
        assert load(project, f"voc_{name}.json")["n"] == data["test"]
        assert load(project, f"mmlu_{name}.json")["n"] == 4  # limit 2 x 2 subjects in the fixture
        gen = load(project, f"tasks_{name}.json")
        assert set(gen) >= {"arc_easy.validation", "boolq.validation", "mean"}
        assert gen["arc_easy.validation"]["n"] == 4
        assert load(project, f"probe_{name}.json")["n"] == 40
    mix = load(project, "mix.json")
    assert mix["mix"] == 0.25 and abs(mix["replay_record_share"] - 0.25) < 0.05
    assert mix["records"] == load(project, "sft/train_stats.json")["rows"]
    assert (project / "models/sft/model.safetensors").exists()
    assert not list((project / "models/sft").glob("*.bin"))
    assert (project / "metrics/sft/plots/metrics/loss.tsv").exists()
    decontam = load(project, "decontam.json")
    assert decontam["action"] == "fail" and decontam["test_items"]["probe"] == 40


def test_summary_equals_the_scores_recomputed_from_the_committed_predictions(project, tmp_path):
    summary = load(project, "summary.json")
    assert (summary["mix"], summary["method"]) == (0.25, "full")
    assert {"f1_base", "f1_sft", "f1_gain", "nova_f1_base", "json_valid_sft", "probe_retention"} <= set(summary)
    assert summary == recomputed_summary(project, tmp_path)


def test_a_forced_rerun_that_changes_nothing_leaves_git_status_clean(project, run, ran_stages):
    """Issue 10 hole 16: no timing in a file git tracks or DVC hashes. Runs before the experiments below."""
    assert run(["git", "status", "--porcelain"], project).stdout == ""
    res = run(["dvc", "repro", "-f"], project)
    assert ran_stages(res.stdout) == BASE_STAGES | MIX_STAGES
    assert run(["git", "status", "--porcelain"], project).stdout == ""


def test_changing_sft_params_never_reruns_base_evaluations(project, run, ran_stages):
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


def test_exp_run_on_mix_reruns_only_what_depends_on_mix(project, run, ran_stages):
    res = run(["dvc", "exp", "run", "-S", "mix=0.5", "-n", "mix-0.5"], project)
    assert ran_stages(res.stdout) == MIX_STAGES
    diff = run(["dvc", "metrics", "diff", "--json"], project)
    # the decision numbers move with the mix; the bookkeeping (shares achieved) is a plain output, not a metric
    changed = json.loads(diff.stdout)
    assert "mix" in changed["metrics/summary.json"] and "metrics/mix.json" not in changed


def test_two_point_sweep_gives_a_frontier_table(project, run):
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
