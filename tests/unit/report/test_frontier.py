"""Forgetting frontier: Pareto front, exp-show parsing (hand-made and from a real toy DVC project), outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from voc.report.frontier import (
    Point,
    frontier_cmd,
    frontier_html,
    frontier_table,
    pareto_front,
    parse_points,
    shared_labels,
    suites,
    vega_lite_spec,
)

BIN = Path(sys.executable).parent


def test_pareto_front_on_hand_made_points() -> None:
    xy = [(0.1, 0.9), (0.3, 0.8), (0.2, 0.7), (0.3, 0.8), (None, 1.0), (0.05, 0.9), (0.4, None)]
    # (0.2, 0.7) loses to (0.3, 0.8); (0.05, 0.9) loses to (0.1, 0.9) on x alone; ties both stay on the front.
    assert pareto_front(xy) == [True, True, False, True, False, False, False]
    assert pareto_front([]) == []


def test_runs_on_the_same_point_share_one_label() -> None:
    pts = [(0.36, 1.0, "mix=0.0 full"), (0.12, 1.0, "mix=0.0 lora"), (0.36, 1.0000000001, "mix=0.5 full")]
    assert shared_labels(pts) == [(0.36, 1.0, "mix=0.0 full\nmix=0.5 full"), (0.12, 1.0, "mix=0.0 lora")]


def _rec(rev: str, name: str | None, mix: float | None, metrics: dict | None, section: str = "replay") -> dict:
    """An exp-show record; `section="general"` is how params named the replay data before the rename."""
    data = {"rev": rev, "params": {"params.yaml": {"data": {
        "mix": mix, "sft": {"method": "lora"},
        section: {"sources": [{"name": "replay", "kind": "replay"}, {"name": "alpaca", "kind": "json"}]}}}},
        "metrics": {"metrics/summary.json": {"data": metrics} if metrics is not None else
                    {"error": {"type": "FileNotFoundError", "msg": "missing"}}}}
    return {"rev": rev, "name": name, "data": data, "error": None, "experiments": None}


def _exp(rec: dict, state: str | None) -> dict:
    return {"revs": [rec], "executor": {"state": state} if state else None, "name": rec["name"]}


M1 = {"f1_gain": 0.4, "mmlu_retention": 0.9, "tasks_retention": 0.95, "nova_f1_sft": 0.5}
M2 = {"f1_gain": 0.6, "mmlu_retention": 0.8, "tasks_retention": None}


def test_experiments_from_before_the_rename_still_compare() -> None:
    """Old summaries said general_retention and old params said general.sources: both read as today's names."""
    old = _rec("e" * 40, "exp-old", 0.25, {"f1_gain": 0.3, "general_retention": 0.9}, section="general")
    new = _rec("f" * 40, "exp-new", 0.5, {"f1_gain": 0.2, "tasks_retention": 0.95})
    points, _ = parse_points([old, new])
    assert [(p.name, p.sources, p.metrics) for p in points] == [
        ("exp-old", ("replay", "alpaca"), {"f1_gain": 0.3, "tasks_retention": 0.9}),
        ("exp-new", ("replay", "alpaca"), {"f1_gain": 0.2, "tasks_retention": 0.95})]
    assert list(suites(points)) == ["tasks"]


def test_parse_points_dedupes_and_skips_unfinished_and_metricless() -> None:
    base = _rec("a" * 40, "main", 0.25, None)
    base["experiments"] = [
        _exp(_rec("b" * 40, "exp-one", 0.1, M1), None),
        _exp(_rec("c" * 40, "exp-two", 0.5, M2), "success"),  # finished from the queue
        _exp(_rec("c" * 40, "exp-two", 0.5, M2), "success"),  # same rev again
        _exp(_rec("d" * 40, "exp-queued", 0.7, None), "queued"),
    ]
    workspace = _rec("workspace", None, 0.5, M2)  # equals exp-two: not a separate point
    points, skipped = parse_points([workspace, base])
    assert [(p.name, p.mix, p.method, p.sources) for p in points] == [
        ("exp-one", 0.1, "lora", ("replay", "alpaca")), ("exp-two", 0.5, "lora", ("replay", "alpaca"))]
    assert points[1].metrics == {"f1_gain": 0.6, "mmlu_retention": 0.8}  # null tasks_retention dropped
    assert skipped == ["main (aaaaaaa): no metrics/summary.json", "exp-queued (ddddddd): queued"]
    changed = _rec("workspace", None, 0.3, M1)
    assert [p.name for p in parse_points([changed, base])[0]][0] == "workspace"


POINTS = [
    Point("low", "1" * 40, 0.5, "full", ("replay",), {"f1_gain": 0.2, "mmlu_retention": 0.95}),
    Point("mid", "2" * 40, 0.25, "lora", ("replay",), {"f1_gain": 0.3, "mmlu_retention": 0.90,
                                                       "probe_retention": 1.0}),
    Point("bad", "3" * 40, 0.25, "full", ("replay", "alpaca"), {"f1_gain": 0.1, "mmlu_retention": 0.85}),
    Point("hi", "4" * 40, 0.0, "full", (), {"f1_gain": 0.5, "mmlu_retention": 0.6, "probe_retention": 0.7}),
]


def test_table_has_one_row_per_experiment_with_front_markers() -> None:
    lines = frontier_table(POINTS).splitlines()
    assert lines[0] == "| name | rev | mix | method | replay sources | f1_gain | mmlu_retention | " \
                       "probe_retention | on front |"
    assert len(lines) == 2 + len(POINTS)
    assert lines[3] == "| mid | 2222222 | 0.25 | lora | replay | 0.3 | 0.9 | 1 | ★ mmlu, probe |"
    assert lines[4] == "| bad | 3333333 | 0.25 | full | replay, alpaca | 0.1 | 0.85 |  |  |"


def test_vega_lite_spec_embeds_only_points_with_the_metric() -> None:
    assert list(suites(POINTS)) == ["mmlu", "probe"]  # no tasks_retention anywhere: no plot
    spec = vega_lite_spec(POINTS, "probe")
    assert spec["$schema"].endswith("vega-lite/v5.json")
    assert [(v["name"], v["label"], v["front"]) for v in spec["data"]["values"]] == [
        ("mid", "mix=0.25 lora", True), ("hi", "mix=0.0 full", True)]
    page = frontier_html([spec, vega_lite_spec(POINTS, "mmlu")])
    assert page.count("vegaEmbed(") == 2 and "cdn.jsdelivr.net/npm/vega-lite@5" in page


def test_labels_name_a_replay_source_other_than_self_replay() -> None:
    assert Point("a", "w", 0.25, "full", ("replay",)).label == "mix=0.25 full"
    assert Point("b", "w", 0.25, "full", ("lima",)).label == "mix=0.25 full (lima)"


def test_html_cannot_be_closed_by_a_name() -> None:
    evil = [Point("</script><b>", "5" * 40, 0.1, "full", (), {"f1_gain": 0.1, "mmlu_retention": 0.9})]
    assert "</script><b>" not in frontier_html([vega_lite_spec(evil, "mmlu")])


STAGE = """import json, os, yaml
p = yaml.safe_load(open("params.yaml"))
os.makedirs("metrics", exist_ok=True)
m = p["mix"]
json.dump({"f1_base": 0.2, "f1_sft": 0.8 - m, "f1_gain": round(0.6 - m, 4), "mmlu_base": 0.4,
           "mmlu_retention": round(0.5 + m, 4)}, open("metrics/summary.json", "w"))
"""
DVC_YAML = """stages:
  report:
    cmd: python make_summary.py
    deps: [make_summary.py]
    params: [mix, sft.method, replay.sources]
    metrics:
      - metrics/summary.json: {cache: false}
"""


@pytest.fixture(scope="module")
def toy_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git+DVC project with two finished experiments: mix=0.1 and mix=0.5."""
    repo = tmp_path_factory.mktemp("toy")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "DVC_NO_ANALYTICS": "1",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    (repo / "params.yaml").write_text("mix: 0.25\nsft:\n  method: full\nreplay:\n  sources:\n"
                                      "    - {name: replay, kind: replay}\n")
    (repo / "make_summary.py").write_text(STAGE)
    (repo / "dvc.yaml").write_text(DVC_YAML)
    for cmd in (["git", "init", "-q"], [BIN / "dvc", "init", "-q"], ["git", "add", "-A"],
                ["git", "commit", "-qm", "toy"], [BIN / "dvc", "exp", "run", "-q", "-S", "mix=0.1"],
                [BIN / "dvc", "exp", "run", "-q", "-S", "mix=0.5"]):
        subprocess.run([str(c) for c in cmd], cwd=repo, env=env, check=True, capture_output=True)
    return repo


@pytest.mark.slow
def test_frontier_from_real_dvc_experiments(toy_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "frontier"
    result = CliRunner().invoke(frontier_cmd, ["--repo", str(toy_repo), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = (out / "frontier.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| name |")]
    assert sorted(row.split(" | ")[2] for row in rows) == ["0.1", "0.5"]  # the workspace equals mix=0.5
    assert all("★ mmlu" in row for row in rows)  # gain falls and retention rises with mix: both on the front
    assert "skipped master" in table or "skipped main" in table  # the baseline commit has no metrics
    assert (out / "frontier.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    specs = (out / "frontier.html").read_text()
    assert specs.count("vegaEmbed(") == 1 and '"mix": 0.1' in specs and '"mix": 0.5' in specs


@pytest.mark.slow
def test_frontier_rev_option_reads_that_baseline(toy_repo: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(frontier_cmd, ["--repo", str(toy_repo), "--rev", "HEAD",
                                               "--out", str(tmp_path / "f")])
    assert result.exit_code == 0, result.output
    assert json.dumps("mix=0.1 full")[1:-1] in (tmp_path / "f" / "frontier.html").read_text()
    bad = CliRunner().invoke(frontier_cmd, ["--repo", str(toy_repo), "--rev", "no-such-branch"])
    assert bad.exit_code != 0
