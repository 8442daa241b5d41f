"""The printed form of a run summary: every headline as "Δ ± CI", the differences within the noise marked, the
metrics at chance flagged, and the retention headline with what it left out and why."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

NOT_SIGNIFICANT = "n.s."
WIDTH = 150


def _num(value: object, digits: int = 4) -> str:
    return "n/a" if not isinstance(value, int | float) else f"{value:.{digits}f}"


def with_ci(value: object, ci: object = None, digits: int = 4) -> str:
    """`0.2097 [0.1231, 0.2992]`, or the bare number without an interval."""
    if isinstance(ci, dict) and {"lo", "hi"} <= ci.keys() and isinstance(value, int | float):
        return f"{value:.{digits}f} [{ci['lo']:.{digits}f}, {ci['hi']:.{digits}f}]"
    return _num(value, digits)


def delta_text(entry: dict) -> str:
    """`+0.2097 ± 0.0880` (half the paired interval's width), `n.s.` appended when p >= 0.05; a bare difference
    (no per-item outcomes to pair) says so."""
    delta, ci = entry.get("delta"), entry.get("ci95")
    if not isinstance(delta, int | float):
        return "n/a"
    if not isinstance(ci, dict):
        return f"{delta:+.4f} (unpaired, no test)"
    text = f"{delta:+.4f} ± {(ci['hi'] - ci['lo']) / 2:.4f}"
    return text if entry.get("significant") else f"{text} {NOT_SIGNIFICANT}"


def note(entry: dict) -> str:
    """Chance flags, per side, in short ("base at chance"); the lines under the table give the whole reason."""
    flags = entry.get("at_chance") or {}
    return ", ".join(f"{side} {flag.split(':')[0]}" for side, flag in flags.items() if flag)


def _row(table: Table, label: str, entry: dict) -> None:
    table.add_row(label, with_ci(entry.get("base"), entry.get("base_ci95")),
                  with_ci(entry.get("sft"), entry.get("sft_ci95")), delta_text(entry),
                  _num(entry.get("p_value")), _num(entry.get("retention")), note(entry))


def retention_lines(general: dict) -> list[str]:
    """The retention headline in words: its value, interval and test, the metrics in it and those left out."""
    value = general.get("value")
    if value is None:
        head = "general retention: n/a (no general metric above chance for the base model)"
    else:
        head = f"general retention (headline): {with_ci(value, general.get('ci95'))}"
        if general.get("p_value") is not None:
            verdict = "a significant change" if general.get("significant") else f"{NOT_SIGNIFICANT}, within the noise"
            head += f", p={general['p_value']:.4f} against no change ({verdict})"
        head += f"; mean sft/base over {', '.join(general.get('metrics', []))}"
    lines = [head]
    lines += [f"  left out of general retention: {key}: {why}" for key, why in general.get("excluded", {}).items()]
    return lines


def print_table(s: dict, keys: Sequence[str], console: Console | None = None) -> None:
    """The table of headlines (suites in `keys` order, the task suite's tasks under it), then the retention
    headline."""
    if console is None:  # a stage's log is no terminal: rich would fold the table into 80 columns
        console = Console() if Console().is_terminal else Console(width=WIDTH)
    table = Table(title=f"voc: base vs SFT (mix={s['mix']}, method={s['method']}); 95 % intervals, paired "
                        f"sft - base ({NOT_SIGNIFICANT}: p >= 0.05)")
    for col in ("metric", "base [95 % CI]", "sft [95 % CI]", "Δ ± CI", "p", "sft/base", "note"):
        table.add_column(col, justify="left" if col in ("metric", "note") else "right")
    for key in keys:
        entry = s.get(key)
        if not isinstance(entry, dict):
            continue
        _row(table, entry.get("label", key), entry)
        if key == "tasks":
            for task, sub in (s.get("tasks_by_task") or {}).items():
                _row(table, f"  {sub.get('label', task)}", sub)
    console.print(table)
    if isinstance(s.get("general_retention"), dict):
        for line in retention_lines(s["general_retention"]):
            console.print(line, highlight=False)
