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
