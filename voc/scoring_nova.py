"""Nova-compatible scoring: reproduces the published AWS Nova Forge VOC scorer so our numbers can sit beside
its published ones (0.387 / 0.554).

That scorer pairs gold and predicted labels *by position in output order*, so it depends on segment order;
see docs/scoring.md for why the set-based metrics are our headline instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.metrics import precision_recall_fscore_support

from voc.parsing import nova_regex_labels, parse_output
from voc.scoring_sets import ZERO, as_segments, dedupe

MAX_LABELS = 10  # the published scorer keeps at most 10 labels per comment


def nova_pred_segments(row: dict, levels: Sequence[str]) -> list[dict]:
    """Segments as the Nova scorer sees them: JSON parse of `raw` first, regex pairs when that fails.

    Rows without a `raw` string fall back to the already-parsed `pred`.
    """
    raw = row.get("raw")
    if not isinstance(raw, str):
        return as_segments(row.get("pred"))
    parsed = parse_output(raw, levels)
    return parsed.segments if parsed.status != "invalid" else nova_regex_labels(raw, levels)


def nova_labels(segments: list[dict], key: str, is_leaf: bool) -> list[str]:
    """Plain label names at one level: leaf cut at the first ':', de-duplicated, at most 10."""
    names = []
    for seg in segments:
        value = seg.get(key)
        if not isinstance(value, str):
            value = "" if value is None else str(value)
        if is_leaf:
            value = value.split(":", 1)[0]
        names.append(value.strip())
    return dedupe(names)[:MAX_LABELS]


def paired(gold: list[str], pred: list[str]) -> tuple[list[str], list[str]]:
    """Pair by position: predictions truncated or padded with '' to the gold count."""
    return gold, (pred + [""] * len(gold))[: len(gold)]


def nova_scores(golds: list[list[dict]], preds: list[list[dict]], levels: Sequence[str]) -> dict[str, dict]:
    """Per level, sklearn weighted P/R/F1 over the position-paired labels of all comments."""
    out: dict[str, dict] = {}
    for i, key in enumerate(levels):
        is_leaf = i == len(levels) - 1
        y_true: list[str] = []
        y_pred: list[str] = []
        for gold_segs, pred_segs in zip(golds, preds, strict=True):
            g, p = paired(nova_labels(gold_segs, key, is_leaf), nova_labels(pred_segs, key, is_leaf))
            y_true += g
            y_pred += p
        if not y_true:
            out[key] = dict(ZERO)
            continue
        pr, rc, f1, _ = precision_recall_fscore_support(y_true, y_pred, average="weighted", zero_division=0)
        out[key] = {"precision": float(pr), "recall": float(rc), "f1": float(f1)}
    return out
