"""The summary of one run: base vs SFT on the domain task and on general abilities, and the metrics schema."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rich.console import Console
from rich.table import Table

from voc.core.files import read_json
from voc.report.baseline_summary import baseline_summary, print_baselines


@dataclass(frozen=True)
class Suite:
    """One scored suite of a run: where its number is, what it is called, and whether SFT-vs-base is a gain
    (the domain task) or a retention ratio (a general ability: 1.0 = nothing forgotten)."""

    key: str       # summary keys are `<key>_base`, `<key>_sft`, `<key>_gain` or `<key>_retention`
    stem: str      # metrics/<stem>_{base,sft}.json
    field: str     # the number inside that file
    label: str
    compare: Literal["gain", "retention", "none"]
    axis: str = ""  # the frontier's axis title for a retention suite


# The one metrics schema: summary.json, `voc frontier` and the benchmarks all read these keys.
SUITES = (
    Suite("f1", "voc", "f1", "leaf F1 (set-based micro)", "gain"),
    Suite("nova_f1", "voc", "nova_f1", "leaf F1 (Nova-compatible)", "gain"),
    Suite("json_valid", "voc", "json_valid_rate", "JSON-valid rate", "none"),
    Suite("mmlu", "mmlu", "accuracy", "MMLU accuracy", "retention", "MMLU retention (SFT / base)"),
    Suite("tasks", "tasks", "mean", "task suite (mean acc_norm / acc)", "retention",
          "Task-suite retention (SFT / base)"),
    Suite("probe", "probe", "pass_rate", "instruction probe pass rate", "retention",
          "Instruction-probe retention (SFT / base)"),
)
# Summaries written before the general-ability suite was renamed `tasks` still compare (read alias).
RENAMED = {"general_base": "tasks_base", "general_sft": "tasks_sft", "general_retention": "tasks_retention"}


def read_summary(summary: dict) -> dict:
    """A summary.json's keys in today's names (old ones renamed; a current key wins over an old one)."""
    return {**{RENAMED.get(k, k): v for k, v in summary.items()}, **{k: v for k, v in summary.items()
                                                                       if k not in RENAMED}}


def ratio(num: float | None, den: float | None) -> float | None:
    """sft / base; undefined (None) when the base score is 0 or missing."""
    if num is None or not den:
        return None
    return round(num / den, 4)


def _score(path: Path, field: str) -> float | None:
    return read_json(path).get(field) if path.exists() else None


def summarize(metrics_dir: str | Path, mix: float, method: str) -> dict:
    """Build `summary.json` from the per-stage metric files (optional suites are skipped when absent)."""
    m = Path(metrics_dir)
    s: dict = {"mix": mix, "method": method}
    for suite in SUITES:
        base, sft = (_score(m / f"{suite.stem}_{name}.json", suite.field) for name in ("base", "sft"))
        if base is None and sft is None:
            continue
        s[f"{suite.key}_base"], s[f"{suite.key}_sft"] = base, sft
        if suite.compare == "gain":
            s[f"{suite.key}_gain"] = None if base is None or sft is None else round(sft - base, 4)
        elif suite.compare == "retention":
            s[f"{suite.key}_retention"] = ratio(sft, base)
    s.update(baseline_summary(m))  # the baselines and SFT's gain over the best one (issue 13 §3b)
    return s


def level_f1_plot(metrics_dir: str | Path) -> list[dict]:
    """Rows {level, model, f1} for base and SFT side by side."""
    rows = []
    for name in ("base", "sft"):
        p = Path(metrics_dir) / f"voc_{name}" / "level_f1.json"
        if p.exists():
            rows.extend(read_json(p))
    return rows


def print_summary(s: dict, console: Console | None = None) -> None:
    table = Table(title=f"voc: base vs SFT (mix={s['mix']}, method={s['method']})")
    for col in ("metric", "base", "sft", "sft/base or gain"):
        table.add_column(col, justify="right" if col != "metric" else "left")
    def fmt(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.4f}"
    for suite in SUITES:
        key, label = suite.key, suite.label
        if f"{key}_base" in s:
            extra = s.get(f"{key}_gain", s.get(f"{key}_retention"))
            table.add_row(label, fmt(s[f"{key}_base"]), fmt(s[f"{key}_sft"]), fmt(extra))
    (console or Console()).print(table)
    print_baselines(s, console)  # a second table, when the baselines ran
