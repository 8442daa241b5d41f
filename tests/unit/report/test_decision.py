"""The recommended experiment: the rule picks one point, says why each other lost, and follows its params."""

from __future__ import annotations

import pytest

from voc.core.errors import ParamsError
from voc.core.params import load_params
from voc.core.schema import Decision
from voc.report.decision import decide, recommendation, rule_text, run_verdict, summary_verdict
from voc.report.frontier_data import Estimate, Point


def pt(name: str, mix: float | None, gain: float, keep: float | None, p: float | None, gain_p: float = 0.001,
       **kw) -> Point:
    """A point with a leaf-F1 gain (interval ±0.05) and a general retention tested at p (None: no test)."""
    metrics = {"f1_gain": Estimate(gain, gain - 0.05, gain + 0.05, gain_p), "f1_sft": Estimate(0.2 + gain)}
    if keep is not None:
        metrics["general_retention"] = Estimate(keep, keep - 0.03, keep + 0.03, p)
    return Point(name, f"{name:0<40}"[:40], mix, "full", ("replay",), metrics=metrics, **kw)


RULE = Decision()


def test_largest_gain_that_keeps_general_ability_wins_and_the_others_say_why() -> None:
    points = [pt("m0", 0.0, 0.40, 0.80, 0.001), pt("m10", 0.1, 0.35, 0.97, 0.30), pt("m25", 0.25, 0.30, 0.99, 0.6),
              pt("old", 0.5, 0.50, 0.95, None), pt("none", 0.5, 0.45, None, None)]
    v = {x.point.name: x for x in decide(points, RULE)}
    assert [v[n].status for n in ("m0", "m10", "m25", "old", "none")] == [
        "forgets", "recommended", "less gain", "untested", "untested"]
    assert "significantly below base" in v["m0"].reason and "p=0.001 < 0.05" in v["m0"].reason
    assert v["m25"].reason == "f1_gain 0.300 ± 0.050 < 0.350 ± 0.050 of m10"
    assert "no paired test" in v["old"].reason
    text = recommendation(list(v.values()), RULE)
    assert text.startswith("recommended: m10 (")
    assert "rule: the largest leaf-F1 gain whose general retention is not significantly below the base model " \
           "(paired test, p < 0.05); equal gains tie, and ties go to the lower mix" in text
    assert text.count("\n- ") == 4  # every other point, with its reason


def test_a_higher_retention_above_base_is_never_forgetting() -> None:
    v = decide([pt("up", 0.1, 0.3, 1.10, 0.001)], RULE)
    assert v[0].status == "recommended"


def test_threshold_and_tie_margin_are_params() -> None:
    points = [pt("a", 0.25, 0.40, 0.95, 0.03), pt("b", 0.1, 0.38, 0.99, 0.5)]
    assert [x.status for x in decide(points, RULE)] == ["forgets", "recommended"]
    strict = Decision(p_value=0.01)  # p=0.03 is no longer significant: a now keeps general ability, more gain
    assert [x.status for x in decide(points, strict)] == ["recommended", "less gain"]
    tied = Decision(p_value=0.01, tie_margin=0.05)  # 0.38 ties 0.40: the lower mix wins
    verdicts = decide(points, tied)
    assert [x.status for x in verdicts] == ["less gain", "recommended"]
    assert verdicts[0].reason == "f1_gain 0.400 ± 0.050 ties with b's 0.380 ± 0.050, which has the lower mix (0.1)"
    assert "gains within 0.05 of the largest tie" in rule_text(tied)


def test_exact_ties_go_to_the_lower_mix_then_higher_retention() -> None:
    points = [pt("hi", 0.5, 0.3, 0.99, 0.5), pt("lo", 0.1, 0.3, 0.97, 0.5), pt("lo2", 0.1, 0.3, 0.98, 0.5)]
    verdicts = decide(points, RULE)
    assert [x.status for x in verdicts] == ["less gain", "less gain", "recommended"]
    assert verdicts[1].reason.endswith("same mix, and it has the higher general_retention (0.980)")


def test_no_recommendation_when_every_point_forgets() -> None:
    verdicts = decide([pt("a", 0.0, 0.4, 0.8, 0.001)], RULE)
    assert verdicts[0].status == "forgets"
    assert recommendation(verdicts, RULE).startswith("recommended: none:")


def test_the_recommendation_warns_when_its_gain_is_noise_or_a_baseline_does_as_well() -> None:
    base = {"majority": Estimate(0.30, 0.2, 0.4), "tfidf": Estimate(0.55, 0.45, 0.65)}
    v = decide([pt("a", 0.1, 0.3, 0.99, 0.5, gain_p=0.2, baselines=base)], RULE)[0]
    assert v.status == "recommended"
    assert "its gain is not significant (p=0.2)" in v.reason
    assert "does not beat the tfidf baseline (-0.050 leaf F1)" in v.reason


def test_run_verdict_of_one_run() -> None:
    keeps = run_verdict(pt("this", 0.25, 0.3, 0.98, 0.4), RULE)
    assert keeps.startswith("decision: keeps general ability: general_retention 0.980 ± 0.030 not significantly")
    assert "f1_gain 0.300 ± 0.050 (p=0.001)" in keeps and "voc compare" in keeps
    forgets = run_verdict(pt("x", 0.0, 0.3, 0.8, 0.01), RULE)
    assert forgets.startswith("decision: forgets: general_retention 0.800 ± 0.030 significantly below base")
    assert run_verdict(pt("x", 0.0, 0.3, None, None), RULE).startswith("decision: untested: no general_retention")


def test_other_gain_and_retention_measures() -> None:
    p = pt("a", 0.1, 0.3, 0.99, 0.5)
    p.metrics["mmlu_retention"] = Estimate(0.7, 0.6, 0.8, 0.001)
    p.metrics["tasks_retention"] = Estimate(0.7, 0.6, 0.8, 0.001, "at chance: cannot show forgetting")
    assert decide([p], Decision(retention="mmlu"))[0].status == "forgets"
    at_chance = decide([p], Decision(retention="tasks"))[0]
    assert (at_chance.status, at_chance.reason) == ("untested", "tasks_retention 0.700 ± 0.100: at chance: cannot "
                                                                "show forgetting")
    assert decide([p], Decision(gain="nova_f1"))[0].reason == "no nova_f1_gain measured"


def test_decision_params_are_checked(tmp_path) -> None:
    bad = tmp_path / "params.yaml"
    bad.write_text("decision:\n  p_value: 1.5\n")
    with pytest.raises(ParamsError, match="decision.p_value"):
        load_params(bad, "decision")
    bad.write_text("decision:\n  retention: generall\n")
    with pytest.raises(ParamsError, match="decision.retention"):
        load_params(bad, "decision")
    none = tmp_path / "old.yaml"
    none.write_text("mix: 0.1\n")  # a params file from before the rule: its defaults
    assert load_params(none, "decision").decision == Decision()


def test_summary_verdict_reads_the_report_stage_summary() -> None:
    """The line `report` prints under its table, from summary.json as voc.report.summary writes it."""
    summary = {"mix": 0.25, "method": "full", "f1_gain": 0.3, "tasks_retention": 0.9,
               "f1": {"base": 0.2, "sft": 0.5, "delta": 0.3, "ci95": {"lo": 0.2, "hi": 0.4}, "p_value": 0.01},
               "general_retention": {"value": 0.9, "ci95": {"lo": 0.85, "hi": 0.95}, "p_value": 0.001},
               "baselines": {"majority": {"f1": 0.3}}}
    line = summary_verdict(summary, RULE)
    assert line.startswith("decision: forgets: general_retention 0.900 ± 0.050 significantly below base "
                           "(p=0.001 < 0.05); f1_gain 0.300 ± 0.100 (p=0.01)")
    assert "forgets" not in summary_verdict(summary, Decision(p_value=0.0005))
