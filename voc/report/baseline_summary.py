"""The baselines in the run summary: SFT's leaf F1 read against what a majority guess and TF-IDF already reach.

`metrics/baselines.json` (stage `baselines`, voc.eval.baselines) scores each baseline on the same test comments
with the same scorer as `eval_voc`; these helpers add its headline numbers to `summary.json` and print them. The
gain over the best baseline is paired like sft - base (voc.report.compare): the baseline's per-comment outcomes
(`metrics/baselines/<name>_items.jsonl`) and SFT's (`metrics/voc_sft/items.jsonl`) are resampled together.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

from voc.core.files import read_json
from voc.report.compare import MEASURES, paired_difference
from voc.report.summary_table import with_ci

FILE = "baselines.json"
FIELDS = ("f1", "nova_f1")  # each with its `_ci95` where the scorer gave one
GAIN = "gain_over_best_baseline"
BASELINE_ITEMS = replace(MEASURES["f1"], details="baselines/{side}_items.jsonl")  # `side`: the baseline's name


def paired_gain(metrics_dir: Path, best: str) -> dict:
    """SFT leaf F1 - the best baseline's on the comments both scored, by a paired bootstrap over them:
    `{GAIN, GAIN_ci95, GAIN_p_value, GAIN_significant}`, or {} without both sides' per-comment outcomes."""
    sft, base = MEASURES["f1"].outcomes(metrics_dir, "sft"), BASELINE_ITEMS.outcomes(metrics_dir, best)
    common = [k for k in (base or {}) if k in (sft or {})]
    if not common:
        return {}
    b, s, statistic = BASELINE_ITEMS.encode([base[k] for k in common], [sft[k] for k in common])
    diff = paired_difference(s, b, statistic)
    return {GAIN: diff["delta"], f"{GAIN}_ci95": diff["ci95"], f"{GAIN}_p_value": diff["p_value"],
            f"{GAIN}_significant": diff["significant"]}


def baseline_summary(metrics_dir: str | Path) -> dict:
    """`baselines` ({name: {f1, nova_f1 and their intervals}}), `best_baseline` and `gain_over_best_baseline` =
    SFT leaf F1 - the best baseline's (None without the SFT score), with its paired interval and p-value where
    both sides kept per-comment outcomes; {} when the baselines stage has not run."""
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
            GAIN: None if sft is None else round(sft - scores[best]["f1"], 4), **paired_gain(m, best)}


def print_baselines(s: dict, console: Console | None = None) -> None:
    """A table of the baselines beside SFT's leaf F1 gain over the best of them (nothing without baselines)."""
    if "best_baseline" not in s:
        return
    gain = with_ci(s[GAIN], s.get(f"{GAIN}_ci95"))
    if s.get(f"{GAIN}_significant") is False:
        gain += " n.s."
    table = Table(title=f"baselines, same test comments and scorer (best: {s['best_baseline']}; SFT leaf F1 - "
                        f"best = {gain})")
    for col in ("baseline", "leaf F1 [95 % CI]", "Nova F1 [95 % CI]"):
        table.add_column(col, justify="right" if col != "baseline" else "left")
    for name, b in s["baselines"].items():
        table.add_row(name, with_ci(b.get("f1"), b.get("f1_ci95")), with_ci(b.get("nova_f1"), b.get("nova_f1_ci95")))
    (console or Console()).print(table)
