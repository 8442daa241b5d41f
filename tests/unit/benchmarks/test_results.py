"""Merging benchmark sessions: a 2-core box runs the series over several sittings, and the merged table must only
join sittings that measured the same thing."""

from __future__ import annotations

import copy

import pytest

from benchmarks.memd.results import markdown_report, merge_sessions

ORDER = ["mix0", "mix0.1", "mix0.25", "lora-mix0"]


def run(name: str, mix: float, f1: float, base_f1: float = 0.0) -> dict:
    summary = {"f1_base": base_f1, "f1_sft": f1, "mmlu_base": 0.3, "mmlu_sft": 0.29}
    return {"name": name, "mix": mix, "method": "full", "source": "replay", "wall_s": 60.0, "summary": summary}


def session(commit: str, runs: list[dict], wall: float = 100.0) -> dict:
    sample = {"seed": 42, "used": {"train": 3, "test": 2}, "available": {"train": 9, "test": 4}, "test_ids": ["a"]}
    return {"profile": "cpu", "domains": ["Laptop"], "sample": sample, "hardware": "cpu", "project_commit": commit,
            "executor": "dvc", "runs": runs, "failed": [], "wall_s": wall}


def test_merge_orders_runs_replaces_same_name_and_records_sessions():
    old = session("aaaaaaa1", [run("mix0.25", 0.25, 0.3), run("mix0", 0.0, 0.4)], 100.0)
    new = session("bbbbbbb2", [run("mix0.1", 0.1, 0.5), run("mix0.25", 0.25, 0.35)], 50.0)
    merged = merge_sessions(old, new, ORDER)
    assert [r["name"] for r in merged["runs"]] == ["mix0", "mix0.1", "mix0.25"]
    assert merged["runs"][2]["summary"]["f1_sft"] == 0.35  # the newer session's run wins
    assert [s["runs"] for s in merged["sessions"]] == [["mix0.25", "mix0"], ["mix0.1", "mix0.25"]]
    assert merged["wall_s"] == 150.0 and merged["project_commit"] == "bbbbbbb2"
    again = merge_sessions(merged, session("ccccccc3", [run("lora-mix0", 0.0, 0.1)], 10.0), ORDER)
    assert len(again["sessions"]) == 3 and again["wall_s"] == 160.0
    assert [r["name"] for r in again["runs"]] == ["mix0", "mix0.1", "mix0.25", "lora-mix0"]
    report = markdown_report(again)
    assert "session 3: commit `ccccccc` ran lora-mix0" in report and "| mix0.1 (full, mix=0.1) |" in report


def test_merge_refuses_a_different_base_or_subsample():
    old = session("a", [run("mix0", 0.0, 0.4)])
    with pytest.raises(ValueError, match="base model's numbers differ"):
        merge_sessions(old, session("b", [run("mix0.1", 0.1, 0.5, base_f1=0.01)]), ORDER)
    other = session("b", [run("mix0.1", 0.1, 0.5)])
    other["sample"] = copy.deepcopy(other["sample"]) | {"seed": 7}
    with pytest.raises(ValueError, match="'sample' differs"):
        merge_sessions(old, other, ORDER)
    assert merge_sessions(old, session("b", []), ORDER)["runs"] == old["runs"]  # nothing new yet: old kept


def test_results_of_before_the_rename_still_read_and_merge():
    """results.json files written before replay / tasks were named `general` keep their keys; the table, the share
    check and the merge read them under the current names."""
    old_run = run("mix0.25", 0.25, 0.3)
    old_run["summary"] |= {"general_base": 0.4, "general_sft": 0.45}
    old_run["mix_stats"] = {"general_record_share": 0.05}
    old = session("aaaaaaa1", [old_run])
    new_run = run("mix0.1", 0.1, 0.5)
    new_run["summary"] |= {"tasks_base": 0.4, "tasks_sft": 0.5}
    merged = merge_sessions(old, session("bbbbbbb2", [new_run]), ORDER)
    report = markdown_report(merged)
    assert "| mix0.25 (full, mix=0.25) | replay | 0.300 | - | 0.290 | 0.450 |" in report
    assert "| mix0.1 (full, mix=0.1) | replay | 0.500 | - | 0.290 | 0.500 |" in report
    assert "| base model | - | 0.000 | - | 0.300 | 0.400 |" in report and "tasks mean" in report
    assert "WARNING mix0.25: asked mix=0.25 but the training set's replay record share is 0.05" in report
    with pytest.raises(ValueError, match="base model's numbers differ"):
        new_run["summary"]["tasks_base"] = 0.41
        merge_sessions(old, session("ccccccc3", [new_run]), ORDER)


def test_interval_table_reports_each_number_with_its_interval_and_paired_test():
    block = {"base": 0.1, "sft": 0.4, "base_ci95": {"lo": 0.05, "hi": 0.15}, "sft_ci95": {"lo": 0.35, "hi": 0.45},
             "delta": 0.3, "ci95": {"lo": 0.25, "hi": 0.35}, "p_value": 0.0, "significant": True}
    probe = {**block, "base": 0.3, "sft": 0.25, "delta": -0.05, "ci95": {"lo": -0.1, "hi": 0.01},
             "p_value": 0.2, "significant": False}
    r = run("mix0.1-alpha0.7", 0.1, 0.4)
    r.update(alpha=0.7, freeze={"embeddings": True, "layers": 2})
    r["summary"].update(f1=block, probe=probe, best_baseline="tfidf", gain_over_best_baseline=0.1,
                        gain_over_best_baseline_ci95={"lo": 0.02, "hi": 0.2}, gain_over_best_baseline_p_value=0.01,
                        gain_over_best_baseline_significant=True,
                        general_retention={"value": 0.9, "ci95": {"lo": 0.8, "hi": 1.0}, "p_value": 0.04})
    text = markdown_report(session("c", [r]))
    row = next(line for line in text.splitlines() if line.startswith("| mix0.1-alpha0.7") and "[" in line)
    assert "alpha=0.7, freeze embeddings+layers=2" in row
    assert "0.400 [0.350, 0.450]" in row and "+0.300 [+0.250, +0.350] (p 0.000)" in row
    assert "tfidf +0.100 [+0.020, +0.200] (p 0.010)" in row
    assert "-0.050 [-0.100, +0.010] (p 0.200 n.s.)" in row and "0.900 [0.800, 1.000] (p 0.040)" in row
    assert "| base model | 0.100 [0.050, 0.150] |" in text


def test_interval_table_is_left_out_for_results_from_before_the_intervals():
    assert "[95 % CI]" not in markdown_report(session("c", [run("mix0", 0.0, 0.4)]))
