"""The summary of one run: base vs SFT on the domain task and on general abilities."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from voc.core.files import read_json


def ratio(num: float | None, den: float | None) -> float | None:
    """sft / base; undefined (None) when the base score is 0 or missing."""
    if num is None or not den:
        return None
    return round(num / den, 4)


def _get(path: Path, *keys: str) -> float | None:
    if not path.exists():
        return None
    value = read_json(path)
    for k in keys:
        value = value.get(k) if isinstance(value, dict) else None
    return value


def summarize(metrics_dir: str | Path, mix: float, method: str) -> dict:
    """Build `summary.json` from the per-stage metric files (optional suites are skipped when absent)."""
    m = Path(metrics_dir)
    s: dict = {"mix": mix, "method": method}
    for key, fname, path in [("f1", "voc", ("f1",)), ("nova_f1", "voc", ("nova_f1",)),
                             ("json_valid", "voc", ("json_valid_rate",)), ("mmlu", "mmlu", ("accuracy",)),
                             ("general", "general", ("mean",)), ("probe", "probe", ("pass_rate",))]:
        base, sft = _get(m / f"{fname}_base.json", *path), _get(m / f"{fname}_sft.json", *path)
        if base is None and sft is None:
            continue
        s[f"{key}_base"], s[f"{key}_sft"] = base, sft
        if key in ("f1", "nova_f1"):
            s[f"{key}_gain"] = None if base is None or sft is None else round(sft - base, 4)
        elif key != "json_valid":
            s[f"{key}_retention"] = ratio(sft, base)
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
    for key, label in [("f1", "leaf F1 (set-based micro)"), ("nova_f1", "leaf F1 (Nova-compatible)"),
                       ("json_valid", "JSON-valid rate"), ("mmlu", "MMLU accuracy"),
                       ("general", "general suite (mean acc_norm)"), ("probe", "instruction probe pass rate")]:
        if f"{key}_base" in s:
            extra = s.get(f"{key}_gain", s.get(f"{key}_retention"))
            table.add_row(label, fmt(s[f"{key}_base"]), fmt(s[f"{key}_sft"]), fmt(extra))
    (console or Console()).print(table)
