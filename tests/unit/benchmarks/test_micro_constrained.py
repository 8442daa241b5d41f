"""The constrained-decoding benchmark runs end to end on the tiny model (it imports the grammar API, so a moved
function breaks it here) and prints both libraries with their ratio; skipped where the bench extra (xgrammar) is
not installed."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmarks.micro import constrained

DEMO = Path(__file__).resolve().parents[3] / "data/raw/demo"


def test_constrained_benchmark_runs_on_the_tiny_model():
    pytest.importorskip("xgrammar", reason="the bench extra is not installed")
    res = CliRunner().invoke(constrained.main, ["--model", "tiny", "--comments", str(DEMO / "comments.jsonl"),
                                                "--taxonomy", str(DEMO / "taxonomy.csv"), "--sizes", "demo,70",
                                                "--answers", "2"])
    assert res.exit_code == 0, res.output
    assert res.output.count("xgrammar / llguidance") == 2 and "llguidance (voc)" in res.output


def test_the_ebnf_grammar_holds_the_same_rules_as_the_lark_one():
    from voc.core.taxonomy import load_taxonomy
    from voc.model.constrained import grammar_rules

    taxonomy = load_taxonomy(DEMO / "taxonomy.csv")
    ebnf = constrained.ebnf_grammar(taxonomy).splitlines()
    assert ebnf[0].startswith("root ::= ") and ebnf[-1].startswith("text ::= ")
    assert [line.split(" ::= ")[1] for line in ebnf[:-1]] == [body for _, body in grammar_rules(taxonomy)]
