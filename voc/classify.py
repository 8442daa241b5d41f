"""`voc classify`: what a support team runs after choosing the best mix - comments in, validated segments out."""

from __future__ import annotations

import json
from pathlib import Path

from voc.errors import InputError
from voc.parsing import normalize_labels, parse_output
from voc.taxonomy import Taxonomy


def mark_segments(segments: list[dict], taxonomy: Taxonomy) -> list[dict]:
    """Flag every segment whose path is not a taxonomy leaf: such labels are marked, never silently kept."""
    out = []
    for seg in segments:
        path = tuple(seg.get(lv, "") for lv in taxonomy.levels)
        out.append({**seg, "in_taxonomy": taxonomy.has_path(path) and len(path) == taxonomy.depth})
    return out


def classify_outputs(texts: list[str], raws: list[str], taxonomy: Taxonomy) -> list[dict]:
    rows = []
    for text, raw in zip(texts, raws, strict=True):
        parsed = parse_output(raw, taxonomy.levels)
        segments, _ = normalize_labels(parsed.segments, taxonomy)
        segments = mark_segments(segments, taxonomy)
        rows.append({"text": text, "segments": segments, "status": parsed.status,
                     "valid": parsed.status != "invalid" and all(s["in_taxonomy"] for s in segments), "raw": raw})
    return rows


def read_inputs(path: str | Path) -> list[str]:
    """Comments from a .txt file (one per line) or a .jsonl file (a `text` field per line)."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    if path.suffix != ".jsonl":
        return [ln for ln in lines if ln.strip()]
    texts = []
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            texts.append(str(json.loads(line)["text"]))
        except (json.JSONDecodeError, KeyError, TypeError):
            raise InputError(str(path), i, "line is not a JSON object with a 'text' field",
                             "write one {\"text\": ...} object per line, or use a .txt file") from None
    return texts
