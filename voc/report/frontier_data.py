"""Experiments as frontier points: their controls (params) and headline metrics with 95 % intervals.

Every experiment is read from `dvc exp show --json`; finished queued experiments appear there too (their
executor state is `success`). A point carries every control a sweep varies: `mix`, `sft.method`, `merge.alpha`,
`sft.freeze` and the replay sources (`replay.sources[*].name`). Experiments made before a control existed read
its default (alpha 1: the fine-tuned model itself; freeze none), so they stay on the same frontier.

A headline metric is an `Estimate`: the number, its 95 % interval and the paired test's p-value against the base
model, read from `metrics/summary.json` in the shape `voc.report.summary` documents (a headline is a mapping
`{"base", "sft", "delta", "ci95", "p_value", "significant"}`). A summary from before intervals holds bare
numbers: those become estimates without an interval, which the front and the decision treat as such.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from voc.core.errors import VocError
from voc.report.summary import read_summary

SUMMARY = "metrics/summary.json"
BASELINES = "metrics/baselines.json"
UNFINISHED = {"queued", "running", "failed"}
GAINS = ("f1", "nova_f1")
RETENTIONS = ("general", "mmlu", "tasks", "probe")


@dataclass(frozen=True)
class Estimate:
    """A number with its 95 % interval and two-sided p-value; lo/hi/p are None where nothing measured them."""

    value: float
    lo: float | None = None
    hi: float | None = None
    p_value: float | None = None
    note: str = ""  # why the number cannot decide anything, e.g. "at chance: cannot show forgetting"

    @property
    def has_ci(self) -> bool:
        return self.lo is not None and self.hi is not None

    @property
    def bounds(self) -> tuple[float, float]:
        """The interval, or the bare number twice: a point without an interval is its own interval."""
        return (self.lo if self.lo is not None else self.value, self.hi if self.hi is not None else self.value)

    def fmt(self, digits: int = 3) -> str:
        """`0.300 ± 0.052` (half the interval's width), or the bare number without an interval."""
        if not self.has_ci:
            return f"{self.value:.{digits}f}"
        return f"{self.value:.{digits}f} ± {(self.bounds[1] - self.bounds[0]) / 2:.{digits}f}"


@dataclass(frozen=True)
class Point:
    """One finished experiment (or commit / workspace): its controls and its headline estimates."""

    name: str
    rev: str
    mix: float | None
    method: str | None
    sources: tuple[str, ...] = ()
    alpha: float = 1.0
    freeze: str = "none"
    metrics: dict[str, Estimate] = field(default_factory=dict)
    baselines: dict[str, Estimate] = field(default_factory=dict)  # baseline name -> its leaf F1

    @property
    def replay(self) -> str:
        """The replay sources as one name (the plots' marker): `replay+lima`, or `none`."""
        return "+".join(self.sources) or "none"

    @property
    def control(self) -> str:
        """The training-side controls besides mix (the plots' colour): method, freezing, interpolation."""
        parts = [str(self.method)]
        if self.freeze != "none":
            parts.append("freeze")
        if self.alpha != 1:
            parts.append("merged")
        return ", ".join(parts)

    @property
    def label(self) -> str:
        """`mix=0.25 full`, plus alpha and freeze when set, and the sources when not the default self-replay."""
        text = f"mix={self.mix} {self.method}"
        if self.alpha != 1:
            text += f" α={self.alpha:g}"
        if self.freeze != "none":
            text += f" freeze={self.freeze}"
        if self.sources and self.sources != ("replay",):
            text += f" ({self.replay})"
        return text


def exp_show(revs: Sequence[str] = (), all_commits: bool = False, repo: str | Path = ".") -> list[dict]:
    """Run `dvc exp show --json`: all commits (-A), the given --rev baselines, or else all branch tips (-a)."""
    args = [sys.executable, "-m", "dvc", "exp", "show", "--json"]
    if all_commits:
        args.append("--all-commits")
    elif revs:
        args += [a for rev in revs for a in ("--rev", rev)]
    else:
        args.append("--all-branches")
    proc = subprocess.run(args, cwd=repo, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise VocError(f"`{' '.join(args[2:])}` failed in {repo}: {proc.stderr.strip()[-2000:]}. "
                       "Fix: run it inside the DVC repo, with revisions that exist.")
    return json.loads(proc.stdout)


def short(rev: str) -> str:
    """A commit sha shortened to 7 characters; `workspace` and names stay whole."""
    return rev[:7] if len(rev) == 40 else rev


def _number(v: object) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _bounds(ci: object) -> tuple[float | None, float | None]:
    """An interval written as `{"lo", "hi"}` (the metrics files: DVC shows each as a column) or `[lo, hi]`."""
    if isinstance(ci, dict):
        return _number(ci.get("lo")), _number(ci.get("hi"))
    if isinstance(ci, list | tuple) and len(ci) == 2:
        return _number(ci[0]), _number(ci[1])
    return None, None


def _estimate(value: object, ci: object = None, p: object = None) -> Estimate | None:
    num = _number(value)
    return None if num is None else Estimate(num, *_bounds(ci), _number(p))


def _entry(summary: dict, key: str) -> dict | None:
    """The headline mapping behind `key`: under the key itself, under its suite (`f1_gain` -> `f1`), or either
    inside `headlines`."""
    suite = key.rsplit("_", 1)[0]
    for where in (summary, summary.get("headlines") or {}):
        for name in (key, suite):
            if isinstance(where.get(name), dict):
                return where[name]
    return None


def _retention(h: dict, flat: float | None) -> Estimate | None:
    """A retention: the `general_retention` headline's own `value` and ratio interval, or a suite headline's
    `retention` (sft / base) with its paired difference's interval and test scaled by the base score (the ratio
    is below 1 exactly when the difference is below 0). A base at chance is noted: it cannot show forgetting."""
    if "value" in h:
        return _estimate(h.get("value"), h.get("ci95"), h.get("p_value"))
    base, sft, (lo, hi) = _number(h.get("base")), _number(h.get("sft")), _bounds(h.get("ci95"))
    value = _number(h.get("retention")) or (round(sft / base, 4) if base and sft is not None else flat)
    if value is None:
        return None
    scaled = (round(1 + lo / base, 4), round(1 + hi / base, 4)) if base and lo is not None and hi is not None else ()
    at_chance = h.get("at_chance")
    note = at_chance.get("base") if isinstance(at_chance, dict) else None
    return Estimate(value, *(scaled or (None, None)), _number(h.get("p_value")), str(note) if note else "")


def headline(summary: dict, key: str) -> Estimate | None:
    """The estimate of `key` (`f1_gain`, `general_retention`, `f1_sft`, ...) in a summary, with its interval and
    p-value where its headline has them: a gain is the headline's `delta` (paired sft - base), a score its `base`
    or `sft` (with `<side>_ci95`), a retention its `value`. A summary of bare numbers gives bare estimates."""
    part = key.rsplit("_", 1)[1]
    flat, h = _number(summary.get(key)), _entry(summary, key)
    if h is None:
        return _estimate(flat)
    if part == "gain":
        return _estimate(h.get("delta", flat), h.get("ci95"), h.get("p_value"))
    if part in ("base", "sft"):
        return _estimate(h.get(part, flat), h.get(f"{part}_ci95"))
    return _retention(h, flat)


def summary_metrics(summary: dict) -> dict[str, Estimate]:
    """Every frontier estimate a summary holds (old key names read as today's, so old experiments compare)."""
    summary = read_summary(summary)
    keys = [f"{s}_{part}" for s in GAINS for part in ("gain", "base", "sft")] + [f"{s}_retention" for s in RETENTIONS]
    found = {k: headline(summary, k) for k in keys}
    return {k: v for k, v in found.items() if v is not None}


def baseline_scores(summary: dict, data: dict) -> dict[str, Estimate]:
    """Baseline name -> leaf F1 with its interval: the summary's `baselines` (voc.report.baseline_summary), else
    metrics/baselines.json itself (`{name: {"f1", "f1_ci95"}, "best": name}`); {} before the baselines stage."""
    raw = summary.get("baselines") if isinstance(summary.get("baselines"), dict) else _metric_file(data, BASELINES)
    found = {name: _estimate(entry.get("f1"), entry.get("f1_ci95"))
             for name, entry in (raw or {}).items() if isinstance(entry, dict)}
    return {name: est for name, est in found.items() if est is not None}


def _params(data: dict) -> dict:
    return ((data.get("params") or {}).get("params.yaml") or {}).get("data") or {}


def _metric_file(data: dict, suffix: str) -> dict | None:
    for path, entry in (data.get("metrics") or {}).items():
        if path.replace("\\", "/").endswith(suffix) and isinstance((entry or {}).get("data"), dict):
            return entry["data"]
    return None


def freeze_label(value: object) -> str:
    """`sft.freeze` as a short label: `none` when unset or off; a mapping's set keys (`embeddings+layers=4`)."""
    if value is None or value is False or value == 0 or value == "" or value == {} or value == []:
        return "none"
    if isinstance(value, dict):
        parts = [k if v is True else f"{k}={v}" for k, v in value.items() if v not in (None, False, 0, "", [])]
        return "+".join(parts) or "none"
    if isinstance(value, list):
        return "+".join(map(str, value))
    return str(value)


def _point(name: str, rev: str, data: dict) -> Point | None:
    summary = _metric_file(data, SUMMARY)
    if summary is None:
        return None
    params = _params(data)
    replay = params.get("replay") or params.get("general") or {}  # `general` before the rename
    sources = tuple(str(s.get("name")) for s in replay.get("sources") or [] if isinstance(s, dict))
    sft = params.get("sft") or {}
    alpha = _number((params.get("merge") or {}).get("alpha"))
    return Point(name, rev, params.get("mix", summary.get("mix")), sft.get("method", summary.get("method")),
                 sources, 1.0 if alpha is None else alpha, freeze_label(sft.get("freeze")),
                 summary_metrics(summary), baseline_scores(summary, data))


def _entries(data: list[dict]) -> list[tuple[str, str, dict, str | None]]:
    """Flatten exp-show JSON into (name, rev, rev-record, executor state) for baselines and experiments."""
    out = []
    for base in data:
        out.append((base.get("name") or short(base["rev"]), base["rev"], base, None))
        for exp in base.get("experiments") or []:
            state = (exp.get("executor") or {}).get("state")
            for rec in exp.get("revs") or []:
                out.append((rec.get("name") or exp.get("name") or short(rec["rev"]), rec["rev"], rec, state))
    return out


def _same(a: Point, b: Point) -> bool:
    keep = ("mix", "method", "sources", "alpha", "freeze", "metrics")
    return all(getattr(a, k) == getattr(b, k) for k in keep)


def parse_points(data: list[dict]) -> tuple[list[Point], list[str]]:
    """Points from `dvc exp show --json`, and a note for each experiment skipped (unfinished, no metrics).

    Duplicates are dropped: the same rev listed twice, and the workspace when it equals a committed point.
    """
    points: dict[str, Point] = {}
    skipped: list[str] = []
    for name, rev, rec, state in _entries(data):
        if rev in points:
            continue
        if state in UNFINISHED:
            skipped.append(f"{name} ({short(rev)}): {state}")
            continue
        point = None if rec.get("error") else _point(name, rev, rec.get("data") or {})
        if point is None:
            skipped.append(f"{name} ({short(rev)}): no {SUMMARY}")
        else:
            points[rev] = point
    ws = points.get("workspace")
    if ws and any(_same(ws, p) for r, p in points.items() if r != "workspace"):
        del points["workspace"]
    return list(points.values()), skipped
