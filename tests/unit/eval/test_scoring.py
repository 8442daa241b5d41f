"""Hand-computed checks for every metric in voc.eval.scoring.metrics (the arithmetic is in the comments)."""

from __future__ import annotations

import json

import pytest

from voc.core.taxonomy import Taxonomy
from voc.eval.scoring.metrics import (
    l1_confusion_rows,
    level_f1_rows,
    per_leaf_table,
    score_predictions,
    tail_buckets,
)
from voc.eval.scoring.nova import item_values, nova_labels

TAX = Taxonomy(levels=("L1", "L2"), leaves=(("App", "Login"), ("App", "Speed"), ("App", "Other"),
                                            ("Store", "Staff"), ("Store", "Other")))


def seg(leaf: str, emotion: str = "negative", content: str = "x") -> dict:
    l1, l2 = leaf.split("/")
    return {"content": content, "L1": l1, "L2": l2, "emotion": emotion}


def row(gold: list[dict], pred: list[dict], text: str = "x", raw: str | None = None) -> dict:
    return {"id": "r", "text": text, "gold": gold, "pred": pred,
            "raw": json.dumps(pred) if raw is None else raw, "status": "ok"}


# A: gold {Login, Staff}, pred {Login, Speed}; B: gold {Speed-}, pred {Speed+, Staff}; C: gold {Login}, pred {Login}
ROWS = [
    row([seg("App/Login"), seg("Store/Staff")], [seg("App/Login"), seg("App/Speed")]),
    row([seg("App/Speed")], [seg("App/Speed", "positive"), seg("Store/Staff")]),
    row([seg("App/Login")], [seg("App/Login")]),
]


@pytest.fixture(scope="module")
def metrics() -> dict:
    return score_predictions(ROWS, TAX, {"App/Login": 5})


def test_leaf_micro_is_the_headline(metrics):
    # TP = Login(A) + Speed(B) + Login(C) = 3; |pred| = 2+2+1 = 5; |gold| = 2+1+1 = 4
    # P = 3/5 = 0.6, R = 3/4 = 0.75, F1 = 2*3/(5+4) = 0.6667
    assert metrics["n"] == 3
    assert (metrics["precision"], metrics["recall"], metrics["f1"]) == (0.6, 0.75, 0.6667)
    assert metrics["levels"]["L2"]["micro"].items() >= {"precision": 0.6, "recall": 0.75, "f1": 0.6667}.items()


def test_leaf_macro_and_weighted(metrics):
    # Login: P1 R1 F1 1 (support 2); Speed: tp1 fp1 -> P.5 R1 F.6667 (support 1); Staff: tp0 fp1 fn1 -> 0 (support 1)
    # macro: P=(1+.5+0)/3=.5, R=(1+1+0)/3=.6667, F=(1+.6667+0)/3=.5556
    # weighted: P=(2*1+.5+0)/4=.625, R=(2+1+0)/4=.75, F=(2+.6667+0)/4=.6667
    assert metrics["levels"]["L2"]["macro"] == {"precision": 0.5, "recall": 0.6667, "f1": 0.5556}
    assert metrics["levels"]["L2"]["weighted"] == {"precision": 0.625, "recall": 0.75, "f1": 0.6667}


def test_l1_micro(metrics):
    # A: G{App,Store} P{App}; B: G{App} P{App,Store}; C: G{App} P{App} -> TP 3, |P| 4, |G| 4 -> all .75
    assert metrics["levels"]["L1"]["micro"].items() >= {"precision": 0.75, "recall": 0.75, "f1": 0.75}.items()


def test_hierarchical(metrics):
    # A: G{App,Store,App/Login,Store/Staff} P{App,App/Login,App/Speed} TP2
    # B: G{App,App/Speed} P{App,Store,App/Speed,Store/Staff} TP2;  C: G=P={App,App/Login} TP2
    # TP 6, |P| 9, |G| 8 -> P .6667, R .75, F1 12/17 = .7059
    assert metrics["hierarchical"].items() >= {"precision": 0.6667, "recall": 0.75, "f1": 0.7059}.items()


def test_segment_f1_and_emotion_accuracy(metrics):
    # (leaf, emotion) pairs: A TP1 (Login-), B TP0 (Speed+ vs Speed-), C TP1 -> TP2, |P|5, |G|4 -> F1 4/9 = .4444
    assert metrics["segment_f1"] == 0.4444
    # matched leaves: A Login (agree), B Speed (disagree), C Login (agree) -> 2/3
    assert (metrics["emotion_accuracy"], metrics["emotion_matched"]) == (0.6667, 3)


def test_nova_mode(metrics):
    # leaf pairs by position: A (Login,Login),(Staff,Speed); B (Speed,Speed) [pred truncated]; C (Login,Login)
    # Login 1/1/1 sup2; Staff 0 sup1; Speed P.5 R1 F.6667 sup1 -> weighted P .625, R .75, F .6667
    assert metrics["nova"]["L2"] == {"precision": 0.625, "recall": 0.75, "f1": 0.6667}
    assert metrics["nova_f1"] == 0.6667
    # L1: A g[App,Store] p[App] (deduped) -> (App,App),(Store,'') ; B (App,App); C (App,App)
    # App 1/1/1 sup3, Store 0 sup1 -> weighted P .75 R .75 F .75
    assert metrics["nova"]["L1"] == {"precision": 0.75, "recall": 0.75, "f1": 0.75}


def test_confusions_and_json_serialisable(metrics):
    # only A has a miss (Store/Staff) and a wrong prediction (App/Speed) in the same comment
    assert metrics["confusions"] == [{"gold": "Store/Staff", "pred": "App/Speed", "count": 1}]
    assert json.loads(json.dumps(metrics)) == metrics


def test_order_changes_nova_but_not_set_scores():
    r = row([seg("App/Login"), seg("Store/Staff")], [seg("Store/Staff"), seg("App/Login")])
    m = score_predictions([r], TAX, {})
    assert m["f1"] == 1.0  # same sets
    # Nova pairs (Login,Staff),(Staff,Login) at the leaf and (App,Store),(Store,App) at L1: nothing matches
    assert m["nova_f1"] == 0.0 and m["nova"]["L1"]["f1"] == 0.0


def test_equal_names_at_different_parents_never_merge():
    m = score_predictions([row([seg("App/Other")], [seg("Store/Other")])], TAX, {})
    assert m["f1"] == 0.0 and m["levels"]["L1"]["micro"]["f1"] == 0.0
    assert m["nova_f1"] == 1.0  # the Nova scorer compares the plain name "Other"


def test_duplicates_do_not_count_twice():
    m = score_predictions([row([seg("App/Login")], [seg("App/Login"), seg("App/Login", content="y")])], TAX, {})
    assert (m["precision"], m["recall"]) == (1.0, 1.0)


def test_nova_cuts_leaf_at_colon_and_falls_back_to_regex():
    described = [{"content": "x", "L1": "App", "L2": "Login: cannot sign in", "emotion": "negative"}]
    m = score_predictions([row([seg("App/Login")], described)], TAX, {})
    assert (m["nova_f1"], m["f1"]) == (1.0, 0.0)
    broken = '[{"content": "x", "L1": "App", "L2": "Login", "emot'  # nothing parses as JSON; regex still finds labels
    m = score_predictions([row([seg("App/Login")], [], raw=broken)], TAX, {})
    assert (m["nova_f1"], m["f1"]) == (1.0, 0.0)


def test_nova_labels_dedupe_and_cap_at_ten():
    segs = [{"L2": name} for name in "abcaefghijklm"]  # 'a' repeats; 12 distinct names
    assert nova_labels(item_values(segs, "L2"), is_leaf=True) == list("abcefghijk")


def test_validity_rates():
    text = "The login FAILS   every time"
    pred = [seg("App/Login", content="login fails every time"),  # in taxonomy, real leaf, grounded
            seg("Store/Login", content="great prices"),  # names valid at their levels, not a real path, ungrounded
            {"content": "LOGIN", "L1": "Shop", "L2": "Login", "emotion": "neutral"}]  # unknown L1, grounded
    rows = [row([seg("App/Login")], pred, text=text), row([seg("App/Login")], [], raw="oops")]
    m = score_predictions(rows, TAX, {})
    assert (m["json_valid_rate"], m["schema_complete_rate"]) == (0.5, 0.5)  # row 1 yes, row 2 no
    assert m["label_in_taxonomy_rate"] == 0.6667  # 2 of 3 segments
    assert m["path_consistent_rate"] == 0.3333  # 1 of 3
    assert m["grounded_rate"] == 0.6667  # 2 of 3


def test_stored_flags_take_precedence_over_reparsing():
    r = {**row([seg("App/Login")], [], raw="garbage"), "json_valid": True, "schema_complete": True}
    m = score_predictions([r], TAX, {})
    assert (m["json_valid_rate"], m["schema_complete_rate"]) == (1.0, 1.0)


def test_parser_errors_are_counted_apart_and_never_complete():
    """Rows without `raw` fall back to `status`: a parser_error is a miss like invalid, but counted on its own."""
    rows = [{**row([seg("App/Login")], [seg("App/Login")]), "raw": None}, row([seg("App/Login")], [])]
    rows[0].pop("raw")
    rows[1].pop("raw")
    rows[1]["status"] = "parser_error"
    m = score_predictions(rows, TAX, {})
    assert m["output_status"] == {"ok": 1, "repaired": 0, "invalid": 0, "parser_error": 1}
    assert m["schema_complete_rate"] == 0.5  # row 1 only: an empty pred after a parser bug is not "complete"


COUNTS = {"Store/Other": 40, "Store/Staff": 30, "App/Login": 15, "App/Speed": 15}  # total 100, App/Other unseen


def test_tail_buckets():
    # by count: Store/Other starts at 0% (< 20% -> head); Store/Staff at 40% (< 50% -> torso);
    # App/Login at 70% and App/Speed at 85% -> tail; App/Other never seen -> tail
    assert tail_buckets(TAX, COUNTS) == {"Store/Other": "head", "Store/Staff": "torso", "App/Login": "tail",
                                         "App/Speed": "tail", "App/Other": "tail"}


def test_long_tail_f1():
    rows = [row([seg("Store/Other"), seg("App/Login")], [seg("Store/Other"), seg("App/Speed")]),
            row([seg("Store/Staff")], [seg("Store/Staff"), seg("Store/Other")])]
    lt = score_predictions(rows, TAX, COUNTS)["long_tail"]
    # head {Store/Other}: TP1, |P|2, |G|1 -> 2/3; torso {Store/Staff}: 1.0; tail: G{Login} P{Speed} -> 0
    assert lt == {"head": 0.6667, "torso": 1.0, "tail": 0.0}


def test_per_leaf_table():
    table = {r["leaf"]: r for r in per_leaf_table(ROWS, TAX, {"App/Login": 5})}
    assert list(table) == ["App/Login", "App/Speed", "App/Other", "Store/Staff", "Store/Other"]
    assert table["App/Login"] == {"leaf": "App/Login", "train_count": 5, "support": 2,
                                  "precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert (table["App/Speed"]["precision"], table["App/Speed"]["f1"]) == (0.5, 0.6667)
    assert (table["Store/Staff"]["support"], table["Store/Staff"]["f1"]) == (1, 0.0)
    assert table["Store/Other"]["support"] == 0


def test_level_f1_rows(metrics):
    assert level_f1_rows(metrics, "sft") == [{"level": "L1", "model": "sft", "f1": 0.75},
                                             {"level": "L2", "model": "sft", "f1": 0.6667}]


def test_l1_confusion_rows():
    # A: hit App, missed Store; B: hit App, spurious Store; C: hit App
    assert l1_confusion_rows(ROWS) == [
        {"actual": "App", "predicted": "App"}, {"actual": "Store", "predicted": "(none)"},
        {"actual": "App", "predicted": "App"}, {"actual": "(none)", "predicted": "Store"},
        {"actual": "App", "predicted": "App"}]


def test_no_rows_scores_zero():
    m = score_predictions([], TAX, {})
    assert (m["n"], m["f1"], m["nova_f1"], m["json_valid_rate"]) == (0, 0.0, 0.0, 0.0)
