"""Prediction rows: each raw output is parsed once, by `parse_row`, and `voc classify` reads it the same way."""

from __future__ import annotations

import json

from voc.core.taxonomy import Taxonomy
from voc.eval.classify import classify_outputs
from voc.eval.predictions import parse_row, prediction_rows
from voc.eval.scoring.nova import NOVA_FIELD

TAX = Taxonomy(levels=("L1", "L2"), leaves=(("App", "Login"), ("Store", "Staff")))
LOGIN = {"content": "login fails", "L1": "App", "L2": "Login", "emotion": "negative"}
OUTPUTS = [
    json.dumps([LOGIN]),  # clean
    json.dumps([{**LOGIN, "L1": " app ", "emotion": "Negative"}]),  # labels fixed up to case and whitespace
    json.dumps([{**LOGIN, "L2": "Lost"}]),  # a leaf outside the taxonomy
    'Sure! [{"content": "x", "L1": "Store", "L2": "Staff", "emotion": "neutral"}, {"L1": "App", "L2": "Lo',  # cut
    "no json here",
    "[]",
]


def test_a_row_carries_both_parses_of_its_raw_output():
    parsed = parse_row(OUTPUTS[1], TAX)
    assert parsed.segments == [{**LOGIN, "L1": "App"}] and parsed.labels_case_fixed == 2
    assert (parsed.status, parsed.json_valid, parsed.schema_complete) == ("ok", True, True)
    # the Nova-rule values are read from the raw text, literally: " app " stays as written there
    assert parsed.nova == {"L1": [" app "], "L2": ["Login"]}
    # a cut output: no JSON between '[' and ']', so the Nova rule takes every "KEY": "value" pair instead
    assert parse_row(OUTPUTS[3], TAX).nova == {"L1": ["Store", "App"], "L2": ["Staff"]}


def test_prediction_rows_store_what_parse_row_read():
    records = [{"id": str(i), "text": "login fails", "segments": [LOGIN]} for i in range(len(OUTPUTS))]
    for out, row in zip(OUTPUTS, prediction_rows(records, OUTPUTS, TAX, [False] * len(OUTPUTS)), strict=True):
        p = parse_row(out, TAX)
        assert row == {"id": row["id"], "text": "login fails", "gold": [LOGIN], "pred": p.segments, "raw": out,
                       "status": p.status, "json_valid": p.json_valid, "schema_complete": p.schema_complete,
                       "labels_case_fixed": p.labels_case_fixed, NOVA_FIELD: p.nova, "hit_max_new_tokens": False}


def test_classify_reads_each_output_as_the_evaluation_does():
    records = [{"id": str(i), "text": "t", "segments": []} for i in range(len(OUTPUTS))]
    evaluated = prediction_rows(records, OUTPUTS, TAX)
    classified = classify_outputs(["t"] * len(OUTPUTS), OUTPUTS, TAX)
    for ev, cl in zip(evaluated, classified, strict=True):
        assert list(cl) == ["text", "segments", "status", "valid", "raw"]  # `voc classify`'s schema
        assert [{k: v for k, v in s.items() if k != "in_taxonomy"} for s in cl["segments"]] == ev["pred"]
        assert (cl["status"], cl["raw"]) == (ev["status"], ev["raw"])
    assert [c["valid"] for c in classified] == [True, True, False, True, False, True]
