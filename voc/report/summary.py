"""The summary of one run: base vs SFT on the domain task and on general abilities, with 95 % intervals, paired
tests and the chance check; the one metrics schema `voc frontier`, the decision and the benchmarks read.

`metrics/summary.json` fields (intervals are `{"lo", "hi"}` mappings, not lists: `dvc metrics diff` and
`dvc exp show` drop lists, so `f1.ci95.lo` shows as a column):

- `mix`, `method`: the run's controls.
- Flat numbers, as before intervals: `<key>_base`, `<key>_sft`, and `<key>_gain` (sft - base) for a gain suite
  or `<key>_retention` (sft / base, None for a zero base) for a retention suite; keys are the `SUITES` below:
  gains `f1`, `nova_f1`, `hierarchical_f1`; retentions `mmlu`, `tasks`, `probe` (IFEval's prompt-level strict
  pass rate when the probe runs IFEval); `json_valid` has no comparison. `mmlu_retention` stays a field; it is
  not the headline.
- One headline per suite under `<key>` (e.g. `summary["f1"]`):
  `{"label", "base", "sft", "base_ci95", "sft_ci95", "delta", "ci95", "p_value", "significant", "n", "chance",
  "at_chance", "retention"}`. `delta` = sft - base on the items both sides scored, `ci95` its paired-bootstrap
  95 % interval, `p_value` its two-sided p-value, `significant` = p < 0.05, `n` the paired items; these four are
  None where no per-item outcomes exist (a run from before them; the JSON-valid rate), and `delta` is then the
  bare difference. `base_ci95`/`sft_ci95`: each side's own interval. `chance`: the chance rate (None for F1);
  `at_chance`: `{"base", "sft"}`, each None or the reason that side cannot show forgetting ("at chance: cannot
  show forgetting" when its interval holds the chance rate, "below chance: ..." when it lies wholly below; the
  probe's chance rate is 0); `retention`: sft / base (retention suites only).
- `tasks_by_task`: `{"<task>.<split>": headline}`, one per task of the suite, same shape (retention kind).
- `general_retention`: `{"value", "ci95", "p_value", "significant", "metrics", "excluded"}`: the mean sft / base
  ratio over the general metrics (MMLU, each task, the probe) whose base score is above chance (`metrics` lists
  them, `excluded` maps each other one to the reason); `ci95` and `p_value` (against a ratio of 1, no change)
  by a stratified paired bootstrap. This is the retention headline.
- `baselines`, `best_baseline`, `gain_over_best_baseline`: voc.report.baseline_summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rich.console import Console

from voc.core.files import read_json
from voc.report.baseline_summary import baseline_summary, print_baselines
from voc.report.compare import MEASURES, SIDES, chance_flag, compare, general_retention, task_measure
from voc.report.summary_table import print_table


@dataclass(frozen=True)
class Suite:
    """One scored suite of a run: where its number is, what it is called, and whether SFT-vs-base is a gain
    (the domain task) or a retention ratio (a general ability: 1.0 = nothing forgotten)."""

    key: str       # summary keys are `<key>_base`, `<key>_sft`, `<key>_gain` or `<key>_retention`
    stem: str      # metrics/<stem>_{base,sft}.json
    field: str     # the number inside that file (a dotted path for a nested one)
    label: str
    compare: Literal["gain", "retention", "none"]
    axis: str = ""  # the frontier's axis title for a retention suite


# The one metrics schema: summary.json, `voc frontier` and the benchmarks all read these keys.
SUITES = (
    Suite("f1", "voc", "f1", "leaf F1 (set-based micro)", "gain"),
    Suite("nova_f1", "voc", "nova_f1", "leaf F1 (Nova-compatible)", "gain"),
    Suite("hierarchical_f1", "voc", "hierarchical.f1", "hierarchical F1", "gain"),
    Suite("json_valid", "voc", "json_valid_rate", "JSON-valid rate", "none"),
    Suite("mmlu", "mmlu", "accuracy", "MMLU accuracy", "retention", "MMLU retention (SFT / base)"),
    Suite("tasks", "tasks", "mean", "task suite (mean acc_norm / acc)", "retention",
          "Task-suite retention (SFT / base)"),
    Suite("probe", "probe", "pass_rate", "instruction probe pass rate", "retention",
          "Instruction-probe retention (SFT / base)"),
)
# Summaries written before the general-ability suite was renamed `tasks` still compare (read alias).
RENAMED = {"general_base": "tasks_base", "general_sft": "tasks_sft", "general_retention": "tasks_retention"}
# The probe stage runs the project's own prompts or IFEval (probe.ifeval); its metrics file says which, and the
# report names what was measured (pass_rate is IFEval's prompt-level strict accuracy there).
BENCHMARK_LABELS = {"ifeval": "IFEval prompt-level strict accuracy"}
PROBE_CHANCE = 0.0  # free-form answers: no chance rate, but a base that passes nothing cannot show a loss


def read_summary(summary: dict) -> dict:
    """A summary.json's keys in today's names. Only a summary from before the rename (no `tasks_*` key) is
    renamed: today's `general_retention` is the retention headline, not the old name of the task suite's."""
    if any(k.startswith("tasks_") for k in summary):
        return dict(summary)
    return {RENAMED.get(k, k): v for k, v in summary.items()}


def ratio(num: float | None, den: float | None) -> float | None:
    """sft / base; undefined (None) when the base score is 0 or missing."""
    if num is None or not den:
        return None
    return round(num / den, 4)


def _field(data: dict, field: str) -> object:
    for part in field.split("."):
        data = data.get(part) if isinstance(data, dict) else None
    return data


def _chance(suite: str, metrics: dict) -> float | None:
    """The chance rate of a suite's number, from its metrics file (the task suite's: the mean over its tasks)."""
    if suite == "probe":
        return PROBE_CHANCE
    if suite == "tasks":
        rates = [v["chance"] for v in metrics.get("base", {}).values() if isinstance(v, dict) and "chance" in v]
        return sum(rates) / len(rates) if rates else None
    return metrics.get("base", {}).get("chance")


def headline(label: str, kind: str, values: dict, cis: dict, paired: dict, chance: float | None) -> dict:
    """One headline entry (shape in the module docstring)."""
    base, sft = values.get("base"), values.get("sft")
    # the metrics file's own interval (Wilson for an accuracy), else the bootstrap over the paired items
    side_ci = {side: cis.get(side) or paired.get(f"{side}_ci95") for side in SIDES}
    entry = {"label": label, "base": base, "sft": sft, "base_ci95": side_ci["base"], "sft_ci95": side_ci["sft"],
             "delta": paired.get("delta", None if base is None or sft is None else round(sft - base, 4)),
             "ci95": paired.get("ci95"), "p_value": paired.get("p_value"), "significant": paired.get("significant"),
             "n": paired.get("n"), "chance": chance,
             "at_chance": {side: chance_flag(side_ci[side], chance) for side in SIDES}}
    if kind == "retention":
        entry["retention"] = ratio(sft, base)
    return entry


def _suite_entry(suite: Suite, m: Path) -> dict | None:
    files = {side: m / f"{suite.stem}_{side}.json" for side in SIDES}
    metrics = {side: read_json(path) for side, path in files.items() if path.exists()}
    values = {side: _field(data, suite.field) for side, data in metrics.items()}
    if all(v is None for v in values.values()):
        return None
    cis = {side: _field(data, f"{suite.field}_ci95") for side, data in metrics.items()}
    paired = compare(MEASURES[suite.key], m, cis) if suite.key in MEASURES else {}
    benchmarks = {data.get("benchmark") for data in metrics.values()}
    label = BENCHMARK_LABELS.get(benchmarks.pop(), suite.label) if len(benchmarks) == 1 else suite.label
    return headline(label, suite.compare, values, cis, paired, _chance(suite.key, metrics))


def task_entries(m: Path) -> dict[str, dict]:
    """One headline per task of the suite (its headline metric: acc_norm where the file has it, else acc)."""
    files = {side: m / f"tasks_{side}.json" for side in SIDES}
    metrics = {side: read_json(path) for side, path in files.items() if path.exists()}
    tasks = [k for k, v in metrics.get("base", metrics.get("sft", {})).items() if isinstance(v, dict) and "n" in v]
    out = {}
    for task in tasks:
        per_side = {side: data.get(task) or {} for side, data in metrics.items()}
        field = "acc_norm" if any("acc_norm" in v for v in per_side.values()) else "acc"
        values = {side: v.get(field) for side, v in per_side.items()}
        cis = {side: v.get(f"{field}_ci95") for side, v in per_side.items()}
        chance = next((v["chance"] for v in per_side.values() if "chance" in v), None)
        paired = compare(task_measure(task), m, cis)
        out[task] = headline(f"{task.split('.')[0]} {field}", "retention", values, cis, paired, chance)
    return out


def summarize(metrics_dir: str | Path, mix: float, method: str) -> dict:
    """Build `summary.json` from the per-stage metric files and per-item outcomes (optional suites are skipped
    when absent)."""
    m = Path(metrics_dir)
    s: dict = {"mix": mix, "method": method}
    general: dict[str, dict] = {}
    measures = dict(MEASURES)
    for suite in SUITES:
        entry = _suite_entry(suite, m)
        if entry is None:
            continue
        s[f"{suite.key}_base"], s[f"{suite.key}_sft"] = entry["base"], entry["sft"]
        if suite.compare == "gain":
            s[f"{suite.key}_gain"] = entry["delta"]
        elif suite.compare == "retention":
            s[f"{suite.key}_retention"] = entry["retention"]
        s[suite.key] = entry
        if suite.key == "tasks":
            s["tasks_by_task"] = task_entries(m)
            general.update(s["tasks_by_task"])
            measures.update({task: task_measure(task) for task in s["tasks_by_task"]})
        elif suite.compare == "retention":
            general[suite.key] = entry
    if general:
        s["general_retention"] = general_retention(general, measures, m)
    s.update(baseline_summary(m))  # the baselines and SFT's gain over the best one (issue 13 §3b)
    return s


def print_summary(s: dict, console: Console | None = None) -> None:
    """The base-vs-SFT table with intervals, then the retention headline with what it left out and why."""
    print_table(s, [suite.key for suite in SUITES], console)
    print_baselines(s, console)  # a second table, when the baselines ran
