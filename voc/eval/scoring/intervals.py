"""95 % intervals for the VOC F1 scores, by a seeded bootstrap over test comments, and the per-comment outcomes
they are computed from.

Every F1 here is a sum over comments, so each comment is reduced once to small counts and a resample only adds
rows again: set-based micro F1 from a comment's (tp, fp, fn), the Nova-compatible weighted F1 from its
position-paired (gold, pred) labels. The same per-comment outcomes go to the eval stage's details
(`items.jsonl`), where `report` pairs base and SFT comment by comment for the paired bootstrap of sft - base.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from voc.core.stats import bootstrap_ci
from voc.eval.scoring.nova import comment_pairs
from voc.eval.scoring.sets import ancestor_labels, as_segments, labels_at


def set_counts(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> list[list[int]]:
    """Per comment, [tp, fp, fn] of its predicted label set against its gold set."""
    out = []
    for g, p in zip(gold, pred, strict=True):
        gs, ps = set(g), set(p)
        out.append([len(gs & ps), len(ps - gs), len(gs - ps)])
    return out


def micro_f1(sample: np.ndarray) -> np.ndarray:
    """Micro F1 of resampled per-comment counts, shape (b, n, 3) -> (b,): 2tp / (2tp + fp + fn), 0 when empty
    (sklearn's micro F1 with zero_division=0)."""
    tp, fp, fn = np.moveaxis(np.asarray(sample, dtype=float).sum(axis=1), -1, 0)
    den = 2 * tp + fp + fn
    return np.divide(2 * tp, den, out=np.zeros_like(den), where=den > 0)


def encode_pairs(*sides: Sequence[Sequence[Sequence[str]]]) -> tuple[list[np.ndarray], int]:
    """Each side's per-comment (gold, pred) label pairs as an int array (n, k, 2) over one label vocabulary
    shared by all sides (so paired sides count the same classes): -1 is a missing prediction ('') or padding."""
    vocab = sorted({lab for side in sides for pairs in side for pair in pairs for lab in pair} - {""})
    ids = {lab: i for i, lab in enumerate(vocab)}
    width = max([1] + [len(pairs) for side in sides for pairs in side])
    out = []
    for side in sides:
        arr = np.full((len(side), width, 2), -1, dtype=np.int64)
        for i, pairs in enumerate(side):
            for j, pair in enumerate(pairs):
                arr[i, j] = [ids.get(lab, -1) for lab in pair]
        out.append(arr)
    return out, len(vocab)


def weighted_f1(n_classes: int):
    """The statistic for encoded pairs, (b, n, k, 2) -> (b,): sklearn's weighted F1 over the pooled pairs of each
    resample, the support-weighted mean of per-class 2tp / (2tp + fp + fn)."""
    def statistic(sample: np.ndarray) -> np.ndarray:
        b = sample.shape[0]
        gold, pred = sample[..., 0].reshape(b, -1), sample[..., 1].reshape(b, -1)
        rows = np.broadcast_to(np.arange(b)[:, None] * max(n_classes, 1), gold.shape)
        real = gold >= 0

        def count(mask: np.ndarray, labels: np.ndarray) -> np.ndarray:
            return np.bincount((rows + labels)[mask], minlength=b * max(n_classes, 1)).reshape(b, -1)

        tp = count(real & (gold == pred), gold)
        fn = count(real & (gold != pred), gold)
        fp = count(real & (pred >= 0) & (gold != pred), pred)
        den = 2 * tp + fp + fn
        f1 = np.divide(2 * tp, den, out=np.zeros(den.shape), where=den > 0)
        support = (tp + fn).sum(axis=1)
        return np.divide((f1 * (tp + fn)).sum(axis=1), support, out=np.zeros(b), where=support > 0)
    return statistic


def comment_outcomes(rows: Sequence[dict], levels: Sequence[str]) -> list[dict]:
    """Per comment: its id, [tp, fp, fn] at each level, at the leaf and over ancestor sets (hierarchical), and its
    Nova leaf pairs. What `report` needs to pair base and SFT on the same comments."""
    golds = [as_segments(r.get("gold")) for r in rows]
    preds = [as_segments(r.get("pred")) for r in rows]
    per_level = {key: set_counts([labels_at(s, levels, i) for s in golds], [labels_at(s, levels, i) for s in preds])
                 for i, key in enumerate(levels, start=1)}
    hier = set_counts([ancestor_labels(s, levels) for s in golds], [ancestor_labels(s, levels) for s in preds])
    nova = comment_pairs(rows, levels, levels[-1])
    return [{"id": row.get("id"), "leaf": per_level[levels[-1]][i], "hierarchical": hier[i],
             "levels": {key: counts[i] for key, counts in per_level.items()}, "nova": [list(p) for p in nova[i]]}
            for i, row in enumerate(rows)]


def _ci(lo_hi: list[float]) -> dict[str, float]:
    return {"lo": lo_hi[0], "hi": lo_hi[1]}


def f1_intervals(outcomes: Sequence[dict]) -> dict:
    """95 % bootstrap intervals (`{"lo", "hi"}`) of leaf micro F1, Nova leaf F1, hierarchical F1 and each level's
    micro F1, all resampling the same comments."""
    def counts(field: str, level: str | None = None) -> np.ndarray:
        return np.array([o[field][level] if level else o[field] for o in outcomes], dtype=np.int64).reshape(-1, 3)

    (pairs,), n_classes = encode_pairs([o["nova"] for o in outcomes])
    levels = list(outcomes[0]["levels"]) if outcomes else []
    return {
        "f1": _ci(bootstrap_ci(counts("leaf"), micro_f1)),
        "nova_f1": _ci(bootstrap_ci(pairs, weighted_f1(n_classes))),
        "hierarchical": _ci(bootstrap_ci(counts("hierarchical"), micro_f1)),
        "levels": {key: _ci(bootstrap_ci(counts("levels", key), micro_f1)) for key in levels},
    }
