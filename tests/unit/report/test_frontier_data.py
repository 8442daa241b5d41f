"""Reading experiments for the frontier: exp-show parsing, controls with defaults for old experiments, headline
estimates with their intervals, baselines."""

from __future__ import annotations

from voc.report.frontier_data import Estimate, Point, freeze_label, headline, parse_points, summary_metrics


def _rec(rev: str, name: str | None, mix: float | None, metrics: dict | None, section: str = "replay",
         **params) -> dict:
    """An exp-show record; `section="general"` is how params named the replay data before the rename."""
    data = {"rev": rev, "params": {"params.yaml": {"data": {
        "mix": mix, "sft": {"method": "lora", **params.pop("sft", {})}, **params,
        section: {"sources": [{"name": "replay", "kind": "replay"}, {"name": "alpaca", "kind": "json"}]}}}},
        "metrics": {"metrics/summary.json": {"data": metrics} if metrics is not None else
                    {"error": {"type": "FileNotFoundError", "msg": "missing"}}}}
    return {"rev": rev, "name": name, "data": data, "error": None, "experiments": None}


def _exp(rec: dict, state: str | None) -> dict:
    return {"revs": [rec], "executor": {"state": state} if state else None, "name": rec["name"]}


def bare(metrics: dict) -> dict:
    return {k: Estimate(v) for k, v in metrics.items()}


M1 = {"f1_gain": 0.4, "mmlu_retention": 0.9, "tasks_retention": 0.95, "nova_f1_sft": 0.5}
M2 = {"f1_gain": 0.6, "mmlu_retention": 0.8, "tasks_retention": None}


def test_experiments_from_before_the_rename_still_compare() -> None:
    """Old summaries said general_retention and old params said general.sources: both read as today's names."""
    old = _rec("e" * 40, "exp-old", 0.25, {"f1_gain": 0.3, "general_base": 0.5, "general_sft": 0.45,
                                           "general_retention": 0.9}, section="general")
    new = _rec("f" * 40, "exp-new", 0.5, {"f1_gain": 0.2, "tasks_retention": 0.95})
    points, _ = parse_points([old, new])
    assert [(p.name, p.sources, p.metrics) for p in points] == [
        ("exp-old", ("replay", "alpaca"), bare({"f1_gain": 0.3, "tasks_retention": 0.9})),
        ("exp-new", ("replay", "alpaca"), bare({"f1_gain": 0.2, "tasks_retention": 0.95}))]


def test_experiments_from_before_merge_and_freeze_read_their_defaults() -> None:
    old = _rec("e" * 40, "old", 0.25, {"f1_gain": 0.3})
    new = _rec("f" * 40, "new", 0.1, {"f1_gain": 0.2}, merge={"alpha": 0.7},
               sft={"freeze": {"embeddings": True, "layers": 4}})
    off = _rec("d" * 40, "off", 0.1, {"f1_gain": 0.2}, merge={"alpha": 1}, sft={"freeze": {"embeddings": False,
                                                                                           "layers": 0}})
    a, b, c = parse_points([old, new, off])[0]
    assert (a.alpha, a.freeze, a.control) == (1.0, "none", "lora")
    assert (b.alpha, b.freeze, b.control) == (0.7, "embeddings+layers=4", "lora, freeze, merged")
    assert b.label == "mix=0.1 lora α=0.7 freeze=embeddings+layers=4 (replay+alpaca)"
    assert (c.alpha, c.freeze) == (1.0, "none")


def test_freeze_labels() -> None:
    assert [freeze_label(v) for v in (None, False, 0, {}, {"embeddings": False, "layers": 0})] == ["none"] * 5
    assert freeze_label({"embeddings": False, "layers": 2}) == "layers=2"
    assert freeze_label(3) == "3" and freeze_label(["embeddings"]) == "embeddings"


def test_parse_points_dedupes_and_skips_unfinished_and_metricless() -> None:
    base = _rec("a" * 40, "main", 0.25, None)
    base["experiments"] = [
        _exp(_rec("b" * 40, "exp-one", 0.1, M1), None),
        _exp(_rec("c" * 40, "exp-two", 0.5, M2), "success"),  # finished from the queue
        _exp(_rec("c" * 40, "exp-two", 0.5, M2), "success"),  # same rev again
        _exp(_rec("d" * 40, "exp-queued", 0.7, None), "queued"),
    ]
    workspace = _rec("workspace", None, 0.5, M2)  # equals exp-two: not a separate point
    points, skipped = parse_points([workspace, base])
    assert [(p.name, p.mix, p.method, p.sources) for p in points] == [
        ("exp-one", 0.1, "lora", ("replay", "alpaca")), ("exp-two", 0.5, "lora", ("replay", "alpaca"))]
    assert points[1].metrics == bare({"f1_gain": 0.6, "mmlu_retention": 0.8})  # null tasks_retention dropped
    assert skipped == ["main (aaaaaaa): no metrics/summary.json", "exp-queued (ddddddd): queued"]
    changed = _rec("workspace", None, 0.3, M1)
    assert [p.name for p in parse_points([changed, base])[0]][0] == "workspace"


def suite(base: float, sft: float, lo: float, hi: float, p: float, **extra) -> dict:
    """A suite headline as voc.report.summary writes it (intervals as {"lo", "hi"})."""
    return {"label": "x", "base": base, "sft": sft, "base_ci95": {"lo": base - 0.1, "hi": base + 0.1},
            "sft_ci95": {"lo": sft - 0.1, "hi": sft + 0.1}, "delta": round(sft - base, 4),
            "ci95": {"lo": lo, "hi": hi}, "p_value": p, "significant": p < 0.05, "n": 24, "chance": None,
            "at_chance": {"base": None, "sft": None}, **extra}


SUMMARY = {"mix": 0.25, "method": "full", "f1_base": 0.2, "f1_sft": 0.5, "f1_gain": 0.3,
           "f1": suite(0.2, 0.5, 0.22, 0.38, 0.002), "mmlu_base": 0.4, "mmlu_sft": 0.36, "mmlu_retention": 0.9,
           "mmlu": suite(0.4, 0.36, -0.08, 0.0, 0.05, retention=0.9, chance=0.25,
                         at_chance={"base": "at chance: cannot show forgetting", "sft": None}),
           "tasks_base": 0.5, "tasks_sft": 0.45, "tasks_retention": 0.9,
           "tasks": suite(0.5, 0.45, -0.1, 0.0, 0.04, retention=0.9),
           "general_retention": {"value": 0.97, "ci95": {"lo": 0.93, "hi": 1.01}, "p_value": 0.2,
                                 "significant": False, "metrics": ["tasks"], "excluded": {"mmlu": "at chance"}}}


def test_headlines_carry_their_intervals_and_tests() -> None:
    assert headline(SUMMARY, "f1_gain") == Estimate(0.3, 0.22, 0.38, 0.002)
    assert headline(SUMMARY, "f1_sft") == Estimate(0.5, 0.4, 0.6)
    assert headline(SUMMARY, "general_retention") == Estimate(0.97, 0.93, 1.01, 0.2)
    # a suite's retention: sft / base, the paired difference's interval scaled by the base score
    assert headline(SUMMARY, "tasks_retention") == Estimate(0.9, 0.8, 1.0, 0.04)
    assert headline(SUMMARY, "mmlu_retention") == Estimate(0.9, 0.8, 1.0, 0.05, "at chance: cannot show forgetting")
    assert headline({"f1_gain": 0.3}, "f1_gain") == Estimate(0.3)  # from before intervals
    assert headline({"f1_gain": True}, "f1_gain") is None
    assert set(summary_metrics(SUMMARY)) == {"f1_gain", "f1_base", "f1_sft", "general_retention", "mmlu_retention",
                                             "tasks_retention"}


def test_a_run_without_paired_outcomes_has_intervals_but_no_test() -> None:
    s = {"f1_gain": 0.3, "f1": {**suite(0.2, 0.5, 0, 0, 0), "delta": 0.3, "ci95": None, "p_value": None}}
    assert headline(s, "f1_gain") == Estimate(0.3)


def test_baselines_read_from_the_summary_or_their_metrics_file() -> None:
    summary = {"f1_gain": 0.3, "baselines": {"majority": {"f1": 0.3, "f1_ci95": {"lo": 0.2, "hi": 0.4}},
                                              "tfidf": {"f1": 0.5}}, "best_baseline": "tfidf"}
    point = parse_points([_rec("a" * 40, "x", 0.1, summary)])[0][0]
    assert point.baselines == {"majority": Estimate(0.3, 0.2, 0.4), "tfidf": Estimate(0.5)}
    rec = _rec("b" * 40, "y", 0.1, {"f1_gain": 0.3})
    rec["data"]["metrics"]["metrics/baselines.json"] = {"data": {"majority": {"f1": 0.25}, "best": "majority"}}
    assert parse_points([rec])[0][0].baselines == {"majority": Estimate(0.25)}


def test_estimate_format_and_point_labels() -> None:
    assert Estimate(0.3, 0.25, 0.36).fmt() == "0.300 ± 0.055" and Estimate(0.3).fmt() == "0.300"
    assert Estimate(0.3).bounds == (0.3, 0.3)
    assert Point("a", "w", 0.25, "full", ("replay",)).label == "mix=0.25 full"
    assert Point("b", "w", 0.25, "full", ("lima",)).label == "mix=0.25 full (lima)"
    assert Point("c", "w", 0.25, "full", ()).replay == "none"
