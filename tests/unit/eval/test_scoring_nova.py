"""The Nova-compatible scorer, one hand-computed test per published rule (issue 10, section 2), then a small
set of model outputs on which the old rules and the published ones give different numbers.

Levels are ("L1", "L2"): L2 is the leaf. Every expected number is worked out in the comment above it.
"""

from __future__ import annotations

import json

from test_scoring import seg

from voc.eval.scoring.nova import NOVA_FIELD, item_values, nova_labels, nova_scores, nova_values, weighted_prf

LEVELS = ("L1", "L2")


def row(gold: list[str], raw: str) -> dict:
    """A prediction row as the eval stage writes it: gold leaves as "L1/L2" paths, the model's raw output as
    text, and the raw output's Nova-rule values, parsed once."""
    return {"id": "r", "text": "x", "gold": [seg(path) for path in gold], "pred": [], "raw": raw, "status": "ok",
            NOVA_FIELD: nova_values(raw, [], LEVELS)}


def labels(raw: str, key: str, is_leaf: bool) -> list[str]:
    """The labels the scorer takes from one raw output at one level."""
    return nova_labels(nova_values(raw, [], LEVELS)[key], is_leaf)


def f1s(rows: list[dict]) -> tuple[float, float]:
    """(L1 F1, leaf F1), rounded to 4 places like the metrics file."""
    out = nova_scores(rows, LEVELS)
    return round(out["L1"]["f1"], 4), round(out["L2"]["f1"], 4)


# -- rule 1: parse -------------------------------------------------------------------------------------------

def test_rule1_list_repr_wrapper_is_stripped_before_the_json_parse():
    # after removing ['...'] the text is valid JSON: only the item's own "L2" counts -> [Login] -> F1 1.0.
    # Without the strip, '[' .. ']' spans the quotes, json.loads fails and the regex would read the nested
    # "L2": "Speed" first -> [Speed, Login] truncated to [Speed] -> F1 0.
    raw = "['" + '[{"alt": {"L2": "Speed"}, "L1": "App", "L2": "Login"}]' + "']"
    assert labels(raw, "L2", is_leaf=True) == ["Login"]
    assert f1s([row(["App/Login"], raw)]) == (1.0, 1.0)


def test_rule1_text_from_first_to_last_bracket_else_regex_over_the_whole_text():
    # two arrays: '[' .. ']' is "[..]\n[..]", not one JSON value -> regex over all of it: L1 [App, Store],
    # L2 [Login, Staff] == gold -> F1 1.0 at both levels (reading only the first array gave 0.5)
    twice = '[{"L1": "App", "L2": "Login"}]\n[{"L1": "Store", "L2": "Staff"}]'
    assert f1s([row(["App/Login", "Store/Staff"], twice)]) == (1.0, 1.0)
    # cut mid-segment: no ']' at all -> regex; the half-written segment's "L1": "Store" still counts, its
    # unclosed "Sta does not. L1 [App, Store] == gold -> 1.0. L2 pairs (Login,Login), (Staff,''):
    # Login P1 R1 F1 (support 1), Staff 0 (support 1) -> weighted F1 (1 + 0) / 2 = 0.5
    cut = '[{"L1": "App", "L2": "Login"}, {"L1": "Store", "L2": "Sta'
    assert labels(cut, "L1", is_leaf=False) == ["App", "Store"]
    assert f1s([row(["App/Login", "Store/Staff"], cut)]) == (1.0, 0.5)


# -- rule 2: labels ------------------------------------------------------------------------------------------

def test_rule2_items_without_the_key_are_skipped_not_blank():
    # L2 values from the items that have "L2": [Login, Staff] == gold -> 1.0.
    # A '' placeholder for the first item would pair (Login,''), (Staff,Login) -> 0.
    raw = json.dumps([{"L1": "App"}, {"L1": "App", "L2": "Login"}, {"L1": "Store", "L2": "Staff"}])
    assert labels(raw, "L2", is_leaf=True) == ["Login", "Staff"]
    assert f1s([row(["App/Login", "Store/Staff"], raw)]) == (1.0, 1.0)


def test_rule2_keys_are_case_sensitive_on_both_paths():
    # "l1" is not "L1": L1 pred [] -> pair (App,'') -> App R 0, P 0 -> F1 0; "L2": "Login" -> 1.0
    parsed = '[{"l1": "App", "L2": "Login"}]'
    assert f1s([row(["App/Login"], parsed)]) == (0.0, 1.0)
    # the regex fallback (unclosed list) matches keys exactly too
    broken = '[{"l1": "App", "L2": "Login"'
    assert labels(broken, "L1", is_leaf=False) == []
    assert f1s([row(["App/Login"], broken)]) == (0.0, 1.0)


def test_rule2_only_the_leaf_is_cut_at_the_colon_and_stripped():
    # L1 is compared as written: pred ["App ", "Store: shop"] vs gold [App, Store] -> no hit -> F1 0
    # L2: " Login: cannot sign in " -> " Login" -> "Login"; "Staff" -> [Login, Staff] == gold -> 1.0
    raw = json.dumps([{"L1": "App ", "L2": " Login: cannot sign in "}, {"L1": "Store: shop", "L2": "Staff"}])
    assert labels(raw, "L1", is_leaf=False) == ["App ", "Store: shop"]
    assert f1s([row(["App/Login", "Store/Staff"], raw)]) == (0.0, 1.0)
    # the gold side goes through the same rule: a described gold leaf is cut to its name
    gold = [{"L1": "App", "L2": "Login: cannot sign in"}]
    assert nova_labels(item_values(gold, "L2"), is_leaf=True) == ["Login"]


def test_rule2_empty_labels_skipped_then_deduplicated_then_ten_kept():
    # gold: 11 leaves a..k -> capped to a..j. Pred L2 values: "" (skipped), ": no name" (cut to "" ->
    # skipped), a, a, b..i, k, j -> dedupe a,b,..,i,k,j -> keep 10: a..i, k.
    # pairs: a..i hit (9), (j,k). Supports a..j 1 each; a..i P=R=F=1, j 0, k has no support ->
    # weighted P = R = F1 = 9/10 = 0.9. L1: gold [App], pred [App] -> 1.0
    names = "abcdefghijk"
    pred = [{"L1": "App", "L2": ""}, {"L2": ": no name"}, *({"L2": n} for n in "aabcdefghikj")]
    assert labels(json.dumps(pred), "L2", is_leaf=True) == list("abcdefghik")
    assert f1s([row([f"App/{n}" for n in names], json.dumps(pred))]) == (1.0, 0.9)


# -- rule 3: pairing -----------------------------------------------------------------------------------------

def test_rule3_predictions_truncated_to_the_gold_count_and_padded():
    # A: gold [Login, Staff], pred [Login, Speed, Staff] -> truncated [Login, Speed]
    # B: gold [Speed, Staff], pred [Speed] -> padded [Speed, '']; C: no gold -> contributes nothing
    # pooled: true [Login, Staff, Speed, Staff], pred [Login, Speed, Speed, '']
    # Login P1 R1 F1 (sup 1); Speed tp1 of 2 predicted: P.5 R1 F.6667 (sup 1); Staff 0 (sup 2)
    # weighted P (1+.5)/4 = .375, R (1+1)/4 = .5, F1 (1+.6667)/4 = .4167
    rows = [row(["App/Login", "Store/Staff"], json.dumps([seg("App/Login"), seg("App/Speed"), seg("Store/Staff")])),
            row(["App/Speed", "Store/Staff"], json.dumps([seg("App/Speed")])),
            row([], json.dumps([seg("App/Login")]))]
    leaf = nova_scores(rows, LEVELS)["L2"]
    assert {k: round(v, 4) for k, v in leaf.items()} == {"precision": 0.375, "recall": 0.5, "f1": 0.4167}


# -- rule 4: scores ------------------------------------------------------------------------------------------

def test_rule4_weighted_over_the_labels_seen_without_the_padding():
    # labels [A, B, C] ('' is no class). A: tp1, pred 1, sup 2 -> P1 R.5 F.6667; B: tp1, pred 2, sup 1 ->
    # P.5 R1 F.6667; C: never predicted (zero_division=0) -> 0, sup 1
    # weighted P (2*1 + .5)/4 = .625, R (2*.5 + 1)/4 = .5, F1 (2*.6667 + .6667)/4 = .5
    out = weighted_prf(["A", "A", "B", "C"], ["A", "B", "B", ""])
    assert {k: round(v, 4) for k, v in out.items()} == {"precision": 0.625, "recall": 0.5, "f1": 0.5}
    # a predicted-only label D has no support, so no weight: A alone, missed -> 0
    assert weighted_prf(["A"], ["D"]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert weighted_prf([], []) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


# -- a small set of outputs where the old rules and the published ones differ ----------------------------------

CASES = {  # name: (gold leaves, raw output); "old" = this project's rules before issue 10
    "clean": (["App/Login"], '[{"L1": "App", "L2": "Login"}]'),
    "lowercase_keys": (["App/Login"], '[{"l1": "App", "l2": "Login"}]'),
    "cut_mid_segment": (["App/Login", "Store/Staff"], '[{"L1": "App", "L2": "Login"}, {"L1": "Store", "L2": "Sta'),
    "item_without_leaf": (["App/Login", "Store/Staff"],
                          '[{"L1": "App"}, {"L1": "App", "L2": "Login"}, {"L1": "Store", "L2": "Staff"}]'),
    "space_in_l1": (["Store/Staff"], '[{"L1": "Store ", "L2": "Staff"}]'),
    "described_leaf": (["App/Speed"], '[{"L1": "App", "L2": "Speed: slow app"}]'),
    "swapped_order": (["App/Login", "Store/Staff"], '[{"L1": "Store", "L2": "Staff"}, {"L1": "App", "L2": "Login"}]'),
    "two_arrays": (["App/Login", "Store/Staff"], '[{"L1": "App", "L2": "Login"}] [{"L1": "Store", "L2": "Staff"}]'),
}


def test_each_case_scored_alone():
    # (L1, L2) F1 per case, by the rules above; old in brackets
    # clean 1,1 [1,1]; lowercase_keys: no "L1"/"L2" key -> 0,0 [1,1]; cut_mid_segment 1,.5 [.5,.5];
    # item_without_leaf 1,1 [1,0]; space_in_l1 0,1 [1,1]; described_leaf 1,1 [1,1]; swapped_order 0,0 [0,0];
    # two_arrays 1,1 [.5,.5]
    expected = {"clean": (1.0, 1.0), "lowercase_keys": (0.0, 0.0), "cut_mid_segment": (1.0, 0.5),
                "item_without_leaf": (1.0, 1.0), "space_in_l1": (0.0, 1.0), "described_leaf": (1.0, 1.0),
                "swapped_order": (0.0, 0.0), "two_arrays": (1.0, 1.0)}
    assert {name: f1s([row(*case)]) for name, case in CASES.items()} == expected


def test_cases_pooled():
    # leaf pairs: clean (Login,Login); lowercase (Login,''); cut (Login,Login),(Staff,''); without_leaf
    # (Login,Login),(Staff,Staff); space (Staff,Staff); described (Speed,Speed); swapped (Login,Staff),
    # (Staff,Login); two_arrays (Login,Login),(Staff,Staff)
    # Login: sup 6, predicted 5, tp 4 -> P .8, R 4/6, F 8/11; Staff: sup 5, predicted 4, tp 3 -> P .75,
    # R .6, F 6/9; Speed: sup 1, all 1
    # weighted P (6*.8 + 5*.75 + 1)/12 = 9.55/12 = .7958; R (4+3+1)/12 = .6667;
    # F1 (6*8/11 + 5*6/9 + 1)/12 = 8.6970/12 = .7247
    # L1 pairs: App sup 7, predicted 6, tp 5 -> P 5/6, R 5/7, F 10/13; Store sup 5, predicted 4
    # ("Store " is another label), tp 3 -> P .75, R .6, F 6/9
    # weighted P (7*5/6 + 5*.75)/12 = .7986; R (5+3)/12 = .6667; F1 (7*10/13 + 5*6/9)/12 = .7265
    out = nova_scores([row(*case) for case in CASES.values()], LEVELS)
    rounded = {lvl: {k: round(v, 4) for k, v in s.items()} for lvl, s in out.items()}
    assert rounded == {"L1": {"precision": 0.7986, "recall": 0.6667, "f1": 0.7265},
                       "L2": {"precision": 0.7958, "recall": 0.6667, "f1": 0.7247}}


# -- one parse per row -----------------------------------------------------------------------------------------

def test_the_scorer_reads_the_rows_stored_parse_not_raw():
    # the stored values say [App/Login] (F1 1.0); raw, were it parsed again, says [Store/Staff] (F1 0)
    stale = {**row(["App/Login"], CASES["clean"][1]), "raw": '[{"L1": "Store", "L2": "Staff"}]'}
    assert f1s([stale]) == (1.0, 1.0)


def test_rows_without_stored_values_are_parsed_on_read():
    # predictions written before rows carried `nova_pred` score exactly as the stage's rows do
    old = [{k: v for k, v in row(*case).items() if k != NOVA_FIELD} for case in CASES.values()]
    assert nova_scores(old, LEVELS) == nova_scores([row(*case) for case in CASES.values()], LEVELS)
    assert f1s([old[list(CASES).index("cut_mid_segment")]]) == (1.0, 0.5)
    # a stored reading that lacks a level (another taxonomy) is not trusted either
    partial = {**row(["App/Login"], CASES["clean"][1]), NOVA_FIELD: {"L1": ["App"]}}
    assert f1s([partial]) == (1.0, 1.0)
    # no raw text at all: the parsed `pred` segments are read by the same rules
    no_raw = {**old[0], "raw": None, "pred": [seg("App/Login")]}
    assert f1s([no_raw]) == (1.0, 1.0)
