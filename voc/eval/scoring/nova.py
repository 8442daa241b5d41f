"""Nova-compatible scoring: the published AWS Nova Forge VOC scorer's rules, one for one, so our `nova_*`
numbers can sit beside its published ones (0.387 / 0.554).

The rules (docs/scoring.md, "Nova-compatible mode") are kept literal on purpose, quirks included: keys are
case-sensitive, only the leaf is stripped, and gold and predicted labels are paired *by position*. A
friendlier rule here would make the number incomparable with the published one, which is its only use; the
set-based metrics in voc.eval.scoring.metrics are the headline.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from sklearn.metrics import precision_recall_fscore_support

from voc.eval.scoring.sets import ZERO, as_segments, dedupe

MAX_LABELS = 10  # the published scorer keeps at most 10 labels per comment and level
WRAPPER = ("['", "']")  # outputs stored as a Python list repr of one string


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


def level_values(source: str | list, key: str) -> list:
    """Raw values at `key`: from each item that has the key (parsed `raw` text, or an already-parsed list
    such as the gold segments); the regex over the whole text when the text does not parse."""
    items = source if isinstance(source, list) else parse_items(source)
    if items is None:
        return regex_values(str(source), key)
    return [item[key] for item in items if isinstance(item, dict) and key in item]


def nova_labels(source: str | list, key: str, is_leaf: bool) -> list[str]:
    """The labels one comment contributes at one level: only string values count (the regex fallback can see
    no other kind either); the leaf is cut at the first ':' and stripped, other levels stay as written;
    empty labels are skipped; de-duplicated in first-seen order; at most 10."""
    names = []
    for value in level_values(source, key):
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


def pred_source(row: dict) -> str | list:
    """What the scorer reads for a prediction: the model's `raw` text; rows without one use parsed `pred`."""
    raw = row.get("raw")
    return raw if isinstance(raw, str) else as_segments(row.get("pred"))


def nova_scores(rows: Sequence[dict], levels: Sequence[str]) -> dict[str, dict]:
    """Per level, weighted P/R/F1 over the position-paired labels of all comments pooled together. Gold
    labels come from each row's `gold` segments through the same label rules."""
    out: dict[str, dict] = {}
    for i, key in enumerate(levels):
        is_leaf = i == len(levels) - 1
        y_true: list[str] = []
        y_pred: list[str] = []
        for row in rows:
            gold = nova_labels(as_segments(row.get("gold")), key, is_leaf)
            g, p = paired(gold, nova_labels(pred_source(row), key, is_leaf))
            y_true += g
            y_pred += p
        out[key] = weighted_prf(y_true, y_pred)
    return out
