"""The speed micro-benchmarks run end to end on the tiny model: they import the library's current API (a moved
function breaks them at import, which no other test would notice) and print both modes and their ratio."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from benchmarks.micro import generation, loglik


@pytest.mark.parametrize(("bench", "args", "expect"), [
    (generation.main, ["--n", "3", "--batch-size", "2", "--max-new-tokens", "2"], "identical outputs: "),
    (loglik.main, ["--questions", "2", "--batch-size", "4"], "max |log-likelihood difference|"),
])
def test_micro_benchmark_runs_on_the_tiny_model(tiny_model_dir, bench, args, expect):
    res = CliRunner().invoke(bench, ["--model", str(tiny_model_dir), "--repeat", "1", *args])
    assert res.exit_code == 0, res.output
    assert "batch_size=1:" in res.output and "speed-up batched" in res.output and expect in res.output


def test_the_lm_eval_comparison_runs_where_the_bench_extra_is_installed(tiny_model_dir):
    """lm-eval is an optional extra (`pip install -e .[bench]`): without it this is skipped, with it an API change
    in lm-eval breaks here rather than in the middle of a long benchmark."""
    pytest.importorskip("lm_eval")
    from pathlib import Path

    from benchmarks.micro import lmeval

    if not (Path(__file__).resolve().parents[3] / "data/prepared/tasks").is_dir():
        pytest.skip("data/prepared/tasks is a pipeline output (dvc repro assets)")
    res = CliRunner().invoke(lmeval.main, ["--model", str(tiny_model_dir), "--part", "hellaswag", "--limit", "4",
                                           "--slices", "1"])
    assert res.exit_code == 0, res.output
    assert "identical (context, continuation) requests: 4/4 questions" in res.output
    assert "acc: same prediction 4/4" in res.output and "speed-up vs lm-eval wall-clock" in res.output
