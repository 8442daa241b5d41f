"""Everything a VOC owner asks about a model's predictions: accuracy per level, hierarchy-aware and
segment-level scores, output validity, long-tail behaviour and the most common confusions.

Input rows are `{"id","text","gold","pred","raw","status"}` (see README conventions), plus the Nova-rule values
`nova_pred` the eval stage stores (re-parsed from `raw` when absent). The headline `f1` is the set-based leaf micro
F1; the Nova-compatible numbers (`nova_*`) are reported beside it for comparison with published results. The rules
behind each number are in docs/scoring.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from voc.core.stats import proportion_ci
from voc.core.taxonomy import Taxonomy, path_key
from voc.eval.parsing import INVALID, STATUSES, norm_text, parse_output
from voc.eval.scoring.intervals import comment_outcomes, f1_intervals
from voc.eval.scoring.nova import nova_scores
from voc.eval.scoring.sets import (
    ancestor_labels,
    as_segments,
    labels_at,
    leaf_emotion_pairs,
    per_class_prf,
    restrict,
    seg_path,
    set_prf,
)

BUCKETS = (("head", 0.2), ("torso", 0.5))  # cumulative training-mass limits; the rest is the tail
TOP_CONFUSIONS = 10
NONE = "(none)"


def _round(value: object) -> object:
    """Round every float to 4 places, recursively, so metrics files diff cleanly."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_round(v) for v in value]
    return value


def _split(rows: Sequence[dict]) -> tuple[list[list[dict]], list[list[dict]]]:
    return [as_segments(r.get("gold")) for r in rows], [as_segments(r.get("pred")) for r in rows]


def level_scores(golds: list[list[dict]], preds: list[list[dict]], levels: Sequence[str]) -> dict:
    """Micro, macro and weighted set-based P/R/F1 at every level (the last level is the leaf)."""
    out = {}
    for lvl, key in enumerate(levels, start=1):
        g = [labels_at(s, levels, lvl) for s in golds]
        p = [labels_at(s, levels, lvl) for s in preds]
        out[key] = {avg: set_prf(g, p, avg) for avg in ("micro", "macro", "weighted")}
    return out


def emotion_accuracy(golds: list[list[dict]], preds: list[list[dict]], levels: Sequence[str]) -> tuple:
    """Share of matched leaves (in both gold and pred of a comment) whose emotion sets agree; and the count."""
    agree = matched = 0
    for gold, pred in zip(golds, preds, strict=True):
        g_emo, p_emo = _emotions_by_leaf(gold, levels), _emotions_by_leaf(pred, levels)
        for leaf in g_emo.keys() & p_emo.keys():
            matched += 1
            agree += g_emo[leaf] == p_emo[leaf]
    return (agree / matched if matched else 0.0), matched


def _emotions_by_leaf(segments: list[dict], levels: Sequence[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for seg in segments:
        path = seg_path(seg, levels, len(levels))
        if path is not None:
            out.setdefault(path_key(path), set()).add(str(seg.get("emotion", "")))
    return out


def output_flags(row: dict, levels: Sequence[str]) -> tuple[bool, bool]:
    """(json_valid, schema_complete) for a row: its own flags when the eval stage stored them, else from
    re-parsing `raw`, else from `status` and the parsed segments."""
    if isinstance(row.get("json_valid"), bool) and isinstance(row.get("schema_complete"), bool):
        return row["json_valid"], row["schema_complete"]
    if isinstance(row.get("raw"), str):
        parsed = parse_output(row["raw"], levels)
        return parsed.json_valid, parsed.schema_complete
    ok = row.get("status") not in INVALID
    return row.get("status") == "ok", ok and _complete(as_segments(row.get("pred")), levels)


def validity(rows: Sequence[dict], preds: list[list[dict]], taxonomy: Taxonomy) -> dict[str, float]:
    """Output-validity rates: per comment for JSON/schema, per predicted segment for labels and grounding."""
    levels, n = taxonomy.levels, max(len(rows), 1)
    flags = [output_flags(row, levels) for row in rows]
    json_ok, schema_ok = sum(f[0] for f in flags), sum(f[1] for f in flags)
    names = [taxonomy.names_at(i) for i in range(1, taxonomy.depth + 1)]
    leaves = set(taxonomy.leaves)
    in_tax = consistent = grounded = total = 0
    for row, segments in zip(rows, preds, strict=True):
        text = norm_text(row.get("text", ""))
        for seg in segments:
            total += 1
            path = tuple(v if isinstance(v, str) else None for v in (seg.get(k) for k in levels))
            in_tax += all(v in names[i] for i, v in enumerate(path))
            consistent += path in leaves
            content = norm_text(seg.get("content", "")) if isinstance(seg.get("content"), str) else ""
            grounded += bool(content) and content in text
    seg_n = max(total, 1)
    return {"json_valid_rate": json_ok / n, "schema_complete_rate": schema_ok / n,
            "label_in_taxonomy_rate": in_tax / seg_n, "path_consistent_rate": consistent / seg_n,
            "grounded_rate": grounded / seg_n}


def _complete(segments: list[dict], levels: Sequence[str]) -> bool:
    return all(all(isinstance(s.get(k), str) and s.get(k) for k in ("content", *levels, "emotion"))
               for s in segments)


def tail_buckets(taxonomy: Taxonomy, train_counts: dict[str, int]) -> dict[str, str]:
    """Leaf key -> head/torso/tail by training frequency.

    Leaves are ranked by count (ties by name); a leaf joins the first bucket whose cumulative-mass limit was
    not yet reached when the leaf starts (so the most frequent leaf is always head). Unseen leaves are tail.
    """
    keys = {path_key(leaf) for leaf in taxonomy.leaves} | set(train_counts)
    counts = {k: max(int(train_counts.get(k, 0)), 0) for k in keys}
    total = sum(counts.values())
    out, cum = {}, 0
    for key in sorted(keys, key=lambda k: (-counts[k], k)):
        share = cum / total if total else 1.0
        out[key] = "tail" if not counts[key] else next((b for b, lim in BUCKETS if share < lim), "tail")
        cum += counts[key]
    return out


def long_tail(gold_leaves: list[list[str]], pred_leaves: list[list[str]], buckets: dict[str, str]) -> dict:
    """Leaf micro F1 per bucket, over the gold and predicted leaves in it (unknown leaves count as tail)."""
    out = {}
    for name in ("head", "torso", "tail"):
        keep = {lab for labs in (*gold_leaves, *pred_leaves) for lab in labs if buckets.get(lab, "tail") == name}
        out[name] = set_prf(restrict(gold_leaves, keep), restrict(pred_leaves, keep))["f1"]
    return out


def _pairs(gold: list[str], pred: list[str]) -> list[tuple[str, str]]:
    """Missed gold labels paired by position with spurious predicted ones (both in output order)."""
    missed = [g for g in gold if g not in pred]
    spurious = [p for p in pred if p not in gold]
    return list(zip(missed, spurious, strict=False))


def confusions(gold_leaves: list[list[str]], pred_leaves: list[list[str]], k: int = TOP_CONFUSIONS) -> list:
    """The k most frequent (missed gold leaf, wrong predicted leaf) pairs within a comment."""
    counts = Counter(pair for g, p in zip(gold_leaves, pred_leaves, strict=True) for pair in _pairs(g, p))
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:k]
    return [{"gold": g, "pred": p, "count": c} for (g, p), c in top]


def status_counts(rows: Sequence[dict]) -> dict[str, int]:
    """How each output parsed; `parser_error` (a voc bug) is counted apart from `invalid` (the model's fault)."""
    counts = Counter(row.get("status") for row in rows if "status" in row)
    return {status: counts.get(status, 0) for status in STATUSES}


def score_predictions(rows: Sequence[dict], taxonomy: Taxonomy, train_counts: dict[str, int]) -> dict:
    """All VOC metrics for prediction rows; JSON-serialisable, floats rounded to 4 places."""
    levels = taxonomy.levels
    golds, preds = _split(rows)
    gold_leaves = [labels_at(s, levels, len(levels)) for s in golds]
    pred_leaves = [labels_at(s, levels, len(levels)) for s in preds]
    per_level = level_scores(golds, preds, levels)
    leaf = per_level[levels[-1]]["micro"]
    emo_acc, emo_n = emotion_accuracy(golds, preds, levels)
    nova = nova_scores(rows, levels)  # the published scorer's rules, on each row's stored Nova-rule values
    metrics = {
        "n": len(rows),
        "f1": leaf["f1"], "precision": leaf["precision"], "recall": leaf["recall"],
        "levels": per_level,
        "hierarchical": set_prf([ancestor_labels(s, levels) for s in golds],
                                [ancestor_labels(s, levels) for s in preds]),
        "segment_f1": set_prf([leaf_emotion_pairs(s, levels) for s in golds],
                              [leaf_emotion_pairs(s, levels) for s in preds])["f1"],
        "emotion_accuracy": emo_acc, "emotion_matched": emo_n,
        "nova_f1": nova[levels[-1]]["f1"], "nova": nova,
        **validity(rows, preds, taxonomy),
        "output_status": status_counts(rows),
        "long_tail": long_tail(gold_leaves, pred_leaves, tail_buckets(taxonomy, train_counts)),
        "confusions": confusions(gold_leaves, pred_leaves),
    }
    return _round(with_intervals(metrics, rows, levels))


def with_intervals(metrics: dict, rows: Sequence[dict], levels: Sequence[str]) -> dict:
    """The metrics with a 95 % interval `{"lo", "hi"}` beside each F1 (`f1_ci95`, bootstrap over comments) and
    beside the JSON-valid rate (Wilson): computed here, in the one scorer, so every caller's numbers carry them."""
    ci = f1_intervals(comment_outcomes(rows, levels))
    metrics["f1_ci95"], metrics["nova_f1_ci95"] = ci["f1"], ci["nova_f1"]
    metrics["hierarchical"]["f1_ci95"] = ci["hierarchical"]
    for key, interval in ci["levels"].items():
        metrics["levels"][key]["micro"]["f1_ci95"] = interval
    lo, hi = proportion_ci(sum(output_flags(r, levels)[0] for r in rows), len(rows))["ci95"]
    metrics["json_valid_rate_ci95"] = {"lo": lo, "hi": hi}
    return metrics


def per_leaf_table(rows: Sequence[dict], taxonomy: Taxonomy, train_counts: dict[str, int]) -> list[dict]:
    """One row per taxonomy leaf: training count, test support and set-based P/R/F1 (for CSV and plots)."""
    levels = taxonomy.levels
    golds, preds = _split(rows)
    keys = [path_key(leaf) for leaf in taxonomy.leaves]
    p, r, f, support = per_class_prf([labels_at(s, levels, len(levels)) for s in golds],
                                     [labels_at(s, levels, len(levels)) for s in preds], keys)
    return [_round({"leaf": key, "train_count": int(train_counts.get(key, 0)), "support": int(support[i]),
                    "precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i])})
            for i, key in enumerate(keys)]


def level_f1_rows(metrics: dict, model: str) -> list[dict]:
    """Rows `{"level","model","f1"}` (set-based micro F1 per level) for a dvc bar plot."""
    return [{"level": level, "model": model, "f1": scores["micro"]["f1"]}
            for level, scores in metrics["levels"].items()]


def l1_confusion_rows(rows: Sequence[dict]) -> list[dict]:
    """Rows `{"actual","predicted"}` at L1 for a dvc confusion plot: hits on the diagonal, misses paired
    with wrong predictions by position, leftovers against "(none)"."""
    out = []
    for row in rows:
        gold = labels_at(as_segments(row.get("gold")), ("L1",), 1)
        pred = labels_at(as_segments(row.get("pred")), ("L1",), 1)
        out += [{"actual": g, "predicted": g} for g in gold if g in pred]
        missed = [g for g in gold if g not in pred]
        spurious = [p for p in pred if p not in gold]
        width = max(len(missed), len(spurious))
        missed += [NONE] * (width - len(missed))
        spurious += [NONE] * (width - len(spurious))
        out += [{"actual": g, "predicted": p} for g, p in zip(missed, spurious, strict=True)]
    return out
