"""Set-based building blocks for scoring: label sets per comment and sklearn P/R/F1 over them.

Labels are path-encoded (`L1/L2/..` via `path_key`) so equal names at different levels or under different
parents never merge. Every comment contributes a *set*: order and duplicates in the model output do not matter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from sklearn.metrics import precision_recall_fscore_support
from sklearn.preprocessing import MultiLabelBinarizer

from voc.core.taxonomy import path_key

PAD = ("pad",)  # a tuple can never equal a (string) label
ZERO = {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def as_segments(value: object) -> list[dict]:
    """The dict items of a row's `gold`/`pred` field (anything else counts as no segments)."""
    return [s for s in value if isinstance(s, dict)] if isinstance(value, list) else []


def seg_path(seg: dict, levels: Sequence[str], upto: int) -> tuple[str, ...] | None:
    """The segment's label path cut after `upto` levels, or None if a name on it is missing or not text."""
    names = tuple(seg.get(key) for key in levels[:upto])
    if len(names) < upto or not all(isinstance(n, str) and n for n in names):
        return None
    return names  # type: ignore[return-value]


def dedupe(items: Iterable[str]) -> list[str]:
    """Items in first-occurrence order without repeats."""
    return list(dict.fromkeys(items))


def labels_at(segments: list[dict], levels: Sequence[str], level: int) -> list[str]:
    """Distinct path-encoded labels at one level (1-based), in output order."""
    paths = (seg_path(s, levels, level) for s in segments)
    return dedupe(path_key(p) for p in paths if p is not None)


def ancestor_labels(segments: list[dict], levels: Sequence[str]) -> list[str]:
    """Every label with all its ancestors (Kiritchenko's augmented set)."""
    return dedupe(lab for lvl in range(1, len(levels) + 1) for lab in labels_at(segments, levels, lvl))


def leaf_emotion_pairs(segments: list[dict], levels: Sequence[str]) -> list[str]:
    """Distinct `leaf#emotion` labels: the unit of segment-level F1."""
    out = []
    for seg in segments:
        path = seg_path(seg, levels, len(levels))
        if path is not None:
            out.append(f"{path_key(path)}#{seg.get('emotion', '')}")
    return dedupe(out)


def _binarize(gold: list[list[str]], pred: list[list[str]], classes: Sequence[str]) -> tuple:
    """Indicator matrices with one extra all-zero column: with a single column sklearn would treat the data
    as binary rather than multilabel and score it differently. Callers pass `labels=` to ignore the pad."""
    mlb = MultiLabelBinarizer(classes=[*classes, PAD])
    mlb.fit([])
    return mlb.transform([set(g) for g in gold]), mlb.transform([set(p) for p in pred])


def set_prf(gold: list[list[str]], pred: list[list[str]], average: str = "micro") -> dict[str, float]:
    """P/R/F1 over per-comment label sets, sklearn `average` (micro, macro, weighted); zero_division=0."""
    classes = sorted({lab for labs in (*gold, *pred) for lab in labs})
    if not classes or not gold:
        return dict(ZERO)
    y_true, y_pred = _binarize(gold, pred, classes)
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=list(range(len(classes))),
                                                 average=average, zero_division=0)
    return {"precision": float(p), "recall": float(r), "f1": float(f)}


def per_class_prf(gold: list[list[str]], pred: list[list[str]], classes: Sequence[str]) -> tuple:
    """Arrays (precision, recall, f1, support) for each class in `classes`, in that order."""
    if not classes or not gold:
        empty = np.zeros(len(classes))
        return empty, empty, empty, empty.astype(int)
    extra = sorted({lab for labs in (*gold, *pred) for lab in labs} - set(classes))
    y_true, y_pred = _binarize(gold, pred, [*classes, *extra])
    idx = list(range(len(classes)))
    return precision_recall_fscore_support(y_true, y_pred, labels=idx, average=None, zero_division=0)


def restrict(label_sets: list[list[str]], keep: set[str]) -> list[list[str]]:
    """Each comment's labels limited to `keep` (e.g. the leaves of one long-tail bucket)."""
    return [[lab for lab in labs if lab in keep] for labs in label_sets]
