"""Small statistics shared by training and evaluation, kept in core so neither has to import the other."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[int], q: float) -> int:
    """Nearest-rank percentile: the smallest value that at least a share `q` of `values` do not exceed.

    Nearest rank (not interpolation) so the result is always a length that occurred, usable as a limit as is;
    0 for no values."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else 0
