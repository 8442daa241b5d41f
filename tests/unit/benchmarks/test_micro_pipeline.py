"""The pipeline benchmarks of issue 12, section 5 run end to end at a small size: `mix` reproduces the reference
implementation's rows, and the no-op `dvc repro` timer refuses a workspace where a stage would rerun."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from benchmarks.micro import mix, noop_repro


def test_mix_benchmark_matches_the_reference_and_times_the_stage_path():
    res = CliRunner().invoke(mix.main, ["--n", "300", "--repeat", "1"])
    assert res.exit_code == 0, res.output
    assert "identical rows (source, id in order) and report: True" in res.output
    assert "stage path (whitespace words), wall (CPU) seconds: read" in res.output


def _sh(cwd: Path, *cmd: str) -> None:
    subprocess.run(list(cmd), cwd=cwd, check=True, capture_output=True, env={**os.environ, "DVC_NO_ANALYTICS": "1"})


def test_noop_repro_times_only_a_workspace_with_nothing_to_run(tmp_path):
    _sh(tmp_path, "git", "init", "-q")
    _sh(tmp_path, sys.executable, "-m", "dvc", "init", "-q")
    (tmp_path / "in.txt").write_text("a\n")
    (tmp_path / "dvc.yaml").write_text("stages:\n  copy:\n    cmd: cp in.txt out.txt\n    deps: [in.txt]\n"
                                       "    outs: [out.txt]\n")
    _sh(tmp_path, sys.executable, "-m", "dvc", "repro", "-q")
    res = CliRunner().invoke(noop_repro.main, ["--repo", str(tmp_path), "--repeat", "1"])
    assert res.exit_code == 0, res.output
    assert "no-op dvc repro, worst of 1:" in res.output and "goal <= 5 s" in res.output
    (tmp_path / "in.txt").write_text("b\n")
    res = CliRunner().invoke(noop_repro.main, ["--repo", str(tmp_path), "--repeat", "1"])
    assert res.exit_code != 0 and "not a no-op" in res.output and "copy" in res.output
    assert (tmp_path / "out.txt").read_text() == "a\n"  # nothing was rerun
