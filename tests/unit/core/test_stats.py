"""`percentile`: nearest rank, so a limit taken from it is a length that occurred."""

from __future__ import annotations

import pytest

from voc.core.stats import percentile


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
