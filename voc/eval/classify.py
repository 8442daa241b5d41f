"""`voc classify`: what a support team runs after choosing the best mix - comments in, validated segments out."""

from __future__ import annotations

from pathlib import Path

from voc.core.errors import InputError
from voc.core.files import decode_user_file, iter_jsonl
from voc.core.taxonomy import Taxonomy
from voc.eval.parsing import INVALID
from voc.eval.predictions import parse_row


def mark_segments(segments: list[dict], taxonomy: Taxonomy) -> list[dict]:
    """Flag every segment whose path is not a taxonomy leaf: such labels are marked, never silently kept."""
    out = []
    for seg in segments:
        path = tuple(seg.get(lv, "") for lv in taxonomy.levels)
        out.append({**seg, "in_taxonomy": taxonomy.has_path(path) and len(path) == taxonomy.depth})
    return out


def classify_outputs(texts: list[str], raws: list[str], taxonomy: Taxonomy) -> list[dict]:
    """One row per comment, parsed by the eval stage's own `parse_row`, so a classified comment reads exactly
    as the evaluation scored it; `valid` only when the output parsed and every label is a taxonomy leaf."""
    rows = []
    for text, raw in zip(texts, raws, strict=True):
        parsed = parse_row(raw, taxonomy)
        segments = mark_segments(parsed.segments, taxonomy)
        rows.append({"text": text, "segments": segments, "status": parsed.status,
                     "valid": parsed.status not in INVALID and all(s["in_taxonomy"] for s in segments), "raw": raw})
    return rows


def read_inputs(path: str | Path) -> list[str]:
    """Comments from a .txt file (one per line) or a .jsonl file (a `text` field per line), read by voc's one
    user-file reader, so a BOM is fine and a bad byte or line is named by file:line."""
    path = Path(path)
    if path.suffix != ".jsonl":
        return [ln for ln in decode_user_file(path, InputError).splitlines() if ln.strip()]
    texts = []
    for lineno, row in iter_jsonl(path, "write one {\"text\": ...} object per line, or use a .txt file"):
        if not isinstance(row.get("text"), str):
            raise InputError(str(path), lineno, "the object has no 'text' string",
                             "write one {\"text\": ...} object per line, or use a .txt file")
        texts.append(row["text"])
    return texts
