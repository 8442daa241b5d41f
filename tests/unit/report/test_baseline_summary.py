"""The run summary carries the baselines and SFT's leaf F1 gain over the best of them."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from voc.report.baseline_summary import baseline_summary, print_baselines
from voc.report.summary import print_summary, summarize

CI = {"lo": 0.2, "hi": 0.4}
BASELINES = {"majority": {"f1": 0.3, "f1_ci95": CI, "nova_f1": 0.1, "nova_f1_ci95": CI, "n": 32, "leaf": "A/B"},
             "tfidf": {"f1": 0.45, "nova_f1": 0.2, "threshold": 0.25}, "best": "tfidf"}


def write(p: Path, obj) -> None:
    p.write_text(json.dumps(obj))


def test_the_gain_is_over_the_best_baseline_with_each_baselines_scores(tmp_path):
    write(tmp_path / "baselines.json", BASELINES)
    write(tmp_path / "voc_sft.json", {"f1": 0.5})
    s = baseline_summary(tmp_path)
    assert s == {"baselines": {"majority": {"f1": 0.3, "f1_ci95": CI, "nova_f1": 0.1, "nova_f1_ci95": CI},
                               "tfidf": {"f1": 0.45, "nova_f1": 0.2}},
                 "best_baseline": "tfidf", "gain_over_best_baseline": 0.05}
    # a file without `best` still names the higher leaf F1; no SFT score, no gain
    write(tmp_path / "baselines.json", {k: v for k, v in BASELINES.items() if k != "best"})
    (tmp_path / "voc_sft.json").unlink()
    assert baseline_summary(tmp_path)["best_baseline"] == "tfidf"
    assert baseline_summary(tmp_path)["gain_over_best_baseline"] is None


def test_the_report_summary_and_table_show_the_baselines(tmp_path):
    write(tmp_path / "voc_base.json", {"f1": 0.0, "nova_f1": 0.0})
    write(tmp_path / "voc_sft.json", {"f1": 0.2, "nova_f1": 0.25})
    assert "baselines" not in summarize(tmp_path, 0.25, "full")  # no baselines stage yet: nothing added
    write(tmp_path / "baselines.json", BASELINES)
    s = summarize(tmp_path, 0.25, "full")
    assert s["gain_over_best_baseline"] == -0.25 and s["best_baseline"] == "tfidf"
    console = Console(record=True, width=200)
    print_summary(s, console)
    text = console.export_text()
    assert "best: tfidf" in text and "-0.2500" in text and "0.3000 [0.2000, 0.4000]" in text
    quiet = Console(record=True, width=200)
    print_baselines({}, quiet)
    assert quiet.export_text() == ""


def write_items(path: Path, leaf_counts: list[list[int]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"id": f"c{i}", "leaf": c}) + "\n" for i, c in enumerate(leaf_counts)))


def test_the_gain_over_the_best_baseline_is_paired_over_the_same_comments(tmp_path):
    write(tmp_path / "baselines.json", BASELINES)
    write(tmp_path / "voc_sft.json", {"f1": 0.5})
    # per comment [tp, fp, fn]: SFT right on comments 0-9, the TF-IDF baseline on 10-19 -> a tie, not significant
    hit, miss = [1, 0, 0], [0, 1, 1]
    write_items(tmp_path / "voc_sft/items.jsonl", [hit] * 10 + [miss] * 10)
    write_items(tmp_path / "baselines/tfidf_items.jsonl", [miss] * 10 + [hit] * 10)
    s = baseline_summary(tmp_path)
    assert s["gain_over_best_baseline"] == 0.0 and s["gain_over_best_baseline_significant"] is False
    assert s["gain_over_best_baseline_ci95"]["lo"] < 0 < s["gain_over_best_baseline_ci95"]["hi"]
    console = Console(record=True, width=200)
    print_baselines(s, console)
    assert "n.s." in console.export_text()
    # SFT right everywhere the baseline is wrong: the paired delta is the F1 difference, and significant
    write_items(tmp_path / "voc_sft/items.jsonl", [hit] * 20)
    s = baseline_summary(tmp_path)
    assert (s["gain_over_best_baseline"], s["gain_over_best_baseline_significant"]) == (0.5, True)
    assert s["gain_over_best_baseline_p_value"] < 0.05
