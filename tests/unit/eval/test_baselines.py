"""The baselines stage's library: majority leaf and TF-IDF + one-vs-rest logistic regression, scored by eval_voc's
own parser and scorer on the same test rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from voc.core.errors import InputError
from voc.core.files import read_json, read_jsonl, write_jsonl
from voc.core.taxonomy import Taxonomy, write_taxonomy
from voc.eval.baselines import THRESHOLDS, leaf_sets, majority_emotion, majority_leaf, score_baselines
from voc.eval.predictions import prediction_rows
from voc.eval.scoring.intervals import comment_outcomes
from voc.eval.scoring.metrics import score_predictions

LEVELS = ("L1", "L2")
TAX = Taxonomy(levels=LEVELS, leaves=(("App", "Login"), ("App", "Alerts"), ("Store", "Staff")),
               descriptions={("App", "Login"): "Signing in", ("App", "Alerts"): "Motion alerts",
                             ("Store", "Staff"): "Shop staff"})
TOPICS = {("App", "Login"): "password login fails", ("App", "Alerts"): "motion alert arrives late",
          ("Store", "Staff"): "shop staff were rude"}


def seg(leaf: tuple[str, str], text: str, emotion: str = "negative") -> dict:
    return {"content": text, "L1": leaf[0], "L2": leaf[1], "emotion": emotion}


def record(i: int, leaves: list[tuple[str, str]], emotion: str = "negative") -> dict:
    parts = [f"{TOPICS[leaf]} {i}." for leaf in leaves]
    return {"id": f"c{i}", "text": " ".join(parts), "segments": [seg(leaf, p, emotion) for leaf, p in
                                                                 zip(leaves, parts, strict=True)]}


def write_prepared(root: Path, train: list[dict], test: list[dict]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write_taxonomy(root / "taxonomy.csv", TAX)
    write_jsonl(root / "train.jsonl", train)
    write_jsonl(root / "test.jsonl", test)
    return root


@pytest.fixture
def prepared(tmp_path: Path) -> Path:
    """Login is the most frequent leaf; the topics' words separate the leaves; some comments carry two leaves."""
    login, alerts, staff = TOPICS
    plan = [[login]] * 14 + [[alerts]] * 8 + [[staff]] * 6 + [[login, staff]] * 4 + [[alerts, staff]] * 4
    train = [record(i, leaves, "positive" if i % 5 == 0 else "negative") for i, leaves in enumerate(plan)]
    test = [record(100 + i, leaves) for i, leaves in enumerate([[login], [alerts], [staff], [alerts, staff],
                                                                [login, staff], [staff], [login]])]
    return write_prepared(tmp_path / "voc", train, test)


def test_the_majority_leaf_is_counted_per_comment_and_ties_are_broken_by_path():
    a, b = ("App", "Login"), ("Store", "Staff")
    # b has more segments (three in one comment) but a is in more comments: set-based F1 counts comments
    records = [{"segments": [seg(a, "x")]}, {"segments": [seg(a, "y")]},
               {"segments": [seg(b, "1"), seg(b, "2"), seg(b, "3")]}]
    assert majority_leaf(leaf_sets(records, LEVELS)) == a
    assert majority_leaf([[b], [a]]) == a == majority_leaf([[a], [b]])  # a tie never depends on file order
    assert majority_emotion([{"segments": [seg(a, "x", "positive"), seg(a, "y", "negative")]}]) == "negative"


def test_both_baselines_are_scored_by_eval_vocs_own_scorer_on_the_first_limit_test_rows(prepared):
    metrics, details = score_baselines(prepared, 5, 0.25, 0)
    test = read_jsonl(prepared / "test.jsonl")[:5]
    for name in ("majority", "tfidf"):
        rows = details[f"{name}.jsonl"]
        assert [r["id"] for r in rows] == [r["id"] for r in test]
        # the rows are eval_voc's: its parser read each reply, and its scorer gives the same numbers
        assert rows == prediction_rows(test, [r["raw"] for r in rows], TAX)
        again = score_predictions(rows, TAX, {"App/Login": 18, "App/Alerts": 12, "Store/Staff": 14})
        assert {k: metrics[name][k] for k in again} == again
        assert details[f"{name}_items.jsonl"] == comment_outcomes(rows, LEVELS)  # what report pairs SFT with
    majority = metrics["majority"]
    assert (majority["leaf"], majority["emotion"]) == ("App/Login", "negative")
    assert all(r["pred"] == [seg(("App", "Login"), r["text"])] for r in details["majority.jsonl"])
    assert majority["f1"] == pytest.approx(2 * (2 / 5) * (2 / 7) / (2 / 5 + 2 / 7), abs=1e-4)  # 2 hits, 5 preds, 7 gold


def test_tfidf_learns_separable_leaves_several_per_comment_and_beats_the_majority(prepared):
    metrics, details = score_baselines(prepared, None, 0.25, 0)
    assert metrics["tfidf"]["threshold"] in THRESHOLDS and 0 <= metrics["tfidf"]["holdout_f1"] <= 1
    assert metrics["tfidf"]["f1"] == 1.0 and metrics["best"] == "tfidf"
    two = next(r for r in details["tfidf.jsonl"] if len(r["gold"]) == 2)
    assert len(two["pred"]) == 2 and all(s["content"] == two["text"] for s in two["pred"])
    # seeded: the same held-out split, threshold and predictions on a rerun
    assert score_baselines(prepared, None, 0.25, 0) == (metrics, details)


def test_a_tie_for_best_goes_to_the_simpler_baseline(tmp_path):
    """With a single leaf everywhere both baselines are perfect; one leaf is also a one-column target, which
    one-vs-rest would read as binary, not multi-label, without the padding column."""
    leaf = ("App", "Login")
    train = [record(i, [leaf]) for i in range(6)]
    metrics, _ = score_baselines(write_prepared(tmp_path / "one", train, [record(9, [leaf])]), None, 0.5, 1)
    assert metrics["majority"]["f1"] == metrics["tfidf"]["f1"] == 1.0 and metrics["best"] == "majority"


def test_too_few_training_comments_name_the_file(tmp_path):
    data = write_prepared(tmp_path / "few", [record(0, [("App", "Login")])], [record(1, [("App", "Login")])])
    with pytest.raises(InputError, match=r"few/train\.jsonl: the baselines need at least two"):
        score_baselines(data, None, 0.2, 0)


def test_the_stage_writes_metrics_and_one_prediction_file_per_baseline(prepared, tmp_path, repo_params):
    from importlib.util import module_from_spec, spec_from_file_location

    spec = spec_from_file_location("stage_baselines", Path(__file__).resolve().parents[3] / "stages/baselines.py")
    stage = module_from_spec(spec)
    spec.loader.exec_module(stage)
    params = {**repo_params(), "seed": 3, "eval": {**repo_params()["eval"], "limit": 4}, "baselines": {"holdout": 0.3}}
    (tmp_path / "params.yaml").write_text(json.dumps(params))
    out, details = tmp_path / "m/baselines.json", tmp_path / "m/baselines"
    res = CliRunner().invoke(stage.main, ["--params", str(tmp_path / "params.yaml"), "--data", str(prepared),
                                          "--out", str(out), "--details", str(details)])
    assert res.exit_code == 0, res.output
    metrics = read_json(out)
    files = sorted(f.name for f in details.iterdir())
    assert files == ["majority.jsonl", "majority_items.jsonl", "tfidf.jsonl", "tfidf_items.jsonl"]
    assert (metrics, {f: read_jsonl(details / f) for f in files}) == score_baselines(prepared, 4, 0.3, 3)
    assert "best: tfidf" in res.output
