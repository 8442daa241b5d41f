"""Nova-compatible scoring: the published AWS Nova Forge VOC scorer's rules, one for one, so our `nova_*`
numbers can sit beside its published ones (0.387 / 0.554).

The rules (docs/scoring.md, "Nova-compatible mode") are kept literal on purpose, quirks included: keys are
case-sensitive, only the leaf is stripped, and gold and predicted labels are paired *by position*. A
friendlier rule here would make the number incomparable with the published one, which is its only use; the
set-based metrics in voc.eval.scoring.metrics are the headline.

The parse (`nova_values`) runs once per output, when `voc.eval.predictions` builds its row, and the row keeps
the result beside our lenient parse; the scorer reads it from there (`pred_values`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from sklearn.metrics import precision_recall_fscore_support

from voc.eval.scoring.sets import ZERO, as_segments, dedupe

MAX_LABELS = 10  # the published scorer keeps at most 10 labels per comment and level
WRAPPER = ("['", "']")  # outputs stored as a Python list repr of one string
NOVA_FIELD = "nova_pred"  # the prediction row field holding `nova_values` of its raw output


def parse_items(raw: str) -> list | None:
    """The JSON list between the first '[' and the last ']' (after removing a `['...']` wrapper), or None
    when that fails for any reason. Any failure sends the caller to the regex fallback."""
    text = raw.strip()
    if text.startswith(WRAPPER[0]) and text.endswith(WRAPPER[1]) and len(text) >= 4:
        text = text[2:-2]
    start, end = text.find("["), text.rfind("]")
    if start < 0 or end < start:
        return None
    try:
        value = json.loads(text[start:end + 1])
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, list) else None


def regex_values(raw: str, key: str) -> list[str]:
    """Every `"KEY": "value"` string pair in the whole text, in order, key matched exactly. It still sees the
    labels of a half-written last segment, which a JSON parse loses. JSON escapes in the value are decoded so
    the same label reads the same on both paths."""
    pattern = re.compile(rf'"{re.escape(key)}"\s*:\s*"((?:[^"\\]|\\.)*)"')
    out = []
    for match in pattern.finditer(raw):
        try:
            out.append(json.loads(f'"{match.group(1)}"'))
        except ValueError:
            out.append(match.group(1))
    return out


def item_values(items: Sequence, key: str) -> list[str]:
    """The string values at `key` of the items that have it: items without the key, and items that are not
    objects, add nothing (no '' placeholder to shift the pairing). Only strings are labels, as the regex
    fallback can see no other kind either."""
    return [item[key] for item in items if isinstance(item, dict) and isinstance(item.get(key), str)]


def nova_values(raw: object, segments: Sequence[dict], levels: Sequence[str]) -> dict[str, list[str]]:
    """The published scorer's reading of one output, per level: the values of the items `parse_items` finds
    in `raw`, or the regex's when it finds none. Parsed once per output, when its prediction row is built; an
    output that is not text (no `raw`) is read from its parsed `segments` instead."""
    items = parse_items(raw) if isinstance(raw, str) else list(segments)
    return {key: regex_values(str(raw), key) if items is None else item_values(items, key) for key in levels}


def nova_labels(values: Sequence, is_leaf: bool) -> list[str]:
    """The labels one comment contributes at one level, from its values there: only strings count; the leaf
    is cut at the first ':' and stripped, other levels stay as written; empty labels are skipped;
    de-duplicated in first-seen order; at most 10."""
    names = []
    for value in values:
        if not isinstance(value, str):
            continue
        name = value.split(":", 1)[0].strip() if is_leaf else value
        if name:
            names.append(name)
    return dedupe(names)[:MAX_LABELS]


def paired(gold: list[str], pred: list[str]) -> tuple[list[str], list[str]]:
    """Pair by position: predictions truncated to the gold count and padded with ''."""
    return gold, (pred + [""] * len(gold))[: len(gold)]


def weighted_prf(y_true: list[str], y_pred: list[str]) -> dict[str, float]:
    """sklearn weighted P/R/F1 over every non-empty label seen on either side; '' (padding) is no class."""
    labels = sorted(set(y_true + y_pred) - {""})
    if not y_true or not labels:
        return dict(ZERO)
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, average="weighted",
                                                 zero_division=0)
    return {"precision": float(p), "recall": float(r), "f1": float(f)}


def pred_values(row: dict, levels: Sequence[str]) -> dict[str, list]:
    """The prediction's values per level as the row stores them (`nova_pred`, written by the eval stage).
    A row without them for every level (predictions written before rows carried them) is parsed on read
    from its `raw` text, else from its parsed `pred`."""
    stored = row.get(NOVA_FIELD)
    if isinstance(stored, dict) and all(isinstance(stored.get(key), list) for key in levels):
        return stored
    return nova_values(row.get("raw"), as_segments(row.get("pred")), levels)


def comment_pairs(rows: Sequence[dict], levels: Sequence[str], key: str) -> list[list[tuple[str, str]]]:
    """Per comment, its position-paired (gold, pred) labels at level `key`: the unit the pooled score sums over,
    kept per comment so the bootstrap can resample comments. Gold labels come from each row's `gold` segments
    through the same label rules."""
    is_leaf = key == levels[-1]
    out = []
    for row in rows:
        gold = nova_labels(item_values(as_segments(row.get("gold")), key), is_leaf)
        g, p = paired(gold, nova_labels(pred_values(row, levels)[key], is_leaf))
        out.append(list(zip(g, p, strict=True)))
    return out


def nova_scores(rows: Sequence[dict], levels: Sequence[str]) -> dict[str, dict]:
    """Per level, weighted P/R/F1 over the position-paired labels of all comments pooled together."""
    out: dict[str, dict] = {}
    for key in levels:
        pooled = [pair for pairs in comment_pairs(rows, levels, key) for pair in pairs]
        out[key] = weighted_prf([g for g, _ in pooled], [p for _, p in pooled])
    return out
