"""`percentile` (nearest rank) and the interval helpers every headline number uses (issue 13)."""

from __future__ import annotations

import numpy as np
import pytest

from voc.core.stats import (
    bootstrap_ci,
    bootstrap_distribution,
    mean_of_group_means,
    paired_bootstrap,
    percentile,
    proportion_ci,
    proportion_fields,
)


@pytest.mark.parametrize(("values", "q", "expected"), [
    ([], 0.99, 0),  # nothing measured: no limit to suggest
    ([7], 0.99, 7),
    ([4, 1, 3, 2], 0.5, 2),  # unsorted input; rank ceil(0.5 * 4) = 2
    ([4, 1, 3, 2], 0.51, 3),  # rank ceil(2.04) = 3: never interpolated to 2.04
    (list(range(1, 101)), 0.99, 99),
    (list(range(1, 101)), 1.0, 100),
    ([5, 9], 0.0, 5),  # rank 0 is clamped to the smallest value
])
def test_percentile_is_the_nearest_rank(values, q, expected):
    assert percentile(values, q) == expected


def _mean(sample):
    return sample.mean(axis=1)


def test_proportion_ci_is_lm_evals_stderr_and_a_wilson_interval():
    scores = np.array([1] * 3 + [0] * 7)
    out = proportion_ci(3, 10)
    assert out["stderr"] == pytest.approx(np.std(scores, ddof=1) / np.sqrt(10))  # lm-eval's mean_stderr
    assert out["ci95"] == pytest.approx([0.1078, 0.6032], abs=1e-4)  # the textbook Wilson interval for 3/10


def test_wilson_stays_inside_zero_one_where_the_normal_interval_would_not():
    assert proportion_ci(0, 5) == {"stderr": 0.0, "ci95": [0.0, pytest.approx(0.4345, abs=1e-4)]}
    assert proportion_ci(5, 5)["ci95"][1] == 1.0
    assert proportion_ci(0, 0) == {"stderr": 0.0, "ci95": [0.0, 1.0]}  # no trials: no information


def test_proportion_ci_refuses_more_successes_than_trials():
    with pytest.raises(ValueError, match="k=4, n=3"):
        proportion_ci(4, 3)


def test_bootstrap_ci_is_seeded_and_holds_the_estimate():
    items = np.random.default_rng(7).integers(0, 2, 200)
    ci = bootstrap_ci(items, _mean, n_boot=500, seed=3)
    assert ci == bootstrap_ci(items, _mean, n_boot=500, seed=3)
    assert ci != bootstrap_ci(items, _mean, n_boot=500, seed=4)
    assert ci[0] < items.mean() < ci[1]
    wilson = proportion_ci(int(items.sum()), len(items))["ci95"]
    assert ci == pytest.approx(wilson, abs=0.02)  # the two routes agree on a plain proportion


def test_bootstrap_ci_resamples_whole_items():
    """Rows are items: (tp, fp, fn) counts per comment stay together, and the statistic sums them."""
    counts = np.array([[1, 0, 0], [0, 1, 1], [2, 0, 1], [0, 0, 1]] * 10)

    def f1(sample):
        tp, fp, fn = sample.sum(axis=1).T
        return 2 * tp / (2 * tp + fp + fn)

    lo, hi = bootstrap_ci(counts, f1, n_boot=300)
    assert lo < 2 * 30 / (2 * 30 + 10 + 30) < hi


def test_bootstrap_ci_of_fewer_than_two_items_is_the_point():
    assert bootstrap_ci([0.4], _mean) == [0.4, 0.4]
    assert bootstrap_ci([], _mean) == [0.0, 0.0]


def test_paired_bootstrap_of_identical_sides_is_zero_and_not_significant():
    items = np.random.default_rng(0).integers(0, 2, 100)
    assert paired_bootstrap(items, items, _mean, n_boot=200, seed=0) == {"delta": 0.0, "ci95": [0.0, 0.0],
                                                                         "p_value": 1.0}


def test_pairing_resolves_a_small_shift_that_item_difficulty_would_hide():
    """b varies a lot from item to item, a = b + 0.05 everywhere: paired, the shift is certain; the two separate
    intervals overlap almost entirely."""
    b = np.random.default_rng(1).uniform(0, 1, 100)
    a = b + 0.05
    out = paired_bootstrap(a, b, _mean, n_boot=500, seed=0)
    assert out["delta"] == pytest.approx(0.05)
    assert out["ci95"] == pytest.approx([0.05, 0.05])
    assert out["p_value"] == 0.0
    lo_a, _ = bootstrap_ci(a, _mean, n_boot=500)
    _, hi_b = bootstrap_ci(b, _mean, n_boot=500)
    assert lo_a < hi_b  # unpaired: the intervals overlap


def test_paired_bootstrap_p_value_is_two_sided():
    rng = np.random.default_rng(2)
    b = rng.integers(0, 2, 300)
    worse = np.where(rng.uniform(size=300) < 0.3, 0, b)  # loses about 30 % of b's hits
    down, up = (paired_bootstrap(worse, b, _mean, n_boot=500), paired_bootstrap(b, worse, _mean, n_boot=500))
    assert down["p_value"] < 0.05 and up["p_value"] < 0.05
    assert down["ci95"][1] < 0 < up["ci95"][0]


def test_paired_bootstrap_refuses_different_items():
    with pytest.raises(ValueError, match="same items"):
        paired_bootstrap([1, 0, 1], [1, 0], _mean)


def test_proportion_fields_name_the_interval_for_a_metrics_file():
    assert proportion_fields("acc", 3, 10) == {"acc_stderr": pytest.approx(0.1528, abs=1e-4),
                                               "acc_ci95": {"lo": pytest.approx(0.1078, abs=1e-4),
                                                            "hi": pytest.approx(0.6032, abs=1e-4)}}


def test_mean_of_group_means_weights_groups_not_items():
    # group 0: 3 items, mean 1/3; group 1: 1 item, mean 1 -> (1/3 + 1) / 2, not the item mean 2/4
    items = np.array([[0, 1], [0, 0], [0, 0], [1, 1]])
    assert mean_of_group_means(2)(items[None])[0] == pytest.approx(2 / 3)
    assert mean_of_group_means(3)(items[None])[0] == pytest.approx(2 / 3)  # an empty group is left out


def test_bootstrap_distribution_is_the_seeded_resampled_statistic():
    items = np.random.default_rng(3).integers(0, 2, 50)
    dist = bootstrap_distribution(items, _mean, n_boot=200, seed=1)
    assert dist.shape == (200,) and np.array_equal(dist, bootstrap_distribution(items, _mean, n_boot=200, seed=1))
    lo, hi = np.percentile(dist, [2.5, 97.5])
    assert [lo, hi] == pytest.approx(bootstrap_ci(items, _mean, n_boot=200, seed=1))
    with pytest.raises(ValueError, match="at least 2 items"):
        bootstrap_distribution([1], _mean)
