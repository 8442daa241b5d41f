"""Degenerate outputs are counted: segments repeated within one output, and outputs cut by the token limit."""

from __future__ import annotations

import json

from voc.core.taxonomy import Taxonomy
from voc.eval.predictions import degeneration_counts, prediction_rows, repeated_segments

LEVELS = ("L1", "L2")
TAX = Taxonomy(levels=LEVELS, leaves=(("App", "Login"), ("Store", "Staff")))
LOGIN = {"content": "login fails", "L1": "App", "L2": "Login", "emotion": "negative"}
STAFF = {"content": "rude staff", "L1": "Store", "L2": "Staff", "emotion": "negative"}


def test_a_repeat_is_the_same_path_and_content_up_to_case_and_whitespace():
    assert repeated_segments([LOGIN, STAFF], LEVELS) == 0
    assert repeated_segments([LOGIN, {**LOGIN, "content": " Login  FAILS"}, LOGIN], LEVELS) == 2
    # the same content under another leaf, or another content under the same leaf, is not a repeat
    assert repeated_segments([LOGIN, {**LOGIN, "L2": "Staff"}, {**LOGIN, "content": "login fails again"}],
                             LEVELS) == 0
    assert repeated_segments([LOGIN, {**LOGIN, "emotion": "positive"}], LEVELS) == 1  # emotion is not the segment


def test_degeneration_counts_outputs_that_loop_and_outputs_cut_by_the_limit():
    looping = json.dumps([LOGIN] * 5)[:-30]  # a loop cut mid-segment by max_new_tokens
    outputs = [json.dumps([LOGIN, STAFF]), looping, json.dumps([STAFF, STAFF]), "no json"]
    records = [{"id": str(i), "text": "login fails, rude staff", "segments": [LOGIN]} for i in range(4)]
    rows = prediction_rows(records, outputs, TAX, [False, True, False, True])
    assert degeneration_counts(rows, LEVELS) == {"repeated_segment_outputs": 2, "repeated_segment_rate": 0.5,
                                                 "hit_max_new_tokens": 2, "hit_max_new_tokens_rate": 0.5}
    # rows written without hit flags (a baseline's, or an older run's) count none; no rows, no division by zero
    assert degeneration_counts(prediction_rows(records, outputs, TAX), LEVELS)["hit_max_new_tokens"] == 0
    assert degeneration_counts([], LEVELS)["repeated_segment_rate"] == 0.0
