"""run.py's own checks: an unknown profile or run is refused before any work, naming what exists."""

from __future__ import annotations

from click.testing import CliRunner

from benchmarks.memd.run import main, ran_stages


def test_unknown_profile_and_run_are_refused_up_front(tmp_path):
    shared = ["--shared", str(tmp_path)]  # ../shared/data is absent in a CI clone; click checks it exists first
    res = CliRunner().invoke(main, ["--profile", "nope", "--work", str(tmp_path), *shared])
    assert res.exit_code == 2 and "'nope' is not one of ['smoke', 'cpu'" in res.output
    res = CliRunner().invoke(main, ["--profile", "smoke", "--runs", "mix0,nope", "--work", str(tmp_path), *shared])
    assert res.exit_code == 2 and "unknown run(s) ['nope']" in res.output
    assert not (tmp_path / "repo").exists()


def test_ran_stages_reads_dvc_exp_run_output():
    out = "Running stage 'mix':\n> python mix.py\nStage 'prepare' didn't change, skipping\nRunning stage 'sft':\n"
    assert ran_stages(out) == ["mix", "sft"]


def test_frontier_from_results_draws_with_the_profile_rule(tmp_path):
    """Without DVC the frontier is drawn from the collected runs, by voc frontier's writer and decision rule."""
    from benchmarks.memd.run import frontier_from_results

    keep = {"value": 0.95, "ci95": {"lo": 0.9, "hi": 1.0}, "p_value": 0.02}
    runs = [{"name": "mix0", "mix": 0.0, "method": "full", "source": "replay",
             "summary": {"f1_gain": 0.3, "tasks_base": 0.5, "general_retention": keep}},
            {"name": "alpha", "mix": 0.0, "method": "full", "source": "replay", "alpha": 0.5,
             "summary": {"f1_gain": 0.2, "tasks_base": 0.5, "general_retention": {**keep, "p_value": 0.5}}}]
    (tmp_path / "out").mkdir()
    png = frontier_from_results({"runs": runs}, tmp_path / "work", tmp_path / "out")
    assert png == str(tmp_path / "out" / "frontier.png")
    table = (tmp_path / "out" / "frontier.md").read_text()
    assert "recommended: alpha (dvc, mix=0.0 full α=0.5)" in table  # mix0 forgets at p < 0.05
    frontier_from_results({"runs": runs, "params": {"decision": {"p_value": 0.01}}}, tmp_path / "w2", tmp_path / "out")
    assert "recommended: mix0 " in (tmp_path / "out" / "frontier.md").read_text()
