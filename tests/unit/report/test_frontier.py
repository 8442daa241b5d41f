"""Forgetting frontier: the Pareto front with intervals, the tables and the commands (on a real toy DVC project)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from voc.core.schema import Decision
from voc.report.decision import decide
from voc.report.frontier import (
    compare_cmd,
    compare_table,
    frontier_cmd,
    frontier_table,
    pareto_front,
    read_rule,
    retentions,
)
from voc.report.frontier_data import Estimate, Point

BIN = Path(sys.executable).parent


def test_pareto_front_without_intervals_is_the_classic_rule() -> None:
    xy = [(0.1, 0.9), (0.3, 0.8), (0.2, 0.7), (0.3, 0.8), (None, 1.0), (0.05, 0.9), (0.4, None)]
    # (0.2, 0.7) loses to (0.3, 0.8); (0.05, 0.9) loses to (0.1, 0.9) on x alone; ties both stay on the front.
    assert pareto_front(xy) == [True, True, False, True, False, False, False]
    assert pareto_front([]) == []


def e(v: float, half: float = 0.0, p: float | None = None) -> Estimate:
    return Estimate(v, v - half, v + half, p)


def test_a_point_is_dominated_only_beyond_the_intervals() -> None:
    # b beats a on both point estimates, but within the intervals on both: a stays on the front.
    assert pareto_front([(e(0.30, 0.05), e(0.90, 0.02)), (e(0.33, 0.05), e(0.91, 0.02))]) == [True, True]
    # c's gain interval lies wholly above a's and its retention is no lower: a is dominated.
    assert pareto_front([(e(0.30, 0.05), e(0.90, 0.02)), (e(0.45, 0.05), e(0.90, 0.02))]) == [False, True]
    # better beyond the interval on one axis but worse on the other (point estimates): no domination.
    assert pareto_front([(e(0.30, 0.05), e(0.90, 0.02)), (e(0.45, 0.05), e(0.89, 0.02))]) == [True, True]
    # intervals make the front wider, never narrower, than the classic one
    pts = [(e(0.1 * i, 0.04), e(1 - 0.03 * i * i, 0.01)) for i in range(6)] + [(e(0.2, 0.04), e(0.5, 0.01))]
    classic = pareto_front([(x.value, y.value) for x, y in pts])
    assert all(w or not c for w, c in zip(pareto_front(pts), classic, strict=True))
    assert pareto_front(pts)[-1] is False  # far below (0.2, 0.88) beyond the interval


def p(name: str, mix: float, gain: float, keep: float, pv: float, **kw) -> Point:
    metrics = {"f1_gain": e(gain, 0.05, 0.001), "f1_sft": e(0.2 + gain, 0.06), "general_retention": e(keep, 0.02, pv),
               "mmlu_retention": e(keep - 0.01, 0.1, 0.5)}
    return Point(name, name * 40 if len(name) == 1 else f"{name:0<40}", mix, kw.pop("method", "full"), ("replay",),
                 metrics=metrics, **kw)


POINTS = [p("a", 0.0, 0.40, 0.80, 0.001), p("b", 0.1, 0.35, 0.97, 0.3, alpha=0.7),
          p("c", 0.25, 0.30, 0.99, 0.6, freeze="layers=4"), p("d", 0.0, 0.10, 0.98, 0.4, method="lora",
                                                              baselines={"tfidf": e(0.35, 0.05)})]


def test_frontier_table_shows_intervals_controls_fronts_and_verdicts() -> None:
    lines = frontier_table(POINTS, decide(POINTS, Decision())).splitlines()
    assert lines[0] == "| name | rev | mix | method | alpha | freeze | replay sources | f1_gain | " \
                       "general_retention | mmlu_retention | on front | verdict |"
    assert lines[2] == "| a | aaaaaaa | 0.0 | full | 1 | none | replay | 0.400 ± 0.050 | 0.800 ± 0.020 | " \
                       "0.790 ± 0.100 | ★ general, mmlu | forgets |"
    assert lines[3].endswith("| 0.970 ± 0.020 | 0.960 ± 0.100 | ★ general, mmlu | recommended |")
    assert lines[5].split(" | ")[-2:] == ["", "less gain |"]  # d: (0.1, 0.98) is below c (0.3, 0.99) beyond CI
    assert retentions(POINTS) == ["general_retention", "mmlu_retention"]


def test_compare_table_has_the_decision_columns() -> None:
    rule = Decision()
    lines = compare_table(POINTS, decide(POINTS, rule), rule).splitlines()
    assert lines[0] == "| name | mix | method | alpha | freeze | replay | f1 (sft) | f1 gain | vs best baseline | " \
                       "general_retention | verdict |"
    assert lines[3] == "| b | 0.1 | full | 0.7 | none | replay | 0.550 ± 0.060 | 0.350 ± 0.050 |  | " \
                       "0.970 ± 0.020 | ★ recommended |"
    assert "| -0.050 (tfidf) |" in lines[5]
    plain = [POINTS[0]]  # no alpha, no freeze anywhere: no such columns
    assert "alpha" not in compare_table(plain, decide(plain, rule), rule)


def test_the_rule_comes_from_the_repo_params_or_defaults(tmp_path: Path) -> None:
    assert read_rule(None, str(tmp_path)) == Decision()  # a project from before the rule: its defaults
    (tmp_path / "params.yaml").write_text("mix: 0.1\ndecision:\n  retention: mmlu\n  p_value: 0.01\n")
    assert read_rule(None, str(tmp_path)) == Decision(retention="mmlu", p_value=0.01)


STAGE = """import json, os, yaml
p = yaml.safe_load(open("params.yaml"))
os.makedirs("metrics", exist_ok=True)
m = p["mix"]
g, r = round(0.6 - m, 4), round(0.5 + m, 4)
json.dump({"mix": m, "f1_base": 0.2, "f1_sft": 0.8 - m, "f1_gain": g, "tasks_base": 0.5, "tasks_sft": 0.5 * r,
           "tasks_retention": r,
           "f1": {"base": 0.2, "sft": 0.8 - m, "delta": g, "ci95": {"lo": g - 0.05, "hi": g + 0.05},
                  "p_value": 0.001, "significant": True},
           "general_retention": {"value": r, "ci95": {"lo": r - 0.05, "hi": r + 0.05},
                                 "p_value": 0.001 if m < 0.3 else 0.5}},
          open("metrics/summary.json", "w"))
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
    # gain falls and retention rises with mix: both on the front; mix 0.1 loses general ability (p=0.001)
    assert all("★ general" in row for row in rows)
    assert sorted(row.split(" | ")[-1] for row in rows) == ["forgets |", "recommended |"]
    assert "mix=0.5 full): largest f1_gain" in table.split("recommended: ")[1].splitlines()[0]
    assert "skipped master" in table or "skipped main" in table  # the baseline commit has no metrics
    assert (out / "frontier.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    specs = (out / "frontier.html").read_text()
    assert specs.count("vegaEmbed('#vis") == 2  # general and tasks retention
    assert '"mix": 0.1' in specs and '"mix": 0.5' in specs
    assert '"gain_lo": 0.45' in specs and '"recommended": true' in specs


@pytest.mark.slow
def test_compare_prints_the_decision_with_the_rule_from_params(toy_repo: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(compare_cmd, ["--repo", str(toy_repo)])
    assert result.exit_code == 0, result.output
    assert "| 0.1 | full | replay | 0.700 | 0.500 ± 0.050 |  | 0.600 ± 0.050 | forgets |" in result.output
    assert "rule: the largest leaf-F1 gain" in result.output
    lenient = tmp_path / "params.yaml"
    lenient.write_text("decision:\n  p_value: 0.0001\n")  # p=0.001 is not significant at this level
    result = CliRunner().invoke(compare_cmd, ["--repo", str(toy_repo), "--params", str(lenient)])
    assert "mix=0.1 full): largest f1_gain" in result.output.split("recommended: ")[1].splitlines()[0]


@pytest.mark.slow
def test_frontier_rev_option_reads_that_baseline(toy_repo: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(frontier_cmd, ["--repo", str(toy_repo), "--rev", "HEAD",
                                               "--out", str(tmp_path / "f")])
    assert result.exit_code == 0, result.output
    assert json.dumps("mix=0.1 full")[1:-1] in (tmp_path / "f" / "frontier.html").read_text()
    bad = CliRunner().invoke(frontier_cmd, ["--repo", str(toy_repo), "--rev", "no-such-branch"])
    assert bad.exit_code != 0
