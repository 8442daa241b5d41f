"""Small statistics shared by training, evaluation and the report, kept in core so none has to import another.

The interval helpers give every headline number its 95 % interval (issue 13): `proportion_ci` for accuracies (the
closed-form standard error lm-eval prints, and a Wilson interval, which stays inside [0, 1] and is honest at small n
and near 0 or 1), `bootstrap_ci` for statistics without a closed form (micro F1 over comments), and
`paired_bootstrap` for a difference measured on the same items (sft - base), where resampling the items together
cancels the per-item difficulty both sides share and so resolves far smaller differences than two separate intervals.

A bootstrap `statistic` is vectorised: it receives resampled items stacked on a leading axis, shape
`(b, n, *item_shape)`, and returns `b` values, so 1,000 resamples of per-comment (tp, fp, fn) counts are one sum.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy.stats import binomtest, bootstrap

Statistic = Callable[[np.ndarray], np.ndarray]
LEVEL = 0.95
N_BOOT = 1000  # resamples of every bootstrap in the project: one place, so intervals agree
SEED = 0  # fixed: the same items always give the same interval
BATCH = 100  # resamples per vectorised call: bounds memory at BATCH x n items (MMLU has 14,042)


def percentile(values: Sequence[int], q: float) -> int:
    """Nearest-rank percentile: the smallest value that at least a share `q` of `values` do not exceed.

    Nearest rank (not interpolation) so the result is always a length that occurred, usable as a limit as is;
    0 for no values."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else 0


def proportion_ci(k: int, n: int) -> dict:
    """`{"stderr", "ci95"}` for k successes in n trials.

    stderr is lm-eval's closed form for a mean of 0/1 scores, the sample standard deviation over sqrt(n):
    sqrt(p(1-p)/(n-1)); ci95 is the Wilson score interval. No trials carry no information: stderr 0, [0, 1]."""
    if not 0 <= k <= n:
        raise ValueError(f"proportion_ci needs 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return {"stderr": 0.0, "ci95": [0.0, 1.0]}
    p = k / n
    stderr = math.sqrt(p * (1 - p) / (n - 1)) if n > 1 else 0.0
    ci = binomtest(k, n).proportion_ci(LEVEL, method="wilson")
    return {"stderr": stderr, "ci95": [float(ci.low), float(ci.high)]}


def _resampled(items: np.ndarray, statistic: Statistic, n_boot: int, seed: int) -> tuple[float, object]:
    """(statistic on the items, scipy's percentile-bootstrap result): scipy draws the resampled item indices."""
    def on_indices(idx: np.ndarray, axis: int = -1) -> np.ndarray:
        idx = np.atleast_2d(idx)
        return np.asarray(statistic(items[idx]), dtype=float)

    point = float(on_indices(np.arange(len(items)))[0])
    res = bootstrap((np.arange(len(items)),), on_indices, n_resamples=n_boot, batch=BATCH, vectorized=True,
                    method="percentile", confidence_level=LEVEL, rng=np.random.default_rng(seed))
    return point, res


def _interval(res: object) -> list[float]:
    return [float(res.confidence_interval.low), float(res.confidence_interval.high)]


def bootstrap_ci(items: Sequence | np.ndarray, statistic: Statistic, n_boot: int = N_BOOT,
                 seed: int = SEED) -> list[float]:
    """95 % percentile-bootstrap interval `[lo, hi]` of `statistic` over `items` (resampled with replacement).

    Seeded, so a rerun on the same items gives the same interval. Fewer than two items cannot be resampled into
    anything new: the interval is the point itself."""
    arr = np.asarray(items)
    if len(arr) < 2:
        point = float(statistic(arr[None])[0]) if len(arr) else 0.0
        return [point, point]
    return _interval(_resampled(arr, statistic, n_boot, seed)[1])


def bootstrap_distribution(items: Sequence | np.ndarray, statistic: Statistic, n_boot: int = N_BOOT,
                           seed: int = SEED) -> np.ndarray:
    """The `n_boot` resampled values of `statistic` (seeded), for a statistic combined across item sets, such as
    a mean of ratios over several benchmarks, each resampled on its own."""
    arr = np.asarray(items)
    if len(arr) < 2:
        raise ValueError(f"bootstrap_distribution needs at least 2 items, got {len(arr)}")
    return np.asarray(_resampled(arr, statistic, n_boot, seed)[1].bootstrap_distribution, dtype=float)


def paired_bootstrap(items_a: Sequence | np.ndarray, items_b: Sequence | np.ndarray, statistic: Statistic,
                     n_boot: int = N_BOOT, seed: int = SEED) -> dict:
    """`{"delta", "ci95", "p_value"}` of statistic(a) - statistic(b) on the same items, resampled together.

    Item i of `items_a` and of `items_b` must be the same item (same comment, same question). The two-sided
    p-value inverts the percentile interval: twice the share of resampled differences on the far side of 0,
    capped at 1; p < 0.05 exactly when 0 lies outside the 95 % interval (up to ties)."""
    a, b = np.asarray(items_a), np.asarray(items_b)
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"paired_bootstrap needs the same items on both sides, got {a.shape[0]} and {b.shape[0]}")
    both = np.stack([a, b], axis=1)  # (n, 2, *item_shape): one index draw picks an item on both sides

    def diff(sample: np.ndarray) -> np.ndarray:
        return np.asarray(statistic(sample[:, :, 0]), dtype=float) - np.asarray(statistic(sample[:, :, 1]))

    if len(both) < 2:
        delta = float(diff(both[None])[0]) if len(both) else 0.0
        return {"delta": delta, "ci95": [delta, delta], "p_value": 1.0}
    delta, res = _resampled(both, diff, n_boot, seed)
    dist = np.asarray(res.bootstrap_distribution)
    p = 2 * min(float(np.mean(dist <= 0)), float(np.mean(dist >= 0)))
    return {"delta": delta, "ci95": _interval(res), "p_value": min(1.0, p)}


def proportion_fields(name: str, k: int, n: int) -> dict:
    """`{name_stderr, name_ci95: {"lo", "hi"}}` for a metrics file: lm-eval's field name for the standard error,
    and the interval as two numbers, since `dvc metrics diff` and `dvc exp show` drop lists."""
    ci = proportion_ci(k, n)
    return {f"{name}_stderr": ci["stderr"], f"{name}_ci95": {"lo": ci["ci95"][0], "hi": ci["ci95"][1]}}


def mean_of_group_means(n_groups: int) -> Statistic:
    """The statistic for items `[group, score]`, (b, n, 2) -> (b,): the mean over groups of each group's mean score
    (the task suite's `mean`, one group per task). A group that a resample happens to miss is left out of it."""
    def statistic(sample: np.ndarray) -> np.ndarray:
        b = sample.shape[0]
        slot = (np.arange(b)[:, None] * n_groups + sample[..., 0].astype(np.int64)).ravel()
        sums = np.bincount(slot, weights=sample[..., 1].ravel().astype(float), minlength=b * n_groups)
        counts = np.bincount(slot, minlength=b * n_groups).reshape(b, n_groups)
        means = np.divide(sums.reshape(b, n_groups), counts, out=np.zeros((b, n_groups)), where=counts > 0)
        return means.sum(axis=1) / np.maximum((counts > 0).sum(axis=1), 1)
    return statistic
