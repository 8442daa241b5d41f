"""The merge micro-benchmark runs end to end on two tiny models and prints all three sides and the ratios."""

from __future__ import annotations

from click.testing import CliRunner

from benchmarks.micro import merge


def test_merge_benchmark_runs_on_the_tiny_models(tmp_path, build_tiny_model):
    base = build_tiny_model(tmp_path / "base", seed=0)
    sft = build_tiny_model(tmp_path / "sft", seed=1)
    res = CliRunner().invoke(merge.main, ["--base", str(base), "--sft", str(sft), "--repeat", "1"])
    assert res.exit_code == 0, res.output
    assert "alpha 1 (copy, the stage)" in res.output and "copy / hardlink:" in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base", "sft"]  # its temp folder is gone
