"""The paired comparison in `report`: sft - base on the same items with a bootstrap interval and p-value, the
chance check, and `general_retention` over the general metrics above chance (issue 13 §1)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from rich.console import Console

from voc.core.stats import proportion_fields
from voc.report.compare import AT_CHANCE, BELOW_CHANCE, chance_flag
from voc.report.summary import print_summary, read_summary, summarize
from voc.report.summary_table import retention_lines

N = 200


def _write(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))


def _jsonl(path: Path, rows: list[dict], shuffle: bool = False) -> None:
    rows = list(rows)
    if shuffle:  # pairing goes by id, never by line order
        random.Random(0).shuffle(rows)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _hits(rate: float, seed: int) -> list[int]:
    rng = random.Random(seed)
    return [int(rng.random() < rate) for _ in range(N)]


def _accuracy(hits: list[int], field: str, chance: float | None = None) -> dict:
    k, n = sum(hits), len(hits)
    return {field: k / n, **proportion_fields(field, k, n), "n": n, **({"chance": chance} if chance else {})}


@pytest.fixture
def run(tmp_path):
    """A run's metrics folder: SFT much better on VOC, MMLU at chance on both sides, PIQA and the probe above
    chance for the base model, PIQA unchanged, the probe clearly worse after SFT."""
    def build(details: bool = True) -> Path:
        m = tmp_path / "metrics"
        sides = {"base": {"voc": 0.1, "mmlu": 0.25, "piqa": 0.7, "probe": 0.6, "seed": 1},
                 "sft": {"voc": 0.8, "mmlu": 0.26, "piqa": 0.7, "probe": 0.2, "seed": 2}}
        piqa_hits = _hits(0.7, 9)  # the same outcomes on both sides: no change at all
        for side, r in sides.items():
            voc = [[1, 0, 0] if h else [0, 1, 1] for h in _hits(r["voc"], r["seed"])]
            f1 = sum(c[0] for c in voc) * 2 / sum(2 * c[0] + c[1] + c[2] for c in voc)
            _write(m / f"voc_{side}.json", {"f1": f1, "json_valid_rate": 1.0})
            mmlu, probe = _hits(r["mmlu"], r["seed"] + 10), _hits(r["probe"], r["seed"] + 20)
            _write(m / f"mmlu_{side}.json", {**_accuracy(mmlu, "accuracy", 0.25)})
            _write(m / f"tasks_{side}.json", {"piqa.validation": _accuracy(piqa_hits, "acc_norm", 0.5),
                                              "mean": sum(piqa_hits) / N})
            _write(m / f"probe_{side}.json", _accuracy(probe, "pass_rate"))
            if details:
                (m / f"voc_{side}").mkdir()
                _jsonl(m / f"voc_{side}/items.jsonl", [{"id": f"c{i}", "leaf": c, "hierarchical": c,
                                                        "nova": []} for i, c in enumerate(voc)], side == "sft")
                _jsonl(m / f"mmlu_{side}.jsonl", [{"id": f"s/{i}", "correct": h} for i, h in enumerate(mmlu)])
                _jsonl(m / f"tasks_{side}.jsonl", [{"task": "piqa.validation", "id": str(i), "correct": h}
                                                   for i, h in enumerate(piqa_hits)], side == "sft")
                _jsonl(m / f"probe_{side}.jsonl", [{"id": f"p{i}", "pass": bool(h)} for i, h in enumerate(probe)])
        return m
    return build


def test_a_real_gain_is_significant_with_its_paired_interval(run):
    s = summarize(run(), 0.25, "full")
    f1 = s["f1"]
    assert f1["significant"] is True and f1["p_value"] < 0.05 and f1["n"] == N
    assert f1["ci95"]["lo"] < f1["delta"] < f1["ci95"]["hi"] and f1["ci95"]["lo"] > 0
    assert f1["delta"] == pytest.approx(f1["sft"] - f1["base"], abs=1e-4) == s["f1_gain"]
    assert f1["base_ci95"]["lo"] < f1["base"] < f1["base_ci95"]["hi"]


def test_no_change_is_not_significant(run):
    piqa = summarize(run(), 0.25, "full")["tasks_by_task"]["piqa.validation"]
    assert piqa["delta"] == 0 and piqa["p_value"] == 1.0 and piqa["significant"] is False
    assert piqa["retention"] == 1.0 and piqa["chance"] == 0.5 and piqa["at_chance"] == {"base": None, "sft": None}


def test_mmlu_at_chance_is_flagged_and_left_out_of_the_retention_headline(run):
    s = summarize(run(), 0.25, "full")
    assert s["mmlu"]["at_chance"]["base"] == AT_CHANCE and s["mmlu"]["chance"] == 0.25
    assert "mmlu_retention" in s  # kept as a field
    general = s["general_retention"]
    assert general["metrics"] == ["piqa.validation", "probe"]
    assert general["excluded"] == {"mmlu": AT_CHANCE}
    assert general["value"] == pytest.approx((1.0 + s["probe"]["retention"]) / 2, abs=1e-4)


def test_general_retention_carries_its_interval_and_test(run):
    general = summarize(run(), 0.25, "full")["general_retention"]
    # the probe falls from about 0.6 to 0.2 on 200 prompts: retention clearly below 1
    assert general["ci95"]["lo"] <= general["value"] <= general["ci95"]["hi"] < 1
    assert general["p_value"] < 0.05 and general["significant"] is True


def test_the_printed_report_marks_noise_and_chance(run):
    console = Console(record=True, width=200)
    print_summary(summarize(run(), 0.25, "full"), console)
    text = console.export_text()
    assert "Δ ± CI" in text and "n.s." in text and AT_CHANCE in text
    assert "left out of general retention: mmlu: at chance: cannot show forgetting" in text
    assert "general retention (headline)" in text


def test_a_run_without_per_item_outcomes_keeps_its_numbers_without_a_test(run):
    s = summarize(run(details=False), 0.25, "full")
    assert s["f1"]["ci95"] is None and s["f1"]["p_value"] is None and s["f1_gain"] == s["f1"]["delta"]
    assert s["mmlu"]["base_ci95"] is not None  # the per-side interval is read from the metrics file
    assert s["general_retention"]["p_value"] is None


def test_the_retention_headline_is_not_read_as_an_old_name():
    new = {"tasks_retention": 0.9, "general_retention": {"value": 0.95}}
    assert read_summary(new) == new
    assert read_summary({"general_retention": 0.9}) == {"tasks_retention": 0.9}


@pytest.mark.parametrize(("ci", "chance", "flag"), [
    ({"lo": 0.2, "hi": 0.3}, 0.25, AT_CHANCE), ({"lo": 0.3, "hi": 0.4}, 0.25, None),
    ({"lo": 0.1, "hi": 0.2}, 0.25, BELOW_CHANCE), ({"lo": 0.0, "hi": 0.1}, 0.0, AT_CHANCE),
    (None, 0.25, None), ({"lo": 0.2, "hi": 0.3}, None, None),
])
def test_chance_flag(ci, chance, flag):
    assert chance_flag(ci, chance) == flag


def test_an_accuracy_keeps_its_wilson_interval_from_the_metrics_file(run):
    m = run()
    s = summarize(m, 0.25, "full")
    assert s["mmlu"]["base_ci95"] == json.loads((m / "mmlu_base.json").read_text())["accuracy_ci95"]


def test_a_retention_headline_with_every_metric_at_chance_says_so():
    lines = retention_lines({"value": None, "ci95": None, "p_value": None, "metrics": [],
                             "excluded": {"mmlu": AT_CHANCE}})
    assert lines == ["general retention: n/a (no general metric above chance for the base model)",
                     f"  left out of general retention: mmlu: {AT_CHANCE}"]


def test_an_ifeval_probe_is_labelled_as_ifeval(run):
    m = run()
    assert summarize(m, 0.25, "full")["probe"]["label"] == "instruction probe pass rate"
    for side in ("base", "sft"):
        data = json.loads((m / f"probe_{side}.json").read_text())
        _write(m / f"probe_{side}.json", {**data, "benchmark": "ifeval"})
    s = summarize(m, 0.25, "full")
    assert s["probe"]["label"] == "IFEval prompt-level strict accuracy"
