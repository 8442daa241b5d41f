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
