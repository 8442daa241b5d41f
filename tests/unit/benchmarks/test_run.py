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
