"""sft - base on the same items: a paired bootstrap per headline, the chance check, and `general_retention`.

Each eval stage writes its per-item outcomes beside its metrics (`metrics/voc_<side>/items.jsonl`,
`metrics/{mmlu,tasks,probe}_<side>.jsonl`). Here base and SFT are matched item by item (by id) and resampled
together, so what both sides find hard cancels out of the difference: that is what lets 40 probe prompts or 32
test comments show a real change at all. Runs from before per-item outcomes keep their numbers, without a test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voc.core.files import read_jsonl
from voc.core.stats import (
    SEED,
    bootstrap_ci,
    bootstrap_distribution,
    mean_of_group_means,
    paired_bootstrap,
)
from voc.eval.scoring.intervals import encode_pairs, micro_f1, weighted_f1

ALPHA = 0.05  # a difference with p >= ALPHA is marked not significant
SIDES = ("base", "sft")
AT_CHANCE = "at chance: cannot show forgetting"
BELOW_CHANCE = "below chance: cannot show forgetting"

Encode = Callable[[list, list], tuple[np.ndarray, np.ndarray, Callable]]


def mean(sample: np.ndarray) -> np.ndarray:
    """The statistic of a 0/1 outcome per item: its mean (accuracy, pass rate)."""
    return np.asarray(sample, dtype=float).mean(axis=1)


def _counts(a: list, b: list) -> tuple:
    return np.array(a, dtype=np.int64).reshape(-1, 3), np.array(b, dtype=np.int64).reshape(-1, 3), micro_f1


def _nova(a: list, b: list) -> tuple:
    (ea, eb), n_classes = encode_pairs(a, b)
    return ea, eb, weighted_f1(n_classes)


def _scores(a: list, b: list) -> tuple:
    return np.array(a, dtype=float), np.array(b, dtype=float), mean


def _grouped(a: list, b: list) -> tuple:
    groups = {g: i for i, g in enumerate(dict.fromkeys(g for g, _ in a + b))}

    def arr(side: list) -> np.ndarray:
        return np.array([[groups[g], v] for g, v in side], dtype=np.int64).reshape(-1, 2)

    return arr(a), arr(b), mean_of_group_means(len(groups))


@dataclass(frozen=True)
class Measure:
    """Where a headline's per-item outcomes are and how a side's outcomes become its number."""

    details: str                          # file under the metrics folder, `{side}` filled in
    value: Callable[[dict], object]       # one item's outcome
    encode: Encode                        # (base outcomes, sft outcomes) -> (arrays, statistic)
    keep: Callable[[dict], bool] = lambda item: True

    def outcomes(self, metrics_dir: Path, side: str) -> dict | None:
        """id -> outcome for one side, or None when the stage wrote no per-item outcomes."""
        path = metrics_dir / self.details.format(side=side)
        if not path.is_file():
            return None
        return {_item_id(item): self.value(item) for item in read_jsonl(path) if self.keep(item)}


def _item_id(item: dict) -> str:
    """The item's id across runs: a task row's id is unique within its task; IFEval's is `key`."""
    name = item.get("id", item.get("key"))
    return f"{item['task']}/{name}" if "task" in item else str(name)


VOC, TASKS = "voc_{side}/items.jsonl", "tasks_{side}.jsonl"
MEASURES = {
    "f1": Measure(VOC, lambda item: item["leaf"], _counts),
    "nova_f1": Measure(VOC, lambda item: item["nova"], _nova),
    "hierarchical_f1": Measure(VOC, lambda item: item["hierarchical"], _counts),
    "mmlu": Measure("mmlu_{side}.jsonl", lambda item: item["correct"], _scores),
    "tasks": Measure(TASKS, lambda item: (item["task"], item["correct"]), _grouped),
    "probe": Measure("probe_{side}.jsonl", lambda item: int(bool(item["pass"])), _scores),
}


def task_measure(task: str) -> Measure:
    """One task of the suite, from the suite's details file."""
    return Measure(TASKS, lambda item: item["correct"], _scores, keep=lambda item: item["task"] == task)


def _interval(lo_hi: list[float]) -> dict[str, float]:
    return {"lo": round(lo_hi[0], 4), "hi": round(lo_hi[1], 4)}


def paired(measure: Measure, metrics_dir: Path) -> tuple[np.ndarray, np.ndarray, Callable] | None:
    """Base and SFT outcomes of the items both sides scored, in one order, and the statistic; None without them."""
    base, sft = (measure.outcomes(metrics_dir, side) for side in SIDES)
    if not base or not sft:
        return None
    common = [k for k in base if k in sft]
    return measure.encode([base[k] for k in common], [sft[k] for k in common])


def paired_difference(new: np.ndarray, old: np.ndarray, statistic: Callable) -> dict:
    """new - old on the same items by a paired bootstrap: `{delta, ci95: {lo, hi}, p_value, significant}`."""
    diff = paired_bootstrap(new, old, statistic)
    return {"delta": round(diff["delta"], 4), "ci95": _interval(diff["ci95"]), "p_value": round(diff["p_value"], 4),
            "significant": diff["p_value"] < ALPHA}


def compare(measure: Measure, metrics_dir: Path, known: dict | None = None) -> dict:
    """`{base_ci95, sft_ci95, delta, ci95, p_value, significant, n}` from the paired per-item outcomes, or {}.
    A side whose interval is `known` (from its metrics file) is not bootstrapped again."""
    found = paired(measure, metrics_dir)
    if found is None or not len(found[0]):
        return {}
    base, sft, statistic = found
    out = {f"{side}_ci95": (known or {}).get(side) or _interval(bootstrap_ci(items, statistic))
           for side, items in (("base", base), ("sft", sft))}
    return {**out, **paired_difference(sft, base, statistic), "n": len(base)}


def chance_flag(ci: dict | None, chance: float | None) -> str | None:
    """Why a side's number cannot show forgetting (its 95 % interval reaches the chance rate), or None."""
    if ci is None or chance is None:
        return None
    if ci["lo"] <= chance <= ci["hi"]:
        return AT_CHANCE
    return BELOW_CHANCE if ci["hi"] < chance else None


def ratio_distribution(measure: Measure, metrics_dir: Path, seed: int) -> np.ndarray | None:
    """Bootstrap distribution of sft / base over paired resamples of one metric's items (0/0 reads 1)."""
    found = paired(measure, metrics_dir)
    if found is None or len(found[0]) < 2:
        return None
    base, sft, statistic = found

    def ratio(sample: np.ndarray) -> np.ndarray:
        num, den = statistic(sample[:, :, 0]), statistic(sample[:, :, 1])
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.asarray(num, dtype=float) / den
        return np.where(np.isnan(out), 1.0, out)

    return bootstrap_distribution(np.stack([sft, base], axis=1), ratio, seed=seed)


def general_retention(entries: dict[str, dict], measures: dict[str, Measure], metrics_dir: Path) -> dict:
    """The mean sft/base ratio over the general metrics whose base score is above chance, with a stratified
    paired bootstrap (each metric's items resampled on their own, the ratios averaged per resample) for its
    95 % interval and the two-sided p-value of "no change" (ratio 1). Metrics left out are listed with why."""
    used, excluded, dists = [], {}, []
    for i, (key, entry) in enumerate(entries.items()):
        flag = (entry.get("at_chance") or {}).get("base")
        if flag:
            excluded[key] = flag
        elif entry.get("retention") is None:
            excluded[key] = "no base score to compare with"
        else:
            used.append(key)
            dists.append(ratio_distribution(measures[key], metrics_dir, SEED + i))
    out: dict = {"value": round(float(np.mean([entries[k]["retention"] for k in used])), 4) if used else None,
                 "ci95": None, "p_value": None, "significant": None, "metrics": used, "excluded": excluded}
    if used and all(d is not None for d in dists):
        dist = np.mean(dists, axis=0)
        # no interpolation: a resample whose base scored 0 has an infinite ratio, which must not smear into nan
        lo, hi = np.percentile(dist, 2.5, method="lower"), np.percentile(dist, 97.5, method="higher")
        p = min(1.0, 2 * min(float(np.mean(dist <= 1)), float(np.mean(dist >= 1))))
        out.update(ci95={"lo": round(float(lo), 4), "hi": round(float(hi), 4)}, p_value=round(p, 4),
                   significant=p < ALPHA)
    return out
