"""The classification benchmark runs end to end on the tiny model (it imports the generation API, so a moved
function breaks it here), prints both sides with their ratio, and builds the synthetic taxonomy it times."""

from __future__ import annotations

from pathlib import Path

import torch
from click.testing import CliRunner

from benchmarks.micro import classify
from voc.core.taxonomy import load_taxonomy

DEMO = Path(__file__).resolve().parents[3] / "data/raw/demo"


def test_synthetic_taxonomy_grows_by_numbered_l2_variants():
    base = load_taxonomy(DEMO / "taxonomy.csv")
    big = classify.synthetic_taxonomy(base, 2 * len(base.leaves) + 3)
    assert len(big.leaves) == len(set(big.leaves)) == 2 * len(base.leaves) + 3
    assert big.leaves[: len(base.leaves)] == base.leaves
    assert big.leaves[len(base.leaves)] == (base.leaves[0][0], f"{base.leaves[0][1]} 2", *base.leaves[0][2:])


def test_classify_benchmark_runs_on_the_tiny_model():
    res = CliRunner().invoke(classify.main, [
        "--model", "tiny", "--comments", str(DEMO / "comments.jsonl"), "--taxonomy", str(DEMO / "taxonomy.csv"),
        "--n", "2", "--batch-size", "2", "--max-new-tokens", "3", "--sizes", "demo", "--long-size", "70",
        "--long-n", "2", "--long-max-new-tokens", "2", "--long-context", "4096"])
    assert res.exit_code == 0, res.output
    assert res.output.count("speed-up: ") == 2 and "identical outputs: 2/2" in res.output
    assert "reference generate:" in res.output and "shared prefix + early stop:" in res.output
    # it ran in this process: switching autograd off globally broke every later training test in the suite
    assert torch.is_grad_enabled()
