"""The bootstrap intervals of the VOC F1 scores: the per-comment counts they resample reproduce the scorer's own
numbers exactly (so the interval is around the reported F1), and the intervals land in the metrics file."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from voc.core.taxonomy import Taxonomy
from voc.eval.scoring.intervals import comment_outcomes, encode_pairs, f1_intervals, micro_f1, weighted_f1
from voc.eval.scoring.metrics import score_predictions
from voc.eval.scoring.nova import NOVA_FIELD, nova_values, weighted_prf

TAX = Taxonomy(levels=("L1", "L2"), leaves=(("App", "Login"), ("App", "Speed"), ("App", "Other"),
                                            ("Store", "Staff"), ("Store", "Other")))


def _segments(rng: random.Random) -> list[dict]:
    return [{"content": "x", "L1": l1, "L2": l2, "emotion": rng.choice(["negative", "positive"])}
            for l1, l2 in rng.sample(TAX.leaves, rng.randint(0, 3))]


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    """60 random comments; some predictions are cut mid-array, so the Nova rules' regex fallback runs too."""
    rng = random.Random(5)
    out = []
    for i in range(60):
        pred = _segments(rng)
        raw = json.dumps(pred)[: rng.choice([None, 30])]
        out.append({"id": f"c{i}", "text": "x", "gold": _segments(rng), "pred": pred, "raw": raw, "status": "ok",
                    NOVA_FIELD: nova_values(raw, pred, TAX.levels)})
    return out


def test_counts_reproduce_every_f1_the_scorer_reports(rows):
    metrics = score_predictions(rows, TAX, {})
    outcomes = comment_outcomes(rows, TAX.levels)
    (pairs,), n_classes = encode_pairs([o["nova"] for o in outcomes])

    def f1(field, level=None):
        counts = np.array([o[field][level] if level else o[field] for o in outcomes])
        return round(float(micro_f1(counts[None])[0]), 4)

    assert f1("leaf") == metrics["f1"] > 0
    assert f1("hierarchical") == metrics["hierarchical"]["f1"]
    assert [f1("levels", k) for k in TAX.levels] == [metrics["levels"][k]["micro"]["f1"] for k in TAX.levels]
    assert round(float(weighted_f1(n_classes)(pairs[None])[0]), 4) == metrics["nova_f1"] > 0


def test_weighted_f1_is_sklearns_on_pooled_pairs_with_missing_predictions():
    rng = random.Random(1)
    labels = ["a", "b", "c", "d"]
    comments = [[(rng.choice(labels), rng.choice([*labels, ""])) for _ in range(rng.randint(0, 4))]
                for _ in range(40)]
    (pairs,), n_classes = encode_pairs(comments)
    pooled = [p for c in comments for p in c]
    expected = weighted_prf([g for g, _ in pooled], [p for _, p in pooled])["f1"]
    assert weighted_f1(n_classes)(pairs[None])[0] == pytest.approx(expected)


def test_paired_sides_share_one_label_vocabulary():
    (a, b), n = encode_pairs([[("x", "y")]], [[("y", "y")]])
    assert n == 2 and a.tolist() == [[[0, 1]]] and b.tolist() == [[[1, 1]]]


def test_intervals_hold_the_estimate_and_are_seeded(rows):
    metrics = score_predictions(rows, TAX, {})
    for value, ci in [(metrics["f1"], metrics["f1_ci95"]), (metrics["nova_f1"], metrics["nova_f1_ci95"]),
                      (metrics["hierarchical"]["f1"], metrics["hierarchical"]["f1_ci95"]),
                      (metrics["levels"]["L1"]["micro"]["f1"], metrics["levels"]["L1"]["micro"]["f1_ci95"])]:
        assert ci["lo"] < value < ci["hi"]
    assert metrics["json_valid_rate_ci95"]["lo"] < metrics["json_valid_rate"] < metrics["json_valid_rate_ci95"]["hi"]
    assert score_predictions(rows, TAX, {}) == metrics


def test_fewer_comments_give_wider_intervals(rows):
    def width(part):
        ci = f1_intervals(comment_outcomes(part, TAX.levels))["f1"]
        return ci["hi"] - ci["lo"]

    assert width(rows[:15]) > width(rows)


def test_no_comments_give_a_zero_interval():
    assert score_predictions([], TAX, {})["f1_ci95"] == {"lo": 0.0, "hi": 0.0}
