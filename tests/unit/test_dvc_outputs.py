"""What dvc.yaml shows users (issue 13, part 5): `dvc exp show` columns and `dvc plots show` charts.

Only files a reviewer compares are `metrics`, so `dvc exp show` is a table of results, not of asset hashes and row
counts; bookkeeping stays a plain, git-tracked output. Every data-series plot names its axes, so none renders as a
line over a row index.
"""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BOOKKEEPING = ["metrics/assets.json", "metrics/data.json", "metrics/replay.json", "metrics/mix.json",
               "metrics/decontam.json"]


def declared(section: str) -> dict[str, dict]:
    """path -> options of every entry of `section` (metrics, outs, plots) over all stages (foreach bodies too)."""
    out: dict[str, dict] = {}
    for stage in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"].values():
        for entry in (stage.get("do") or stage).get(section) or []:
            path, opts = next(iter(entry.items())) if isinstance(entry, dict) else (entry, {})
            out[path] = opts or {}
    return out


def test_bookkeeping_is_a_plain_uncached_output_not_a_metric():
    metrics, outs = declared("metrics"), declared("outs")
    assert [p for p in BOOKKEEPING if p in metrics] == []
    assert {p: outs.get(p, {}).get("cache") for p in BOOKKEEPING} == dict.fromkeys(BOOKKEEPING, False)


def test_the_decision_numbers_stay_metrics():
    metrics = declared("metrics")
    assert "metrics/summary.json" in metrics
    # the base and SFT evaluations are `foreach` stages: metrics/voc_${key}.json and the like
    suites = {path.split("_")[0] for path in metrics if path.endswith("}.json")}
    assert {"metrics/voc", "metrics/mmlu", "metrics/tasks", "metrics/probe"} <= suites


def test_every_data_series_plot_names_its_axes():
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    top = {name: opts for entry in spec.get("plots") or [] for name, opts in entry.items()}
    missing = [name for name, opts in {**declared("plots"), **top}.items() if not {"x", "y"} <= set(opts or {})]
    assert missing == []
