"""The baselines in the run summary: SFT's leaf F1 read against what a majority guess and TF-IDF already reach.

`metrics/baselines.json` (stage `baselines`, voc.eval.baselines) scores each baseline on the same test comments
with the same scorer as `eval_voc`; these helpers add its headline numbers to `summary.json` and print them.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from voc.core.files import read_json

FILE = "baselines.json"
FIELDS = ("f1", "nova_f1")  # each with its `_ci95` where the scorer gave one


def baseline_summary(metrics_dir: str | Path) -> dict:
    """`baselines` ({name: {f1, nova_f1 and their intervals}}), `best_baseline` and `gain_over_best_baseline` =
    SFT leaf F1 - the best baseline's (None without the SFT score); {} when the baselines stage has not run."""
    m = Path(metrics_dir)
    if not (m / FILE).exists():
        return {}
    data = read_json(m / FILE)
    scores = {name: {key: entry[key] for field in FIELDS for key in (field, f"{field}_ci95") if key in entry}
              for name, entry in data.items() if isinstance(entry, dict) and "f1" in entry}
    if not scores:
        return {}
    best = data.get("best") if data.get("best") in scores else max(scores, key=lambda n: scores[n].get("f1") or 0)
    sft = read_json(m / "voc_sft.json").get("f1") if (m / "voc_sft.json").exists() else None
    return {"baselines": scores, "best_baseline": best,
            "gain_over_best_baseline": None if sft is None else round(sft - scores[best]["f1"], 4)}


def _fmt(value: object, ci: object = None) -> str:
    if not isinstance(value, int | float):
        return "n/a"
    if isinstance(ci, dict) and {"lo", "hi"} <= ci.keys():
        return f"{value:.4f} [{ci['lo']:.4f}, {ci['hi']:.4f}]"
    return f"{value:.4f}"


def print_baselines(s: dict, console: Console | None = None) -> None:
    """A table of the baselines beside SFT's leaf F1 gain over the best of them (nothing without baselines)."""
    if "best_baseline" not in s:
        return
    table = Table(title=f"baselines, same test comments and scorer (best: {s['best_baseline']}; SFT leaf F1 - "
                        f"best = {_fmt(s['gain_over_best_baseline'])})")
    for col in ("baseline", "leaf F1 [95 % CI]", "Nova F1 [95 % CI]"):
        table.add_column(col, justify="right" if col != "baseline" else "left")
    for name, b in s["baselines"].items():
        table.add_row(name, _fmt(b.get("f1"), b.get("f1_ci95")), _fmt(b.get("nova_f1"), b.get("nova_f1_ci95")))
    (console or Console()).print(table)
